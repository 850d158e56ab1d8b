//! An order partition decides the same whatever its batches: the same random message sequences
//! — placements, reservation replies (reserved, refused, released; late ones after the order
//! ended), owners' cancels, admins' transitions (allowed and refused), the reconciler's
//! abandons, and redeliveries of earlier messages — run one message at a time (`handle`, as the
//! consumer does with `OMS_ORDER_BATCH=1`) and as random batches (`handle_batch`), each on its
//! own store, and every order and every message the runs send agree.
//!
//! "Agree" allows one difference the consumer's contract permits: a redelivery that arrives
//! while its change is still the order's latest re-sends that change's messages (with their
//! original message ids, which receivers deduplicate), and inside a batch the same redelivery
//! is recognised before anything was sent. So each run's messages are compared per order, in
//! order, with repeats of a message already sent left out.

use std::time::Duration;

use futures_util::TryStreamExt;
use mongodb::bson::doc;
use oms_contracts::domain::{Currency, Quantity, Reason};
use oms_contracts::messages::{Envelope, OrderLine, OrderMessage, RejectReason};
use oms_contracts::order::Actor;
use oms_contracts::{Money, OrderId, OrderStatus, ProductId, UserId};
use oms_platform::broker::Outgoing;
use oms_platform::store::OrderDoc;
use oms_workers::consumer::Handler;
use oms_workers::orders::OrderHandler;

use crate::helpers::{Rng, TestApp};

/// A few products and `PENDING` orders of one to three lines over them, as the API stores
/// them, and one order id that was never stored (withdrawn by the API).
struct World {
    products: Vec<ProductId>,
    orders: Vec<OrderDoc>,
    withdrawn: OrderId,
    admin: UserId,
}

fn world(rng: &mut Rng) -> World {
    let products: Vec<ProductId> = (0..4).map(|_| ProductId::new()).collect();
    let orders = (0..5)
        .map(|_| {
            let mut lines: Vec<OrderLine> = Vec::new();
            for _ in 0..1 + rng.below(3) {
                let product_id = rng.pick(&products).clone();
                if !lines.iter().any(|l| l.product_id == product_id) {
                    lines.push(OrderLine {
                        product_id,
                        quantity: Quantity::parse(1 + rng.below(3) as i64).expect("quantity"),
                    });
                }
            }
            OrderDoc::placed(
                &OrderId::new(),
                &UserId::new(),
                &lines,
                None,
                String::new(),
                chrono::Utc::now(),
            )
        })
        .collect();
    World {
        products,
        orders,
        withdrawn: OrderId::new(),
        admin: UserId::new(),
    }
}

fn messages(rng: &mut Rng, world: &World, len: usize) -> Vec<Envelope<OrderMessage>> {
    let mut out: Vec<Envelope<OrderMessage>> = Vec::with_capacity(len);
    let reason = |text: &str| Reason::parse(text).expect("a valid reason");
    while out.len() < len {
        let order = rng.pick(&world.orders);
        let order_id = order.id.clone();
        // Mostly a line of the order; now and then a product it does not have.
        let product_id = if rng.below(8) == 0 {
            rng.pick(&world.products).clone()
        } else {
            rng.pick(&order.items).product_id.clone()
        };
        let message = match rng.below(20) {
            // A redelivery: exactly an earlier message again.
            0..=2 if !out.is_empty() => {
                let earlier = rng.pick(&out).clone();
                out.push(earlier);
                continue;
            }
            0..=3 => OrderMessage::PlaceOrder { order_id },
            4 => OrderMessage::PlaceOrder {
                order_id: world.withdrawn.clone(),
            },
            5..=9 => OrderMessage::StockReserved {
                order_id,
                product_id,
                unit_price: Money {
                    amount: 100 * (1 + rng.below(5) as i64),
                    currency: Currency::USD,
                },
                product_name: "Mug".into(),
                balance_after: rng.below(10) as i64,
            },
            10..=11 => OrderMessage::StockRejected {
                order_id,
                product_id,
                reason: *rng.pick(&[
                    RejectReason::InsufficientStock,
                    RejectReason::UnknownProduct,
                    RejectReason::OrderReleased,
                ]),
            },
            12..=13 => OrderMessage::StockReleased {
                order_id,
                product_id,
                restored: 1 + rng.below(3) as i64,
            },
            14 => OrderMessage::CancelOrder {
                order_id,
                by: order.user_id.clone(),
                actor: Actor::Owner,
                reason: Some(reason("changed my mind")),
            },
            15..=17 => OrderMessage::TransitionOrder {
                order_id,
                to: *rng.pick(&[
                    OrderStatus::Confirmed,
                    OrderStatus::Shipped,
                    OrderStatus::Delivered,
                    OrderStatus::Cancelled,
                ]),
                by: world.admin.clone(),
                reason: None,
            },
            _ => OrderMessage::AbandonOrder {
                order_id,
                reason: reason("reservations never completed"),
            },
        };
        let correlation = message.order_id().to_string();
        out.push(Envelope::new(correlation, "property-test", message));
    }
    out
}

/// What a run decided: each order as stored and each order's messages in the order sent, with
/// timestamps and message ids left out.
#[derive(Debug, PartialEq)]
struct Outcome {
    orders: Vec<String>,
    sent: Vec<(String, Vec<String>)>,
}

