//! Accounts and sessions: register, login, refresh (rotating, with reuse detection),
//! logout, me; the admin bootstrap and `oms user promote`.
//!
//! A session's refresh token reaches the client in one of two ways, which it picks at sign-in
//! (`refresh_token_in`): in the JSON body (API clients; the default), or in an `HttpOnly` cookie
//! that no script can read (browsers; see [`cookie`]). A refresh answers the way it was asked.

pub mod cookie;
pub mod extract;
pub mod password;
pub mod rate_limit;
pub mod tokens;

use std::net::SocketAddr;

use axum::Json;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use mongodb::bson::{self, doc};
use oms_contracts::domain::{Email, Password, PersonName};
use oms_contracts::{Role, UserId};
use oms_platform::Store;
use oms_platform::config::AdminBootstrap;
use oms_platform::store::{RefreshTokenDoc, UserDoc};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use extract::{AdminUser, CurrentUser, StreamUser};

use crate::error::responses;
use crate::error::{ApiError, ErrorBody, Fields, conflict_on_duplicate};
use crate::extract::ApiJson;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::default()
        .routes(routes!(register))
        .routes(routes!(login))
        .routes(routes!(refresh))
        .routes(routes!(logout))
        .routes(routes!(me))
}

/// Where the session's refresh token goes: `body` (the default, for API clients) or `cookie`
/// (an `HttpOnly; Secure; SameSite=Strict` cookie sent only to `/api/auth/refresh`, for browsers:
/// no script can read it).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum RefreshTokenIn {
    #[default]
    Body,
    Cookie,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterIn {
    #[schema(example = "ada@example.com")]
    email: String,
    #[schema(min_length = 8, max_length = 128)]
    password: String,
    name: String,
    #[serde(default)]
    #[schema(required = false)]
    refresh_token_in: RefreshTokenIn,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginIn {
    email: String,
    password: String,
    #[serde(default)]
    #[schema(required = false)]
    refresh_token_in: RefreshTokenIn,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshIn {
    /// The refresh token. Leave it out (send `{}`) when the browser holds it in the
    /// `oms_refresh` cookie: a refresh then answers with a new cookie, a logout ends the session
    /// of the access token.
    #[serde(default)]
    #[schema(required = false, nullable = false)]
    refresh_token: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct UserOut {
    pub id: String,
    pub email: String,
    pub name: String,
    pub role: Role,
}

impl From<&UserDoc> for UserOut {
    fn from(user: &UserDoc) -> Self {
        Self {
            id: user.id.to_string(),
            email: user.email.clone(),
            name: user.name.clone(),
            role: user.role,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct SessionOut {
    user: UserOut,
    access_token: String,
    /// The new refresh token; absent when it went into the `oms_refresh` cookie instead.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(required = false, nullable = false)]
    refresh_token: Option<String>,
    /// Always `Bearer`.
    #[schema(example = "Bearer")]
    token_type: &'static str,
    /// Seconds until the access token expires.
    expires_in: i64,
}

/// Creates an account and signs it in.
#[utoipa::path(
    post,
    path = "/api/auth/register",
    tag = "auth",
    request_body = RegisterIn,
    responses(
        (
            status = 201,
            description = "The account exists and is signed in",
            body = SessionOut,
            headers(("Set-Cookie" = String, description = "`oms_refresh`, when `refresh_token_in` is `cookie`"))
        ),
        (status = 400, response = responses::BadRequest),
        (status = 409, description = "`email_taken`: an account with this address exists", body = ErrorBody),
        (status = 413, response = responses::PayloadTooLarge),
        (status = 415, response = responses::UnsupportedMediaType),
        (status = 422, response = responses::Invalid),
        (status = 503, response = responses::Unavailable),
    )
)]
async fn register(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<RegisterIn>,
) -> Result<impl IntoResponse, ApiError> {
    let mut fields = Fields::default();
    let name = fields.parse("name", PersonName::parse(&body.name));
    let email = fields.parse("email", Email::parse(&body.email));
    let password = fields.parse("password", Password::parse(&body.password));
    let (name, email, password) = fields.finish(|| Some((name?, email?, password?)))?;
    let user = create_user(&state.store, &email, &password, name.as_str(), Role::User)
        .await
        .map_err(|e| match e {
            CreateUserError::Taken => ApiError::Conflict {
                code: "email_taken",
                message: "an account with this e-mail address already exists".into(),
                field: Some("email".into()),
            },
            CreateUserError::Other(e) => e,
        })?;
    let session = start_session(&state, &user, None, body.refresh_token_in).await?;
    tracing::info!(user_id = %user.id, "user registered");
    Ok((StatusCode::CREATED, session.headers, Json(session.out)))
}

/// Signs in. Failed attempts are counted per account and per client address.
#[utoipa::path(
    post,
    path = "/api/auth/login",
    tag = "auth",
    request_body = LoginIn,
    responses(
        (
            status = 200,
            description = "Signed in",
            body = SessionOut,
            headers(("Set-Cookie" = String, description = "`oms_refresh`, when `refresh_token_in` is `cookie`"))
        ),
        (status = 400, response = responses::BadRequest),
        (status = 401, description = "`invalid_credentials`: the address or password is wrong", body = ErrorBody),
        (status = 413, response = responses::PayloadTooLarge),
        (status = 415, response = responses::UnsupportedMediaType),
        (status = 422, response = responses::Invalid),
        (status = 429, response = responses::RateLimited),
        (status = 503, response = responses::Unavailable),
    )
)]
async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: axum::http::HeaderMap,
    ApiJson(body): ApiJson<LoginIn>,
) -> Result<impl IntoResponse, ApiError> {
    let invalid =
        || ApiError::unauthenticated("invalid_credentials", "the e-mail address or password is wrong");
    let account = body.email.trim().to_ascii_lowercase();
    // Behind a trusted reverse proxy, the client it forwarded for; otherwise the peer.
    let forwarded_for = headers.get("x-forwarded-for").and_then(|v| v.to_str().ok());
    let client = state
        .config
        .trusted_proxies
        .client(peer.ip(), forwarded_for)
        .to_string();
    if let Err(retry_after_secs) = state.login_limiter.check(&account, &client) {
        tracing::warn!(client, "login throttled");
        return Err(ApiError::RateLimited { retry_after_secs });
    }
    let user = match Email::parse(&body.email) {
        Ok(email) => {
            state
                .store
                .users()
                .find_one(doc! { "email": email.as_str() })
                .await?
        }
        Err(_) => None,
    };
    // Unknown users cost the same Argon2 work as known ones.
    let ok = password::verify(body.password, user.as_ref().map(|u| u.password_hash.clone())).await?;
    match user {
        Some(user) if ok => {
            state.login_limiter.record_success(&account);
            tracing::info!(user_id = %user.id, "user signed in");
            let session = start_session(&state, &user, None, body.refresh_token_in).await?;
            Ok((session.headers, Json(session.out)))
        }
        _ => {
            state.login_limiter.record_failure(&account, &client);
            Err(invalid())
        }
    }
}

/// Exchanges a refresh token (from the body, or else the `oms_refresh` cookie) for a new pair.
/// The old token stops working; presenting a spent one signs out every session of its chain.
#[utoipa::path(
    post,
    path = "/api/auth/refresh",
    tag = "auth",
    request_body = RefreshIn,
    responses(
        (
            status = 200,
            description = "A new access and refresh token (the refresh token in a new cookie when \
                it came in one)",
            body = SessionOut,
            headers(("Set-Cookie" = String, description = "The new `oms_refresh`, when the old one came as a cookie"))
        ),
        (
            status = 400,
            description = "`malformed_request`, or `cross_site_refresh` (the cookie came from another site's page)",
            body = ErrorBody
        ),
        (
            status = 401,
            description = "`invalid_refresh_token` (none given, unknown or expired), or \
                `refresh_token_reused` (already spent: its whole chain is now revoked). A refresh \
                cookie presented again within 10 s of its rotation while the cookie it was exchanged \
                for is unused (a browser that reloaded during a refresh) is rotated again instead; \
                that unused cookie is then spent",
            body = ErrorBody
        ),
        (status = 413, response = responses::PayloadTooLarge),
        (status = 415, response = responses::UnsupportedMediaType),
        (status = 422, response = responses::Invalid),
        (status = 503, response = responses::Unavailable),
    )
)]
async fn refresh(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<RefreshIn>,
) -> Result<impl IntoResponse, ApiError> {
    let invalid = || {
        ApiError::unauthenticated(
            "invalid_refresh_token",
            "the refresh token is not valid; sign in again",
        )
    };
    let (presented, mode) = match body.refresh_token {
        Some(token) => (token, RefreshTokenIn::Body),
        None => (
            cookie::read(&headers)?.ok_or_else(invalid)?,
            RefreshTokenIn::Cookie,
        ),
    };
    // A refused cookie is of no more use: the browser forgets it.
    let forget = |err: ApiError| match mode {
        RefreshTokenIn::Cookie => {
            let mut response = err.into_response();
            cookie::append(response.headers_mut(), cookie::clear());
            response
        }
        RefreshTokenIn::Body => err.into_response(),
    };
    match rotate(&state, &presented, mode).await {
        Ok(session) => Ok((session.headers, Json(session.out)).into_response()),
        Err(err @ ApiError::Unauthenticated { .. }) => Ok(forget(err)),
        Err(err) => Err(err),
    }
}

