//! Sessions: refresh-token rotation (with reuse detection and the cookie's short grace),
//! sign-out, and starting or revoking a session's token family.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use mongodb::bson;
use oms_platform::store::{RefreshTokenDoc, UserDoc};

pub use extract::CurrentUser;

use crate::error::responses;
use crate::error::{ApiError, ErrorBody};
use crate::extract::ApiJson;
use crate::state::AppState;

use super::*;

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
pub(crate) async fn refresh(
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
pub(crate) async fn rotate(
    state: &AppState,
    presented: &str,
    mode: RefreshTokenIn,
) -> Result<Session, ApiError> {
    let invalid = || {
        ApiError::unauthenticated(
            "invalid_refresh_token",
            "the refresh token is not valid; sign in again",
        )
    };
    let hash = tokens::refresh_token_hash(presented);
    let Some(token) = state.store.refresh_token(&hash).await? else {
        return Err(invalid());
    };
    if let (Some(used_at), RefreshTokenIn::Cookie) = (token.used_at, mode)
        && !token.revoked
        && let Some(session) = retry_rotation(state, &token, used_at).await?
    {
        return Ok(session);
    }
    if token.revoked || token.used_at.is_some() {
        state.store.revoke_token_family(&token.family_id, None).await?;
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
    if !state
        .store
        .spend_refresh_token(&hash, bson::DateTime::now())
        .await?
    {
        state.store.revoke_token_family(&token.family_id, None).await?;
        return Err(ApiError::unauthenticated(
            "refresh_token_reused",
            "this refresh token was already used; every session it belongs to has been signed out",
        ));
    }
    let Some(user) = state.store.user(&token.user_id).await? else {
        return Err(invalid());
    };
    let session = start_session(state, &user, Some(token.family_id.clone()), mode).await?;
    state
        .store
        .link_refresh_token(&hash, &session.refresh_hash)
        .await?;
    // A concurrent reuse of the same token may have revoked the family before our new token
    // existed; it must not survive that.
    if state.store.token_family_revoked(&token.family_id).await? {
        state.store.revoke_token_family(&token.family_id, None).await?;
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
pub(crate) const COOKIE_RETRY_GRACE: chrono::Duration = chrono::Duration::seconds(10);

/// A browser presenting the cookie it exchanged moments ago, whose successor nobody has used:
/// the successor is spent in its place (its later use would be a reuse) and a new one issued.
/// `None` when this is not such a retry (then it is a reuse).
pub(crate) async fn retry_rotation(
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
    let taken = state
        .store
        .spend_refresh_token(successor, oms_platform::store::from_chrono(now))
        .await?;
    if !taken {
        return Ok(None);
    }
    let Some(user) = state.store.user(&token.user_id).await? else {
        return Ok(None);
    };
    let session = start_session(
        state,
        &user,
        Some(token.family_id.clone()),
        RefreshTokenIn::Cookie,
    )
    .await?;
    state
        .store
        .link_refresh_token(&token.hash, &session.refresh_hash)
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
pub(crate) async fn logout(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiJson(body): ApiJson<RefreshIn>,
) -> Result<impl IntoResponse, ApiError> {
    let family = match &body.refresh_token {
        Some(token) => state
            .store
            .refresh_token(&tokens::refresh_token_hash(token))
            .await?
            .filter(|t| t.user_id == user.id)
            .map(|t| t.family_id),
        None => user.session.clone(),
    };
    if let Some(family) = family {
        state.store.revoke_token_family(&family, Some(&user.id)).await?;
    }
    let mut headers = HeaderMap::new();
    cookie::append(&mut headers, cookie::clear());
    Ok((StatusCode::NO_CONTENT, headers))
}

/// A new session: what the body says, and the headers (the cookie) that go with it.
pub(crate) struct Session {
    pub(crate) out: SessionOut,
    pub(crate) headers: HeaderMap,
    /// The hash of its refresh token.
    pub(crate) refresh_hash: String,
}

pub(crate) async fn start_session(
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
