//! Webhooks end to end, against a real HTTP receiver on loopback (allowed by the explicit
//! `OMS_WEBHOOKS_ALLOW_PRIVATE=true` these tests set; the SSRF tests leave it off).

mod bench;
mod hardening;
mod receiver;

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Session, TestApp, assert_error};
use receiver::{Receiver, Reply, verify};

/// Loopback allowed, quick retries, a short timeout: every test here runs in seconds.
const FAST: [(&str, &str); 4] = [
    ("OMS_WEBHOOKS_ALLOW_PRIVATE", "true"),
    ("OMS_WEBHOOK_RETRY_SCHEDULE", "300ms,300ms,300ms"),
    ("OMS_WEBHOOK_TIMEOUT", "1s"),
    ("OMS_WEBHOOK_POLL", "50ms"),
];

async fn spawn(extra: &[(&str, &str)]) -> TestApp {
    let mut vars: Vec<(&str, &str)> = FAST.to_vec();
    vars.extend_from_slice(extra);
    TestApp::spawn_with(&vars).await
}

/// Registers an endpoint; returns its id and secret.
async fn endpoint(app: &TestApp, admin: &Session, url: &str, events: &[&str]) -> (String, String) {
    let response = app
        .post_json(
            "/api/webhooks",
            Some(&admin.access_token),
            &json!({"url": url, "events": events, "description": "test receiver"}),
        )
        .await;
    let status = response.status();
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(status, StatusCode::CREATED, "{body}");
    (
        body["id"].as_str().expect("id").to_string(),
        body["secret"].as_str().expect("secret").to_string(),
    )
}

