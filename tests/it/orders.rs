use std::collections::HashMap;
use std::time::Duration;

use futures_util::future::join_all;
use mongodb::bson::doc;
use oms_contracts::domain::{Reason, StockDelta};
use oms_contracts::messages::{Envelope, StockCommand};
use oms_contracts::routing::{orders_queue_for, stock_queue_for};
use oms_contracts::{OrderId, ProductId};
use oms_platform::broker::Outgoing;
use oms_platform::store::{LedgerKind, LedgerOutcome};
use oms_workers::failpoint::points;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{SseReader, TestApp, assert_error};

fn id(product: &Value) -> String {
    product["id"].as_str().expect("id").to_string()
}

#[tokio::test]
async fn an_order_is_accepted_then_placed_with_prices_and_a_ledger_entry() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let user = app.register("ann").await;
    let lamp = id(&app.create_product(&admin, "LAMP", 250, 10).await);
    let desk = id(&app.create_product(&admin, "DESK", 10_000, 2).await);

    let response = app.place_order(&user, &[(&lamp, 3), (&desk, 1)], None).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let location = response.headers()["location"]
        .to_str()
        .expect("location")
        .to_string();
    let accepted: Value = response.json().await.expect("json");
    assert_eq!(accepted["status"], "PENDING");
    let order_id = accepted["id"].as_str().expect("id");
    assert_eq!(location, format!("/api/orders/{order_id}"));

    // Readable at once, at least as PENDING.
    let read = app.get(&location, Some(&user.access_token)).await;
    assert_eq!(read.status(), StatusCode::OK);

    let placed = app
        .wait_for_order(order_id, &user.access_token, |o| o["status"] == "PLACED")
        .await;
    assert_eq!(placed["total"], json!({"amount": 10_750, "currency": "USD"}));
    let lamp_line = &placed["items"][0];
    assert_eq!(lamp_line["name"], "Product LAMP");
    assert_eq!(lamp_line["unit_price"]["amount"], 250);
    assert_eq!(lamp_line["line_total"]["amount"], 750);
    assert_eq!(lamp_line["reservation"], "reserved");
    let history: Vec<(Value, Value)> = placed["history"]
        .as_array()
        .expect("history")
        .iter()
        .map(|h| (h["from"].clone(), h["to"].clone()))
        .collect();
    assert_eq!(
        history,
        vec![
            (Value::Null, json!("PENDING")),
            (json!("PENDING"), json!("PLACED"))
        ]
    );
    assert_eq!(placed["history"][1]["by"], "system");

    assert_eq!(app.assert_stock_consistent(&lamp).await, 7);
    assert_eq!(app.assert_stock_consistent(&desk).await, 1);
    let reserve = app
        .ledger(&lamp)
        .await
        .into_iter()
        .find(|e| e.kind == LedgerKind::Reserve)
        .expect("reserve entry");
    assert_eq!((reserve.delta, reserve.balance_after), (-3, 7));
    assert_eq!(reserve.order_id.as_ref().map(|o| o.as_str()), Some(order_id));
}

#[tokio::test]
async fn two_hundred_concurrent_orders_for_fifty_units_place_exactly_fifty() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let product = id(&app.create_product(&admin, "HOT", 100, 50).await);
    let names: Vec<String> = (0..10).map(|i| format!("buyer{i}")).collect();
    let users = join_all(names.iter().map(|name| app.register(name))).await;

    let ids: Vec<(usize, String)> = join_all((0..200).map(|i| {
        let (app, users, product) = (&app, &users, &product);
        async move {
            let user = &users[i % users.len()];
            (i % users.len(), app.order(user, &[(product, 1)]).await)
        }
    }))
    .await;
    let finals = join_all(
        ids.iter()
            .map(|(u, order)| app.wait_decided(order, &users[*u].access_token)),
    )
    .await;
    let placed = finals.iter().filter(|o| o["status"] == "PLACED").count();
    let rejected: Vec<&Value> = finals.iter().filter(|o| o["status"] == "REJECTED").collect();
    assert_eq!(placed, 50);
    assert_eq!(rejected.len(), 150);
    for order in rejected {
        assert_eq!(order["items"][0]["reservation"], "rejected");
        assert_eq!(order["items"][0]["reject_reason"], "insufficient_stock");
    }
    assert_eq!(app.assert_stock_consistent(&product).await, 0);
}

