//! The analytics projection end to end: figures of the summary against what the test did, the
//! CSV against the summary, admin-only access and range validation, a rebuild against the live
//! model after a random run with redelivered and out-of-order events, and (ignored) the
//! summary's latency over a year with 100k orders.

use std::collections::BTreeMap;
use std::time::Duration;

use futures_util::TryStreamExt;
use mongodb::bson::{Document, doc};
use oms_contracts::messages::Envelope;
use oms_platform::broker::Outgoing;
use oms_platform::store::OrderDoc;
use oms_platform::store::analytics::{ANALYTICS_COLLECTIONS, ANALYTICS_ORDERS};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Session, TestApp, assert_error};

/// Moves an order along as an admin and waits until it gets there.
async fn advance(app: &TestApp, admin: &Session, order: &str, to: &str, reason: Option<&str>) {
    let mut body = json!({ "status": to });
    if let Some(reason) = reason {
        body["reason"] = json!(reason);
    }
    let response = app
        .post_json(
            &format!("/api/orders/{order}/status"),
            Some(&admin.access_token),
            &body,
        )
        .await;
    assert_eq!(response.status(), StatusCode::ACCEPTED, "{to}");
    app.wait_until(order, &admin.access_token, to).await;
}

async fn summary(app: &TestApp, admin: &Session, query: &str) -> Value {
    let response = app
        .get(
            &format!("/api/analytics/summary{query}"),
            Some(&admin.access_token),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.expect("summary JSON")
}

/// Polls the summary until `done` holds (the projection follows the events a moment later).
async fn summary_when(app: &TestApp, admin: &Session, query: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let s = summary(app, admin, query).await;
        if done(&s) {
            return s;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "summary never got there: {s}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Milliseconds between the history entries of `order` that moved it to `from` and `to`.
fn between(order: &Value, from: &str, to: &str) -> i64 {
    let at = |status: &str| {
        let entry = order["history"]
            .as_array()
            .expect("history")
            .iter()
            .find(|e| e["to"] == status && e["refused"] != true)
            .expect("history entry");
        chrono::DateTime::parse_from_rfc3339(entry["at"].as_str().expect("at")).expect("time")
    };
    (at(to) - at(from)).num_milliseconds()
}

/// The reported percentile is the value of the bin holding the actual duration, give or take
/// the 2 ms by which the projection's event times and the order's history times may round apart
/// (at ~50 ms that alone can move a duration into the next 9 % bin).
fn within_a_bin(reported: &Value, actual: i64) {
    let reported = reported.as_i64().expect("a percentile");
    let near = (actual - 2..=actual + 2)
        .map(|ms| oms_contracts::analytics::bin_value(oms_contracts::analytics::lead_time_bin(ms)))
        .collect::<Vec<_>>();
    assert!(
        near.contains(&reported),
        "reported {reported} for {actual} (bins near it: {near:?})"
    );
}

#[tokio::test]
async fn the_summary_shows_every_order_placed_cancelled_rejected_and_delivered() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let shopper = app.register("shopper").await;
    let mug = app.create_product(&admin, "AN-MUG", 1000, 100).await;
    let pen = app.create_product(&admin, "AN-PEN", 250, 8).await;
    let (mug, pen) = (mug["id"].as_str().expect("id"), pen["id"].as_str().expect("id"));
    let from = chrono::Utc::now() - chrono::TimeDelta::hours(1);

    // Delivered: 2 mugs.
    let delivered = app.order(&shopper, &[(mug, 2)]).await;
    app.wait_until(&delivered, &shopper.access_token, "PLACED").await;
    for to in ["CONFIRMED", "SHIPPED", "DELIVERED"] {
        advance(&app, &admin, &delivered, to, None).await;
    }
    // Cancelled by its owner (no reason): a mug and 2 pens.
    let by_owner = app.order(&shopper, &[(mug, 1), (pen, 2)]).await;
    app.wait_until(&by_owner, &shopper.access_token, "PLACED").await;
    let response = app
        .post_json(
            &format!("/api/orders/{by_owner}/cancel"),
            Some(&shopper.access_token),
            &json!({}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    app.wait_until(&by_owner, &shopper.access_token, "CANCELLED")
        .await;
    // Rejected: more pens than there are.
    let rejected = app.order(&shopper, &[(pen, 100)]).await;
    app.wait_until(&rejected, &shopper.access_token, "REJECTED").await;
    // Cancelled by an admin with a reason, after confirmation: a pen.
    let by_admin = app.order(&shopper, &[(pen, 1)]).await;
    app.wait_until(&by_admin, &shopper.access_token, "PLACED").await;
    advance(&app, &admin, &by_admin, "CONFIRMED", None).await;
    advance(&app, &admin, &by_admin, "CANCELLED", Some("address unreachable")).await;
    // Placed and still open: 3 mugs, 4 pens (which leaves 4: low stock at the threshold of 5).
    let open = app.order(&shopper, &[(mug, 3), (pen, 4)]).await;
    app.wait_until(&open, &shopper.access_token, "PLACED").await;

    let query = format!(
        "?from={}",
        from.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );
    let s = summary_when(&app, &admin, &query, |s| {
        s["orders_by_status"]["PLACED"] == 1
            && s["totals"]["placed"] == 4
            && s["totals"]["cancelled"] == 2
            && s["totals"]["rejected"] == 1
            && s["totals"]["delivered"] == 1
    })
    .await;

    assert_eq!(s["bucket"], "hour");
    assert_eq!(s["currency"], "USD");
    let totals = &s["totals"];
    assert_eq!(
        (
            &totals["placed"],
            &totals["cancelled"],
            &totals["rejected"],
            &totals["delivered"]
        ),
        (&json!(4), &json!(2), &json!(1), &json!(1)),
        "{s}"
    );
    // 2 000 + 1 000 + 500 + 250 + 3 000 + 1 000, in cents: placed orders, cancelled or not.
    assert_eq!(totals["revenue"], json!({"amount": 7750, "currency": "USD"}));
    let by_status = &s["orders_by_status"];
    for (status, n) in [
        ("PENDING", 0),
        ("PLACED", 1),
        ("CONFIRMED", 0),
        ("SHIPPED", 0),
        ("DELIVERED", 1),
        ("CANCELLED", 2),
        ("REJECTED", 1),
    ] {
        assert_eq!(by_status[status], n, "{status}: {by_status}");
    }
    let buckets = s["buckets"].as_array().expect("buckets");
    assert!(buckets.len() >= 2, "an hour ago to now: {}", buckets.len());
    let sum = |field: &str| {
        buckets
            .iter()
            .map(|b| b[field].as_i64().expect("count"))
            .sum::<i64>()
    };
    assert_eq!(
        (sum("placed"), sum("cancelled"), sum("rejected"), sum("delivered")),
        (4, 2, 1, 1)
    );
    assert_eq!(
        buckets
            .iter()
            .map(|b| b["revenue"]["amount"].as_i64().expect("amount"))
            .sum::<i64>(),
        7750
    );
    assert_eq!(
        s["top_products"],
        json!([
            {"product_id": pen, "name": "Product AN-PEN", "units": 7, "revenue": {"amount": 1750, "currency": "USD"}},
            {"product_id": mug, "name": "Product AN-MUG", "units": 6, "revenue": {"amount": 6000, "currency": "USD"}},
        ]),
        "best sellers by units"
    );
    assert_eq!(
        s["cancellation_reasons"],
        json!([{"reason": "(no reason given)", "count": 1}, {"reason": "address unreachable", "count": 1}])
    );
    assert_eq!(
        s["low_stock"],
        json!([{"product_id": pen, "name": "Product AN-PEN", "stock": 4, "threshold": 5}])
    );
    let order: Value = app
        .get(&format!("/api/orders/{delivered}"), Some(&admin.access_token))
        .await
        .json()
        .await
        .expect("order");
    let lead = &s["lead_times_ms"];
    assert_eq!(lead["placed_to_shipped"]["samples"], 1);
    assert_eq!(lead["shipped_to_delivered"]["samples"], 1);
    within_a_bin(
        &lead["placed_to_shipped"]["p50"],
        between(&order, "PLACED", "SHIPPED"),
    );
    within_a_bin(
        &lead["placed_to_shipped"]["p90"],
        between(&order, "PLACED", "SHIPPED"),
    );
    within_a_bin(
        &lead["shipped_to_delivered"]["p50"],
        between(&order, "SHIPPED", "DELIVERED"),
    );

    // The CSV has the same buckets.
    let response = app
        .get(
            &format!("/api/analytics/export.csv{query}"),
            Some(&admin.access_token),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .expect("type")
            .starts_with("text/csv")
    );
    let csv = response.text().await.expect("csv");
    let again = summary(&app, &admin, &query).await;
    assert_eq!(parse_csv(&csv), buckets_of(&again), "{csv}");
}

/// The CSV as (start, placed, cancelled, rejected, delivered, revenue in USD) rows.
fn parse_csv(csv: &str) -> Vec<(String, i64, i64, i64, i64, i64)> {
    let mut lines = csv.split("\r\n");
    let header = lines.next().expect("header");
    assert_eq!(header, "start,placed,cancelled,rejected,delivered,revenue_USD");
    lines
        .filter(|l| !l.is_empty())
        .map(|line| {
            let f: Vec<&str> = line.split(',').collect();
            assert_eq!(f.len(), 6, "{line}");
            let n = |i: usize| f[i].parse::<i64>().expect("number");
            (f[0].to_string(), n(1), n(2), n(3), n(4), n(5))
        })
        .collect()
}

fn buckets_of(summary: &Value) -> Vec<(String, i64, i64, i64, i64, i64)> {
    summary["buckets"]
        .as_array()
        .expect("buckets")
        .iter()
        .map(|b| {
            let start = chrono::DateTime::parse_from_rfc3339(b["start"].as_str().expect("start"))
                .expect("time")
                .to_utc()
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
            let n = |field: &str| b[field].as_i64().expect("count");
            let revenue = b["revenue"]["amount"].as_i64().expect("amount");
            (
                start,
                n("placed"),
                n("cancelled"),
                n("rejected"),
                n("delivered"),
                revenue,
            )
        })
        .collect()
}

#[tokio::test]
async fn analytics_are_for_admins_and_ranges_are_checked() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let shopper = app.register("curious").await;
    for path in ["/api/analytics/summary", "/api/analytics/export.csv"] {
        assert_error(
            app.get(path, Some(&shopper.access_token)).await,
            StatusCode::FORBIDDEN,
            "forbidden",
        )
        .await;
        assert_eq!(app.get(path, None).await.status(), StatusCode::UNAUTHORIZED);
    }
    let refused = |query: &'static str, field: &'static str| {
        let (app, admin) = (&app, &admin);
        async move {
            let body = assert_error(
                app.get(
                    &format!("/api/analytics/summary{query}"),
                    Some(&admin.access_token),
                )
                .await,
                StatusCode::UNPROCESSABLE_ENTITY,
                if field == "from" && query.contains("yesterday") {
                    "invalid_query"
                } else {
                    "invalid_range"
                },
            )
            .await;
            assert_eq!(body["error"]["field"], field, "{query}: {body}");
        }
    };
    refused("?from=yesterday", "from").await;
    refused("?from=2026-03-02T00:00:00Z&to=2026-03-01T00:00:00Z", "from").await;
    refused("?from=2020-01-01T00:00:00Z&to=2026-01-01T00:00:00Z", "from").await;
    refused(
        "?from=2026-01-01T00:00:00Z&to=2026-03-01T00:00:00Z&bucket=hour",
        "bucket",
    )
    .await;
    let empty = summary(&app, &admin, "?from=2026-01-01T00:00:00Z&to=2026-01-08T00:00:00Z").await;
    assert_eq!(empty["bucket"], "day");
    assert_eq!(empty["buckets"].as_array().expect("buckets").len(), 7);
    assert_eq!(
        empty["lead_times_ms"]["placed_to_shipped"],
        json!({"p50": null, "p90": null, "samples": 0})
    );
}

/// A small deterministic random source (xorshift), seeded from the clock and printed.
struct Rng(u64);

impl Rng {
    fn new() -> Self {
        let seed = std::env::var("OMS_TEST_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| chrono::Utc::now().timestamp_nanos_opt().unwrap_or(1) as u64 | 1);
        eprintln!("analytics random run: OMS_TEST_SEED={seed}");
        Self(seed)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// Every document of the read model, by collection, without the facts' revisions (a rebuild
/// writes each order's facts once; the live worker once per batch that touched it).
async fn read_model(app: &TestApp) -> BTreeMap<&'static str, Vec<Document>> {
    let mut model = BTreeMap::new();
    for name in ANALYTICS_COLLECTIONS {
        let mut docs: Vec<Document> = app
            .store
            .db()
            .collection::<Document>(name)
            .find(doc! {})
            .sort(doc! { "_id": 1 })
            .await
            .expect("read model")
            .try_collect()
            .await
            .expect("read model");
        for d in &mut docs {
            d.remove("rev");
            // Field order follows the order updates arrived in: compare fields, not order.
            let sorted: BTreeMap<String, _> = std::mem::take(d).into_iter().collect();
            *d = sorted.into_iter().map(|(k, v)| (k, sort_nested(v))).collect();
        }
        model.insert(name, docs);
    }
    model
}

fn sort_nested(value: mongodb::bson::Bson) -> mongodb::bson::Bson {
    match value {
        mongodb::bson::Bson::Document(d) => {
            let sorted: BTreeMap<String, _> = d.into_iter().collect();
            mongodb::bson::Bson::Document(sorted.into_iter().map(|(k, v)| (k, sort_nested(v))).collect())
        }
        other => other,
    }
}

/// Waits until the projection has applied every version in every order's history.
async fn wait_projected(app: &TestApp) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    loop {
        let orders: Vec<OrderDoc> = app
            .store
            .orders()
            .find(doc! {})
            .await
            .expect("orders")
            .try_collect()
            .await
            .expect("orders");
        let facts: BTreeMap<String, Vec<i64>> = app
            .store
            .db()
            .collection::<Document>(ANALYTICS_ORDERS)
            .find(doc! {})
            .await
            .expect("facts")
            .try_collect::<Vec<_>>()
            .await
            .expect("facts")
            .into_iter()
            .map(|d| {
                let versions = d
                    .get_array("applied")
                    .map(|a| a.iter().filter_map(|v| v.as_i64()).collect())
                    .unwrap_or_default();
                (d.get_str("_id").unwrap_or_default().to_string(), versions)
            })
            .collect();
        let missing = orders
            .iter()
            .filter(|o| {
                let expected: Vec<i64> = o
                    .history
                    .iter()
                    .filter(|e| !e.refused)
                    .filter_map(|e| e.version)
                    .collect();
                facts.get(o.id.as_str()) != Some(&expected)
            })
            .count();
        if missing == 0 {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{missing} orders never fully projected"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn a_rebuild_equals_the_live_model_after_a_random_run() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let shoppers = [app.register("ana").await, app.register("bo").await];
    let mut rng = Rng::new();
    let mut products = Vec::new();
    for (i, stock) in [10, 25, 60].into_iter().enumerate() {
        let p = app
            .create_product(&admin, &format!("RB-{i}"), 100 * (i as i64 + 1), stock)
            .await;
        products.push(p["id"].as_str().expect("id").to_string());
    }
    let mut orders = Vec::new();
    for _ in 0..24 {
        let shopper = &shoppers[rng.below(2) as usize];
        let mut lines: Vec<(&str, i64)> = Vec::new();
        for p in &products {
            if rng.below(2) == 0 {
                lines.push((p.as_str(), 1 + rng.below(4) as i64));
            }
        }
        let lines = if lines.is_empty() {
            vec![(products[0].as_str(), 1)]
        } else {
            lines
        };
        orders.push((app.order(shopper, &lines).await, shopper.clone()));
    }
    for (order, shopper) in &orders {
        let decided = app.wait_decided(order, &shopper.access_token).await;
        if decided["status"] != "PLACED" {
            continue;
        }
        match rng.below(5) {
            0 => {
                let path = format!("/api/orders/{order}/cancel");
                let response = app
                    .post_json(&path, Some(&shopper.access_token), &json!({}))
                    .await;
                assert_eq!(response.status(), StatusCode::ACCEPTED);
                app.wait_until(order, &shopper.access_token, "CANCELLED").await;
            }
            1 => {
                advance(&app, &admin, order, "CONFIRMED", None).await;
                advance(
                    &app,
                    &admin,
                    order,
                    "CANCELLED",
                    Some(["late", "fraud"][rng.below(2) as usize]),
                )
                .await;
            }
            2 | 3 => {
                for to in ["CONFIRMED", "SHIPPED", "DELIVERED"]
                    .iter()
                    .take(1 + rng.below(3) as usize)
                {
                    advance(&app, &admin, order, to, None).await;
                }
            }
            _ => {}
        }
    }
    // Redeliveries, in any order: every recorded change announced again, some twice, some
    // with the same message id, shuffled.
    let stored: Vec<OrderDoc> = app
        .store
        .orders()
        .find(doc! {})
        .await
        .expect("orders")
        .try_collect()
        .await
        .expect("orders");
    let mut again = Vec::new();
    for order in &stored {
        for entry in order.history.iter().filter(|e| !e.refused) {
            let Some(event) = oms_workers::orders::process::replay_event(order, entry) else {
                continue;
            };
            let envelope = Envelope::new(order.id.to_string(), "analytics-test", event);
            for _ in 0..1 + rng.below(2) {
                again.push(Outgoing::event(&envelope));
            }
        }
    }
    for i in (1..again.len()).rev() {
        again.swap(i, rng.below(i as u64 + 1) as usize);
    }
    app.broker.publish_all(again).await.expect("republished");

    wait_projected(&app).await;
    // The duplicates are in the queue or applied already; let the queue drain.
    tokio::time::sleep(Duration::from_secs(2)).await;
    wait_projected(&app).await;
    let live = read_model(&app).await;
    assert!(!live[ANALYTICS_ORDERS].is_empty());
    let rebuilt = oms_workers::analytics::rebuild::rebuild(&app.store)
        .await
        .expect("rebuild");
    assert_eq!(rebuilt.orders, 24);
    let model = read_model(&app).await;
    for name in ANALYTICS_COLLECTIONS {
        assert_eq!(model[name], live[name], "{name} differs after the rebuild");
    }
    // Written in parts (as a big store is, every 10,000 orders), the counts add up the same.
    for every in [1, 5] {
        let rebuilt = oms_workers::analytics::rebuild::rebuild_in_parts(&app.store, every)
            .await
            .expect("rebuild in parts");
        assert_eq!(rebuilt.orders, 24);
        let model = read_model(&app).await;
        for name in ANALYTICS_COLLECTIONS {
            assert_eq!(
                model[name], live[name],
                "{name} differs after a rebuild in parts of {every}"
            );
        }
    }
}

/// The summary's latency over a year with 100k orders in the store. The orders (with their
/// histories, as the workers record them) are written straight to the store, spread over the
/// last 365 days, and the read model is built from them by the rebuild.
/// Run: `cargo test --test it analytics::summary_latency -- --ignored --nocapture`.
#[tokio::test]
#[ignore = "a measurement: writes 100k orders (minutes); run it by name"]
async fn summary_latency_over_a_year_with_100k_orders() {
    use oms_contracts::domain::{Currency, Quantity};
    use oms_contracts::messages::{HistoryEntry, OrderLine};
    use oms_contracts::{Money, OrderId, OrderStatus, ProductId, UserId};
    use oms_platform::store::{ImageDoc, LineReservation, ProductDoc};

    let orders_wanted: usize = std::env::var("OMS_MEASURE_ORDERS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(100_000);
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let mut rng = Rng::new();
    let now = chrono::Utc::now();
    let usd = |amount| Money {
        amount,
        currency: Currency::USD,
    };
    let products: Vec<ProductDoc> = (0..50)
        .map(|i| ProductDoc {
            id: ProductId::new(),
            sku: format!("LAT-{i}"),
            name: format!("Latency product {i}"),
            description: String::new(),
            price: usd(100 + 10 * i),
            stock: 1 + i,
            active: true,
            image: ImageDoc::none(),
            low_stock_threshold: None,
            created_at: oms_platform::store::from_chrono(now),
            updated_at: oms_platform::store::from_chrono(now),
        })
        .collect();
    app.store
        .products()
        .insert_many(&products)
        .await
        .expect("products");
    let user = UserId::new();
    let written = std::time::Instant::now();
    let mut batch = Vec::new();
    for n in 0..orders_wanted {
        let placed_at = now - chrono::TimeDelta::seconds(rng.below(365 * 86_400) as i64 + 3600);
        let lines: Vec<OrderLine> = (0..1 + rng.below(3))
            .map(|k| OrderLine {
                product_id: products[(rng.below(50) + k) as usize % 50].id.clone(),
                quantity: Quantity::parse(1 + rng.below(3) as i64).expect("quantity"),
            })
            .collect();
        let mut lines = lines;
        lines.dedup_by(|a, b| a.product_id == b.product_id);
        let mut order = OrderDoc::placed(&OrderId::new(), &user, &lines, None, String::new(), placed_at);
        let entry = |from, to, at, version| HistoryEntry {
            from: Some(from),
            to,
            by: "system".into(),
            at,
            reason: (to == OrderStatus::Cancelled).then(|| ["late", "changed my mind"][n % 2].to_string()),
            refused: false,
            version: Some(version),
        };
        if rng.below(20) == 0 {
            order.status = OrderStatus::Rejected;
            order
                .history
                .push(entry(OrderStatus::Pending, OrderStatus::Rejected, placed_at, 1));
        } else {
            let mut total = 0;
            for line in &mut order.items {
                let price = products
                    .iter()
                    .find(|p| p.id == line.product_id)
                    .expect("product")
                    .price;
                line.reservation = LineReservation::Reserved;
                line.name = Some("Latency product".into());
                line.unit_price = Some(price);
                line.line_total = Some(price.amount * i64::from(line.quantity.get()));
                total += price.amount * i64::from(line.quantity.get());
            }
            order.total = Some(usd(total));
            order
                .history
                .push(entry(OrderStatus::Pending, OrderStatus::Placed, placed_at, 1));
            let mut status = OrderStatus::Placed;
            let mut at = placed_at;
            let path = [
                OrderStatus::Confirmed,
                OrderStatus::Shipped,
                OrderStatus::Delivered,
            ];
            let steps = match rng.below(10) {
                0 => {
                    order.history.push(entry(
                        status,
                        OrderStatus::Cancelled,
                        at + chrono::TimeDelta::minutes(5),
                        2,
                    ));
                    status = OrderStatus::Cancelled;
                    0
                }
                1 | 2 => 0,
                k => (k as usize - 2).min(3),
            };
            for (i, next) in path.iter().take(steps).enumerate() {
                at += chrono::TimeDelta::minutes(30 + rng.below(600) as i64);
                order.history.push(entry(status, *next, at, 2 + i as i64));
                status = *next;
            }
            order.status = status;
        }
        order.version = order.history.len() as i64 - 1;
        batch.push(order);
        if batch.len() == 5000 {
            app.store
                .orders()
                .insert_many(std::mem::take(&mut batch))
                .await
                .expect("orders");
        }
    }
    if !batch.is_empty() {
        app.store.orders().insert_many(batch).await.expect("orders");
    }
    eprintln!(
        "wrote {orders_wanted} orders in {:.1} s",
        written.elapsed().as_secs_f64()
    );
    let rebuilding = std::time::Instant::now();
    let rebuilt = oms_workers::analytics::rebuild::rebuild(&app.store)
        .await
        .expect("rebuild");
    eprintln!(
        "rebuilt from {} orders ({} changes) in {:.1} s",
        rebuilt.orders,
        rebuilt.changes,
        rebuilding.elapsed().as_secs_f64()
    );

    let year = format!(
        "?from={}&to={}",
        (now - chrono::TimeDelta::days(365)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );
    let month = format!(
        "?from={}&bucket=hour",
        (now - chrono::TimeDelta::days(30)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );
    for (name, query) in [("a year by day", year), ("30 days by hour", month)] {
        let s = summary(&app, &admin, &query).await;
        let placed = s["totals"]["placed"].as_i64().expect("placed");
        let mut took: Vec<f64> = Vec::new();
        for _ in 0..30 {
            let started = std::time::Instant::now();
            let response = app
                .get(
                    &format!("/api/analytics/summary{query}"),
                    Some(&admin.access_token),
                )
                .await;
            assert_eq!(response.status(), StatusCode::OK);
            let _ = response.bytes().await.expect("body");
            took.push(started.elapsed().as_secs_f64() * 1000.0);
        }
        took.sort_by(f64::total_cmp);
        eprintln!(
            "summary of {name} ({placed} orders placed in it): p50 {:.1} ms, p90 {:.1} ms, max {:.1} ms over 30 requests",
            took[14], took[26], took[29]
        );
    }
}
