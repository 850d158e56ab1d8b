use std::time::Duration;

use oms_contracts::domain::Reason;
use oms_contracts::messages::{Envelope, OrderMessage};
use oms_contracts::routing::orders_queue_for;
use oms_contracts::{OrderId, OrderStatus, UserId};
use oms_platform::broker::Outgoing;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Session, SseReader, TestApp, assert_error};

async fn placed_order(app: &TestApp, admin: &Session, user: &Session, stock: i64) -> (String, String) {
    let sku = format!("L-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let product = app.create_product(admin, &sku, 1000, stock).await;
    let product = product["id"].as_str().expect("id").to_string();
    let order = app.order(user, &[(&product, 1)]).await;
    app.wait_for_order(&order, &user.access_token, |o| o["status"] == "PLACED")
        .await;
    (order, product)
}

async fn set_status(app: &TestApp, token: &str, order: &str, status: &str) -> reqwest::Response {
    app.post_json(
        &format!("/api/orders/{order}/status"),
        Some(token),
        &json!({"status": status}),
    )
    .await
}

async fn wait_status(app: &TestApp, token: &str, order: &str, status: &str) -> Value {
    app.wait_for_order(order, token, |o| o["status"] == status).await
}

#[tokio::test]
async fn an_admin_moves_an_order_through_its_whole_lifecycle() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let user = app.register("life").await;
    let (order, _) = placed_order(&app, &admin, &user, 5).await;
    // What each caller may do next comes from the state machine, for that caller.
    let as_admin = wait_status(&app, &admin.access_token, &order, "PLACED").await;
    assert_eq!(as_admin["allowed_next"], json!(["CONFIRMED", "CANCELLED"]));
    let as_owner = wait_status(&app, &user.access_token, &order, "PLACED").await;
    assert_eq!(as_owner["allowed_next"], json!(["CANCELLED"]));
    let listed: Value = app
        .get("/api/orders", Some(&user.access_token))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(listed["items"][0]["allowed_next"], json!(["CANCELLED"]));
    let mut feed = SseReader::open(&app, &format!("/api/orders/{order}/events"), &user.access_token).await;
    assert_eq!(
        feed.next(Duration::from_secs(30)).await.expect("current").data["status"],
        "PLACED"
    );

    for (status, was_allowed) in [
        ("CONFIRMED", json!(["CONFIRMED", "CANCELLED"])),
        ("SHIPPED", json!(["SHIPPED", "CANCELLED"])),
        ("DELIVERED", json!(["DELIVERED"])),
    ] {
        let response = set_status(&app, &admin.access_token, &order, status).await;
        assert_eq!(response.status(), StatusCode::ACCEPTED, "{status}");
        // The answer is the order as it was, with what the admin could do from there.
        let body: Value = response.json().await.expect("json");
        assert_eq!(body["allowed_next"], was_allowed, "{status}");
        wait_status(&app, &admin.access_token, &order, status).await;
        // The shopper's page follows.
        let event = feed.next(Duration::from_secs(30)).await.expect("event");
        assert_eq!(event.data["status"], status);
    }
    assert!(
        feed.next(Duration::from_secs(30)).await.is_none(),
        "DELIVERED is final: the stream ends"
    );

    let delivered: Value = app
        .get(&format!("/api/orders/{order}"), Some(&user.access_token))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(delivered["allowed_next"], json!([]), "DELIVERED is final");
    let as_admin = wait_status(&app, &admin.access_token, &order, "DELIVERED").await;
    assert_eq!(as_admin["allowed_next"], json!([]));
    let steps: Vec<(&str, &str)> = delivered["history"]
        .as_array()
        .expect("history")
        .iter()
        .skip(1)
        .map(|h| (h["from"].as_str().expect("from"), h["to"].as_str().expect("to")))
        .collect();
    assert_eq!(
        steps,
        vec![
            ("PENDING", "PLACED"),
            ("PLACED", "CONFIRMED"),
            ("CONFIRMED", "SHIPPED"),
            ("SHIPPED", "DELIVERED")
        ]
    );
    assert!(
        delivered["history"].as_array().expect("history")[2..]
            .iter()
            .all(|h| h["by"] == admin.user_id.as_str())
    );
}

/// Asks for `status` and expects the transition refused; returns the refusal's message.
async fn refused(app: &TestApp, token: &str, order: &str, status: &str) -> String {
    let body = assert_error(
        set_status(app, token, order, status).await,
        StatusCode::CONFLICT,
        "invalid_transition",
    )
    .await;
    body["error"]["message"].as_str().expect("message").to_string()
}