/// Spends `presented` and starts the next session of its chain.
async fn rotate(state: &AppState, presented: &str, mode: RefreshTokenIn) -> Result<Session, ApiError> {
    let invalid = || {
        ApiError::unauthenticated(
            "invalid_refresh_token",
            "the refresh token is not valid; sign in again",
        )
    };
    let hash = tokens::refresh_token_hash(presented);
    let tokens_coll = state.store.refresh_tokens();
    let Some(token) = tokens_coll.find_one(doc! { "_id": &hash }).await? else {
        return Err(invalid());
    };
    if let (Some(used_at), RefreshTokenIn::Cookie) = (token.used_at, mode)
        && !token.revoked
        && let Some(session) = retry_rotation(state, &token, used_at).await?
    {
        return Ok(session);
    }
    if token.revoked || token.used_at.is_some() {
        revoke_family(&state.store, &token.family_id).await?;
        tracing::warn!(user_id = %token.user_id, family_id = %token.family_id, "spent refresh token reused; family revoked");
        return Err(ApiError::unauthenticated(
            "refresh_token_reused",
            "this refresh token was already used; every session it belongs to has been signed out",
        ));
    }
    if token.expires_at < bson::DateTime::now() {
        return Err(invalid());
    }
    // Spend it: only one of two concurrent refreshes with the same token can win.
    let spent = tokens_coll
        .update_one(
            doc! { "_id": &hash, "used_at": null, "revoked": false },
            doc! { "$set": { "used_at": bson::DateTime::now() } },
        )
        .await?;
    if spent.modified_count != 1 {
        revoke_family(&state.store, &token.family_id).await?;
        return Err(ApiError::unauthenticated(
            "refresh_token_reused",
            "this refresh token was already used; every session it belongs to has been signed out",
        ));
    }
    let Some(user) = state
        .store
        .users()
        .find_one(doc! { "_id": token.user_id.as_str() })
        .await?
    else {
        return Err(invalid());
    };
    let session = start_session(state, &user, Some(token.family_id.clone()), mode).await?;
    tokens_coll
        .update_one(
            doc! { "_id": &hash },
            doc! { "$set": { "replaced_by": &session.refresh_hash } },
        )
        .await?;
    // A concurrent reuse of the same token may have revoked the family before our new token
    // existed; it must not survive that.
    let revoked = tokens_coll
        .find_one(doc! { "family_id": &token.family_id, "revoked": true })
        .await?;
    if revoked.is_some() {
        revoke_family(&state.store, &token.family_id).await?;
        return Err(ApiError::unauthenticated(
            "refresh_token_reused",
            "this refresh token was already used; every session it belongs to has been signed out",
        ));
    }
    Ok(session)
}

