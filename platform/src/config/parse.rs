//! Reading single settings: durations, batch sizes, defaults, and Cloudinary's parts or URL.

use std::time::Duration;

use super::*;

pub(crate) fn batch_size(raw: &str) -> Result<usize, String> {
    match raw.parse::<usize>() {
        Ok(n) if (1..=256).contains(&n) => Ok(n),
        _ => Err("must be a whole number from 1 to 256".to_string()),
    }
}

pub(crate) fn parse_or<T>(
    var: &'static str,
    value: Option<String>,
    default: &str,
    parse: impl Fn(&str) -> Result<T, String>,
) -> Result<T, ConfigError> {
    let raw = value.unwrap_or_else(|| default.to_string());
    parse(raw.trim()).map_err(|problem| ConfigError::new(var, format!("{problem} (got {raw:?})")))
}

/// `500ms`, `90s`, `15m`, `2h`, `30d`.
pub fn parse_duration(raw: &str) -> Result<Duration, String> {
    let split = raw
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| "needs a unit: ms, s, m, h or d".to_string())?;
    let (number, unit) = raw.split_at(split);
    let n: u64 = number
        .parse()
        .map_err(|_| "must be a whole number followed by ms, s, m, h or d".to_string())?;
    let secs = |mult: u64| {
        n.checked_mul(mult)
            .map(Duration::from_secs)
            .ok_or_else(|| "is too long".to_string())
    };
    match unit {
        "ms" => Ok(Duration::from_millis(n)),
        "s" => secs(1),
        "m" => secs(60),
        "h" => secs(3600),
        "d" => secs(86_400),
        _ => Err("unit must be ms, s, m, h or d".to_string()),
    }
}

pub(crate) fn cloudinary_from(
    get: &impl Fn(&str) -> Option<String>,
) -> Result<CloudinaryConfig, ConfigError> {
    let api_base = get("CLOUDINARY_API_BASE").unwrap_or_else(|| "https://api.cloudinary.com".to_string());
    if let Some(url) = get("CLOUDINARY_URL") {
        // cloudinary://<api_key>:<api_secret>@<cloud_name>
        let rest = url.strip_prefix("cloudinary://").ok_or_else(|| {
            ConfigError::new("CLOUDINARY_URL", "must look like cloudinary://KEY:SECRET@CLOUD")
        })?;
        let (credentials, cloud_name) = rest.rsplit_once('@').ok_or_else(|| {
            ConfigError::new("CLOUDINARY_URL", "must look like cloudinary://KEY:SECRET@CLOUD")
        })?;
        let (api_key, api_secret) = credentials.split_once(':').ok_or_else(|| {
            ConfigError::new("CLOUDINARY_URL", "must look like cloudinary://KEY:SECRET@CLOUD")
        })?;
        if api_key.is_empty() || api_secret.is_empty() || cloud_name.is_empty() {
            return Err(ConfigError::new(
                "CLOUDINARY_URL",
                "must look like cloudinary://KEY:SECRET@CLOUD",
            ));
        }
        return Ok(CloudinaryConfig {
            cloud_name: cloud_name.to_string(),
            api_key: api_key.to_string(),
            api_secret: api_secret.to_string().into(),
            api_base,
        });
    }
    let require = |var: &'static str| {
        get(var).ok_or_else(|| {
            ConfigError::new(
                var,
                "is required when OMS_IMAGE_STORE=cloudinary (or set CLOUDINARY_URL)",
            )
        })
    };
    Ok(CloudinaryConfig {
        cloud_name: require("CLOUDINARY_CLOUD_NAME")?,
        api_key: require("CLOUDINARY_API_KEY")?,
        api_secret: require("CLOUDINARY_API_SECRET")?.into(),
        api_base,
    })
}