#[tokio::test]
async fn skipping_a_step_or_leaving_a_final_status_is_refused() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let user = app.register("skip").await;
    let (order, _) = placed_order(&app, &admin, &user, 5).await;

    for skip in ["SHIPPED", "DELIVERED"] {
        let message = refused(&app, &admin.access_token, &order, skip).await;
        assert!(
            message.contains("allowed next: CONFIRMED, CANCELLED"),
            "{message}"
        );
    }
    assert_eq!(
        set_status(&app, &admin.access_token, &order, "CONFIRMED")
            .await
            .status(),
        StatusCode::ACCEPTED
    );
    wait_status(&app, &admin.access_token, &order, "CONFIRMED").await;
    for again in ["DELIVERED", "CONFIRMED"] {
        refused(&app, &admin.access_token, &order, again).await;
    }

    for status in ["SHIPPED", "DELIVERED"] {
        assert_eq!(
            set_status(&app, &admin.access_token, &order, status)
                .await
                .status(),
            StatusCode::ACCEPTED
        );
        wait_status(&app, &admin.access_token, &order, status).await;
    }
    for target in ["CONFIRMED", "SHIPPED", "CANCELLED"] {
        let message = refused(&app, &admin.access_token, &order, target).await;
        assert!(message.contains("final"), "{message}");
    }

    // Targets that are not admin transitions, and nonsense.
    for (status, code) in [
        ("PENDING", "validation_failed"),
        ("PLACED", "validation_failed"),
        ("shipped", "validation_failed"),
    ] {
        assert_error(
            set_status(&app, &admin.access_token, &order, status).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            code,
        )
        .await;
    }
}

#[tokio::test]
async fn only_admins_may_change_status_and_owners_cannot_cancel_after_shipping() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let user = app.register("owner").await;
    let (order, _) = placed_order(&app, &admin, &user, 5).await;

    assert_error(
        set_status(&app, &user.access_token, &order, "CONFIRMED").await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    for status in ["CONFIRMED", "SHIPPED"] {
        set_status(&app, &admin.access_token, &order, status).await;
        wait_status(&app, &admin.access_token, &order, status).await;
    }
    let cancel = app
        .post_json(
            &format!("/api/orders/{order}/cancel"),
            Some(&user.access_token),
            &json!({}),
        )
        .await;
    assert_error(cancel, StatusCode::CONFLICT, "invalid_transition").await;
}

#[tokio::test]
async fn an_admin_cancel_restores_stock_like_the_owners() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let user = app.register("adm-cancel").await;
    let (placed, p1) = placed_order(&app, &admin, &user, 3).await;
    let (confirmed, p2) = placed_order(&app, &admin, &user, 3).await;
    set_status(&app, &admin.access_token, &confirmed, "CONFIRMED").await;
    wait_status(&app, &admin.access_token, &confirmed, "CONFIRMED").await;

    for order in [&placed, &confirmed] {
        let response = set_status(&app, &admin.access_token, order, "CANCELLED").await;
        assert_eq!(response.status(), StatusCode::ACCEPTED);
        let cancelled = app.wait_until(order, &admin.access_token, "CANCELLED").await;
        assert_eq!(cancelled["items"][0]["reservation"], "released");
    }
    assert_eq!(app.assert_stock_consistent(&p1).await, 3);
    assert_eq!(app.assert_stock_consistent(&p2).await, 3);
}

