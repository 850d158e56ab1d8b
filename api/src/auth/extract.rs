//! `CurrentUser` and `AdminUser`: authentication as extractors. The token's signature and
//! expiry are checked, then the account is loaded — from the store, or from the accounts read
//! in the last `OMS_ACCOUNT_CACHE_TTL` (2 s by default) — so a deleted account's token stops
//! working, and a promotion or demotion takes effect, within that bound instead of when the
//! token expires, without a store read per request.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use oms_contracts::ids::UserId;

use crate::error::ApiError;
use crate::state::AppState;

pub use super::user::{AccountCache, AdminUser, CurrentUser};

fn bearer(parts: &Parts) -> Result<Option<&str>, ApiError> {
    let Some(value) = parts.headers.get(AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value
        .to_str()
        .map_err(|_| ApiError::unauthenticated("invalid_token", "the Authorization header is not valid"))?;
    match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() => {
            Ok(Some(token.trim()))
        }
        _ => Err(ApiError::unauthenticated(
            "invalid_token",
            "the Authorization header must be `Bearer <access token>`",
        )),
    }
}

async fn authenticate(state: &AppState, token: &str) -> Result<CurrentUser, ApiError> {
    let claims = state.tokens.verify_access(token)?;
    if let Some(user) = state.accounts.get(&claims.sub) {
        return Ok(CurrentUser {
            session: claims.sid,
            ..user
        });
    }
    let gone = || ApiError::unauthenticated("invalid_token", "the account no longer exists");
    let id = UserId::parse(&claims.sub).map_err(|_| gone())?;
    let user = state.store.user(&id).await?.ok_or_else(gone)?;
    let id = user.id;
    let user = CurrentUser {
        id,
        email: user.email,
        name: user.name,
        role: user.role,
        session: claims.sid,
    };
    state.accounts.put(&user);
    Ok(user)
}

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if let Some(user) = parts.extensions.get::<CurrentUser>() {
            return Ok(user.clone());
        }
        let token = bearer(parts)?
            .ok_or_else(|| ApiError::unauthenticated("unauthenticated", "sign in to do this"))?;
        let user = authenticate(state, token).await?;
        parts.extensions.insert(user.clone());
        Ok(user)
    }
}

impl FromRequestParts<AppState> for AdminUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let user = CurrentUser::from_request_parts(parts, state).await?;
        if user.is_admin() {
            Ok(AdminUser(user))
        } else {
            Err(ApiError::Forbidden)
        }
    }
}

/// Routes open to everyone that show more to admins: no token means anonymous, a bad
/// token is still refused.
impl axum::extract::OptionalFromRequestParts<AppState> for CurrentUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Option<Self>, ApiError> {
        if bearer(parts)?.is_none() {
            return Ok(None);
        }
        <CurrentUser as FromRequestParts<AppState>>::from_request_parts(parts, state)
            .await
            .map(Some)
    }
}