#[tokio::test]
async fn overlapping_multi_line_orders_never_deadlock_oversell_or_leak() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let mut products = Vec::new();
    for i in 0..5 {
        products.push(id(&app
            .create_product(&admin, &format!("P{i}"), 100 + i, 12)
            .await));
    }
    let user = app.register("multi").await;
    // Deterministic pseudo-random lines: 2–4 distinct products, quantity 1–3.
    let mut seed: u64 = 42;
    let mut next = move |n: u64| {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 33) % n
    };
    let mut orders: Vec<Vec<(String, i64)>> = Vec::new();
    for _ in 0..60 {
        let lines = 2 + next(3) as usize;
        let start = next(5) as usize;
        orders.push(
            (0..lines)
                .map(|k| (products[(start + k) % 5].clone(), 1 + next(3) as i64))
                .collect(),
        );
    }
    let ids = join_all(orders.iter().map(|lines| {
        let items: Vec<(&str, i64)> = lines.iter().map(|(p, q)| (p.as_str(), *q)).collect();
        let (app, user) = (&app, &user);
        async move { app.order(user, &items).await }
    }))
    .await;
    let finals = join_all(ids.iter().map(|o| app.wait_decided(o, &user.access_token))).await;

    // Net effect per (order, product) from the ledger.
    let mut net: HashMap<(String, String), i64> = HashMap::new();
    for product in &products {
        app.assert_stock_consistent(product).await;
        for entry in app.ledger(product).await {
            if let Some(order) = entry.order_id {
                *net.entry((order.to_string(), product.clone())).or_default() += entry.delta;
            }
        }
    }
    let mut placed = 0;
    for order in &finals {
        let order_id = order["id"].as_str().expect("id").to_string();
        for line in order["items"].as_array().expect("items") {
            let held = net
                .get(&(
                    order_id.clone(),
                    line["product_id"].as_str().expect("p").to_string(),
                ))
                .copied()
                .unwrap_or(0);
            match order["status"].as_str() {
                Some("PLACED") => assert_eq!(held, -line["quantity"].as_i64().expect("q"), "{order}"),
                Some("REJECTED") => assert_eq!(held, 0, "a rejected order still holds stock: {order}"),
                other => panic!("unexpected status {other:?}"),
            }
        }
        if order["status"] == "PLACED" {
            placed += 1;
        }
    }
    assert!(placed > 0, "some orders fit in the stock");
}

#[tokio::test]
async fn redelivered_stock_commands_apply_once() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let user = app.register("dup").await;
    let product = id(&app.create_product(&admin, "DUP", 100, 10).await);
    let order = app.order(&user, &[(&product, 4)]).await;
    app.wait_for_order(&order, &user.access_token, |o| o["status"] == "PLACED")
        .await;
    let entries = app.ledger(&product).await.len();

    let order_id = OrderId::parse(&order).expect("id");
    let product_id = ProductId::parse(&product).expect("id");
    let partitions = app.config.partitions;
    let reserve = StockCommand::ReserveStock {
        order_id: order_id.clone(),
        product_id: product_id.clone(),
        quantity: oms_contracts::domain::Quantity::parse(4).expect("q"),
        reply_to: orders_queue_for(&order_id, partitions),
    };
    let twice = |command: StockCommand| {
        let queue = stock_queue_for(&product_id, partitions);
        let messages = (0..2)
            .map(|_| {
                Outgoing::command(
                    queue.clone(),
                    &Envelope::new(order.clone(), "test", command.clone()),
                )
            })
            .collect();
        app.broker.publish_all(messages)
    };
    twice(reserve).await.expect("publish");
    // Cancel, then deliver the release twice more.
    let response = app
        .post_json(
            &format!("/api/orders/{order}/cancel"),
            Some(&user.access_token),
            &json!({}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    app.wait_until(&order, &user.access_token, "CANCELLED").await;
    let release = StockCommand::ReleaseStock {
        order_id: order_id.clone(),
        product_id: product_id.clone(),
        reply_to: orders_queue_for(&order_id, partitions),
    };
    twice(release).await.expect("publish");
    // A later command on the same partition is processed after the duplicates.
    let marker = app.order(&user, &[(&product, 1)]).await;
    app.wait_decided(&marker, &user.access_token).await;

    let ledger = app.ledger(&product).await;
    let for_order: Vec<_> = ledger
        .iter()
        .filter(|e| e.order_id.as_ref().map(|o| o.as_str()) == Some(order.as_str()))
        .collect();
    assert_eq!(for_order.len(), 2, "one reserve and one release: {for_order:?}");
    assert_eq!(
        ledger.len(),
        entries + 1 + 1,
        "the release, and the marker's reserve"
    );
    assert_eq!(app.assert_stock_consistent(&product).await, 9);
}

/// Waits on `feed` until `order`'s `PLACED` event arrives.
async fn placed_event(feed: &mut SseReader, order: &str) {
    loop {
        let event = feed.next(Duration::from_secs(30)).await.expect("events");
        if event.data["order_id"] == order && event.data["status"] == "PLACED" {
            return;
        }
    }
}

fn applied_reserves(entries: &[oms_platform::store::LedgerDoc]) -> usize {
    entries
        .iter()
        .filter(|e| e.kind == LedgerKind::Reserve && e.outcome == LedgerOutcome::Applied)
        .count()
}

#[tokio::test]
async fn a_crash_after_a_whole_order_is_decided_places_it_once_and_still_announces_it() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let user = app.register("crash").await;
    let product = id(&app.create_product(&admin, "CRASH", 100, 10).await);
    // The PLACED event is sent only after the decision is committed, so a crash in between
    // must not lose it: the redelivered placement finds the order decided and re-sends it.
    let mut feed = SseReader::open(&app, "/api/events", &user.access_token).await;
    app.failpoints.arm(points::STOCK_AFTER_COMMIT, 1);

    let order = app.order(&user, &[(&product, 3)]).await;
    let placed = app
        .wait_for_order(&order, &user.access_token, |o| o["status"] == "PLACED")
        .await;
    placed_event(&mut feed, &order).await;
    assert!(app.failpoints.fired_all(points::STOCK_AFTER_COMMIT));
    assert_eq!(placed["history"].as_array().expect("history").len(), 2);
    assert_eq!(placed["version"], 1, "decided once");
    assert_eq!(applied_reserves(&app.ledger(&product).await), 1);
    assert_eq!(app.assert_stock_consistent(&product).await, 7);
}

