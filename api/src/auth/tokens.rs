//! Access tokens (HS256 JWTs with `sub`, `role`, `exp`, `iat`, `jti` and `sid`, the session they
//! belong to) and refresh tokens (256 random bits, stored only as their SHA-256).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, encode};
use oms_contracts::Role;
use rand::RngCore;
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::ApiError;

#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub role: Role,
    pub exp: i64,
    pub iat: i64,
    pub jti: String,
    /// The session (refresh token family) the token was issued for: signing out with the access
    /// token alone ends it. Absent from tokens issued before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
}

pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    pub access_ttl: chrono::Duration,
    pub refresh_ttl: chrono::Duration,
}

impl TokenKeys {
    pub fn new(config: &oms_platform::Config) -> Self {
        let secret = config.jwt_secret.expose_secret().as_bytes();
        // Only HS256 is accepted: `alg: none` and algorithm confusion fail here.
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 5;
        validation.set_required_spec_claims(&["exp", "iat", "sub"]);
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            access_ttl: chrono::Duration::from_std(config.access_ttl)
                .unwrap_or(chrono::Duration::minutes(15)),
            refresh_ttl: chrono::Duration::from_std(config.refresh_ttl).unwrap_or(chrono::Duration::days(30)),
        }
    }

    pub fn issue_access(&self, user_id: &str, role: Role, session: &str) -> Result<String, ApiError> {
        let now = chrono::Utc::now();
        let claims = Claims {
            sub: user_id.to_string(),
            role,
            iat: now.timestamp(),
            exp: (now + self.access_ttl).timestamp(),
            jti: uuid::Uuid::new_v4().to_string(),
            sid: Some(session.to_string()),
        };
        encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| ApiError::Internal(anyhow::anyhow!("signing a token failed: {e}")))
    }

    pub fn verify_access(&self, token: &str) -> Result<Claims, ApiError> {
        decode::<Claims>(token, &self.decoding, &self.validation)
            .map(|data| data.claims)
            .map_err(|err| match err.kind() {
                ErrorKind::ExpiredSignature => {
                    ApiError::unauthenticated("token_expired", "the access token has expired")
                }
                _ => ApiError::unauthenticated("invalid_token", "the access token is not valid"),
            })
    }
}

/// A new refresh token and the hash under which it is stored.
pub fn new_refresh_token() -> (String, String) {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let token = URL_SAFE_NO_PAD.encode(bytes);
    let hash = refresh_token_hash(&token);
    (token, hash)
}

pub fn refresh_token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> TokenKeys {
        let config = oms_platform::Config::from_lookup(|name| (name == "OMS_ENV").then(|| "dev".to_string()))
            .expect("dev config");
        TokenKeys::new(&config)
    }

    #[test]
    fn access_tokens_round_trip() {
        let keys = keys();
        let token = keys.issue_access("u1", Role::Admin, "s1").expect("issue");
        let claims = keys.verify_access(&token).expect("verify");
        assert_eq!((claims.sub.as_str(), claims.role), ("u1", Role::Admin));
        assert_eq!(claims.sid.as_deref(), Some("s1"));
        assert!(claims.exp > claims.iat);
    }

    #[test]
    fn tampered_tokens_are_refused() {
        let keys = keys();
        let token = keys.issue_access("u1", Role::User, "s1").expect("issue");
        let mut parts: Vec<String> = token.split('.').map(str::to_string).collect();
        let payload = String::from_utf8(URL_SAFE_NO_PAD.decode(&parts[1]).expect("b64")).expect("utf8");
        parts[1] = URL_SAFE_NO_PAD.encode(payload.replace("\"user\"", "\"admin\""));
        let err = keys.verify_access(&parts.join(".")).expect_err("tampered");
        assert_eq!(err.code(), "invalid_token");
    }

    #[test]
    fn refresh_tokens_are_random_and_hashed() {
        let (a, hash_a) = new_refresh_token();
        let (b, _) = new_refresh_token();
        assert_ne!(a, b);
        assert_eq!(hash_a, refresh_token_hash(&a));
        assert_eq!(hash_a.len(), 64);
    }
}
