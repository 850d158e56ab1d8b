//! The configuration read from variables: defaults, refusals, and what follows from what.

use std::collections::HashMap;

use super::*;

fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    Config::from_lookup(|name| map.get(name).cloned())
}

#[test]
fn dev_runs_on_defaults() {
    let config = config(&[("OMS_ENV", "dev")]).expect("dev defaults");
    assert_eq!(config.http_addr.to_string(), "127.0.0.1:8080");
    assert_eq!(config.partitions, 1);
    assert_eq!(config.access_ttl, Duration::from_secs(900));
    assert_eq!(config.refresh_ttl, Duration::from_secs(30 * 86_400));
    assert_eq!(config.mongo_db, "oms");
    assert_eq!(config.max_image_bytes, 5 * 1024 * 1024);
    assert_eq!(config.amqp_vhost(), "/");
    assert_eq!(
        config.rabbit_management_url.expose_secret(),
        "http://guest:guest@127.0.0.1:15672"
    );
}

#[test]
fn production_requires_a_jwt_secret() {
    let err = config(&[]).expect_err("no secret");
    assert_eq!(err.var, "OMS_JWT_SECRET");
    let err = config(&[("OMS_JWT_SECRET", "short")]).expect_err("short secret");
    assert_eq!(err.var, "OMS_JWT_SECRET");
    assert!(config(&[("OMS_JWT_SECRET", &"k".repeat(32))]).is_ok());
}

#[test]
fn bad_values_name_their_variable() {
    let cases = [
        ("OMS_HTTP_ADDR", "localhost"),
        ("OMS_AMQP_URL", "http://x"),
        ("OMS_MONGO_URI", "postgres://x"),
        ("OMS_MONGO_DB", "a.b"),
        ("OMS_ACCESS_TTL", "15"),
        ("OMS_REFRESH_TTL", "1x"),
        ("OMS_STOCK_PARTITIONS", "0"),
        ("OMS_IMAGE_STORE", "s3"),
        ("OMS_LOG_FORMAT", "xml"),
        ("OMS_MAX_IMAGE_BYTES", "-1"),
        ("OMS_CORS_ORIGINS", "example.com"),
        ("OMS_ENV", "staging"),
    ];
    for (var, value) in cases {
        let err = config(&[("OMS_ENV", "dev"), (var, value)]).expect_err(var);
        assert_eq!(err.var, var, "{var}={value}");
        assert!(err.to_string().contains(var));
    }
}

#[test]
fn cloudinary_settings_come_from_parts_or_url() {
    let err = config(&[("OMS_ENV", "dev"), ("OMS_IMAGE_STORE", "cloudinary")]).expect_err("missing");
    assert_eq!(err.var, "CLOUDINARY_CLOUD_NAME");
    let config = config(&[
        ("OMS_ENV", "dev"),
        ("OMS_IMAGE_STORE", "cloudinary"),
        ("CLOUDINARY_URL", "cloudinary://123:abc@demo"),
    ])
    .expect("url");
    let ImageStoreConfig::Cloudinary(c) = config.image_store else {
        panic!("not cloudinary");
    };
    assert_eq!((c.cloud_name.as_str(), c.api_key.as_str()), ("demo", "123"));
    assert_eq!(c.api_secret.expose_secret(), "abc");
}

#[test]
fn admin_bootstrap_needs_both_parts() {
    let err = config(&[("OMS_ENV", "dev"), ("OMS_ADMIN_EMAIL", "a@b.co")]).expect_err("no password");
    assert_eq!(err.var, "OMS_ADMIN_PASSWORD");
    let c = config(&[
        ("OMS_ENV", "dev"),
        ("OMS_ADMIN_EMAIL", "Admin@B.co"),
        ("OMS_ADMIN_PASSWORD", "long enough"),
    ])
    .expect("admin");
    assert_eq!(c.admin.expect("set").email, "admin@b.co");
}

#[test]
fn vhost_and_management_url_follow_the_amqp_url() {
    let c = config(&[
        ("OMS_ENV", "dev"),
        ("OMS_AMQP_URL", "amqp://u:p@rabbit:5672/oms-test-1"),
    ])
    .expect("url");
    assert_eq!(c.amqp_vhost(), "oms-test-1");
    assert_eq!(c.rabbit_management_url.expose_secret(), "http://u:p@rabbit:15672");
}

#[test]
fn a_cluster_is_several_comma_separated_hosts_sharing_credentials_and_vhost() {
    let c = config(&[
        ("OMS_ENV", "dev"),
        ("OMS_AMQP_URL", "amqp://u:p@rabbit1:5672,rabbit2,rabbit3:5673/oms"),
    ])
    .expect("url");
    assert_eq!(c.amqp_vhost(), "oms");
    assert_eq!(
        c.rabbit_management_url.expose_secret(),
        "http://u:p@rabbit1:15672,rabbit2:15672,rabbit3:15672"
    );
    let url = crate::urls::ServiceUrl::parse(c.amqp_url.expose_secret()).expect("url");
    assert_eq!(
        url.each_host(),
        [
            "amqp://u:p@rabbit1:5672/oms",
            "amqp://u:p@rabbit2/oms",
            "amqp://u:p@rabbit3:5673/oms"
        ]
    );
    assert_eq!(crate::broker::quorum_replicas(url.hosts.len()), Some(3));
    assert_eq!(crate::broker::quorum_replicas(1), None);
    assert_eq!(crate::broker::quorum_replicas(2), Some(2));
    assert_eq!(crate::broker::quorum_replicas(5), Some(3));
}

#[test]
fn durations_parse() {
    assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
    assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
    assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7200)));
    assert!(parse_duration("h").is_err());
    assert!(parse_duration("10y").is_err());
}