/// Two products that different stock partitions own, so that an order of both goes through
/// the reservation saga.
async fn products_in_two_partitions(
    app: &TestApp,
    admin: &crate::helpers::Session,
    stock: i64,
) -> (String, String) {
    let partition = |p: &str| oms_contracts::routing::partition_of(p, app.config.partitions);
    let first = id(&app.create_product(admin, "SPLIT-0", 100, stock).await);
    for n in 1..20 {
        let other = id(&app.create_product(admin, &format!("SPLIT-{n}"), 100, stock).await);
        if partition(&other) != partition(&first) {
            return (first, other);
        }
    }
    panic!("twenty products all in one partition");
}

#[tokio::test]
async fn a_crash_in_the_reservation_saga_applies_each_change_once() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let user = app.register("crash").await;
    let (a, b) = products_in_two_partitions(&app, &admin, 10).await;
    let mut feed = SseReader::open(&app, "/api/events", &user.access_token).await;
    app.failpoints.arm(points::STOCK_AFTER_COMMIT, 1);
    app.failpoints.arm(points::ORDERS_AFTER_COMMIT, 2);

    let order = app.order(&user, &[(&a, 3), (&b, 2)]).await;
    let placed = app
        .wait_for_order(&order, &user.access_token, |o| o["status"] == "PLACED")
        .await;
    placed_event(&mut feed, &order).await;
    assert!(app.failpoints.fired_all(points::STOCK_AFTER_COMMIT));
    assert!(app.failpoints.fired_all(points::ORDERS_AFTER_COMMIT));
    assert_eq!(placed["history"].as_array().expect("history").len(), 2);
    assert_eq!(applied_reserves(&app.ledger(&a).await), 1);
    assert_eq!(applied_reserves(&app.ledger(&b).await), 1);
    assert_eq!(app.assert_stock_consistent(&a).await, 7);
    assert_eq!(app.assert_stock_consistent(&b).await, 8);
}

#[tokio::test]
async fn cancel_restores_stock_exactly_once() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let user = app.register("cancel").await;
    let product = id(&app.create_product(&admin, "CANCEL", 100, 5).await);
    let order = app.order(&user, &[(&product, 5)]).await;
    app.wait_for_order(&order, &user.access_token, |o| o["status"] == "PLACED")
        .await;
    assert_eq!(app.assert_stock_consistent(&product).await, 0);

    let path = format!("/api/orders/{order}/cancel");
    let response = app.post_json(&path, Some(&user.access_token), &json!({})).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let cancelled = app.wait_until(&order, &user.access_token, "CANCELLED").await;
    assert_eq!(cancelled["items"][0]["reservation"], "released");
    assert_eq!(app.assert_stock_consistent(&product).await, 5);

    let again = app.post_json(&path, Some(&user.access_token), &json!({})).await;
    let body = assert_error(again, StatusCode::CONFLICT, "invalid_transition").await;
    assert!(
        body["error"]["message"]
            .as_str()
            .expect("message")
            .contains("CANCELLED")
    );
    let releases = app
        .ledger(&product)
        .await
        .into_iter()
        .filter(|e| e.kind == LedgerKind::Release)
        .count();
    assert_eq!(releases, 1);
}

#[tokio::test]
async fn cancels_racing_pending_reservations_restore_stock_once() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let user = app.register("racer").await;
    let a = id(&app.create_product(&admin, "RACE-A", 100, 100).await);
    let b = id(&app.create_product(&admin, "RACE-B", 100, 100).await);

    let orders = join_all((0..15).map(|_| {
        let (app, user, a, b) = (&app, &user, &a, &b);
        async move {
            let order = app.order(user, &[(a, 2), (b, 3)]).await;
            // Cancel at once: usually while the reservations are still in flight.
            let response = app
                .post_json(
                    &format!("/api/orders/{order}/cancel"),
                    Some(&user.access_token),
                    &json!({}),
                )
                .await;
            assert_eq!(response.status(), StatusCode::ACCEPTED);
            order
        }
    }))
    .await;
    for order in &orders {
        // Cancelling is allowed from PENDING and from PLACED, so every order ends CANCELLED.
        app.wait_until(order, &user.access_token, "CANCELLED").await;
    }
    assert_eq!(app.assert_stock_consistent(&a).await, 100);
    assert_eq!(app.assert_stock_consistent(&b).await, 100);
}