/// How long after its rotation a refresh cookie may be presented again, in place of the one
/// it was exchanged for, while that one is unused: a browser that reloads the page during a
/// refresh drops the answer (and the new cookie) after the server has rotated, and presents the
/// old cookie again. Refresh tokens sent in the body (API clients) get no grace: reusing a spent
/// one revokes the chain at once.
const COOKIE_RETRY_GRACE: chrono::Duration = chrono::Duration::seconds(10);

/// A browser presenting the cookie it exchanged moments ago, whose successor nobody has used:
/// the successor is spent in its place (its later use would be a reuse) and a new one issued.
/// `None` when this is not such a retry (then it is a reuse).
async fn retry_rotation(
    state: &AppState,
    token: &RefreshTokenDoc,
    used_at: bson::DateTime,
) -> Result<Option<Session>, ApiError> {
    let now = chrono::Utc::now();
    let Some(successor) = &token.replaced_by else {
        return Ok(None);
    };
    if oms_platform::store::to_chrono(used_at) < now - COOKIE_RETRY_GRACE {
        return Ok(None);
    }
    let tokens_coll = state.store.refresh_tokens();
    let taken = tokens_coll
        .update_one(
            doc! { "_id": successor, "used_at": null, "revoked": false },
            doc! { "$set": { "used_at": oms_platform::store::from_chrono(now) } },
        )
        .await?;
    if taken.modified_count != 1 {
        return Ok(None);
    }
    let Some(user) = state
        .store
        .users()
        .find_one(doc! { "_id": token.user_id.as_str() })
        .await?
    else {
        return Ok(None);
    };
    let session = start_session(
        state,
        &user,
        Some(token.family_id.clone()),
        RefreshTokenIn::Cookie,
    )
    .await?;
    tokens_coll
        .update_one(
            doc! { "_id": &token.hash },
            doc! { "$set": { "replaced_by": &session.refresh_hash } },
        )
        .await?;
    tracing::info!(user_id = %token.user_id, "refresh cookie presented again right after its rotation; rotated again");
    Ok(Some(session))
}

