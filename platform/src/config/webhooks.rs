//! The webhook settings: delivery timeout, retry schedule, when a failing endpoint is
//! disabled, which addresses endpoints may have, and the key that seals their secrets.

use std::time::Duration;

use secrecy::SecretString;
use sha2::{Digest, Sha256};

use super::{ConfigError, Environment, parse_duration, parse_or};

#[derive(Clone, Debug)]
pub struct WebhooksConfig {
    /// How long one attempt may take, connection to last byte (`OMS_WEBHOOK_TIMEOUT`, 10s).
    pub timeout: Duration,
    /// The wait before each retry; after the last, the delivery is failed
    /// (`OMS_WEBHOOK_RETRY_SCHEDULE`, `5s,5m,30m,2h,5h,10h`).
    pub retry_schedule: Vec<Duration>,
    /// An endpoint failing every attempt this long is disabled (`OMS_WEBHOOK_DISABLE_AFTER`, 5d).
    pub disable_after: Duration,
    /// How often a delivery worker looks for due deliveries (`OMS_WEBHOOK_POLL`, 500ms).
    pub poll: Duration,
    /// Plain `http://` endpoint URLs are accepted (only with `OMS_ENV=dev`).
    pub allow_http: bool,
    /// Loopback, private, link-local and metadata addresses are accepted
    /// (`OMS_WEBHOOKS_ALLOW_PRIVATE=true`; for tests and local development).
    pub allow_private: bool,
    /// The 32-byte key (hex) that seals endpoint secrets in the store (`OMS_WEBHOOK_SECRETS_KEY`,
    /// 64 hex digits; by default derived from `OMS_JWT_SECRET`).
    pub secrets_key: SecretString,
}

pub(super) fn webhooks_from(
    get: &impl Fn(&str) -> Option<String>,
    environment: Environment,
    jwt_secret: &str,
) -> Result<WebhooksConfig, ConfigError> {
    let timeout = parse_or(
        "OMS_WEBHOOK_TIMEOUT",
        get("OMS_WEBHOOK_TIMEOUT"),
        "10s",
        |v| match parse_duration(v)? {
            d if d >= Duration::from_millis(100) && d <= Duration::from_secs(60) => Ok(d),
            _ => Err("must be between 100ms and 60s".to_string()),
        },
    )?;
    let retry_schedule = parse_or(
        "OMS_WEBHOOK_RETRY_SCHEDULE",
        get("OMS_WEBHOOK_RETRY_SCHEDULE"),
        "5s,5m,30m,2h,5h,10h",
        |v| {
            let delays = v
                .split(',')
                .map(|d| parse_duration(d.trim()))
                .collect::<Result<Vec<_>, _>>()?;
            if delays.is_empty() || delays.len() > 20 {
                return Err("must list 1 to 20 delays, like 5s,5m,30m".to_string());
            }
            Ok(delays)
        },
    )?;
    let disable_after = parse_or(
        "OMS_WEBHOOK_DISABLE_AFTER",
        get("OMS_WEBHOOK_DISABLE_AFTER"),
        "5d",
        parse_duration,
    )?;
    let poll = parse_or(
        "OMS_WEBHOOK_POLL",
        get("OMS_WEBHOOK_POLL"),
        "500ms",
        |v| match parse_duration(v)? {
            d if d >= Duration::from_millis(10) && d <= Duration::from_secs(60) => Ok(d),
            _ => Err("must be between 10ms and 60s".to_string()),
        },
    )?;
    let allow_private = parse_or(
        "OMS_WEBHOOKS_ALLOW_PRIVATE",
        get("OMS_WEBHOOKS_ALLOW_PRIVATE"),
        "false",
        |v| match v {
            "true" | "1" => Ok(true),
            "false" | "0" => Ok(false),
            _ => Err("must be true or false".to_string()),
        },
    )?;
    let secrets_key = match get("OMS_WEBHOOK_SECRETS_KEY") {
        Some(key) => {
            let key = key.trim().to_ascii_lowercase();
            if key.len() != 64 || hex::decode(&key).is_err() {
                return Err(ConfigError::new(
                    "OMS_WEBHOOK_SECRETS_KEY",
                    "must be 32 bytes as 64 hex digits",
                ));
            }
            key
        }
        // A key of its own, derived one way from the JWT key: a store dump alone does not
        // reveal the endpoints' secrets.
        None => hex::encode(Sha256::digest(
            [b"oms webhook secrets v1\0".as_slice(), jwt_secret.as_bytes()].concat(),
        )),
    };
    Ok(WebhooksConfig {
        timeout,
        retry_schedule,
        disable_after,
        poll,
        allow_http: environment == Environment::Dev,
        allow_private,
        secrets_key: secrets_key.into(),
    })
}
