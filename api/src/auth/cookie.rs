//! The refresh token as a browser keeps it: an `HttpOnly; Secure; SameSite=Strict` cookie sent only
//! to `POST /api/auth/refresh`, so no script on the page can read it and no other request carries it.
//!
//! CSRF: a refresh moves no data and its answer cannot be read across origins, but a forged one
//! would still spend the token. Three things stop it: `SameSite=Strict` (no cross-site request
//! carries the cookie), a JSON body (a cross-site form cannot send one, and a cross-site `fetch`
//! of JSON needs a CORS preflight that credentials never pass), and `Sec-Fetch-Site`, which
//! browsers set and scripts cannot: a cookie presented from another site, even a sibling
//! subdomain, is refused.

use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue};

use crate::error::ApiError;

/// The cookie's name.
pub const NAME: &str = "oms_refresh";
/// The only path the browser sends it to.
pub const PATH: &str = "/api/auth/refresh";

/// `Set-Cookie` for a new refresh token, kept for `max_age`.
pub fn set(token: &str, max_age: chrono::Duration) -> Result<HeaderValue, ApiError> {
    HeaderValue::from_str(&format!(
        "{NAME}={token}; Path={PATH}; Max-Age={}; HttpOnly; Secure; SameSite=Strict",
        max_age.num_seconds().max(0)
    ))
    .map_err(|e| ApiError::Internal(anyhow::anyhow!("a refresh cookie could not be built: {e}")))
}

/// `Set-Cookie` that makes the browser forget the refresh token.
pub fn clear() -> HeaderValue {
    HeaderValue::from_static(
        "oms_refresh=; Path=/api/auth/refresh; Max-Age=0; HttpOnly; Secure; SameSite=Strict",
    )
}

/// Adds `Set-Cookie: value` to `headers`.
pub fn append(headers: &mut HeaderMap, value: HeaderValue) {
    headers.append(SET_COOKIE, value);
}

/// The refresh token the browser sent, if any; refused when the request comes from another site.
pub fn read(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let token = headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, value)| *name == NAME && !value.is_empty())
        .map(|(_, value)| value.to_string());
    if token.is_none() {
        return Ok(None);
    }
    let site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
    if matches!(site, Some("cross-site" | "same-site")) {
        return Err(ApiError::BadRequest {
            code: "cross_site_refresh",
            message: "the session cookie is accepted only from this site's own pages".into(),
        });
    }
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn the_cookie_is_http_only_secure_strict_and_scoped_to_the_refresh_path() {
        let value = set("tok", chrono::Duration::days(30)).expect("cookie");
        let value = value.to_str().expect("ascii");
        for attribute in [
            "oms_refresh=tok",
            "Path=/api/auth/refresh",
            "Max-Age=2592000",
            "HttpOnly",
            "Secure",
            "SameSite=Strict",
        ] {
            assert!(
                value.split("; ").any(|a| a == attribute),
                "{attribute} in {value}"
            );
        }
        assert!(clear().to_str().expect("ascii").contains("Max-Age=0"));
    }

    #[test]
    fn reads_the_token_among_other_cookies() {
        let h = headers(&[("cookie", "a=1; oms_refresh=xyz; b=2")]);
        assert_eq!(read(&h).expect("ok").as_deref(), Some("xyz"));
        assert_eq!(read(&headers(&[("cookie", "a=1")])).expect("ok"), None);
        assert_eq!(read(&headers(&[])).expect("ok"), None);
    }

    #[test]
    fn refuses_the_cookie_from_another_site() {
        for site in ["cross-site", "same-site"] {
            let h = headers(&[("cookie", "oms_refresh=xyz"), ("sec-fetch-site", site)]);
            assert_eq!(read(&h).expect_err(site).code(), "cross_site_refresh");
        }
        for site in ["same-origin", "none"] {
            let h = headers(&[("cookie", "oms_refresh=xyz"), ("sec-fetch-site", site)]);
            assert_eq!(read(&h).expect(site).as_deref(), Some("xyz"));
        }
    }
}