#[tokio::test]
async fn two_admins_racing_end_in_an_allowed_state_with_both_attempts_recorded() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let second = app.register("second-admin").await;
    let email = oms_contracts::domain::Email::parse(&second.email).expect("email");
    assert!(oms_api::auth::promote(&app.store, &email).await.expect("promote"));
    let user = app.register("race").await;
    let (order, product) = placed_order(&app, &admin, &user, 5).await;

    // Both admins' requests pass the API's check against PLACED at the same moment; model that
    // moment by sending both commands straight to the order's queue, one right after the other.
    let order_id = OrderId::parse(&order).expect("id");
    let queue = orders_queue_for(&order_id, app.config.partitions);
    let command = |to: OrderStatus, by: &str| {
        let envelope = Envelope::new(
            order.clone(),
            "test",
            OrderMessage::TransitionOrder {
                order_id: order_id.clone(),
                to,
                by: UserId::parse(by).expect("id"),
                reason: None,
            },
        );
        Outgoing::command(queue.clone(), &envelope)
    };
    let (a, b) = tokio::join!(
        app.broker
            .publish(command(OrderStatus::Confirmed, &admin.user_id)),
        app.broker
            .publish(command(OrderStatus::Cancelled, &second.user_id)),
    );
    a.expect("publish");
    b.expect("publish");

    let settled = app
        .wait_for_order(&order, &admin.access_token, |o| {
            o["history"].as_array().is_some_and(|h| h.len() == 4)
                && o["items"][0]["reservation"] != "releasing"
        })
        .await;
    // CONFIRMED then CANCELLED are both allowed; CANCELLED then CONFIRMED refuses the second.
    assert_eq!(settled["status"], "CANCELLED", "{settled}");
    let attempts: Vec<(&str, bool, &str)> = settled["history"].as_array().expect("history")[2..]
        .iter()
        .map(|h| {
            (
                h["to"].as_str().expect("to"),
                h["refused"].as_bool().expect("refused"),
                h["by"].as_str().expect("by"),
            )
        })
        .collect();
    let (first, second) = (admin.user_id.as_str(), second.user_id.as_str());
    assert!(
        attempts == vec![("CONFIRMED", false, first), ("CANCELLED", false, second)]
            || attempts == vec![("CANCELLED", false, second), ("CONFIRMED", true, first)],
        "{attempts:?}"
    );
    assert_eq!(app.assert_stock_consistent(&product).await, 5);

    // Through the API, a request that arrives after the other was applied is refused at once.
    let late = set_status(&app, &admin.access_token, &order, "CONFIRMED").await;
    assert_error(late, StatusCode::CONFLICT, "invalid_transition").await;
}

#[tokio::test]
async fn the_worker_refuses_a_transition_that_bypassed_the_api() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let user = app.register("bypass").await;
    let (order, _) = placed_order(&app, &admin, &user, 5).await;
    let mut feed = SseReader::open(&app, &format!("/api/orders/{order}/events"), &user.access_token).await;
    feed.next(Duration::from_secs(30)).await.expect("current status");

    let order_id = OrderId::parse(&order).expect("id");
    let envelope = Envelope::new(
        order.clone(),
        "test",
        OrderMessage::TransitionOrder {
            order_id: order_id.clone(),
            to: OrderStatus::Delivered,
            by: UserId::parse(&admin.user_id).expect("id"),
            reason: Some(Reason::parse("skipping ahead").expect("a valid reason")),
        },
    );
    app.broker
        .publish(Outgoing::command(
            orders_queue_for(&order_id, app.config.partitions),
            &envelope,
        ))
        .await
        .expect("publish");

    let event = feed.next(Duration::from_secs(30)).await.expect("refusal event");
    assert_eq!(event.event, "refused");
    assert_eq!(event.data["status"], "PLACED");
    assert_eq!(event.data["requested"], "DELIVERED");
    let refused = app
        .wait_for_order(&order, &user.access_token, |o| {
            o["history"].as_array().is_some_and(|h| h.len() == 3)
        })
        .await;
    assert_eq!(refused["status"], "PLACED");
    let last = &refused["history"][2];
    assert_eq!(last["refused"], true);
    assert_eq!(last["to"], "DELIVERED");
    assert_eq!(last["by"], admin.user_id.as_str());
    assert!(
        last["reason"]
            .as_str()
            .expect("reason")
            .contains("cannot go from PLACED to DELIVERED")
    );
}

