//! Accounts and sessions: register, login, refresh (rotating, with reuse detection),
//! logout, me; the admin bootstrap and `oms user promote`.
//!
//! A session's refresh token reaches the client in one of two ways, which it picks at sign-in
//! (`refresh_token_in`): in the JSON body (API clients; the default), or in an `HttpOnly` cookie
//! that no script can read (browsers; see [`cookie`]). A refresh answers the way it was asked.

mod sessions;
pub use sessions::*;
mod accounts;
pub use accounts::*;

pub mod cookie;
pub mod extract;
pub mod password;
pub mod rate_limit;
pub mod tokens;
pub mod user;

use std::net::SocketAddr;

use axum::Json;
use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use mongodb::bson::doc;
use oms_contracts::Role;
use oms_contracts::domain::{Email, Password, PersonName};
use oms_platform::store::UserDoc;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use extract::{AdminUser, CurrentUser};

use crate::error::responses;
use crate::error::{ApiError, ErrorBody, Fields};
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
    /// 8 to 128 characters (the bounds are added from `Password`'s own, see `contract.rs`).
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
        Ok(email) => state.store.user_by_email(&email).await?,
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
