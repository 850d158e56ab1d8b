use std::time::Duration;

use mongodb::bson::doc;
use oms_contracts::messages::{Envelope, OrderMessage};
use oms_contracts::order::Actor;
use oms_contracts::routing::orders_queue_for;
use oms_contracts::{OrderId, UserId};
use oms_platform::broker::Outgoing;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_error};

#[tokio::test]
async fn the_queue_view_shows_every_partition_with_its_active_consumer() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let view: Value = app
            .get("/api/ops/queues", Some(&admin.access_token))
            .await
            .json()
            .await
            .expect("json");
        assert_eq!(view["source"], "management", "{view}");
        let queues = view["queues"].as_array().expect("queues");
        let names: Vec<&str> = queues.iter().map(|q| q["name"].as_str().expect("name")).collect();
        assert_eq!(
            names,
            [
                "oms.stock.0",
                "oms.stock.1",
                "oms.orders.0",
                "oms.orders.1",
                "oms.images",
                "oms.notifications",
                "oms.webhooks"
            ]
        );
        // The management API's figures lag the broker by a few seconds.
        let ready = queues.iter().all(|q| {
            q["consumers"].as_u64().unwrap_or(0) >= 1
                && (q["single_active_consumer"] == false || q["active_consumer"].as_str().is_some())
        });
        if ready {
            let stock = &queues[0];
            assert!(
                stock["active_consumer"]
                    .as_str()
                    .expect("active")
                    .contains("consumer/oms.stock.0"),
                "{stock}"
            );
            assert_eq!(stock["dead_letter_queue"], "oms.stock.0.dlq");
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "consumers never showed: {view}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let user = app.register("nosy-ops").await;
    assert_error(
        app.get("/api/ops/queues", Some(&user.access_token)).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
}

#[tokio::test]
async fn a_dead_letter_is_listed_with_its_reason_and_replayed_once_its_cause_is_gone() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let user = app.register("dlq").await;
    let product = app.create_product(&admin, "DLQ", 100, 5).await;
    let product = product["id"].as_str().expect("id").to_string();
    let placed = app.order(&user, &[(&product, 1)]).await;
    app.wait_for_order(&placed, &user.access_token, |o| o["status"] == "PLACED")
        .await;

    // A cancel for an order that does not exist (yet): a permanent failure, dead-lettered.
    let ghost = OrderId::new();
    let queue = orders_queue_for(&ghost, app.config.partitions);
    let cancel = Envelope::new(
        ghost.to_string(),
        "test",
        OrderMessage::CancelOrder {
            order_id: ghost.clone(),
            by: UserId::parse(&user.user_id).expect("id"),
            actor: Actor::Owner,
            reason: None,
        },
    );
    app.broker
        .publish(Outgoing::command(queue.clone(), &cancel))
        .await
        .expect("publish");

    let path = format!("/api/ops/dead-letters?queue={queue}");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let listed = loop {
        let listed: Value = app
            .get(&path, Some(&admin.access_token))
            .await
            .json()
            .await
            .expect("json");
        if listed["items"].as_array().is_some_and(|items| !items.is_empty()) {
            break listed;
        }
        assert!(tokio::time::Instant::now() < deadline, "nothing dead-lettered");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let letter = &listed["items"][0];
    assert_eq!(letter["id"], cancel.message_id.as_str());
    assert_eq!(letter["correlation_id"], ghost.as_str());
    assert_eq!(letter["type"], "CancelOrder");
    assert!(
        letter["reason"].as_str().expect("reason").contains("no order"),
        "{letter}"
    );
    assert!(letter["attempts"].as_i64().is_some());
    assert!(letter["first_failure_at"].as_str().is_some());
    // Listing did not consume it.
    let again: Value = app
        .get(&path, Some(&admin.access_token))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(again["items"].as_array().expect("items").len(), 1);
    // Without a queue, the dead letters of every queue: this one, with the queue it died in.
    let all: Value = app
        .get("/api/ops/dead-letters", Some(&admin.access_token))
        .await
        .json()
        .await
        .expect("json");
    assert!(all.get("queue").is_none(), "{all}");
    let items = all["items"].as_array().expect("items");
    assert_eq!(items.len(), 1, "{all}");
    assert_eq!(items[0]["id"], cancel.message_id.as_str());
    assert_eq!(items[0]["queue"], queue.as_str());

    // The cause goes away: the order now exists (as a copy of the placed one).
    let mut order = app
        .store
        .orders()
        .find_one(doc! {"_id": &placed})
        .await
        .expect("query")
        .expect("order");
    order.id = ghost.clone();
    order.idem_key = format!("auto:{ghost}");
    app.store.orders().insert_one(&order).await.expect("insert");

    let replay = app
        .post_json(
            "/api/ops/dead-letters/replay",
            Some(&admin.access_token),
            &json!({"queue": queue, "ids": [cancel.message_id]}),
        )
        .await;
    assert_eq!(replay.status(), StatusCode::ACCEPTED);
    let replay: Value = replay.json().await.expect("json");
    assert_eq!(replay["replayed"], 1);
    let cancelled = app
        .wait_for_order(ghost.as_str(), &user.access_token, |o| o["status"] == "CANCELLED")
        .await;
    assert_eq!(cancelled["status"], "CANCELLED");
    let empty: Value = app
        .get(&path, Some(&admin.access_token))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(empty["items"].as_array().expect("items").len(), 0);

    let unknown = app
        .get("/api/ops/dead-letters?queue=oms.nope", Some(&admin.access_token))
        .await;
    // A name OMS would use but does not declare is no resource; a name it would never use is invalid.
    assert_error(unknown, StatusCode::NOT_FOUND, "not_found").await;
    let invalid = app
        .get("/api/ops/dead-letters?queue=orders", Some(&admin.access_token))
        .await;
    let body = assert_error(invalid, StatusCode::UNPROCESSABLE_ENTITY, "invalid_query").await;
    assert_eq!(body["error"]["field"], "queue");
}

/// The value of the first sample of `name` whose labels contain `label`, summed over matches.
pub fn sample(text: &str, name: &str, label: &str) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(name) && l.contains(label))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[tokio::test]
async fn metrics_move_with_traffic() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let user = app.register("metrics").await;
    let product = app.create_product(&admin, "METRICS", 100, 5).await;
    let product = product["id"].as_str().expect("id").to_string();

    let scrape = || async {
        let response = app.get("/metrics", None).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert!(
            response.headers()["content-type"]
                .to_str()
                .expect("type")
                .starts_with("text/plain")
        );
        response.text().await.expect("text")
    };
    let before = scrape().await;
    let order = app.order(&user, &[(&product, 1)]).await;
    app.wait_for_order(&order, &user.access_token, |o| o["status"] == "PLACED")
        .await;
    // A one-line order is decided whole by its stock partition; its delivery is acked once the
    // decision's event is confirmed, a moment after the decision is visible.
    let acked = |text: &str| sample(text, "oms_messages_acked_total", "queue=\"oms.stock.");
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    let after = loop {
        let after = scrape().await;
        if acked(&after) > acked(&before) {
            break after;
        }
        assert!(tokio::time::Instant::now() < deadline, "stock messages acked");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };

    let route = "route=\"/api/orders\"";
    assert!(
        sample(&after, "oms_http_requests_total", route) > sample(&before, "oms_http_requests_total", route)
    );
    assert!(after.contains("oms_http_request_duration_seconds_bucket"));
    let consumed = |text: &str| sample(text, "oms_messages_consumed_total", "queue=\"oms.stock.");
    assert!(consumed(&after) > consumed(&before), "stock messages consumed");
    let whole = |text: &str| sample(text, "oms_orders_decided_whole_total", "");
    assert!(whole(&after) > whole(&before), "decided whole");
    let published = |text: &str| sample(text, "oms_messages_published_total", "exchange=\"oms.events\"");
    assert!(published(&after) > published(&before), "events published");
    assert!(after.contains("oms_handler_duration_seconds"));
    assert!(
        after.contains("oms_orders{status=\"PLACED\"}"),
        "orders by status"
    );
}

