//! In-app notifications: one per status change of the user's own orders, exactly once per
//! event, each user seeing only their own, marked read by id or all at once.

use std::time::Duration;

use oms_contracts::messages::{Envelope, Event};
use oms_contracts::{OrderId, OrderStatus, UserId};
use oms_platform::broker::Outgoing;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Session, TestApp, assert_error};

async fn notifications(app: &TestApp, user: &Session, query: &str) -> Value {
    let response = app
        .get(&format!("/api/notifications{query}"), Some(&user.access_token))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.expect("notifications JSON")
}

/// Polls until the user has `count` notifications (and checks it stays so briefly).
async fn wait_count(app: &TestApp, user: &Session, count: u64) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let page = notifications(app, user, "").await;
        if page["total"] == count {
            return page;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never got {count} notifications: {page}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
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
    app.wait_for_order(order, &admin.access_token, |o| o["status"] == status)
        .await;
}

#[tokio::test]
async fn a_shopper_is_notified_of_each_change_of_their_orders_and_only_theirs() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let shopper = app.register("bell").await;
    let other = app.register("other").await;
    let product = app.create_product(&admin, "NOTIF-1", 500, 10).await;
    let product = product["id"].as_str().expect("id");
    let order = app.order(&shopper, &[(product, 1)]).await;
    app.wait_until(&order, &shopper.access_token, "PLACED").await;
    set_status(&app, &admin, &order, "CONFIRMED").await;
    set_status(&app, &admin, &order, "SHIPPED").await;

    let page = wait_count(&app, &shopper, 3).await;
    let statuses: Vec<&str> = page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|n| n["status"].as_str().expect("status"))
        .collect();
    assert_eq!(statuses, ["SHIPPED", "CONFIRMED", "PLACED"], "newest first");
    assert_eq!(page["unread"], 3);
    assert_eq!(page["items"][0]["order_id"], order.as_str());
    // Each notification names the order by its number, as the order does.
    let placed: Value = app
        .get(&format!("/api/orders/{order}"), Some(&shopper.access_token))
        .await
        .json()
        .await
        .expect("the order");
    assert!(placed["number"].is_i64(), "{placed}");
    for item in page["items"].as_array().expect("items") {
        assert_eq!(item["order_number"], placed["number"], "{item}");
    }
    assert_eq!(page["items"][0]["from"], "CONFIRMED");
    assert!(page["items"][0]["read_at"].is_null());
    // Paged by cursor: the same three, newest first, and the cursor is the shopper's alone.
    let first = notifications(&app, &shopper, "?per_page=2").await;
    assert_eq!(first["has_more"], true);
    let cursor = first["next_cursor"].as_str().expect("a cursor");
    let rest = notifications(&app, &shopper, &format!("?per_page=2&cursor={cursor}")).await;
    assert_eq!(rest["has_more"], false);
    assert_eq!(rest["next_cursor"], Value::Null);
    let walked: Vec<&Value> = first["items"]
        .as_array()
        .expect("items")
        .iter()
        .chain(rest["items"].as_array().expect("items"))
        .map(|n| &n["id"])
        .collect();
    let listed: Vec<&Value> = page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|n| &n["id"])
        .collect();
    assert_eq!(walked, listed);
    for (who, query) in [(&other, ""), (&shopper, "&unread=true")] {
        let response = app
            .get(
                &format!("/api/notifications?per_page=2&cursor={cursor}{query}"),
                Some(&who.access_token),
            )
            .await;
        assert_error(response, StatusCode::NOT_FOUND, "not_found").await;
    }
    // Nobody else sees them, nor can mark them read.
    assert_eq!(notifications(&app, &other, "").await["total"], 0);
    let shipped_id = page["items"][0]["id"].as_str().expect("id").to_string();
    let response = app
        .post_json(
            "/api/notifications/read",
            Some(&other.access_token),
            &json!({"ids": [shipped_id]}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(notifications(&app, &shopper, "?unread=true").await["total"], 3);

    // By id, then all.
    let response = app
        .post_json(
            "/api/notifications/read",
            Some(&shopper.access_token),
            &json!({"ids": [shipped_id]}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let unread = notifications(&app, &shopper, "?unread=true").await;
    assert_eq!(
        (unread["total"].clone(), unread["unread"].clone()),
        (json!(2), json!(2))
    );
    let read = notifications(&app, &shopper, "?unread=false").await;
    assert_eq!(read["items"][0]["id"], shipped_id.as_str());
    assert!(read["items"][0]["read_at"].is_string());
    let response = app
        .post_json(
            "/api/notifications/read",
            Some(&shopper.access_token),
            &json!({"all": true}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(notifications(&app, &shopper, "").await["unread"], 0);

    // Neither or both is a mistake; so is a request without a session.
    let response = app
        .post_json("/api/notifications/read", Some(&shopper.access_token), &json!({}))
        .await;
    assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    let response = app.get("/api/notifications", None).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_redelivered_event_adds_no_notification() {
    let app = TestApp::spawn().await;
    let shopper = app.register("twice").await;
    let user_id = UserId::parse(&shopper.user_id).expect("user id");
    let order_id = OrderId::new();
    let event = |version: i64| Event::OrderStatusChanged {
        order_id: order_id.clone(),
        user_id: user_id.clone(),
        from: Some(OrderStatus::Placed),
        to: OrderStatus::Confirmed,
        by: "system".into(),
        reason: None,
        version,
        at: chrono::Utc::now(),
        lines: vec![],
        total: None,
        number: Some(7),
    };
    let first = Envelope::new(order_id.to_string(), "test", event(3));
    // The same message twice, and the same change carried by another message.
    let again = Envelope::new(order_id.to_string(), "test", event(3));
    app.broker
        .publish_all(vec![
            Outgoing::event(&first),
            Outgoing::event(&first),
            Outgoing::event(&again),
        ])
        .await
        .expect("published");
    wait_count(&app, &shopper, 1).await;
    // A later change still counts: the first three are handled by then.
    let next = Envelope::new(order_id.to_string(), "test", event(4));
    app.broker
        .publish(Outgoing::event(&next))
        .await
        .expect("published");
    wait_count(&app, &shopper, 2).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let page = notifications(&app, &shopper, "").await;
    assert_eq!(page["total"], 2);
    assert_eq!(page["items"][0]["order_number"], 7);
}
