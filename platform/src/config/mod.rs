//! Configuration, read once at start-up from the environment (and `.env` when present)
//! into typed values. A missing or invalid variable stops start-up with one line naming it.

mod parse;
pub use parse::*;
#[cfg(test)]
mod tests;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

mod webhooks;
use crate::urls::ServiceUrl;
pub use webhooks::WebhooksConfig;

/// A variable that is missing or does not parse.
#[derive(Debug, thiserror::Error)]
#[error("configuration error: {var}: {problem}")]
pub struct ConfigError {
    pub var: &'static str,
    pub problem: String,
}

impl ConfigError {
    fn new(var: &'static str, problem: impl Into<String>) -> Self {
        Self {
            var,
            problem: problem.into(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Environment {
    /// Local development: dev defaults for secrets are allowed.
    Dev,
    Production,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// Where product images end up.
#[derive(Clone, Debug)]
pub enum ImageStoreConfig {
    /// Files under `media_dir`, served by the API at `/media/`.
    Local,
    Cloudinary(CloudinaryConfig),
}

#[derive(Clone, Debug)]
pub struct CloudinaryConfig {
    pub cloud_name: String,
    pub api_key: String,
    pub api_secret: SecretString,
    /// `https://api.cloudinary.com` in production; a stand-in in tests.
    pub api_base: String,
}

#[derive(Clone, Debug)]
pub struct AdminBootstrap {
    pub email: String,
    pub password: SecretString,
}

#[derive(Clone, Debug)]
pub struct Config {
    pub environment: Environment,
    pub http_addr: SocketAddr,
    pub amqp_url: SecretString,
    /// RabbitMQ's management API (for the ops view), derived from the AMQP URL by default.
    pub rabbit_management_url: SecretString,
    pub mongo_uri: SecretString,
    pub mongo_db: String,
    pub jwt_secret: SecretString,
    pub access_ttl: Duration,
    pub refresh_ttl: Duration,
    /// How long the API trusts an account (its existence and role) once read: a deleted or
    /// demoted account loses access within this bound. Zero reads the account on every request.
    pub account_cache_ttl: Duration,
    pub partitions: u32,
    pub image_store: ImageStoreConfig,
    pub media_dir: PathBuf,
    pub max_image_bytes: usize,
    pub admin: Option<AdminBootstrap>,
    pub log_format: LogFormat,
    /// The built SPA, served at `/`.
    pub client_dir: PathBuf,
    /// Origins allowed by CORS; empty means same-origin only.
    pub cors_origins: Vec<String>,
    /// The reverse proxies whose `X-Forwarded-For` names the client (`OMS_TRUSTED_PROXIES`).
    pub trusted_proxies: crate::proxies::TrustedProxies,
    /// A `PENDING` order older than this is republished by the reconciler.
    pub reconcile_after: Duration,
    /// Default low-stock threshold for products that do not set their own.
    pub low_stock_threshold: i64,
    /// The most stock commands a stock worker decides in one transaction (1: one at a time).
    pub stock_batch: usize,
    /// The most messages an order worker applies as one batch (1: one at a time).
    pub order_batch: usize,
    /// How long the image worker retries one upload before marking the image failed.
    pub image_retry_for: Duration,
    pub webhooks: WebhooksConfig,
}

/// The secret used when `OMS_ENV=dev` and no `OMS_JWT_SECRET` is set. Never valid elsewhere.
const DEV_JWT_SECRET: &str = "oms-dev-only-secret-do-not-use-in-production-0123456789";

impl Config {
    /// Reads `.env` (if present) and the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        // A missing .env is normal; a malformed one is a configuration error.
        match dotenvy::dotenv() {
            Ok(_) => {}
            Err(e) if e.not_found() => {}
            Err(e) => return Err(ConfigError::new(".env", e.to_string())),
        }
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Builds the configuration from any variable source (tests pass a map).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());

        let environment = match get("OMS_ENV").as_deref() {
            None | Some("production") | Some("prod") => Environment::Production,
            Some("dev") | Some("development") => Environment::Dev,
            Some(other) => {
                return Err(ConfigError::new(
                    "OMS_ENV",
                    format!("unknown environment {other:?} (expected dev or production)"),
                ));
            }
        };

        let http_addr = parse_or("OMS_HTTP_ADDR", get("OMS_HTTP_ADDR"), "127.0.0.1:8080", |v| {
            v.parse::<SocketAddr>().map_err(|e| e.to_string())
        })?;
        let amqp_url =
            get("OMS_AMQP_URL").unwrap_or_else(|| "amqp://guest:guest@127.0.0.1:5672/%2f".to_string());
        // lapin is built without a TLS stack (see Cargo.toml): TLS to the broker is terminated in front of it.
        let amqp = match ServiceUrl::parse(&amqp_url) {
            Some(url) if url.scheme == "amqp" => url,
            _ => {
                return Err(ConfigError::new(
                    "OMS_AMQP_URL",
                    "must be amqp://[user:password@]host[:port][,host[:port]...][/vhost] (amqps:// is not built in)",
                ));
            }
        };
        let rabbit_management_url = match get("OMS_RABBIT_MANAGEMENT_URL") {
            Some(url) if url.starts_with("http://") || url.starts_with("https://") => url,
            Some(_) => {
                return Err(ConfigError::new(
                    "OMS_RABBIT_MANAGEMENT_URL",
                    "must start with http:// or https://",
                ));
            }
            None => amqp.management(),
        };
        let mongo_uri = get("OMS_MONGO_URI")
            .unwrap_or_else(|| "mongodb://127.0.0.1:27017/?directConnection=true".to_string());
        if !(mongo_uri.starts_with("mongodb://") || mongo_uri.starts_with("mongodb+srv://")) {
            return Err(ConfigError::new(
                "OMS_MONGO_URI",
                "must start with mongodb:// or mongodb+srv://",
            ));
        }
        let mongo_db = get("OMS_MONGO_DB").unwrap_or_else(|| "oms".to_string());
        let db_name_ok = !mongo_db.is_empty()
            && mongo_db.len() <= 63
            && mongo_db
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !db_name_ok {
            return Err(ConfigError::new(
                "OMS_MONGO_DB",
                "must be 1-63 characters of letters, digits, '_' or '-'",
            ));
        }

        let jwt_secret = match (get("OMS_JWT_SECRET"), environment) {
            (Some(secret), _) if secret.len() >= 32 => secret,
            (Some(_), _) => return Err(ConfigError::new("OMS_JWT_SECRET", "must be at least 32 bytes")),
            (None, Environment::Dev) => DEV_JWT_SECRET.to_string(),
            (None, Environment::Production) => {
                return Err(ConfigError::new(
                    "OMS_JWT_SECRET",
                    "is required (at least 32 bytes) unless OMS_ENV=dev",
                ));
            }
        };

        let access_ttl = parse_or("OMS_ACCESS_TTL", get("OMS_ACCESS_TTL"), "15m", parse_duration)?;
        let refresh_ttl = parse_or("OMS_REFRESH_TTL", get("OMS_REFRESH_TTL"), "30d", parse_duration)?;
        if access_ttl.is_zero() || access_ttl > Duration::from_secs(24 * 3600) {
            return Err(ConfigError::new("OMS_ACCESS_TTL", "must be between 1s and 24h"));
        }
        if refresh_ttl <= access_ttl {
            return Err(ConfigError::new(
                "OMS_REFRESH_TTL",
                "must be longer than OMS_ACCESS_TTL",
            ));
        }

        // One partition by default: on one machine the store and the broker bound throughput,
        // not the partition's worker, and with one partition every order is decided whole (no
        // reservation saga). Partitions are the unit of scale-out across machines.
        let partitions = parse_or(
            "OMS_STOCK_PARTITIONS",
            get("OMS_STOCK_PARTITIONS"),
            "1",
            |v| match v.parse::<u32>() {
                Ok(n) if (1..=256).contains(&n) => Ok(n),
                _ => Err("must be a whole number from 1 to 256".to_string()),
            },
        )?;

        let media_dir = PathBuf::from(get("OMS_MEDIA_DIR").unwrap_or_else(|| ".oms-data/media".to_string()));
        let max_image_bytes = parse_or(
            "OMS_MAX_IMAGE_BYTES",
            get("OMS_MAX_IMAGE_BYTES"),
            "5242880",
            |v| match v.parse::<usize>() {
                Ok(n) if (1024..=100 * 1024 * 1024).contains(&n) => Ok(n),
                _ => Err("must be a number of bytes from 1024 to 104857600".to_string()),
            },
        )?;
        let image_store = match get("OMS_IMAGE_STORE").as_deref() {
            None | Some("local") => ImageStoreConfig::Local,
            Some("cloudinary") => ImageStoreConfig::Cloudinary(cloudinary_from(&get)?),
            Some(other) => {
                return Err(ConfigError::new(
                    "OMS_IMAGE_STORE",
                    format!("unknown store {other:?} (expected local or cloudinary)"),
                ));
            }
        };

        let admin = match (get("OMS_ADMIN_EMAIL"), get("OMS_ADMIN_PASSWORD")) {
            (None, None) => None,
            (Some(_), None) => {
                return Err(ConfigError::new(
                    "OMS_ADMIN_PASSWORD",
                    "is required when OMS_ADMIN_EMAIL is set",
                ));
            }
            (None, Some(_)) => {
                return Err(ConfigError::new(
                    "OMS_ADMIN_EMAIL",
                    "is required when OMS_ADMIN_PASSWORD is set",
                ));
            }
            (Some(email), Some(password)) => {
                let email = oms_contracts::domain::Email::parse(&email)
                    .map_err(|e| ConfigError::new("OMS_ADMIN_EMAIL", e.to_string()))?;
                oms_contracts::domain::Password::parse(&password)
                    .map_err(|e| ConfigError::new("OMS_ADMIN_PASSWORD", e.to_string()))?;
                Some(AdminBootstrap {
                    email: email.as_str().to_string(),
                    password: password.into(),
                })
            }
        };

        let log_format = match get("OMS_LOG_FORMAT").as_deref() {
            None | Some("text") | Some("pretty") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(other) => {
                return Err(ConfigError::new(
                    "OMS_LOG_FORMAT",
                    format!("unknown format {other:?} (expected text or json)"),
                ));
            }
        };

        let trusted_proxies = parse_or(
            "OMS_TRUSTED_PROXIES",
            get("OMS_TRUSTED_PROXIES"),
            "",
            crate::proxies::TrustedProxies::parse,
        )?;
        let client_dir = PathBuf::from(get("OMS_CLIENT_DIR").unwrap_or_else(|| "client/dist".to_string()));
        let cors_origins = get("OMS_CORS_ORIGINS")
            .map(|v| {
                v.split(',')
                    .map(|o| o.trim().to_string())
                    .filter(|o| !o.is_empty())
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default();
        if let Some(bad) = cors_origins
            .iter()
            .find(|o| !(o.starts_with("http://") || o.starts_with("https://")) || o.ends_with('/'))
        {
            return Err(ConfigError::new(
                "OMS_CORS_ORIGINS",
                format!("{bad:?} is not an origin like https://shop.example.com"),
            ));
        }
        let reconcile_after = parse_or(
            "OMS_RECONCILE_AFTER",
            get("OMS_RECONCILE_AFTER"),
            "30s",
            parse_duration,
        )?;
        let low_stock_threshold = parse_or(
            "OMS_LOW_STOCK_THRESHOLD",
            get("OMS_LOW_STOCK_THRESHOLD"),
            "5",
            |v| match v.parse::<i64>() {
                Ok(n) if n >= 0 => Ok(n),
                _ => Err("must be a whole number ≥ 0".to_string()),
            },
        )?;
        let account_cache_ttl = parse_or(
            "OMS_ACCOUNT_CACHE_TTL",
            get("OMS_ACCOUNT_CACHE_TTL"),
            "2s",
            parse_duration,
        )?;
        if account_cache_ttl > Duration::from_secs(60) {
            return Err(ConfigError::new(
                "OMS_ACCOUNT_CACHE_TTL",
                "must be at most 1m: it bounds how long a deleted or demoted account keeps access",
            ));
        }
        let stock_batch = parse_or("OMS_STOCK_BATCH", get("OMS_STOCK_BATCH"), "128", batch_size)?;
        let order_batch = parse_or("OMS_ORDER_BATCH", get("OMS_ORDER_BATCH"), "128", batch_size)?;
        let image_retry_for = parse_or(
            "OMS_IMAGE_RETRY_FOR",
            get("OMS_IMAGE_RETRY_FOR"),
            "60s",
            parse_duration,
        )?;

        let webhooks = webhooks::webhooks_from(&get, environment, &jwt_secret)?;

        Ok(Self {
            environment,
            http_addr,
            amqp_url: amqp_url.into(),
            rabbit_management_url: rabbit_management_url.into(),
            mongo_uri: mongo_uri.into(),
            mongo_db,
            jwt_secret: jwt_secret.into(),
            access_ttl,
            refresh_ttl,
            account_cache_ttl,
            partitions,
            image_store,
            media_dir,
            max_image_bytes,
            admin,
            log_format,
            client_dir,
            cors_origins,
            trusted_proxies,
            reconcile_after,
            low_stock_threshold,
            stock_batch,
            order_batch,
            image_retry_for,
            webhooks,
        })
    }
}

impl Config {
    /// The AMQP vhost named by the URL (`/` when none).
    pub fn amqp_vhost(&self) -> String {
        ServiceUrl::parse(self.amqp_url.expose_secret())
            .map(|url| url.vhost())
            .unwrap_or_else(|| "/".to_string())
    }
}
