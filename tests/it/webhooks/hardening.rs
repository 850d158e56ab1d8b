//! What a delivery does with a receiver's answer, and where endpoints may point outside dev:
//! a redirect is a failed attempt and is never followed; the answer's body is kept cut to 4 KiB;
//! plain `http://` is refused outside `OMS_ENV=dev`, when an endpoint is saved and when it is
//! delivered to.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::header;
use axum::response::Response;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use super::receiver::Receiver;
use super::{endpoint, product, refused_url, spawn, store_endpoint, wait_deliveries};
use crate::helpers::assert_error;

struct Script {
    /// The statuses of the next answers, in order; then `default`.
    statuses: VecDeque<u16>,
    default: u16,
    /// A `Location` header on every answer.
    location: Option<String>,
    body: String,
    /// Every request, whatever its method or path.
    hits: usize,
}

/// A server on loopback answering every request (any method, any path) from a script of
/// statuses, with a fixed body and, if given, a `Location` header; it counts what it gets.
struct Answerer {
    url: String,
    script: Arc<Mutex<Script>>,
    stop: CancellationToken,
}

impl Drop for Answerer {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

impl Answerer {
    async fn start(statuses: &[u16], default: u16, location: Option<String>, body: String) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!(
            "http://127.0.0.1:{}/hook",
            listener.local_addr().expect("addr").port()
        );
        let script = Arc::new(Mutex::new(Script {
            statuses: statuses.iter().copied().collect(),
            default,
            location,
            body,
            hits: 0,
        }));
        let app = Router::new().fallback(answer).with_state(script.clone());
        let stop = CancellationToken::new();
        let until = stop.clone();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move { until.cancelled().await })
                .await;
        });
        Self { url, script, stop }
    }

    fn hits(&self) -> usize {
        self.script.lock().expect("lock").hits
    }
}

async fn answer(State(script): State<Arc<Mutex<Script>>>, _body: Bytes) -> Response {
    let (status, location, body) = {
        let mut script = script.lock().expect("lock");
        script.hits += 1;
        let status = script.statuses.pop_front().unwrap_or(script.default);
        (status, script.location.clone(), script.body.clone())
    };
    let mut response = axum::http::Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "text/plain; charset=utf-8");
    if let Some(location) = location {
        response = response.header(header::LOCATION, location);
    }
    response.body(Body::from(body)).expect("a response")
}

#[tokio::test]
async fn a_redirect_is_a_failed_attempt_and_is_never_followed() {
    let app = spawn(&[]).await;
    let admin = app.admin().await;
    let shopper = app.register("redirected").await;
    // Where the redirects point: it would answer 200, and counts any request, even a GET.
    let target = Answerer::start(&[], 200, None, String::new()).await;
    // Each attempt gets another kind of redirect: method-changing (302, 303), method-keeping (307, 308).
    let redirector = Answerer::start(&[302, 303, 307], 308, Some(target.url.clone()), String::new()).await;
    let (webhook, _) = endpoint(&app, &admin, &redirector.url, &["order.placed"]).await;
    let product = product(&app, &admin, 5).await;
    app.order(&shopper, &[(&product, 1)]).await;
    let items = wait_deliveries(&app, &admin, &webhook, |d| {
        d.first().is_some_and(|d| d["status"] != "pending")
    })
    .await;
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!(
        items[0]["status"], "failed",
        "a redirect counted as delivered: {items:?}"
    );
    assert!(items[0]["next_attempt_at"].is_null());
    // The first attempt and the three scheduled retries, each failed with the redirect's status.
    let attempts = items[0]["attempts"].as_array().expect("attempts");
    let statuses: Vec<i64> = attempts
        .iter()
        .map(|a| a["response_status"].as_i64().unwrap_or(0))
        .collect();
    assert_eq!(statuses, [302, 303, 307, 308], "{attempts:?}");
    for attempt in attempts {
        let code = attempt["response_status"].to_string();
        assert!(
            attempt["error"].as_str().is_some_and(|e| e.contains(&code)),
            "{attempt}"
        );
    }
    assert_eq!(redirector.hits(), 4);
    assert_eq!(target.hits(), 0, "a redirect was followed");
}

