//! A stock partition decides the same whatever its batches: the same random command sequences
//! — whole orders (placed, refused, withdrawn before their placement arrived, cancelled before
//! it), reservations and releases of the saga (releases before and after their reservations,
//! releases of whole orders' lines), adjustments, unknown and inactive products, and
//! redeliveries of earlier commands — run as batches of one and as random batches, each on its
//! own store and broker, and every stock level, ledger entry, order, reply and event agree.

use std::time::Duration;

use futures_util::TryStreamExt;
use lapin::options::{BasicGetOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::FieldTable;
use mongodb::bson::{self, doc};
use oms_contracts::domain::{Currency, Quantity, Reason, StockDelta};
use oms_contracts::messages::{Envelope, Event, OrderLine, OrderMessage, StockCommand};
use oms_contracts::routing::{COMMANDS_EXCHANGE, EVENTS_EXCHANGE};
use oms_contracts::{Money, OrderId, OrderStatus, ProductId, UserId};
use oms_platform::store::{ImageDoc, LedgerDoc, LedgerKind, OrderDoc, ProductDoc};
use oms_workers::consumer::Handler;
use oms_workers::stock::StockHandler;
use secrecy::ExposeSecret;

use crate::helpers::{Rng, TestApp};

/// Where the stock worker's replies go in this test.
const REPLIES: &str = "test.stock-replies";

/// Products of a run: a few active ones with little stock (so that refusals happen), an
/// inactive one, and one that does not exist; orders for the saga's commands; and whole
/// orders over those products, stored `PENDING` as the API stores them — but for two cancelled
/// before their placement arrived (and orders withdrawn by the API: never stored).
struct World {
    products: Vec<(ProductId, i64, bool)>,
    missing: ProductId,
    orders: Vec<OrderId>,
    whole: Vec<OrderDoc>,
    admin: UserId,
}

/// A new product id that partition `partition` of `partitions` owns.
fn owned_by(partition: u32, partitions: u32) -> ProductId {
    std::iter::repeat_with(ProductId::new)
        .find(|p| oms_contracts::routing::partition_of(p.as_str(), partitions) == partition)
        .expect("an id for the partition")
}

fn world(rng: &mut Rng, partitions: u32) -> World {
    // The products of partition 0, whose worker the test drives.
    let mut products: Vec<(ProductId, i64, bool)> = (0..3)
        .map(|_| (owned_by(0, partitions), rng.below(9) as i64, true))
        .collect();
    products.push((owned_by(0, partitions), 5, false));
    let missing = owned_by(0, partitions);
    // A product of another partition: a whole order with it spans partitions.
    let elsewhere = owned_by(1 % partitions, partitions);
    let whole = (0..8)
        .map(|n| {
            let mut lines: Vec<(ProductId, i64)> = Vec::new();
            for _ in 0..1 + rng.below(3) {
                let product = match rng.below(10) {
                    0 => missing.clone(),
                    1 => elsewhere.clone(),
                    k => products[(k as usize) % products.len()].0.clone(),
                };
                if !lines.iter().any(|(p, _)| *p == product) {
                    lines.push((product, 1 + rng.below(3) as i64));
                }
            }
            let mut order = pending(&lines);
            if n >= 6 {
                order.status = OrderStatus::Cancelled;
            }
            order
        })
        .collect();
    World {
        products,
        missing,
        orders: (0..6).map(|_| OrderId::new()).collect(),
        whole,
        admin: UserId::new(),
    }
}

/// A `PENDING` order as the API stores it.
fn pending(lines: &[(ProductId, i64)]) -> OrderDoc {
    let lines: Vec<OrderLine> = lines
        .iter()
        .map(|(p, q)| OrderLine {
            product_id: p.clone(),
            quantity: Quantity::parse(*q).expect("quantity"),
        })
        .collect();
    OrderDoc::placed(
        &OrderId::new(),
        &UserId::new(),
        &lines,
        None,
        String::new(),
        chrono::Utc::now(),
    )
}

fn place(order: &OrderDoc) -> StockCommand {
    StockCommand::PlaceOrder {
        order_id: order.id.clone(),
        user_id: order.user_id.clone(),
        lines: order.lines(),
        number: order.number,
    }
}

fn commands(rng: &mut Rng, world: &World, len: usize, reply_to: &str) -> Vec<Envelope<StockCommand>> {
    let mut out: Vec<Envelope<StockCommand>> = Vec::with_capacity(len);
    let mut adjustments = 0;
    while out.len() < len {
        let product = match rng.below(10) {
            0 => world.missing.clone(),
            n => world.products[(n as usize) % world.products.len()].0.clone(),
        };
        let order = world.orders[rng.below(world.orders.len() as u64) as usize].clone();
        let whole = &world.whole[rng.below(world.whole.len() as u64) as usize];
        let command = match rng.below(14) {
            // A redelivery: exactly an earlier message again.
            0 | 1 if !out.is_empty() => {
                let earlier = out[rng.below(out.len() as u64) as usize].clone();
                out.push(earlier);
                continue;
            }
            0..=3 => StockCommand::ReserveStock {
                order_id: order,
                product_id: product.clone(),
                quantity: Quantity::parse(1 + rng.below(4) as i64).expect("quantity"),
                reply_to: reply_to.to_string(),
            },
            4..=5 => StockCommand::ReleaseStock {
                order_id: order,
                product_id: product.clone(),
                reply_to: reply_to.to_string(),
            },
            6..=8 => place(whole),
            // A line of a whole order cancelled before its placement arrived, released (as
            // its cancel does: the order worker releases only after the order has ended).
            9 => {
                let cancelled = &world.whole[6 + rng.below(2) as usize];
                StockCommand::ReleaseStock {
                    order_id: cancelled.id.clone(),
                    product_id: cancelled.items[0].product_id.clone(),
                    reply_to: reply_to.to_string(),
                }
            }
            // Withdrawn by the API before its placement arrived: never stored.
            10 => place(&pending(&[(product.clone(), 1)])),
            _ => {
                adjustments += 1;
                StockCommand::AdjustStock {
                    adjustment_id: format!("adj-{adjustments}"),
                    product_id: product.clone(),
                    // -5..=5 without 0: an adjustment changes something.
                    delta: StockDelta::parse(match rng.below(10) as i64 - 5 {
                        0 => 5,
                        d => d,
                    })
                    .expect("a valid delta"),
                    reason: Reason::parse("cycle count").expect("a valid reason"),
                    admin_id: world.admin.clone(),
                }
            }
        };
        out.push(Envelope::new(product.to_string(), "property-test", command));
    }
    out
}

/// What a run decided, with the timestamps and message ids left out.
#[derive(Debug, PartialEq)]
struct Outcome {
    stock: Vec<(String, i64)>,
    ledger: Vec<String>,
    orders: Vec<String>,
    replies: Vec<OrderMessage>,
    events: Vec<String>,
}

/// `value` as JSON without its `at` timestamps (the decision's moment differs between runs).
fn without_times(value: &impl serde::Serialize) -> String {
    fn strip(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(map) => {
                map.remove("at");
                map.remove("updated_at");
                map.values_mut().for_each(strip);
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(strip),
            _ => {}
        }
    }
    let mut value = serde_json::to_value(value).expect("serialisable");
    strip(&mut value);
    value.to_string()
}

async fn run(
    app: &TestApp,
    world: &World,
    sequence: &[Envelope<StockCommand>],
    batches: &[usize],
) -> Outcome {
    for (id, stock, active) in &world.products {
        let now = bson::DateTime::now();
        app.store
            .products()
            .insert_one(ProductDoc {
                id: id.clone(),
                sku: format!("SKU-{id}"),
                name: format!("Product {id}"),
                description: String::new(),
                price: Money {
                    amount: 250,
                    currency: Currency::USD,
                },
                stock: *stock,
                active: *active,
                image: ImageDoc::none(),
                low_stock_threshold: Some(2),
                created_at: now,
                updated_at: now,
            })
            .await
            .expect("insert product");
    }
    // The whole orders as the API stored them (the withdrawn ones never were).
    app.store
        .orders()
        .insert_many(&world.whole)
        .await
        .expect("insert orders");
    // Every event the handler sends, in order, on a queue of our own.
    let connection = lapin::Connection::connect(
        app.config.amqp_url.expose_secret(),
        lapin::ConnectionProperties::default(),
    )
    .await
    .expect("connect");
    let channel = connection.create_channel().await.expect("channel");
    let events = channel
        .queue_declare(
            "".into(),
            QueueDeclareOptions {
                exclusive: true,
                ..QueueDeclareOptions::default()
            },
            FieldTable::default(),
        )
        .await
        .expect("declare");
    channel
        .queue_bind(
            events.name().clone(),
            EVENTS_EXCHANGE.into(),
            "#".into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await
        .expect("bind");
    // The replies, on a queue of our own too (the order queues allow no `basic.get`).
    channel
        .queue_declare(
            REPLIES.into(),
            QueueDeclareOptions::default(),
            FieldTable::default(),
        )
        .await
        .expect("declare");
    channel
        .queue_bind(
            REPLIES.into(),
            COMMANDS_EXCHANGE.into(),
            REPLIES.into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await
        .expect("bind");

    let handler = StockHandler {
        store: app.store.clone(),
        failpoints: oms_workers::FailPoints::default(),
        low_stock_threshold: 5,
        // Partition 0 of the deployment's: whole orders with a product of the other partition
        // are handed over to the saga.
        partition: 0,
        partitions: app.config.partitions,
    };
    // What the consumer does with each: publish its outbox (confirmed) before the next.
    if batches.is_empty() {
        for envelope in sequence {
            let outbox = handler.handle(envelope).await.expect("one at a time");
            app.broker.publish_all(outbox).await.expect("publish");
        }
    } else {
        let mut rest = sequence;
        for size in batches.iter().cycle() {
            if rest.is_empty() {
                break;
            }
            let (batch, tail) = rest.split_at((*size).min(rest.len()));
            let outbox = handler.handle_batch(batch).await.expect("batch");
            app.broker.publish_all(outbox).await.expect("publish");
            rest = tail;
        }
    }

    let mut stock: Vec<(String, i64)> = app
        .store
        .products()
        .find(doc! {})
        .await
        .expect("products")
        .try_collect::<Vec<_>>()
        .await
        .expect("products")
        .into_iter()
        .map(|p| (p.id.to_string(), p.stock))
        .collect();
    stock.sort();
    let entries: Vec<LedgerDoc> = app
        .store
        .ledger()
        .find(doc! {})
        .await
        .expect("ledger")
        .try_collect()
        .await
        .expect("ledger");
    for (id, initial, _) in &world.products {
        let moved: i64 = entries
            .iter()
            .filter(|e| e.product_id == *id)
            .map(|e| e.delta)
            .sum();
        let now = stock
            .iter()
            .find(|(p, _)| p == id.as_str())
            .map(|(_, s)| *s)
            .expect("product");
        assert_eq!(now, initial + moved, "stock is the initial stock plus its ledger");
        assert!(now >= 0, "stock below zero");
    }
    // No line holds stock after its release.
    for release in entries.iter().filter(|e| e.kind == LedgerKind::Release) {
        let held: i64 = entries
            .iter()
            .filter(|e| e.order_id == release.order_id && e.product_id == release.product_id)
            .map(|e| e.delta)
            .sum();
        assert_eq!(held, 0, "a released line still holds stock: {release:?}");
    }
    let mut ledger: Vec<String> = app
        .store
        .ledger()
        .find(doc! {})
        .await
        .expect("ledger")
        .try_collect::<Vec<LedgerDoc>>()
        .await
        .expect("ledger")
        .into_iter()
        .map(|e| {
            format!(
                "{} {:?} {:?} {} {} {:?} {:?} {} {:?} {:?}",
                e.op_key,
                e.kind,
                e.outcome,
                e.delta,
                e.balance_after,
                e.reason,
                e.refusal,
                e.actor,
                e.unit_price,
                e.order_id
            )
        })
        .collect();
    ledger.sort();
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
        .map(|o| {
            format!(
                "{} {} v{} {} {:?} {}",
                o.id,
                o.status,
                o.version,
                without_times(&o.items),
                o.total,
                without_times(&o.history)
            )
        })
        .collect();
    orders.sort();
    let replies = drain::<OrderMessage>(&channel, REPLIES).await;
    let events = drain::<Event>(&channel, events.name().as_str())
        .await
        .iter()
        .map(without_times)
        .collect();
    let _ = connection.close(200, "done".into()).await;
    Outcome {
        stock,
        ledger,
        orders,
        replies,
        events,
    }
}

async fn drain<M: serde::de::DeserializeOwned>(channel: &lapin::Channel, queue: &str) -> Vec<M> {
    let mut out = Vec::new();
    loop {
        let got = channel
            .basic_get(queue.into(), BasicGetOptions { no_ack: true })
            .await
            .expect("basic.get");
        match got {
            Some(message) => {
                let envelope: Envelope<M> =
                    serde_json::from_slice(&message.delivery.data).expect("a message");
                out.push(envelope.body);
            }
            None => return out,
        }
    }
}

#[tokio::test]
async fn batches_of_one_and_random_batches_decide_alike() {
    // No workers: the test drives the two handlers itself.
    let single = TestApp::spawn_with(&[("TEST_WORKERS", "processes")]).await;
    let batched = TestApp::spawn_with(&[("TEST_WORKERS", "processes")]).await;
    let reply_to = REPLIES;
    for seed in 1..=12u64 {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ seed.wrapping_mul(0x1000_0000_01B3));
        let world = world(&mut rng, single.config.partitions);
        let sequence = commands(&mut rng, &world, 70, reply_to);
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
        assert!(
            one.ledger.iter().any(|e| e.contains("Applied"))
                && one.ledger.iter().any(|e| e.contains("Rejected")),
            "seed {seed}: the sequence should both apply and refuse"
        );
        assert!(
            one.orders.iter().any(|o| o.contains(" PLACED "))
                || one.orders.iter().any(|o| o.contains(" REJECTED ")),
            "seed {seed}: some whole order should be decided"
        );
        assert_eq!(
            one.stock, many.stock,
            "seed {seed}: stock differs (batches {batches:?})"
        );
        assert_eq!(
            one.ledger, many.ledger,
            "seed {seed}: ledger differs (batches {batches:?})"
        );
        assert_eq!(
            one.orders, many.orders,
            "seed {seed}: orders differ (batches {batches:?})"
        );
        assert_eq!(
            one.replies, many.replies,
            "seed {seed}: replies differ (batches {batches:?})"
        );
        assert_eq!(
            one.events, many.events,
            "seed {seed}: events differ (batches {batches:?})"
        );
        assert_eq!(
            one.replies.len(),
            sequence
                .iter()
                .filter(|e| matches!(
                    e.body,
                    StockCommand::ReserveStock { .. } | StockCommand::ReleaseStock { .. }
                ))
                .count()
        );
        // Every placement of a stored, pending order of this partition is announced, once per
        // delivery (a redelivery announces the same version again); one that spans partitions
        // is handed over to the saga instead.
        let partitions = single.config.partitions;
        let placements = sequence
            .iter()
            .filter(|e| match &e.body {
                StockCommand::PlaceOrder { order_id, lines, .. } => {
                    world
                        .whole
                        .iter()
                        .any(|o| o.id == *order_id && o.status == OrderStatus::Pending)
                        && lines.iter().all(|l| {
                            oms_contracts::routing::partition_of(l.product_id.as_str(), partitions) == 0
                        })
                }
                _ => false,
            })
            .count();
        let announced = one
            .events
            .iter()
            .filter(|e| e.contains("OrderStatusChanged"))
            .count();
        assert_eq!(announced, placements, "seed {seed}");
    }
}