#[tokio::test]
async fn idempotency_keys_return_the_same_order() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let user = app.register("idem").await;
    let product = id(&app.create_product(&admin, "IDEM", 100, 100).await);

    let first = app.place_order(&user, &[(&product, 1)], Some("checkout-1")).await;
    assert_eq!(first.status(), StatusCode::ACCEPTED);
    let first: Value = first.json().await.expect("json");
    let again = app.place_order(&user, &[(&product, 1)], Some("checkout-1")).await;
    assert_eq!(again.status(), StatusCode::ACCEPTED);
    let again: Value = again.json().await.expect("json");
    assert_eq!(first["id"], again["id"]);

    let other = app.place_order(&user, &[(&product, 2)], Some("checkout-1")).await;
    assert_error(other, StatusCode::CONFLICT, "idempotency_key_reused").await;

    // Another user's identical key is their own.
    let someone = app.register("someone").await;
    let theirs: Value = app
        .place_order(&someone, &[(&product, 1)], Some("checkout-1"))
        .await
        .json()
        .await
        .expect("json");
    assert_ne!(theirs["id"], first["id"]);

    // Concurrent identical requests: one order.
    let lines = [(product.as_str(), 1)];
    let responses = join_all((0..10).map(|_| app.place_order(&user, &lines, Some("checkout-2")))).await;
    let mut ids = Vec::new();
    for response in responses {
        assert_eq!(response.status(), StatusCode::ACCEPTED);
        let body: Value = response.json().await.expect("json");
        ids.push(body["id"].as_str().expect("id").to_string());
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "{ids:?}");
    let count = app
        .store
        .orders()
        .count_documents(doc! {"user_id": user.user_id.as_str()})
        .await
        .expect("count");
    assert_eq!(count, 2);

    let bad_key = app
        .place_order(&user, &[(&product, 1)], Some(&"k".repeat(101)))
        .await;
    assert_error(bad_key, StatusCode::BAD_REQUEST, "invalid_idempotency_key").await;
}

#[tokio::test]
async fn order_requests_are_validated() {
    let app = TestApp::spawn().await;
    let user = app.register("val").await;
    let p = ProductId::new().to_string();
    let q = ProductId::new().to_string();
    let many: Vec<Value> = (0..51)
        .map(|_| json!({"product_id": ProductId::new(), "quantity": 1}))
        .collect();
    let cases = [
        (json!({"items": []}), "items"),
        (json!({"items": many}), "items"),
        (
            json!({"items": [{"product_id": p, "quantity": 0}]}),
            "items[0].quantity",
        ),
        (
            json!({"items": [{"product_id": p, "quantity": 1001}]}),
            "items[0].quantity",
        ),
        (
            json!({"items": [{"product_id": "nope", "quantity": 1}]}),
            "items[0].product_id",
        ),
        (
            json!({"items": [{"product_id": p, "quantity": 1}, {"product_id": q, "quantity": 1}, {"product_id": p, "quantity": 2}]}),
            "items[2].product_id",
        ),
    ];
    for (body, field) in cases {
        let response = app
            .post_json("/api/orders", Some(&user.access_token), &body)
            .await;
        let error = assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(error["error"]["field"], field, "{body}");
    }
    let wrong_type = app
        .post_json(
            "/api/orders",
            Some(&user.access_token),
            &json!({"items": [{"product_id": p, "quantity": "1"}]}),
        )
        .await;
    assert_error(wrong_type, StatusCode::UNPROCESSABLE_ENTITY, "invalid_body").await;
    let anonymous = app.post_json("/api/orders", None, &json!({"items": []})).await;
    assert_error(anonymous, StatusCode::UNAUTHORIZED, "unauthenticated").await;
    assert_eq!(
        app.store.orders().count_documents(doc! {}).await.expect("count"),
        0
    );
}

#[tokio::test]
async fn unknown_and_inactive_products_reject_the_order_and_release_the_rest() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let user = app.register("rej").await;
    let good = id(&app.create_product(&admin, "GOOD", 100, 10).await);
    let off = id(&app.create_product(&admin, "OFF", 100, 10).await);
    app.patch_json(
        &format!("/api/products/{off}"),
        Some(&admin.access_token),
        &json!({"active": false}),
    )
    .await;
    let ghost = ProductId::new().to_string();

    let order = app.order(&user, &[(&good, 2), (&ghost, 1)]).await;
    let rejected = app.wait_decided(&order, &user.access_token).await;
    assert_eq!(rejected["status"], "REJECTED");
    assert_eq!(rejected["items"][1]["reject_reason"], "unknown_product");
    assert_eq!(app.assert_stock_consistent(&good).await, 10);

    let order = app.order(&user, &[(&off, 1)]).await;
    let rejected = app.wait_decided(&order, &user.access_token).await;
    assert_eq!(rejected["items"][0]["reject_reason"], "inactive_product");
    assert!(rejected["history"][1]["reason"].as_str().is_some());
}