#[tokio::test]
async fn a_receivers_answer_is_kept_cut_to_4_kib() {
    let app = spawn(&[]).await;
    let admin = app.admin().await;
    let shopper = app.register("chatty").await;
    // About 10,000 bytes: 4,095 of numbered ASCII lines, then two-byte characters, the first of
    // which straddles the 4,096th byte: what is kept must not end in half a character.
    let mut sent = String::new();
    let mut line = 0;
    while sent.len() < 4095 {
        sent.push_str(&format!("{line:06}\n"));
        line += 1;
    }
    sent.truncate(4095);
    while sent.len() < 10_000 {
        sent.push('\u{e9}');
    }
    // A failure, then a success: both answers are kept, both cut.
    let receiver = Answerer::start(&[500], 200, None, sent.clone()).await;
    let (webhook, _) = endpoint(&app, &admin, &receiver.url, &["order.placed"]).await;
    let product = product(&app, &admin, 5).await;
    app.order(&shopper, &[(&product, 1)]).await;
    let items = wait_deliveries(&app, &admin, &webhook, |d| {
        d.first().is_some_and(|d| d["status"] == "succeeded")
    })
    .await;
    let attempts = items[0]["attempts"].as_array().expect("attempts");
    assert_eq!(attempts.len(), 2);
    assert_eq!(attempts[0]["response_status"], 500);
    assert_eq!(attempts[1]["response_status"], 200);
    for attempt in attempts {
        let kept = attempt["response_body"]
            .as_str()
            .expect("the receiver's answer is kept");
        // Bytes of UTF-8, as stored: at most 4 KiB, and no more than a cut character short of it.
        assert!(kept.len() <= 4096, "{} bytes kept", kept.len());
        assert!(kept.len() > 4096 - 4, "only {} bytes kept", kept.len());
        assert!(
            sent.starts_with(kept),
            "what is kept is not the start of the answer: it ends {:?}",
            kept.chars()
                .skip(kept.chars().count().saturating_sub(8))
                .collect::<String>()
        );
    }
    assert_eq!(receiver.hits(), 2);
}

#[tokio::test]
async fn outside_dev_endpoints_must_be_https_when_saved_and_when_delivered() {
    // Production (which requires its own JWT key) with private addresses allowed, as the other
    // tests here: the loopback receiver is refused for its scheme alone.
    let app = spawn(&[
        ("OMS_ENV", "production"),
        (
            "OMS_JWT_SECRET",
            "a-production-jwt-key-for-the-https-test-0123456789",
        ),
    ])
    .await;
    assert!(!app.config.webhooks.allow_http);
    let admin = app.admin().await;
    let receiver = Receiver::start().await;
    for url in [
        receiver.url.clone(),
        receiver.url.replace("http://", "HTTP://"),
        "http://example.com/hook".to_string(),
    ] {
        let body = refused_url(&app, &admin, &url).await;
        assert!(
            body["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("https://")),
            "{url}: {body}"
        );
    }
    let listed: Value = app
        .get("/api/webhooks", Some(&admin.access_token))
        .await
        .json()
        .await
        .expect("JSON");
    assert_eq!(listed, json!([]), "a refused endpoint was stored");

    // The same address over https is accepted (it hears no event this test makes happen, so
    // nothing is sent to it), and cannot be changed to http.
    let https = receiver.url.replace("http://", "https://");
    let (webhook, _) = endpoint(&app, &admin, &https, &["product.image_failed"]).await;
    let response = app
        .patch_json(
            &format!("/api/webhooks/{webhook}"),
            Some(&admin.access_token),
            &json!({"url": receiver.url}),
        )
        .await;
    let body = assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "unsafe_url").await;
    assert_eq!(body["error"]["field"], "url", "{body}");
    let read: Value = app
        .get(&format!("/api/webhooks/{webhook}"), Some(&admin.access_token))
        .await
        .json()
        .await
        .expect("JSON");
    assert_eq!(read["url"], https.as_str(), "{read}");

    // An http endpoint that is in the store all the same (saved while the deployment ran as dev)
    // is refused at delivery: nothing reaches the receiver.
    let legacy = oms_contracts::WebhookId::new();
    store_endpoint(
        &app,
        &legacy,
        &receiver.url,
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    )
    .await;
    let shopper = app.register("strict").await;
    let product = product(&app, &admin, 5).await;
    app.order(&shopper, &[(&product, 1)]).await;
    let items = wait_deliveries(&app, &admin, legacy.as_str(), |d| {
        d.first().is_some_and(|d| d["status"] == "failed")
    })
    .await;
    let attempts = items[0]["attempts"].as_array().expect("attempts");
    assert_eq!(attempts.len(), 4, "{attempts:?}");
    for attempt in attempts {
        assert!(attempt["response_status"].is_null(), "{attempt}");
        assert!(
            attempt["error"]
                .as_str()
                .is_some_and(|e| e.contains("refused") && e.contains("https://")),
            "{attempt}"
        );
    }
    assert_eq!(receiver.count(), 0, "an http delivery was sent outside dev");
}
