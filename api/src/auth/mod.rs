//! Accounts and sessions: register, login, refresh (rotating, with reuse detection),
//! logout, me; the admin bootstrap and `oms user promote`.

pub mod extract;
pub mod password;
pub mod rate_limit;
pub mod tokens;

use std::net::SocketAddr;

use axum::Json;
use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
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

use crate::error::{ApiError, ErrorBody, conflict_on_duplicate};
use crate::extract::ApiJson;
use crate::openapi::errors;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::default()
        .routes(routes!(register))
        .routes(routes!(login))
        .routes(routes!(refresh))
        .routes(routes!(logout))
        .routes(routes!(me))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterIn {
    #[schema(example = "ada@example.com")]
    email: String,
    #[schema(min_length = 8, max_length = 128)]
    password: String,
    name: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginIn {
    email: String,
    password: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshIn {
    refresh_token: String,
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
            id: user.id.clone(),
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
    refresh_token: String,
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
        (status = 201, description = "The account exists and is signed in", body = SessionOut),
        (status = 400, response = errors::BadRequest),
        (status = 409, description = "`email_taken`: an account with this address exists", body = ErrorBody),
        (status = 413, response = errors::PayloadTooLarge),
        (status = 415, response = errors::UnsupportedMediaType),
        (status = 422, response = errors::Invalid),
        (status = 503, response = errors::Unavailable),
    )
)]
async fn register(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<RegisterIn>,
) -> Result<impl IntoResponse, ApiError> {
    let email = Email::parse(&body.email).map_err(|e| ApiError::invalid("email", e))?;
    let password = Password::parse(&body.password).map_err(|e| ApiError::invalid("password", e))?;
    let name = PersonName::parse(&body.name).map_err(|e| ApiError::invalid("name", e))?;
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
    let session = start_session(&state, &user, None).await?;
    tracing::info!(user_id = %user.id, "user registered");
    Ok((StatusCode::CREATED, Json(session)))
}

/// Signs in. Failed attempts are counted per account and per client address.
#[utoipa::path(
    post,
    path = "/api/auth/login",
    tag = "auth",
    request_body = LoginIn,
    responses(
        (status = 200, description = "Signed in", body = SessionOut),
        (status = 400, response = errors::BadRequest),
        (status = 401, description = "`invalid_credentials`: the address or password is wrong", body = ErrorBody),
        (status = 413, response = errors::PayloadTooLarge),
        (status = 415, response = errors::UnsupportedMediaType),
        (status = 422, response = errors::Invalid),
        (status = 429, response = errors::RateLimited),
        (status = 503, response = errors::Unavailable),
    )
)]
async fn login(
    State(state): State<AppState>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    ApiJson(body): ApiJson<LoginIn>,
) -> Result<Json<SessionOut>, ApiError> {
    let invalid =
        || ApiError::unauthenticated("invalid_credentials", "the e-mail address or password is wrong");
    let account = body.email.trim().to_ascii_lowercase();
    let client = client.ip().to_string();
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
            Ok(Json(start_session(&state, &user, None).await?))
        }
        _ => {
            state.login_limiter.record_failure(&account, &client);
            Err(invalid())
        }
    }
}

/// Exchanges a refresh token for a new pair. The old token stops working; presenting a spent
/// one signs out every session of its chain.
#[utoipa::path(
    post,
    path = "/api/auth/refresh",
    tag = "auth",
    request_body = RefreshIn,
    responses(
        (status = 200, description = "A new access and refresh token", body = SessionOut),
        (status = 400, response = errors::BadRequest),
        (
            status = 401,
            description = "`invalid_refresh_token` (unknown or expired), or `refresh_token_reused` \
                (already spent: its whole chain is now revoked)",
            body = ErrorBody
        ),
        (status = 413, response = errors::PayloadTooLarge),
        (status = 415, response = errors::UnsupportedMediaType),
        (status = 422, response = errors::Invalid),
        (status = 503, response = errors::Unavailable),
    )
)]
async fn refresh(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<RefreshIn>,
) -> Result<Json<SessionOut>, ApiError> {
    let invalid = || {
        ApiError::unauthenticated(
            "invalid_refresh_token",
            "the refresh token is not valid; sign in again",
        )
    };
    let hash = tokens::refresh_token_hash(&body.refresh_token);
    let tokens_coll = state.store.refresh_tokens();
    let Some(token) = tokens_coll.find_one(doc! { "_id": &hash }).await? else {
        return Err(invalid());
    };
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
        .find_one(doc! { "_id": &token.user_id })
        .await?
    else {
        return Err(invalid());
    };
    let session = start_session(&state, &user, Some(token.family_id.clone())).await?;
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
    Ok(Json(session))
}

/// Signs out the session (the refresh token's chain).
#[utoipa::path(
    post,
    path = "/api/auth/logout",
    tag = "auth",
    request_body = RefreshIn,
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Signed out (also when the token was unknown)"),
        (status = 400, response = errors::BadRequest),
        (status = 401, response = errors::Unauthenticated),
        (status = 413, response = errors::PayloadTooLarge),
        (status = 415, response = errors::UnsupportedMediaType),
        (status = 422, response = errors::Invalid),
        (status = 503, response = errors::Unavailable),
    )
)]
async fn logout(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiJson(body): ApiJson<RefreshIn>,
) -> Result<StatusCode, ApiError> {
    let hash = tokens::refresh_token_hash(&body.refresh_token);
    if let Some(token) = state
        .store
        .refresh_tokens()
        .find_one(doc! { "_id": &hash })
        .await?
        && token.user_id == user.id.as_str()
    {
        revoke_family(&state.store, &token.family_id).await?;
    }
    Ok(StatusCode::NO_CONTENT)
}

/// The signed-in user.
#[utoipa::path(
    get,
    path = "/api/auth/me",
    tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The signed-in user", body = UserOut),
        (status = 401, response = errors::Unauthenticated),
        (status = 503, response = errors::Unavailable),
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

async fn start_session(
    state: &AppState,
    user: &UserDoc,
    family_id: Option<String>,
) -> Result<SessionOut, ApiError> {
    let access_token = state.tokens.issue_access(&user.id, user.role)?;
    let (refresh_token, hash) = tokens::new_refresh_token();
    let now = chrono::Utc::now();
    state
        .store
        .refresh_tokens()
        .insert_one(RefreshTokenDoc {
            hash,
            user_id: user.id.clone(),
            family_id: family_id.unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
            created_at: oms_platform::store::from_chrono(now),
            expires_at: oms_platform::store::from_chrono(now + state.tokens.refresh_ttl),
            used_at: None,
            revoked: false,
        })
        .await?;
    Ok(SessionOut {
        user: UserOut::from(user),
        access_token,
        refresh_token,
        token_type: "Bearer",
        expires_in: state.tokens.access_ttl.num_seconds(),
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
        id: UserId::new().to_string(),
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