/// Signs out the session: the refresh token's chain, or (with `{}`) the session of the access
/// token. The `oms_refresh` cookie is cleared either way.
#[utoipa::path(
    post,
    path = "/api/auth/logout",
    tag = "auth",
    request_body = RefreshIn,
    security(("bearer" = [])),
    responses(
        (
            status = 204,
            description = "Signed out (also when the token was unknown)",
            headers(("Set-Cookie" = String, description = "Clears `oms_refresh`"))
        ),
        (status = 400, response = responses::BadRequest),
        (status = 401, response = responses::Unauthenticated),
        (status = 413, response = responses::PayloadTooLarge),
        (status = 415, response = responses::UnsupportedMediaType),
        (status = 422, response = responses::Invalid),
        (status = 503, response = responses::Unavailable),
    )
)]
async fn logout(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiJson(body): ApiJson<RefreshIn>,
) -> Result<impl IntoResponse, ApiError> {
    let family = match &body.refresh_token {
        Some(token) => state
            .store
            .refresh_tokens()
            .find_one(doc! { "_id": tokens::refresh_token_hash(token) })
            .await?
            .filter(|t| t.user_id == user.id)
            .map(|t| t.family_id),
        None => user.session.clone(),
    };
    if let Some(family) = family {
        revoke_session(&state.store, &family, user.id.as_str()).await?;
    }
    let mut headers = HeaderMap::new();
    cookie::append(&mut headers, cookie::clear());
    Ok((StatusCode::NO_CONTENT, headers))
}

/// The signed-in user.
#[utoipa::path(
    get,
    path = "/api/auth/me",
    tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The signed-in user", body = UserOut),
        (status = 401, response = responses::Unauthenticated),
        (status = 503, response = responses::Unavailable),
    )
)]
async fn me(user: CurrentUser) -> Json<UserOut> {
    Json(UserOut {
        id: user.id.to_string(),
        email: user.email,
        name: user.name,
        role: user.role,
    })
}

/// A new session: what the body says, and the headers (the cookie) that go with it.
struct Session {
    out: SessionOut,
    headers: HeaderMap,
    /// The hash of its refresh token.
    refresh_hash: String,
}

