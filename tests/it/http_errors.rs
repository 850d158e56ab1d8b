use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{TestApp, assert_error};

#[tokio::test]
async fn client_mistakes_get_the_error_envelope() {
    let app = TestApp::spawn().await;

    assert_error(
        app.get("/api/nope", None).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let delete = app
        .http
        .delete(app.url("/api/auth/me"))
        .send()
        .await
        .expect("request");
    assert_error(delete, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed").await;

    let malformed = app
        .http
        .post(app.url("/api/auth/login"))
        .header("content-type", "application/json")
        .body("{\"email\": ")
        .send()
        .await
        .expect("request");
    assert_error(malformed, StatusCode::BAD_REQUEST, "malformed_request").await;

    let wrong_type = app
        .http
        .post(app.url("/api/auth/login"))
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await
        .expect("request");
    assert_error(
        wrong_type,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    )
    .await;

    let unknown_field = app
        .post_json(
            "/api/auth/register",
            None,
            &json!({"email": "a@b.co", "password": "long enough", "name": "A", "role": "admin"}),
        )
        .await;
    let body = assert_error(unknown_field, StatusCode::UNPROCESSABLE_ENTITY, "invalid_body").await;
    assert!(
        body["error"]["message"]
            .as_str()
            .expect("message")
            .contains("role")
    );

    let injection = app
        .post_json(
            "/api/auth/login",
            None,
            &json!({"email": {"$gt": ""}, "password": "x"}),
        )
        .await;
    let body = assert_error(injection, StatusCode::UNPROCESSABLE_ENTITY, "invalid_body").await;
    assert_eq!(body["error"]["field"], "email");

    let missing = app
        .post_json("/api/auth/login", None, &json!({"email": "a@b.co"}))
        .await;
    assert_error(missing, StatusCode::UNPROCESSABLE_ENTITY, "invalid_body").await;

    let huge = "x".repeat(10 * 1024 * 1024);
    let too_large = app
        .http
        .post(app.url("/api/auth/login"))
        .header("content-type", "application/json")
        .body(format!("{{\"email\": \"{huge}\", \"password\": \"x\"}}"))
        .send()
        .await
        .expect("request");
    assert_error(too_large, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;

    assert_eq!(
        app.store
            .users()
            .count_documents(mongodb::bson::doc! {})
            .await
            .expect("count"),
        1
    );
}

#[tokio::test]
async fn every_response_carries_a_request_id_and_security_headers() {
    let app = TestApp::spawn().await;
    for path in ["/healthz", "/api/products", "/api/nope", "/"] {
        let response = app.get(path, None).await;
        let headers = response.headers();
        assert!(headers.contains_key("x-request-id"), "{path}");
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(headers["x-frame-options"], "DENY", "{path}");
        assert!(headers.contains_key("content-security-policy"), "{path}");
    }
    let response = app
        .http
        .get(app.url("/healthz"))
        .header("x-request-id", "my-trace-123")
        .send()
        .await
        .expect("request");
    assert_eq!(response.headers()["x-request-id"], "my-trace-123");
}

#[tokio::test]
async fn cors_allows_only_configured_origins() {
    let app = TestApp::spawn_with(&[("OMS_CORS_ORIGINS", "https://shop.example.com")]).await;
    let preflight = |origin: &'static str| {
        app.http
            .request(reqwest::Method::OPTIONS, app.url("/api/products"))
            .header("origin", origin)
            .header("access-control-request-method", "GET")
            .send()
    };
    let allowed = preflight("https://shop.example.com").await.expect("request");
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "https://shop.example.com"
    );
    let refused = preflight("https://evil.example.com").await.expect("request");
    assert!(!refused.headers().contains_key("access-control-allow-origin"));
}
