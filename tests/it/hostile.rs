//! Hostile input on every JSON route: each gets a 4xx in the error envelope, never a 5xx,
//! and the store is unchanged.

use mongodb::bson::doc;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::TestApp;

async fn counts(app: &TestApp) -> Vec<u64> {
    let db = app.store.db();
    let mut out = Vec::new();
    for name in ["users", "products", "orders", "stock_ledger", "refresh_tokens"] {
        out.push(
            db.collection::<mongodb::bson::Document>(name)
                .count_documents(doc! {})
                .await
                .expect("count"),
        );
    }
    out
}

#[tokio::test]
async fn hostile_input_gets_a_4xx_envelope_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let user = app.register("hostile").await;
    let product = app.create_product(&admin, "HOSTILE", 100, 5).await;
    let product = product["id"].as_str().expect("id").to_string();
    let order = app.order(&user, &[(&product, 1)]).await;
    app.wait_decided(&order, &user.access_token).await;
    let before = counts(&app).await;

    let pid = product.as_str();
    let many: Vec<Value> = (0..51)
        .map(|_| json!({"product_id": oms_contracts::ProductId::new(), "quantity": 1}))
        .collect();
    let huge = "x".repeat(10 * 1024 * 1024);
    let u = Some(user.access_token.as_str());
    let a = Some(admin.access_token.as_str());
    let orders_path = "/api/orders".to_string();
    let status_path = format!("/api/orders/{order}/status");
    let stock_path = format!("/api/products/{pid}/stock");
    let patch_path = format!("/api/products/{pid}");
    let register = "/api/auth/register".to_string();
    let login = "/api/auth/login".to_string();
    let refresh = "/api/auth/refresh".to_string();

    // (method, path, token, body as raw text, expected status)
    let cases: Vec<(Method, String, Option<&str>, String, u16)> = vec![
        // malformed JSON, wrong types, missing and unknown fields
        (Method::POST, register.clone(), None, "{\"email\": ".into(), 400),
        (Method::POST, register.clone(), None, "[]".into(), 422),
        (
            Method::POST,
            register.clone(),
            None,
            json!({"email": 5, "password": "long enough", "name": "n"}).to_string(),
            422,
        ),
        (
            Method::POST,
            register.clone(),
            None,
            json!({"email": "a@b.co"}).to_string(),
            422,
        ),
        (
            Method::POST,
            register.clone(),
            None,
            json!({"email": "a@b.co", "password": "long enough", "name": "n", "role": "admin"}).to_string(),
            422,
        ),
        (
            Method::POST,
            orders_path.clone(),
            u,
            json!({"items": [{"product_id": pid, "quantity": 1}], "user_id": "someone-else"}).to_string(),
            422,
        ),
        (
            Method::POST,
            orders_path.clone(),
            u,
            json!({"items": [{"product_id": pid, "quantity": 1, "unit_price": 1}]}).to_string(),
            422,
        ),
        (
            Method::POST,
            stock_path.clone(),
            a,
            json!({"delta": 1, "reason": "r", "balance_after": 0}).to_string(),
            422,
        ),
        (
            Method::PATCH,
            patch_path.clone(),
            a,
            json!({"name": "n", "stock": 1000}).to_string(),
            422,
        ),
        (
            Method::POST,
            status_path.clone(),
            a,
            json!({"status": "CONFIRMED", "version": 0}).to_string(),
            422,
        ),
        // operator injection and odd keys
        (
            Method::POST,
            login.clone(),
            None,
            json!({"email": {"$gt": ""}, "password": {"$ne": null}}).to_string(),
            422,
        ),
        (
            Method::POST,
            login.clone(),
            None,
            json!({"$where": "1", "email": "a@b.co", "password": "x"}).to_string(),
            422,
        ),
        (
            Method::POST,
            login.clone(),
            None,
            json!({"email.x": "a@b.co", "password": "x"}).to_string(),
            422,
        ),
        (
            Method::POST,
            refresh.clone(),
            None,
            json!({"refresh_token": {"$gt": ""}}).to_string(),
            422,
        ),
        // unicode edge cases
        (
            Method::POST,
            register.clone(),
            None,
            json!({"email": "ädmin@example.com", "password": "long enough", "name": "n"}).to_string(),
            422,
        ),
        (
            Method::POST,
            register.clone(),
            None,
            json!({"email": "e@example.com", "password": "long enough", "name": "admin\u{202E}nimda"})
                .to_string(),
            422,
        ),
        (
            Method::POST,
            register.clone(),
            None,
            json!({"email": "e@example.com", "password": "long enough", "name": "nul\u{0}byte"}).to_string(),
            422,
        ),
        // orders: numbers out of range, 51 lines, duplicates, ids of the wrong shape, injection
        (
            Method::POST,
            orders_path.clone(),
            u,
            json!({"items": [{"product_id": pid, "quantity": -1}]}).to_string(),
            422,
        ),
        (
            Method::POST,
            orders_path.clone(),
            u,
            json!({"items": [{"product_id": pid, "quantity": 0}]}).to_string(),
            422,
        ),
        (
            Method::POST,
            orders_path.clone(),
            u,
            json!({"items": [{"product_id": pid, "quantity": 1e30}]}).to_string(),
            422,
        ),
        (
            Method::POST,
            orders_path.clone(),
            u,
            json!({"items": [{"product_id": pid, "quantity": 9_223_372_036_854_775_807i64}]}).to_string(),
            422,
        ),
        (
            Method::POST,
            orders_path.clone(),
            u,
            json!({ "items": many }).to_string(),
            422,
        ),
        (
            Method::POST,
            orders_path.clone(),
            u,
            json!({"items": [{"product_id": pid, "quantity": 1}, {"product_id": pid, "quantity": 1}]})
                .to_string(),
            422,
        ),
        (
            Method::POST,
            orders_path.clone(),
            u,
            json!({"items": [{"product_id": "../../etc", "quantity": 1}]}).to_string(),
            422,
        ),
        (
            Method::POST,
            orders_path.clone(),
            u,
            json!({"items": [{"product_id": {"$gt": ""}, "quantity": 1}]}).to_string(),
            422,
        ),
        (
            Method::POST,
            orders_path.clone(),
            u,
            json!({"items": {"$size": 1}}).to_string(),
            422,
        ),
        (
            Method::POST,
            orders_path.clone(),
            None,
            json!({"items": []}).to_string(),
            401,
        ),
        // admin routes: wrong values, injection, a user trying them
        (
            Method::POST,
            status_path.clone(),
            a,
            json!({"status": {"$ne": "X"}}).to_string(),
            422,
        ),
        (
            Method::POST,
            status_path.clone(),
            a,
            json!({"status": "PLACED"}).to_string(),
            422,
        ),
        (
            Method::POST,
            status_path.clone(),
            u,
            json!({"status": "SHIPPED"}).to_string(),
            403,
        ),
        (
            Method::POST,
            "/api/orders/not-an-id/status".into(),
            a,
            json!({"status": "SHIPPED"}).to_string(),
            404,
        ),
        (
            Method::POST,
            stock_path.clone(),
            a,
            json!({"delta": 1e300, "reason": "x"}).to_string(),
            422,
        ),
        (
            Method::POST,
            stock_path.clone(),
            a,
            json!({"delta": -9_223_372_036_854_775_807i64, "reason": "x"}).to_string(),
            422,
        ),
        (
            Method::POST,
            stock_path.clone(),
            a,
            json!({"delta": 1, "reason": {"$gt": ""}}).to_string(),
            422,
        ),
        (
            Method::POST,
            stock_path.clone(),
            u,
            json!({"delta": 1, "reason": "x"}).to_string(),
            403,
        ),
        (
            Method::PATCH,
            patch_path.clone(),
            a,
            json!({"price": -5}).to_string(),
            422,
        ),
        (
            Method::PATCH,
            patch_path.clone(),
            a,
            json!({"name": ""}).to_string(),
            422,
        ),
        (
            Method::PATCH,
            patch_path.clone(),
            a,
            json!({"stock": 1_000_000}).to_string(),
            422,
        ),
        (
            Method::PATCH,
            patch_path.clone(),
            a,
            json!({"active": "yes"}).to_string(),
            422,
        ),
        (
            Method::POST,
            "/api/ops/dead-letters/replay".into(),
            a,
            json!({"queue": {"$gt": ""}}).to_string(),
            422,
        ),
        (
            Method::POST,
            "/api/ops/dead-letters/replay".into(),
            a,
            json!({"queue": "oms.nope"}).to_string(),
            404,
        ),
        (
            Method::POST,
            "/api/ops/dead-letters/replay".into(),
            a,
            json!({"queue": "../etc"}).to_string(),
            422,
        ),
        // oversized
        (
            Method::POST,
            login.clone(),
            None,
            format!("{{\"email\": \"{huge}\", \"password\": \"x\"}}"),
            413,
        ),
        (
            Method::POST,
            orders_path.clone(),
            u,
            format!("{{\"items\": \"{}\"}}", "y".repeat(100_000)),
            413,
        ),
    ];

    for (method, path, token, body, expected) in &cases {
        let mut request = app
            .http
            .request(method.clone(), app.url(path))
            .header("content-type", "application/json")
            .body(body.clone());
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        let envelope: Value = response.json().await.unwrap_or(Value::Null);
        let shown: String = body.chars().take(120).collect();
        assert_eq!(status, *expected, "{method} {path} {shown}: {envelope}");
        assert!(
            envelope["error"]["code"].as_str().is_some() && envelope["error"]["message"].as_str().is_some(),
            "{method} {path} {shown}: no envelope: {envelope}"
        );
    }

    // Wrong content types.
    for (content_type, body) in [
        ("text/plain", "{}"),
        ("application/x-www-form-urlencoded", "email=a"),
        ("application/xml", "<a/>"),
    ] {
        let response = app
            .http
            .post(app.url("/api/auth/login"))
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .expect("request");
        assert_eq!(response.status().as_u16(), 415, "{content_type}");
    }

    assert_eq!(counts(&app).await, before, "the store changed");
}