/// `value` without its timestamps and message ids (they differ between runs); `releasing_since`
/// only as present or not.
fn stripped(mut value: serde_json::Value) -> String {
    fn strip(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(map) => {
                for key in [
                    "at",
                    "updated_at",
                    "created_at",
                    "occurred_at",
                    "message_id",
                    "causation_id",
                    "seen",
                    "outbox",
                    "outbox_causes",
                ] {
                    map.remove(key);
                }
                // When a line started releasing is a time; that one is, is compared.
                if let Some(since) = map.get_mut("releasing_since") {
                    *since = serde_json::Value::Bool(true);
                }
                map.values_mut().for_each(strip);
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(strip),
            _ => {}
        }
    }
    strip(&mut value);
    value.to_string()
}

async fn run(
    app: &TestApp,
    world: &World,
    sequence: &[Envelope<OrderMessage>],
    batches: &[usize],
) -> Outcome {
    app.store
        .orders()
        .insert_many(&world.orders)
        .await
        .expect("insert orders");
    let handler = OrderHandler {
        store: app.store.clone(),
        failpoints: oms_workers::FailPoints::default(),
        partitions: app.config.partitions,
    };
    // Everything the handler hands the consumer to publish, in the order it would publish it.
    let mut outboxes: Vec<Outgoing> = Vec::new();
    if batches.is_empty() {
        for envelope in sequence {
            outboxes.extend(handler.handle(envelope).await.expect("one at a time"));
        }
    } else {
        let mut rest = sequence;
        for size in batches.iter().cycle() {
            if rest.is_empty() {
                break;
            }
            let (batch, tail) = rest.split_at((*size).min(rest.len()));
            outboxes.extend(handler.handle_batch(batch).await.expect("batch"));
            rest = tail;
        }
    }

    // Per order, its messages in the order sent; a message sent again (same id) counts once.
    let mut sent: Vec<(String, Vec<String>)> = world
        .orders
        .iter()
        .map(|o| (o.id.to_string(), Vec::new()))
        .collect();
    let mut ids = std::collections::HashSet::new();
    for outgoing in &outboxes {
        let message: serde_json::Value = serde_json::from_slice(&outgoing.payload).expect("a JSON message");
        let id = message["message_id"].as_str().expect("a message id").to_string();
        if !ids.insert(id) {
            continue;
        }
        let order = message["correlation_id"].as_str().expect("a correlation id");
        let (_, list) = sent
            .iter_mut()
            .find(|(o, _)| o == order)
            .unwrap_or_else(|| panic!("a message for an unknown order {order}"));
        list.push(format!("{} {}", outgoing.routing_key, stripped(message)));
    }

    let mut orders: Vec<String> = app
        .store
        .orders()
        .find(doc! {})
        .await
        .expect("orders")
        .try_collect::<Vec<OrderDoc>>()
        .await
        .expect("orders")
        .iter()
        .map(|o| stripped(serde_json::to_value(o).expect("an order as JSON")))
        .collect();
    orders.sort();
    Outcome { orders, sent }
}

#[tokio::test]
async fn one_at_a_time_and_random_batches_decide_alike() {
    // No workers: the test drives the two handlers itself.
    let single = TestApp::spawn_with(&[("TEST_WORKERS", "processes")]).await;
    let batched = TestApp::spawn_with(&[("TEST_WORKERS", "processes")]).await;
    let mut decided = std::collections::BTreeSet::new();
    for seed in 1..=16u64 {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ seed.wrapping_mul(0x1000_0000_01B3));
        let world = world(&mut rng);
        let sequence = messages(&mut rng, &world, 60);
        let batches: Vec<usize> = (0..8).map(|_| 1 + rng.below(16) as usize).collect();
        let one = tokio::time::timeout(Duration::from_secs(60), run(&single, &world, &sequence, &[]))
            .await
            .expect("one-at-a-time run in time");
        let many = tokio::time::timeout(
            Duration::from_secs(60),
            run(&batched, &world, &sequence, &batches),
        )
        .await
        .expect("batched run in time");
        assert_eq!(
            one.orders, many.orders,
            "seed {seed}: orders differ (batches {batches:?})"
        );
        assert_eq!(
            one.sent, many.sent,
            "seed {seed}: messages differ (batches {batches:?})"
        );
        for order in &one.orders {
            let status: serde_json::Value = serde_json::from_str(order).expect("JSON");
            decided.insert(status["status"].as_str().expect("a status").to_string());
        }
        // Each order's announced versions increase strictly, one per change.
        for (order, list) in &one.sent {
            let versions: Vec<u64> = list
                .iter()
                .filter(|m| m.contains("OrderStatusChanged"))
                .map(|m| {
                    let json = m.split_once(' ').expect("key and message").1;
                    let message: serde_json::Value = serde_json::from_str(json).expect("JSON");
                    message["payload"]["version"].as_u64().expect("a version")
                })
                .collect();
            assert!(
                versions.windows(2).all(|w| w[0] < w[1]),
                "seed {seed}: order {order} announced versions {versions:?}"
            );
        }
    }
    // The runs went through the lifecycle, not only through refusals.
    for status in ["PLACED", "REJECTED", "CANCELLED"] {
        assert!(
            decided.contains(status),
            "no run ended an order {status}: {decided:?}"
        );
    }
}