#[tokio::test]
async fn users_see_only_their_own_orders() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let product = id(&app.create_product(&admin, "MINE", 100, 100).await);
    let alices = app.order(&alice, &[(&product, 1)]).await;
    app.order(&bob, &[(&product, 1)]).await;

    assert_error(
        app.get(&format!("/api/orders/{alices}"), Some(&bob.access_token))
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let cancel = app
        .post_json(
            &format!("/api/orders/{alices}/cancel"),
            Some(&bob.access_token),
            &json!({}),
        )
        .await;
    assert_error(cancel, StatusCode::NOT_FOUND, "not_found").await;

    let bobs: Value = app
        .get("/api/orders", Some(&bob.access_token))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(bobs["total"], 1);
    assert_error(
        app.get(
            &format!("/api/orders?user_id={}", alice.user_id),
            Some(&bob.access_token),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;

    let all: Value = app
        .get("/api/orders", Some(&admin.access_token))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(all["total"], 2);
    let filtered: Value = app
        .get(
            &format!("/api/orders?user_id={}", alice.user_id),
            Some(&admin.access_token),
        )
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(filtered["total"], 1);
    assert_eq!(filtered["items"][0]["id"], alices.as_str());
    assert_eq!(
        app.get(&format!("/api/orders/{alices}"), Some(&admin.access_token))
            .await
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn live_status_reaches_the_owner_and_nobody_else() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let alice = app.register("live").await;
    let bob = app.register("other").await;
    let product = id(&app.create_product(&admin, "LIVE", 100, 1).await);

    let mut alices_feed = SseReader::open(&app, "/api/events", &alice.access_token).await;
    let mut bobs_feed = SseReader::open(&app, "/api/events", &bob.access_token).await;

    let order = app.order(&alice, &[(&product, 1)]).await;
    let mut seen = Vec::new();
    while seen.last().map(String::as_str) != Some("PLACED") {
        let event = alices_feed.next(Duration::from_secs(30)).await.expect("event");
        assert_eq!(event.event, "status");
        assert_eq!(event.data["order_id"], order.as_str());
        seen.push(event.data["status"].as_str().expect("status").to_string());
    }
    assert_eq!(seen, vec!["PENDING", "PLACED"]);

    // The second order finds no stock: its own stream ends with REJECTED.
    let second = app.order(&alice, &[(&product, 1)]).await;
    let mut stream =
        SseReader::open(&app, &format!("/api/orders/{second}/events"), &alice.access_token).await;
    let mut statuses = Vec::new();
    while let Some(event) = stream.next(Duration::from_secs(30)).await {
        statuses.push(event.data["status"].as_str().expect("status").to_string());
    }
    assert_eq!(
        statuses.last().map(String::as_str),
        Some("REJECTED"),
        "{statuses:?}"
    );

    // Bob saw nothing of Alice's orders.
    let bobs_order = app.order(&bob, &[(&product, 1)]).await;
    let event = bobs_feed.next(Duration::from_secs(30)).await.expect("event");
    assert_eq!(event.data["order_id"], bobs_order.as_str());

    // A token in the URL would land in proxy and server logs: the streams take the header only.
    let response = app
        .http
        .get(app.url(&format!(
            "/api/orders/{second}/events?access_token={}",
            alice.access_token
        )))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_error(
        app.get(&format!("/api/orders/{second}/events"), Some(&bob.access_token))
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn admins_adjust_stock_through_the_worker() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let product = id(&app.create_product(&admin, "ADJ", 100, 3).await);
    let path = format!("/api/products/{product}/stock");

    let response = app
        .post_json(
            &path,
            Some(&admin.access_token),
            &json!({"delta": 5, "reason": "restock"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let restock: Value = response.json().await.expect("json");
    let refused = app
        .post_json(
            &path,
            Some(&admin.access_token),
            &json!({"delta": -100, "reason": "typo"}),
        )
        .await;
    assert_eq!(
        refused.status(),
        StatusCode::ACCEPTED,
        "refused later, by the worker"
    );
    let refused: Value = refused.json().await.expect("json");

    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let decided = app
            .store
            .ledger()
            .find_one(doc! {"_id": format!("adjust:{}", refused["adjustment_id"].as_str().expect("id"))})
            .await
            .expect("query");
        if decided.is_some() && app.product(&product).await.stock == 8 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "adjustments never applied"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(app.assert_stock_consistent(&product).await, 8);
    let ledger: Value = app
        .get(
            &format!("/api/products/{product}/ledger"),
            Some(&admin.access_token),
        )
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(
        ledger["total"], 2,
        "initial and the restock; the refusal changed nothing"
    );
    assert_eq!(ledger["items"][0]["kind"], "adjust");
    assert_eq!(ledger["items"][0]["reason"], "restock");

    // Each adjustment's outcome, by the id its 202 returned.
    let outcome = |adjustment: &Value| {
        let url = format!("{path}/{}", adjustment["adjustment_id"].as_str().expect("id"));
        let app = &app;
        let token = admin.access_token.clone();
        async move {
            let response = app.get(&url, Some(&token)).await;
            assert_eq!(response.status(), StatusCode::OK);
            response.json::<Value>().await.expect("json")
        }
    };
    let applied = outcome(&restock).await;
    assert_eq!(applied["status"], "applied", "{applied}");
    assert_eq!(applied["delta"], 5);
    assert_eq!(applied["reason"], "restock");
    let refusal = outcome(&refused).await;
    assert_eq!(refusal["status"], "refused", "{refusal}");
    assert_eq!(refusal["delta"], 0);
    assert!(refusal["balance_after"].is_null());
    assert!(
        refusal["reason"]
            .as_str()
            .is_some_and(|r| r.contains("below zero")),
        "{refusal}"
    );
    let unknown = outcome(&json!({"adjustment_id": "0123456789abcdef"})).await;
    assert_eq!(unknown["status"], "pending");
    let user = app.register("peeker").await;
    let response = app
        .get(&format!("{path}/0123456789abcdef"), Some(&user.access_token))
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);

    for (body, field) in [
        (json!({"delta": 0, "reason": "x"}), "delta"),
        (json!({"delta": 1, "reason": ""}), "reason"),
    ] {
        let response = app.post_json(&path, Some(&admin.access_token), &body).await;
        let error = assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(error["error"]["field"], field);
    }
    let user = app.register("notadmin").await;
    let response = app
        .post_json(
            &path,
            Some(&user.access_token),
            &json!({"delta": 5, "reason": "x"}),
        )
        .await;
    assert_error(response, StatusCode::FORBIDDEN, "forbidden").await;
}

#[tokio::test]
async fn the_reconciler_places_an_order_whose_placement_was_lost() {
    let app = TestApp::spawn_with(&[("OMS_RECONCILE_AFTER", "1s")]).await;
    let admin = app.admin().await;
    let user = app.register("lost").await;
    let product = id(&app.create_product(&admin, "LOST", 100, 5).await);
    // An order stored as the API stores it, whose PlaceOrder never reached the broker.
    let order = app.order(&user, &[(&product, 1)]).await;
    app.wait_for_order(&order, &user.access_token, |o| o["status"] == "PLACED")
        .await;
    let mut lost = app
        .store
        .orders()
        .find_one(doc! {"_id": &order})
        .await
        .expect("query")
        .expect("order");
    lost.id = OrderId::new();
    lost.idem_key = format!("auto:{}", lost.id);
    lost.status = oms_contracts::OrderStatus::Pending;
    lost.history.truncate(1);
    lost.version = 0;
    lost.dispatched = false;
    lost.outbox.clear();
    lost.outbox_causes.clear();
    lost.seen.clear();
    for line in &mut lost.items {
        line.reservation = oms_platform::store::LineReservation::Pending;
    }
    lost.updated_at = mongodb::bson::DateTime::from_millis(lost.updated_at.timestamp_millis() - 60_000);
    app.store.orders().insert_one(&lost).await.expect("insert");

    let placed = app
        .wait_for_order(lost.id.as_str(), &user.access_token, |o| o["status"] == "PLACED")
        .await;
    assert_eq!(placed["items"][0]["reservation"], "reserved");
    assert_eq!(app.assert_stock_consistent(&product).await, 3);
}

#[tokio::test]
async fn a_poison_message_is_dead_lettered_and_the_partition_keeps_flowing() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let user = app.register("poison").await;
    let product = id(&app.create_product(&admin, "POISON", 100, 5).await);
    let product_id = ProductId::parse(&product).expect("id");
    let queue = stock_queue_for(&product_id, app.config.partitions);
    let poison = Outgoing {
        exchange: oms_contracts::routing::COMMANDS_EXCHANGE,
        routing_key: queue.clone(),
        payload: b"{\"this is\": \"not a command\"}".to_vec(),
        properties: lapin::BasicProperties::default().with_delivery_mode(2),
    };
    app.broker.publish(poison).await.expect("publish");

    let order = app.order(&user, &[(&product, 1)]).await;
    app.wait_for_order(&order, &user.access_token, |o| o["status"] == "PLACED")
        .await;

    // The poison message waits in the dead-letter queue with its reason.
    let connection = app
        .broker
        .dedicated_connection("test", Duration::from_secs(5))
        .await
        .expect("connect");
    let channel = connection.create_channel().await.expect("channel");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let message = loop {
        let got = channel
            .basic_get(
                format!("{queue}.dlq").as_str().into(),
                lapin::options::BasicGetOptions { no_ack: true },
            )
            .await
            .expect("basic.get");
        if let Some(message) = got {
            break message;
        }
        assert!(tokio::time::Instant::now() < deadline, "nothing dead-lettered");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let headers = message.delivery.properties.headers().clone().expect("headers");
    let reason = match headers.inner().get("x-oms-reason") {
        Some(lapin::types::AMQPValue::LongString(text)) => {
            String::from_utf8_lossy(text.as_bytes()).into_owned()
        }
        other => panic!("no reason header: {other:?}"),
    };
    assert!(reason.starts_with("unparseable message"), "{reason}");
    assert!(headers.inner().contains_key("x-oms-attempts"));
}

#[tokio::test]
async fn the_reconciler_resends_a_release_that_never_came_back() {
    let app = TestApp::spawn_with(&[("OMS_RECONCILE_AFTER", "1s")]).await;
    let admin = app.admin().await;
    let user = app.register("lost-release").await;
    let product = id(&app.create_product(&admin, "LOSTREL", 100, 5).await);
    let order = app.order(&user, &[(&product, 2)]).await;
    let earlier = app.order(&user, &[(&product, 1)]).await;
    for o in [&order, &earlier] {
        app.wait_for_order(o, &user.access_token, |o| o["status"] == "PLACED")
            .await;
    }
    assert_eq!(app.assert_stock_consistent(&product).await, 2);

    // Both were cancelled, but their ReleaseStock was lost (dead-lettered, say): the first as
    // the order worker now records it, the second as it did before orders kept the time.
    let a_minute_ago = mongodb::bson::DateTime::from_millis(chrono::Utc::now().timestamp_millis() - 60_000);
    for (o, since) in [(&order, Some(a_minute_ago)), (&earlier, None)] {
        let mut set = doc! {
            "status": "CANCELLED",
            "items.0.reservation": "releasing",
            "updated_at": a_minute_ago,
        };
        if let Some(since) = since {
            set.insert("releasing_since", since);
        }
        app.store
            .orders()
            .update_one(doc! {"_id": o}, doc! {"$set": set})
            .await
            .expect("update");
    }
    // What a reconciler does when it starts: the earlier shape is marked, then found.
    let reconciler = oms_workers::reconciler::Reconciler {
        store: app.store.clone(),
        broker: app.broker.clone(),
        partitions: app.config.partitions,
        after: Duration::from_secs(1),
    };
    reconciler.adopt_unmarked_releases().await.expect("marked");

    for o in [&order, &earlier] {
        let released = app.wait_until(o, &user.access_token, "CANCELLED").await;
        assert_eq!(released["items"][0]["reservation"], "released");
        let stored = app
            .store
            .order(&OrderId::parse(o).expect("id"))
            .await
            .expect("read")
            .expect("order");
        assert_eq!(
            stored.releasing_since, None,
            "nothing is on its way back any more"
        );
    }
    assert_eq!(app.assert_stock_consistent(&product).await, 5);
}

#[tokio::test]
async fn a_retried_stock_adjustment_with_the_same_key_applies_once() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let product = id(&app.create_product(&admin, "ADJKEY", 100, 1).await);
    let path = format!("/api/products/{product}/stock");
    let send = |delta: i64| {
        app.http
            .post(app.url(&path))
            .bearer_auth(&admin.access_token)
            .header("idempotency-key", "restock-42")
            .json(&json!({"delta": delta, "reason": "restock"}))
            .send()
    };
    let first: Value = send(4).await.expect("request").json().await.expect("json");
    let again: Value = send(4).await.expect("request").json().await.expect("json");
    assert_eq!(first["adjustment_id"], again["adjustment_id"]);
    let other: Value = send(5).await.expect("request").json().await.expect("json");
    assert_ne!(
        first["adjustment_id"], other["adjustment_id"],
        "another body is another adjustment"
    );

    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while app.product(&product).await.stock != 10 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "adjustments never applied"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // A marker order on the same partition: once it is decided, the duplicate has been processed too.
    let user = app.register("adj-marker").await;
    let marker = app.order(&user, &[(&product, 1)]).await;
    app.wait_decided(&marker, &user.access_token).await;
    assert_eq!(app.assert_stock_consistent(&product).await, 9);
}

#[tokio::test]
async fn a_reply_no_queue_takes_dead_letters_only_the_command_that_sends_it() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let product = id(&app.create_product(&admin, "LOST-REPLY", 100, 10).await);
    let product_id = ProductId::parse(&product).expect("id");
    let queue = stock_queue_for(&product_id, app.config.partitions);
    // Published together, so that they are usually decided in one batch: a reservation whose
    // reply has nowhere to go, between two adjustments whose events do.
    let adjust = |n: i64| {
        Envelope::new(
            product.clone(),
            "test",
            StockCommand::AdjustStock {
                adjustment_id: format!("adj-{n}-{}", uuid::Uuid::new_v4().simple()),
                product_id: product_id.clone(),
                delta: StockDelta::parse(n).expect("a valid delta"),
                reason: Reason::parse("count").expect("a valid reason"),
                admin_id: oms_contracts::UserId::parse(&admin.user_id).expect("id"),
            },
        )
    };
    let lost = Envelope::new(
        product.clone(),
        "test",
        StockCommand::ReserveStock {
            order_id: OrderId::new(),
            product_id: product_id.clone(),
            quantity: oms_contracts::domain::Quantity::parse(2).expect("q"),
            reply_to: "oms.nowhere".into(),
        },
    );
    let lost_id = lost.message_id.to_string();
    app.broker
        .publish_all(vec![
            Outgoing::command(&queue, &adjust(1)),
            Outgoing::command(&queue, &lost),
            Outgoing::command(&queue, &adjust(2)),
        ])
        .await
        .expect("publish");

    // Both adjustments are applied and their deliveries acked; only the reservation is
    // dead-lettered, with why.
    let adjusted = || async {
        app.ledger(&product)
            .await
            .iter()
            .filter(|e| e.kind == LedgerKind::Adjust && e.outcome == LedgerOutcome::Applied)
            .count()
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let letters = loop {
        let letters = oms_platform::dead_letters::list(&app.broker, &queue, 10)
            .await
            .expect("list");
        if !letters.is_empty() && adjusted().await == 2 {
            break letters;
        }
        assert!(tokio::time::Instant::now() < deadline, "not settled: {letters:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(letters.len(), 1, "{letters:?}");
    assert_eq!(letters[0].id, lost_id);
    assert!(
        letters[0]
            .reason
            .as_deref()
            .is_some_and(|r| r.contains("oms.nowhere")),
        "{letters:?}"
    );
    // The partition goes on: the next order is decided.
    let user = app.register("after").await;
    let order = app.order(&user, &[(&product, 1)]).await;
    assert_eq!(
        app.wait_decided(&order, &user.access_token).await["status"],
        "PLACED"
    );
}

#[tokio::test]
async fn a_message_with_an_unparseable_id_is_dead_lettered_with_the_reason() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let product = id(&app.create_product(&admin, "BAD-ID", 100, 5).await);
    let product_id = ProductId::parse(&product).expect("id");
    let queue = stock_queue_for(&product_id, app.config.partitions);
    let message_id = uuid::Uuid::now_v7().to_string();
    let body = json!({
        "message_id": message_id, "version": 1, "correlation_id": "x", "causation_id": "test",
        "occurred_at": "2026-01-01T00:00:00Z", "type": "ReserveStock",
        "payload": {"order_id": "not-an-id", "product_id": product, "quantity": 1, "reply_to": "oms.orders.0"},
    });
    let bad = Outgoing {
        exchange: oms_contracts::routing::COMMANDS_EXCHANGE,
        routing_key: queue.clone(),
        payload: serde_json::to_vec(&body).expect("json"),
        properties: lapin::BasicProperties::default()
            .with_delivery_mode(2)
            .with_message_id(message_id.as_str().into()),
    };
    app.broker.publish(bad).await.expect("publish");

    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let letter = loop {
        let letters = oms_platform::dead_letters::list(&app.broker, &queue, 10)
            .await
            .expect("list");
        if let Some(letter) = letters.into_iter().find(|l| l.id == message_id) {
            break letter;
        }
        assert!(tokio::time::Instant::now() < deadline, "not dead-lettered");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let reason = letter.reason.unwrap_or_default();
    assert!(reason.contains("is not a well-formed id"), "{reason}");
    // Nothing was taken for it.
    assert_eq!(app.assert_stock_consistent(&product).await, 5);
}

/// Orders carry a short number and their customer, and an admin finds them by either: by number
/// exactly one, by e-mail address (any case) only that customer's; a shopper may not search by
/// customer.
#[tokio::test]
async fn orders_have_numbers_and_customers_and_admins_find_them_by_either() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let ada = app.register("Ada").await;
    let bob = app.register("Bob").await;
    let product = app.create_product(&admin, "NUM-1", 100, 50).await;
    let product = product["id"].as_str().expect("id");
    let mut numbers = Vec::new();
    for (who, n) in [(&ada, 3), (&bob, 2)] {
        for _ in 0..n {
            let id = app.order(who, &[(product, 1)]).await;
            let order: Value = app
                .get(&format!("/api/orders/{id}"), Some(&who.access_token))
                .await
                .json()
                .await
                .expect("order");
            assert_eq!(order["customer"]["email"], who.email.as_str());
            numbers.push((id, order["number"].as_i64().expect("a number")));
        }
    }
    let mut seen: Vec<i64> = numbers.iter().map(|(_, n)| *n).collect();
    assert!(
        seen.windows(2).all(|w| w[0] < w[1]),
        "increasing within a process: {seen:?}"
    );
    seen.dedup();
    assert_eq!(seen.len(), 5, "unique");

    let list = |query: String, token: String| {
        let app = &app;
        async move {
            let response = app.get(&format!("/api/orders?{query}"), Some(&token)).await;
            (
                response.status(),
                response.json::<Value>().await.unwrap_or_default(),
            )
        }
    };
    let (id, number) = &numbers[3];
    let (status, page) = list(format!("number={number}"), admin.access_token.clone()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["total"], 1);
    assert_eq!(page["items"][0]["id"], id.as_str());
    let (_, page) = list(
        format!("customer={}", ada.email.to_uppercase()),
        admin.access_token.clone(),
    )
    .await;
    assert_eq!(page["total"], 3);
    assert!(
        page["items"]
            .as_array()
            .expect("items")
            .iter()
            .all(|o| o["user_id"] == ada.user_id.as_str())
    );
    let (_, page) = list(
        format!("customer={}&status=PENDING", ada.email),
        admin.access_token.clone(),
    )
    .await;
    assert!(page["total"].as_u64().expect("total") <= 3);
    // A shopper finds their own order by number, nobody else's, and may not search by customer.
    let (_, page) = list(format!("number={number}"), bob.access_token.clone()).await;
    assert_eq!(page["total"], 1);
    let (_, page) = list(format!("number={}", numbers[0].1), bob.access_token.clone()).await;
    assert_eq!(page["total"], 0);
    let (status, _) = list(format!("customer={}", bob.email), bob.access_token.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = list("customer_name=bob".into(), bob.access_token.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Admins find a customer's orders by the words of their name, in any case; every word counts.
    let (status, page) = list("customer_name=aDa".into(), admin.access_token.clone()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["total"], 3, "{page}");
    assert!(
        page["items"]
            .as_array()
            .expect("items")
            .iter()
            .all(|o| o["customer"]["name"] == "Ada")
    );
    let (_, page) = list("customer_name=ada%20bob".into(), admin.access_token.clone()).await;
    assert_eq!(page["total"], 0, "{page}");
    // Words are separated by spaces, any number of them; other white space is part of a word.
    let (_, page) = list(
        "customer_name=%20%20ADA%20%20ada%20".into(),
        admin.access_token.clone(),
    )
    .await;
    assert_eq!(page["total"], 3, "{page}");
    let (status, page) = list("customer_name=ada%09".into(), admin.access_token.clone()).await;
    assert_eq!(
        (status, page["total"].clone()),
        (StatusCode::OK, json!(0)),
        "{page}"
    );
    for bad in [
        "number=0",
        "customer=not-an-address",
        "customer_name=%20%20",
        "customer_name=a%20b%20c%20d%20e%20f",
        // Six words, though one word six times: the document's pattern counts words, so does the server.
        "customer_name=a%20a%20a%20a%20a%20a",
    ] {
        let response = app
            .get(&format!("/api/orders?{bad}"), Some(&admin.access_token))
            .await;
        assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "invalid_query").await;
    }
}