#[tokio::test]
async fn admins_filter_page_and_count_orders_by_status() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let alice = app.register("stats-a").await;
    let bob = app.register("stats-b").await;
    let (a1, _) = placed_order(&app, &admin, &alice, 5).await;
    placed_order(&app, &admin, &alice, 5).await;
    placed_order(&app, &admin, &bob, 5).await;
    set_status(&app, &admin.access_token, &a1, "CONFIRMED").await;
    wait_status(&app, &admin.access_token, &a1, "CONFIRMED").await;

    // Counted by the analytics projection, a moment after the orders change.
    let mut stats = Value::Null;
    for _ in 0..100 {
        stats = app
            .get("/api/orders/stats", Some(&admin.access_token))
            .await
            .json()
            .await
            .expect("json");
        if stats["by_status"]["CONFIRMED"] == 1 && stats["by_status"]["PLACED"] == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(stats["total"], 3);
    assert_eq!(stats["by_status"]["PLACED"], 2);
    assert_eq!(stats["by_status"]["CONFIRMED"], 1);
    assert_eq!(stats["by_status"]["SHIPPED"], 0);
    assert_error(
        app.get("/api/orders/stats", Some(&alice.access_token)).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;

    let placed: Value = app
        .get("/api/orders?status=PLACED", Some(&admin.access_token))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(placed["total"], 2);
    let alices_placed: Value = app
        .get(
            &format!("/api/orders?status=PLACED&user_id={}", alice.user_id),
            Some(&admin.access_token),
        )
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(alices_placed["total"], 1);
    let page: Value = app
        .get("/api/orders?per_page=2&page=2", Some(&admin.access_token))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(page["items"].as_array().expect("items").len(), 1);
    assert_error(
        app.get("/api/orders?status=LOST", Some(&admin.access_token))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_query",
    )
    .await;
}

#[tokio::test]
async fn a_message_redelivered_after_later_changes_is_not_applied_again() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let user = app.register("redelivered").await;
    let (order, _) = placed_order(&app, &admin, &user, 5).await;
    let order_id = OrderId::parse(&order).expect("id");
    let admin_id = UserId::parse(&admin.user_id).expect("id");
    let handler = oms_workers::orders::OrderHandler {
        store: app.store.clone(),
        failpoints: oms_workers::FailPoints::default(),
        partitions: app.config.partitions,
    };
    let transition = |to| {
        Envelope::new(
            order.clone(),
            "test",
            OrderMessage::TransitionOrder {
                order_id: order_id.clone(),
                to,
                by: admin_id.clone(),
                reason: None,
            },
        )
    };
    let confirm = transition(OrderStatus::Confirmed);
    let ship = transition(OrderStatus::Shipped);
    use oms_workers::consumer::Handler;
    for message in [&confirm, &ship] {
        let outbox = handler.handle(message).await.expect("applied");
        app.broker.publish_all(outbox).await.expect("publish");
    }
    let stored = |app: &TestApp| {
        let orders = app.store.orders();
        let order = order.clone();
        async move {
            orders
                .find_one(mongodb::bson::doc! {"_id": &order})
                .await
                .expect("query")
                .expect("order")
        }
    };
    let before = stored(&app).await;
    assert_eq!(before.status, OrderStatus::Shipped);

    // The confirmation comes again (a redelivery after the shipment was applied): nothing
    // changes — no refusal in the history, no new version.
    let resent = handler.handle(&confirm).await.expect("redelivered confirm");
    assert!(resent.is_empty(), "an earlier change sends nothing again");
    // And the shipment again (its change is the latest): its messages are re-sent, nothing else.
    let resent = handler.handle(&ship).await.expect("redelivered ship");
    assert_eq!(resent.len(), 1, "the SHIPPED event, again");
    let after = stored(&app).await;
    assert_eq!(after.status, OrderStatus::Shipped);
    assert_eq!(after.version, before.version);
    assert_eq!(after.history.len(), before.history.len(), "{:?}", after.history);
}

#[tokio::test]
async fn two_changes_decided_in_one_batch_announce_distinct_increasing_versions() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let user = app.register("batched").await;
    let (order, product) = placed_order(&app, &admin, &user, 5).await;
    let order_id = OrderId::parse(&order).expect("id");
    // The order's own stream: its current status first, then every change, by version.
    let mut stream = SseReader::open(&app, &format!("/api/orders/{order}/events"), &user.access_token).await;
    let first = stream
        .next(Duration::from_secs(10))
        .await
        .expect("current status");
    assert_eq!(first.data["status"], "PLACED");
    let placed_version = first.data["version"].as_i64().expect("version");

    // An admin's confirmation and the owner's cancel reach the order worker together and are
    // decided in one batch (one write).
    let handler = oms_workers::orders::OrderHandler {
        store: app.store.clone(),
        failpoints: oms_workers::FailPoints::default(),
        partitions: app.config.partitions,
    };
    let confirm = Envelope::new(
        order.clone(),
        "test",
        OrderMessage::TransitionOrder {
            order_id: order_id.clone(),
            to: OrderStatus::Confirmed,
            by: UserId::parse(&admin.user_id).expect("id"),
            reason: None,
        },
    );
    let cancel = Envelope::new(
        order.clone(),
        "test",
        OrderMessage::CancelOrder {
            order_id: order_id.clone(),
            by: UserId::parse(&user.user_id).expect("id"),
            actor: oms_contracts::order::Actor::Owner,
            reason: None,
        },
    );
    use oms_workers::consumer::Handler;
    let outbox = handler.handle_batch(&[confirm, cancel]).await.expect("one batch");
    app.broker.publish_all(outbox).await.expect("publish");

    // Both changes reach the stream, each with its own version (a repeated version would be
    // dropped as already shown), and the stream ends after the final one.
    let mut seen = Vec::new();
    while let Some(event) = stream.next(Duration::from_secs(10)).await {
        seen.push((
            event.data["status"].as_str().expect("status").to_string(),
            event.data["version"].as_i64().expect("version"),
        ));
    }
    assert_eq!(
        seen,
        [
            ("CONFIRMED".to_string(), placed_version + 1),
            ("CANCELLED".to_string(), placed_version + 2)
        ]
    );
    // The history records each change with the version that announced it.
    let cancelled = app
        .wait_for_order(&order, &user.access_token, |o| {
            o["items"][0]["reservation"] == "released"
        })
        .await;
    let versions: Vec<(String, i64)> = cancelled["history"]
        .as_array()
        .expect("history")
        .iter()
        .map(|h| {
            (
                h["to"].as_str().expect("to").to_string(),
                h["version"].as_i64().expect("version"),
            )
        })
        .collect();
    assert_eq!(
        &versions[versions.len() - 2..],
        [
            ("CONFIRMED".to_string(), placed_version + 1),
            ("CANCELLED".to_string(), placed_version + 2)
        ]
    );
    // The cancel released the line.
    assert_eq!(app.assert_stock_consistent(&product).await, 5);
}