#[tokio::test]
async fn a_user_is_refused_on_every_admin_route() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let user = app.register("not-admin").await;
    let product = app.create_product(&admin, "ADMINONLY", 100, 5).await;
    let pid = product["id"].as_str().expect("id").to_string();
    let order = app.order(&user, &[(&pid, 1)]).await;
    // Counted once the order's own writes are done.
    app.wait_decided(&order, &user.access_token).await;
    let before = counts(&app).await;

    let routes: Vec<(Method, String, Value)> = vec![
        (Method::POST, "/api/products".into(), json!({})),
        (
            Method::PATCH,
            format!("/api/products/{pid}"),
            json!({"name": "mine now"}),
        ),
        (Method::POST, format!("/api/products/{pid}/image"), json!({})),
        (
            Method::POST,
            format!("/api/products/{pid}/stock"),
            json!({"delta": 100, "reason": "free stock"}),
        ),
        (Method::GET, format!("/api/products/{pid}/ledger"), Value::Null),
        (
            Method::GET,
            format!("/api/products/{pid}/stock/0123456789abcdef"),
            Value::Null,
        ),
        (
            Method::GET,
            "/api/products?include_inactive=true".into(),
            Value::Null,
        ),
        (
            Method::POST,
            format!("/api/orders/{order}/status"),
            json!({"status": "CONFIRMED"}),
        ),
        (Method::GET, "/api/orders/stats".into(), Value::Null),
        (
            Method::GET,
            format!("/api/orders?user_id={}", admin.user_id),
            Value::Null,
        ),
        (Method::GET, "/api/ops/verify".into(), Value::Null),
        (Method::GET, "/api/ops/queues".into(), Value::Null),
        (
            Method::GET,
            "/api/ops/dead-letters?queue=oms.images".into(),
            Value::Null,
        ),
        (
            Method::POST,
            "/api/ops/dead-letters/replay".into(),
            json!({"queue": "oms.images"}),
        ),
    ];
    for (method, path, body) in routes {
        let mut request = app
            .http
            .request(method.clone(), app.url(&path))
            .bearer_auth(&user.access_token);
        if !body.is_null() {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        let envelope: Value = response.json().await.unwrap_or(Value::Null);
        assert_eq!(status, 403, "{method} {path}: {envelope}");
        assert_eq!(envelope["error"]["code"], "forbidden", "{method} {path}");
    }
    assert_eq!(counts(&app).await, before, "the store changed");
}