async fn start_session(
    state: &AppState,
    user: &UserDoc,
    family_id: Option<String>,
    mode: RefreshTokenIn,
) -> Result<Session, ApiError> {
    let family_id = family_id.unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let access_token = state
        .tokens
        .issue_access(user.id.as_str(), user.role, &family_id)?;
    let (refresh_token, hash) = tokens::new_refresh_token();
    let now = chrono::Utc::now();
    state
        .store
        .refresh_tokens()
        .insert_one(RefreshTokenDoc {
            hash: hash.clone(),
            user_id: user.id.clone(),
            family_id,
            created_at: oms_platform::store::from_chrono(now),
            expires_at: oms_platform::store::from_chrono(now + state.tokens.refresh_ttl),
            used_at: None,
            revoked: false,
            replaced_by: None,
        })
        .await?;
    let mut headers = HeaderMap::new();
    let refresh_token = match mode {
        RefreshTokenIn::Body => Some(refresh_token),
        RefreshTokenIn::Cookie => {
            cookie::append(
                &mut headers,
                cookie::set(&refresh_token, state.tokens.refresh_ttl)?,
            );
            None
        }
    };
    Ok(Session {
        refresh_hash: hash,
        out: SessionOut {
            user: UserOut::from(user),
            access_token,
            refresh_token,
            token_type: "Bearer",
            expires_in: state.tokens.access_ttl.num_seconds(),
        },
        headers,
    })
}

async fn revoke_family(store: &Store, family_id: &str) -> Result<(), ApiError> {
    store
        .refresh_tokens()
        .update_many(
            doc! { "family_id": family_id },
            doc! { "$set": { "revoked": true } },
        )
        .await?;
    Ok(())
}

/// Revokes `user_id`'s session `family_id` (someone else's is left alone).
async fn revoke_session(store: &Store, family_id: &str, user_id: &str) -> Result<(), ApiError> {
    store
        .refresh_tokens()
        .update_many(
            doc! { "family_id": family_id, "user_id": user_id },
            doc! { "$set": { "revoked": true } },
        )
        .await?;
    Ok(())
}

pub enum CreateUserError {
    Taken,
    Other(ApiError),
}

pub async fn create_user(
    store: &Store,
    email: &Email,
    password: &Password,
    name: &str,
    role: Role,
) -> Result<UserDoc, CreateUserError> {
    let password_hash = password::hash(password.expose().to_string())
        .await
        .map_err(CreateUserError::Other)?;
    let now = bson::DateTime::now();
    let user = UserDoc {
        id: UserId::new(),
        email: email.as_str().to_string(),
        name: name.to_string(),
        password_hash,
        role,
        created_at: now,
        updated_at: now,
    };
    match store.users().insert_one(&user).await {
        Ok(_) => Ok(user),
        Err(e) if oms_platform::store::is_duplicate_key(&e) => Err(CreateUserError::Taken),
        Err(e) => Err(CreateUserError::Other(conflict_on_duplicate(
            e,
            "email_taken",
            "",
            "email",
        ))),
    }
}

/// Makes sure the configured admin exists and is an admin. An existing account keeps its
/// password (so a changed `OMS_ADMIN_PASSWORD` does not silently reset it).
pub async fn ensure_admin(store: &Store, admin: &AdminBootstrap) -> anyhow::Result<()> {
    let email = Email::parse(&admin.email).map_err(|e| anyhow::anyhow!("OMS_ADMIN_EMAIL: {e}"))?;
    if promote(store, &email).await? {
        return Ok(());
    }
    let password = Password::parse(admin.password.expose_secret())
        .map_err(|e| anyhow::anyhow!("OMS_ADMIN_PASSWORD: {e}"))?;
    match create_user(store, &email, &password, "Administrator", Role::Admin).await {
        Ok(user) => {
            tracing::info!(user_id = %user.id, email = %email, "admin account created");
            Ok(())
        }
        // Another process created it meanwhile.
        Err(CreateUserError::Taken) => promote(store, &email).await.map(|_| ()),
        Err(CreateUserError::Other(e)) => Err(anyhow::anyhow!("creating the admin failed: {e}")),
    }
}

/// Gives `email` the admin role. `false` when there is no such account.
pub async fn promote(store: &Store, email: &Email) -> anyhow::Result<bool> {
    let result = store
        .users()
        .update_one(
            doc! { "email": email.as_str() },
            doc! { "$set": { "role": "admin", "updated_at": bson::DateTime::now() } },
        )
        .await?;
    Ok(result.matched_count == 1)
}