#[tokio::test]
async fn low_stock_is_flagged_and_announced_once_per_crossing() {
    use futures_util::StreamExt;
    use lapin::options::{BasicConsumeOptions, QueueBindOptions, QueueDeclareOptions};
    use lapin::types::FieldTable;

    let app = TestApp::spawn_with(&[("OMS_LOW_STOCK_THRESHOLD", "3")]).await;
    let admin = app.admin().await;
    let user = app.register("low").await;
    // Listen for StockLow events the way any other service would.
    let connection = app
        .broker
        .dedicated_connection("test-events", Duration::from_secs(5))
        .await
        .expect("connect");
    let channel = connection.create_channel().await.expect("channel");
    let queue = channel
        .queue_declare(
            "".into(),
            QueueDeclareOptions {
                exclusive: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await
        .expect("declare");
    channel
        .queue_bind(
            queue.name().clone(),
            "oms.events".into(),
            "stock.low".into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await
        .expect("bind");
    let mut events = channel
        .basic_consume(
            queue.name().clone(),
            "test".into(),
            BasicConsumeOptions {
                no_ack: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await
        .expect("consume");

    let product = app.create_product(&admin, "LOW", 100, 6).await;
    assert_eq!(product["low_stock"], false);
    assert_eq!(product["low_stock_threshold"], 3);
    let product = product["id"].as_str().expect("id").to_string();
    for quantity in [2, 1, 1] {
        // 6 → 4 (above), 4 → 3 (crosses), 3 → 2 (already below: no second event)
        let order = app.order(&user, &[(&product, quantity)]).await;
        app.wait_for_order(&order, &user.access_token, |o| o["status"] == "PLACED")
            .await;
    }
    let first = tokio::time::timeout(Duration::from_secs(30), events.next())
        .await
        .expect("a StockLow event")
        .expect("delivery")
        .expect("delivery");
    let event: Value = serde_json::from_slice(&first.data).expect("json");
    assert_eq!(event["type"], "StockLow");
    assert_eq!(event["payload"]["product_id"], product.as_str());
    assert_eq!(event["payload"]["stock"], 3);
    assert!(
        tokio::time::timeout(Duration::from_millis(1500), events.next())
            .await
            .is_err(),
        "a second StockLow for the same crossing"
    );
    let shown: Value = app
        .get(&format!("/api/products/{product}"), None)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(shown["low_stock"], true);
    assert_eq!(shown["stock"], 2);
}