#[tokio::test]
async fn history_and_ledger_name_people_and_orders_not_ids() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let user = app.register("ada").await;
    let (order, product) = placed_order(&app, &admin, &user, 5).await;
    assert_eq!(
        set_status(&app, &admin.access_token, &order, "CONFIRMED")
            .await
            .status(),
        StatusCode::ACCEPTED
    );
    let seen_by_admin = wait_status(&app, &admin.access_token, &order, "CONFIRMED").await;
    let who = |o: &Value, to: &str| {
        let entry = o["history"]
            .as_array()
            .expect("history")
            .iter()
            .find(|h| h["to"] == to)
            .cloned()
            .expect("entry");
        (entry["by"].clone(), entry["by_name"].clone())
    };
    // The customer by their name for anyone; the admin by name for admins only.
    assert_eq!(who(&seen_by_admin, "PENDING").1, "ada");
    assert_eq!(
        who(&seen_by_admin, "CONFIRMED"),
        (json!(admin.user_id), json!("Administrator"))
    );
    let seen_by_owner = app
        .get(&format!("/api/orders/{order}"), Some(&user.access_token))
        .await
        .json::<Value>()
        .await
        .expect("order");
    assert_eq!(who(&seen_by_owner, "PENDING").1, "ada");
    assert_eq!(who(&seen_by_owner, "CONFIRMED").1, Value::Null);
    // The same in the admins' order list.
    let listed = app
        .get(
            &format!("/api/orders?number={}", seen_by_admin["number"]),
            Some(&admin.access_token),
        )
        .await
        .json::<Value>()
        .await
        .expect("list");
    assert_eq!(who(&listed["items"][0], "CONFIRMED").1, "Administrator");

    // The ledger: the order's reservation names the order's number; an adjustment its admin.
    let adjusted = app
        .post_json(
            &format!("/api/products/{product}/stock"),
            Some(&admin.access_token),
            &json!({"delta": 3, "reason": "recount"}),
        )
        .await;
    assert_eq!(adjusted.status(), StatusCode::ACCEPTED);
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    let entries = loop {
        let page: Value = app
            .get(
                &format!("/api/products/{product}/ledger"),
                Some(&admin.access_token),
            )
            .await
            .json()
            .await
            .expect("ledger");
        let entries = page["items"].as_array().cloned().unwrap_or_default();
        if entries.iter().any(|e| e["kind"] == "adjust") {
            break entries;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the adjustment never applied: {page}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    let of_order = entries
        .iter()
        .find(|e| e["order_id"] == order.as_str())
        .expect("the order's entry");
    assert_eq!(of_order["order_number"], seen_by_admin["number"]);
    assert_eq!(of_order["actor_name"], Value::Null, "{of_order}");
    let adjustment = entries
        .iter()
        .find(|e| e["kind"] == "adjust")
        .expect("adjustment");
    assert_eq!(adjustment["actor"], admin.user_id.as_str());
    assert_eq!(adjustment["actor_name"], "Administrator");
}