async fn product(app: &TestApp, admin: &Session, stock: i64) -> String {
    let sku = format!("WH-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    app.create_product(admin, &sku, 1000, stock).await["id"]
        .as_str()
        .expect("id")
        .to_string()
}

async fn set_status(app: &TestApp, admin: &Session, order: &str, status: &str) {
    let response = app
        .post_json(
            &format!("/api/orders/{order}/status"),
            Some(&admin.access_token),
            &json!({"status": status}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
}

async fn deliveries(app: &TestApp, admin: &Session, webhook: &str) -> Vec<Value> {
    let page: Value = app
        .get(
            &format!("/api/webhooks/{webhook}/deliveries?per_page=100"),
            Some(&admin.access_token),
        )
        .await
        .json()
        .await
        .expect("JSON");
    page["items"].as_array().expect("items").clone()
}

/// Waits until the endpoint's deliveries satisfy `done`.
async fn wait_deliveries(
    app: &TestApp,
    admin: &Session,
    webhook: &str,
    done: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let items = deliveries(app, admin, webhook).await;
        if done(&items) {
            return items;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "deliveries never got there: {items:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn deliveries_are_signed_as_standard_webhooks_says_and_rotation_overlaps() {
    let app = spawn(&[]).await;
    let admin = app.admin().await;
    let shopper = app.register("hooked").await;
    let receiver = Receiver::start().await;
    let (webhook, secret) = endpoint(&app, &admin, &receiver.url, &["order.placed", "order.confirmed"]).await;
    assert!(secret.starts_with("whsec_"));
    // The secret is shown once: never in a read.
    let read: Value = app
        .get(&format!("/api/webhooks/{webhook}"), Some(&admin.access_token))
        .await
        .json()
        .await
        .expect("JSON");
    assert!(!read.to_string().contains(&secret[6..]), "{read}");
    let stored = app
        .store
        .db()
        .collection::<mongodb::bson::Document>("webhook_endpoints")
        .find_one(mongodb::bson::doc! {})
        .await
        .expect("read")
        .expect("endpoint");
    assert!(
        !stored.to_string().contains(&secret[6..]),
        "the secret is stored in the clear"
    );

    let product = product(&app, &admin, 5).await;
    let order = app.order(&shopper, &[(&product, 2)]).await;
    let got = receiver
        .wait_for(Duration::from_secs(30), |r| !r.is_empty())
        .await;
    let placed = &got[0];
    assert!(verify(&secret, placed), "signature does not verify: {placed:?}");
    assert!(!verify("whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", placed));
    assert!(placed.content_type.starts_with("application/json"));
    let body = placed.json();
    assert_eq!(body["type"], "order.placed");
    assert_eq!(body["data"]["order_id"], order.as_str());
    assert_eq!(body["data"]["status"], "PLACED");
    assert_eq!(body["data"]["total"]["amount"], 2000);
    assert!(body["timestamp"].is_string());
    assert!(!placed.id.is_empty());

    // Rotation: the next delivery carries two signatures, one verifying with each secret.
    let rotated: Value = app
        .post_json(
            &format!("/api/webhooks/{webhook}/rotate-secret"),
            Some(&admin.access_token),
            &json!({}),
        )
        .await
        .json()
        .await
        .expect("JSON");
    let new_secret = rotated["secret"].as_str().expect("secret").to_string();
    assert_ne!(new_secret, secret);
    set_status(&app, &admin, &order, "CONFIRMED").await;
    let got = receiver.wait_for(Duration::from_secs(30), |r| r.len() >= 2).await;
    let confirmed = &got[1];
    assert_eq!(confirmed.json()["type"], "order.confirmed");
    assert_eq!(confirmed.signature.split(' ').count(), 2);
    assert!(verify(&secret, confirmed), "the old secret still signs for 24 h");
    assert!(verify(&new_secret, confirmed));
    assert_ne!(confirmed.id, placed.id);
    let items = wait_deliveries(&app, &admin, &webhook, |d| {
        d.len() == 2 && d.iter().all(|d| d["status"] == "succeeded")
    })
    .await;
    assert_eq!(items[0]["attempts"][0]["response_status"], 200);
}

#[tokio::test]
async fn a_receiver_answering_500_then_200_gets_the_event_twice_with_the_same_id() {
    let app = spawn(&[]).await;
    let admin = app.admin().await;
    let shopper = app.register("retry").await;
    let receiver = Receiver::start().await;
    receiver.script(&[Reply::Status(500)]);
    let (webhook, secret) = endpoint(&app, &admin, &receiver.url, &["order.placed"]).await;
    let product = product(&app, &admin, 5).await;
    app.order(&shopper, &[(&product, 1)]).await;
    let got = receiver.wait_for(Duration::from_secs(30), |r| r.len() >= 2).await;
    assert_eq!(got[0].id, got[1].id, "webhook-id changed between attempts");
    assert_eq!(got[0].body, got[1].body);
    assert!(verify(&secret, &got[0]) && verify(&secret, &got[1]));
    let waited = got[1].at - got[0].at;
    assert!(waited >= Duration::from_millis(250), "retried after {waited:?}");
    let items = wait_deliveries(&app, &admin, &webhook, |d| {
        d.first().is_some_and(|d| d["status"] == "succeeded")
    })
    .await;
    let attempts = items[0]["attempts"].as_array().expect("attempts");
    assert_eq!(attempts.len(), 2);
    assert_eq!(attempts[0]["response_status"], 500);
    assert_eq!(attempts[1]["response_status"], 200);
    assert_eq!(items[0]["event_id"], got[0].id.as_str());
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(receiver.received().len(), 2, "delivered again after a success");
}

#[tokio::test]
async fn a_hanging_receiver_is_cut_at_the_timeout_and_tried_again() {
    let app = spawn(&[]).await;
    let admin = app.admin().await;
    let shopper = app.register("hang").await;
    let receiver = Receiver::start().await;
    receiver.script(&[Reply::Hang]);
    let (webhook, _) = endpoint(&app, &admin, &receiver.url, &["order.placed"]).await;
    let product = product(&app, &admin, 5).await;
    app.order(&shopper, &[(&product, 1)]).await;
    let items = wait_deliveries(&app, &admin, &webhook, |d| {
        d.first().is_some_and(|d| d["status"] == "succeeded")
    })
    .await;
    let attempts = items[0]["attempts"].as_array().expect("attempts");
    assert_eq!(attempts.len(), 2, "{attempts:?}");
    let cut = &attempts[0];
    assert!(cut["response_status"].is_null());
    assert!(
        cut["error"].as_str().is_some_and(|e| e.contains("timed out")),
        "{cut}"
    );
    let latency = cut["latency_ms"].as_i64().expect("latency");
    assert!(
        (900..3000).contains(&latency),
        "cut after {latency} ms, not at the 1 s timeout"
    );
}

#[tokio::test]
async fn a_delivery_that_keeps_failing_is_failed_kept_for_a_manual_retry_and_the_endpoint_disabled() {
    let app = spawn(&[("OMS_WEBHOOK_DISABLE_AFTER", "500ms")]).await;
    let admin = app.admin().await;
    let shopper = app.register("failing").await;
    let receiver = Receiver::start().await;
    receiver.set_default(Reply::Status(503));
    let (webhook, _) = endpoint(&app, &admin, &receiver.url, &["order.placed"]).await;
    let product = product(&app, &admin, 5).await;
    app.order(&shopper, &[(&product, 1)]).await;
    // The first attempt and the three scheduled retries, then failed.
    let items = wait_deliveries(&app, &admin, &webhook, |d| {
        d.first().is_some_and(|d| d["status"] == "failed")
    })
    .await;
    assert_eq!(items[0]["attempts"].as_array().expect("attempts").len(), 4);
    assert!(items[0]["next_attempt_at"].is_null());
    let endpoint: Value = app
        .get(&format!("/api/webhooks/{webhook}"), Some(&admin.access_token))
        .await
        .json()
        .await
        .expect("JSON");
    assert_eq!(endpoint["disabled"], true, "{endpoint}");
    assert!(
        endpoint["disabled_reason"]
            .as_str()
            .is_some_and(|r| r.contains("failed"))
    );
    let failed = deliveries(&app, &admin, &webhook).await;
    let listed: Value = app
        .get(
            &format!("/api/webhooks/{webhook}/deliveries?status=failed"),
            Some(&admin.access_token),
        )
        .await
        .json()
        .await
        .expect("JSON");
    assert_eq!(listed["total"], 1);

    // Re-enabled by the admin and retried by hand: delivered, with the same webhook-id.
    receiver.set_default(Reply::Status(204));
    let response = app
        .patch_json(
            &format!("/api/webhooks/{webhook}"),
            Some(&admin.access_token),
            &json!({"disabled": false}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let delivery = failed[0]["id"].as_str().expect("id");
    let response = app
        .post_json(
            &format!("/api/webhooks/{webhook}/deliveries/{delivery}/retry"),
            Some(&admin.access_token),
            &json!({}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    wait_deliveries(&app, &admin, &webhook, |d| {
        d.first().is_some_and(|d| d["status"] == "succeeded")
    })
    .await;
    let got = receiver.received();
    assert!(matches!(got.last().map(|r| r.reply), Some(Reply::Status(204))));
    assert!(got.iter().all(|r| r.id == got[0].id), "the webhook-id changed");
    let response = app
        .post_json(
            &format!(
                "/api/webhooks/{webhook}/deliveries/{}/retry",
                uuid::Uuid::now_v7()
            ),
            Some(&admin.access_token),
            &json!({}),
        )
        .await;
    assert_error(response, StatusCode::NOT_FOUND, "not_found").await;
}

#[tokio::test]
async fn deliveries_of_one_order_keep_their_order_under_retries() {
    let app = spawn(&[]).await;
    let admin = app.admin().await;
    let shopper = app.register("ordered").await;
    let receiver = Receiver::start().await;
    // Every event's first attempt fails, and some second ones too: retries overlap later events.
    receiver.script(&[
        Reply::Status(500),
        Reply::Status(500),
        Reply::Status(500),
        Reply::Status(500),
        Reply::Status(502),
        Reply::Status(500),
    ]);
    let (webhook, _) = endpoint(
        &app,
        &admin,
        &receiver.url,
        &[
            "order.placed",
            "order.confirmed",
            "order.shipped",
            "order.delivered",
        ],
    )
    .await;
    let product = product(&app, &admin, 50).await;
    let mut orders = Vec::new();
    for _ in 0..3 {
        orders.push(app.order(&shopper, &[(&product, 1)]).await);
    }
    for order in &orders {
        app.wait_until(order, &admin.access_token, "PLACED").await;
    }
    for status in ["CONFIRMED", "SHIPPED", "DELIVERED"] {
        for order in &orders {
            set_status(&app, &admin, order, status).await;
        }
        for order in &orders {
            app.wait_until(order, &admin.access_token, status).await;
        }
    }
    wait_deliveries(&app, &admin, &webhook, |d| {
        d.len() == 12 && d.iter().all(|d| d["status"] == "succeeded")
    })
    .await;
    for order in &orders {
        let seen: Vec<(i64, u16)> = receiver
            .received()
            .iter()
            .map(|r| (r.json(), r.reply))
            .filter(|(body, _)| body["data"]["order_id"] == order.as_str())
            .map(|(body, reply)| {
                let code = match reply {
                    Reply::Status(code) => code,
                    Reply::Hang => 0,
                };
                (body["data"]["version"].as_i64().expect("version"), code)
            })
            .collect();
        // No attempt of a later change comes before an earlier one has succeeded.
        for pair in seen.windows(2) {
            let ((v1, code1), (v2, _)) = (pair[0], pair[1]);
            assert!(
                v2 > v1 && (200..300).contains(&code1) || v2 == v1 && !(200..300).contains(&code1),
                "order {order}: out of order: {seen:?}"
            );
        }
        assert_eq!(seen.iter().filter(|(_, c)| (200..300).contains(c)).count(), 4);
    }
}

#[tokio::test]
async fn a_worker_killed_mid_delivery_loses_no_delivery() {
    let app = spawn(&[("TEST_WORKERS", "processes"), ("OMS_WEBHOOK_TIMEOUT", "2s")]).await;
    let admin = app.admin().await;
    let shopper = app.register("killed").await;
    let receiver = Receiver::start().await;
    // The first attempt never answers: the worker is killed while it waits.
    receiver.script(&[Reply::Hang]);
    let (webhook, secret) = endpoint(&app, &admin, &receiver.url, &["order.placed"]).await;
    let product = product(&app, &admin, 5).await;
    let mut worker = app.spawn_worker_process();
    app.order(&shopper, &[(&product, 1)]).await;
    receiver
        .wait_for(Duration::from_secs(60), |r| !r.is_empty())
        .await;
    worker.kill().await.expect("kill the worker");
    let mut successor = app.spawn_worker_process();
    let got = receiver.wait_for(Duration::from_secs(60), |r| r.len() >= 2).await;
    assert_eq!(got[0].id, got[1].id);
    assert!(verify(&secret, &got[1]));
    let items = wait_deliveries(&app, &admin, &webhook, |d| {
        d.first().is_some_and(|d| d["status"] == "succeeded")
    })
    .await;
    // The killed attempt left no record; the lease ran out and the successor sent it.
    assert_eq!(items.len(), 1);
    successor.kill().await.expect("stop the worker");
}

#[tokio::test]
async fn ssrf_attempts_are_refused_when_saved_and_when_delivered() {
    // Private addresses are not allowed here (dev still allows http://).
    let app = TestApp::spawn_with(&[
        ("OMS_WEBHOOK_RETRY_SCHEDULE", "100ms"),
        ("OMS_WEBHOOK_POLL", "50ms"),
    ])
    .await;
    let admin = app.admin().await;
    let receiver = Receiver::start().await;
    for url in [
        receiver.url.clone(),
        receiver.url.replace("127.0.0.1", "localhost"),
        "http://169.254.169.254/latest/meta-data/".to_string(),
        "http://[::1]:9/".to_string(),
        "http://10.0.0.7/hook".to_string(),
        "http://2130706433/".to_string(),
        "http://[::ffff:127.0.0.1]/".to_string(),
        "http://user:pass@example.com/".to_string(),
        "ftp://example.com/".to_string(),
    ] {
        refused_url(&app, &admin, &url).await;
    }
    // Outside dev, https only.
    let strict = oms_workers::webhooks::ssrf::UrlPolicy {
        allow_http: false,
        allow_private: false,
    };
    assert!(oms_workers::webhooks::ssrf::check_form(strict, "http://example.com/").is_err());

    // An endpoint that got past the check (here written straight to the store, as a name that
    // resolved elsewhere when saved would) is refused at delivery: nothing reaches the receiver.
    let (good, secret) = (
        oms_contracts::WebhookId::new(),
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    );
    store_endpoint(&app, &good, &receiver.url, secret).await;
    let local = receiver.url.replace("127.0.0.1", "localhost");
    store_endpoint(&app, &oms_contracts::WebhookId::new(), &local, secret).await;
    let shopper = app.register("ssrf").await;
    let product = product(&app, &admin, 5).await;
    app.order(&shopper, &[(&product, 1)]).await;
    let all = app.store.webhook_deliveries();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let failed = all
            .count_documents(mongodb::bson::doc! {"status": "failed"})
            .await
            .expect("count");
        if failed == 2 {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "deliveries not refused");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        receiver.received().is_empty(),
        "a delivery reached an internal address"
    );
    let errors: Vec<String> = deliveries(&app, &admin, good.as_str())
        .await
        .iter()
        .flat_map(|d| d["attempts"].as_array().cloned().unwrap_or_default())
        .filter_map(|a| a["error"].as_str().map(str::to_string))
        .collect();
    assert!(errors.iter().all(|e| e.contains("refused")), "{errors:?}");
}

#[tokio::test]
async fn webhooks_are_for_admins_and_their_input_is_checked() {
    let app = spawn(&[]).await;
    let admin = app.admin().await;
    let shopper = app.register("nosy").await;
    let response = app.get("/api/webhooks", Some(&shopper.access_token)).await;
    assert_error(response, StatusCode::FORBIDDEN, "forbidden").await;
    let response = app
        .post_json(
            "/api/webhooks",
            Some(&admin.access_token),
            &json!({"url": "https://example.com/", "events": ["order.teleported"]}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let response = app
        .post_json(
            "/api/webhooks",
            Some(&admin.access_token),
            &json!({"url": "http://127.0.0.1:9/", "events": []}),
        )
        .await;
    assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    let receiver = Receiver::start().await;
    let (webhook, _) = endpoint(&app, &admin, &receiver.url, &["order.shipped"]).await;
    let response = app
        .patch_json(
            &format!("/api/webhooks/{webhook}"),
            Some(&admin.access_token),
            &json!({"events": ["order.placed", "product.low_stock"], "disabled": true}),
        )
        .await;
    let changed: Value = response.json().await.expect("JSON");
    assert_eq!(changed["events"], json!(["order.placed", "product.low_stock"]));
    assert_eq!(changed["disabled"], true);
    let listed: Value = app
        .get("/api/webhooks", Some(&admin.access_token))
        .await
        .json()
        .await
        .expect("JSON");
    assert_eq!(listed.as_array().map(Vec::len), Some(1));
    let response = app
        .http
        .delete(app.url(&format!("/api/webhooks/{webhook}")))
        .bearer_auth(&admin.access_token)
        .send()
        .await
        .expect("delete");
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let response = app
        .get(&format!("/api/webhooks/{webhook}"), Some(&admin.access_token))
        .await;
    assert_error(response, StatusCode::NOT_FOUND, "not_found").await;
}

/// Stores an endpoint for `order.placed` straight into the store, past the API's checks (as one
/// saved under other rules, or a name that resolved elsewhere then), signing with `secret`.
pub(crate) async fn store_endpoint(app: &TestApp, id: &oms_contracts::WebhookId, url: &str, secret: &str) {
    let now = mongodb::bson::DateTime::now();
    let key =
        oms_workers::webhooks::secrets::SealKey::from_hex(&app.config.webhooks.secrets_key).expect("key");
    app.store
        .webhook_endpoints()
        .insert_one(oms_platform::store::EndpointDoc {
            id: id.clone(),
            url: url.to_string(),
            events: vec![oms_contracts::webhooks::WebhookEventType::OrderPlaced],
            description: None,
            disabled: false,
            disabled_reason: None,
            secrets: vec![oms_platform::store::SecretDoc {
                sealed: key.seal(secret),
                created_at: now,
                expires_at: None,
            }],
            failing_since: None,
            created_at: now,
            updated_at: now,
        })
        .await
        .expect("insert");
}

/// Registers an endpoint at `url` and expects it refused as unsafe, on its `url` field; the
/// refusal's body.
pub(crate) async fn refused_url(app: &TestApp, admin: &Session, url: &str) -> Value {
    let response = app
        .post_json(
            "/api/webhooks",
            Some(&admin.access_token),
            &json!({"url": url, "events": ["order.placed"]}),
        )
        .await;
    let body = assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "unsafe_url").await;
    assert_eq!(body["error"]["field"], "url", "{url}: {body}");
    body
}
