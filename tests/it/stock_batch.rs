//! The batched stock worker decides exactly as the one-at-a-time worker does: the same random
//! command sequences (reservations, releases before and after their reservations, adjustments,
//! unknown and inactive products, and redeliveries of earlier commands) run through both paths,
//! each on its own store and broker, and every ledger entry, every reply and every event agree.

use std::time::Duration;

use futures_util::TryStreamExt;
use lapin::options::{BasicGetOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::FieldTable;
use mongodb::bson::{self, doc};
use oms_contracts::domain::{Currency, Quantity};
use oms_contracts::messages::{Envelope, Event, OrderMessage, StockCommand};
use oms_contracts::routing::{COMMANDS_EXCHANGE, EVENTS_EXCHANGE};
use oms_contracts::{Money, OrderId, ProductId, UserId};
use oms_platform::store::{ImageDoc, LedgerDoc, ProductDoc};
use oms_workers::consumer::Handler;
use oms_workers::stock::StockHandler;
use secrecy::ExposeSecret;

use crate::helpers::TestApp;

/// Where the stock worker's replies go in this test.
const REPLIES: &str = "test.stock-replies";

/// A small deterministic generator (xorshift64*): the same seed gives the same sequence.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n
    }
}

/// Products of a run: a few active ones with little stock (so that refusals happen), an
/// inactive one, and one that does not exist.
struct World {
    products: Vec<(ProductId, i64, bool)>,
    missing: ProductId,
    orders: Vec<OrderId>,
    admin: UserId,
}

fn world(rng: &mut Rng) -> World {
    let mut products: Vec<(ProductId, i64, bool)> = (0..3)
        .map(|_| (ProductId::new(), rng.below(9) as i64, true))
        .collect();
    products.push((ProductId::new(), 5, false));
    World {
        products,
        missing: ProductId::new(),
        orders: (0..6).map(|_| OrderId::new()).collect(),
        admin: UserId::new(),
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
        let command = match rng.below(10) {
            // A redelivery: exactly an earlier message again.
            0 | 1 if !out.is_empty() => {
                let earlier = out[rng.below(out.len() as u64) as usize].clone();
                out.push(earlier);
                continue;
            }
            0..=4 => StockCommand::ReserveStock {
                order_id: order,
                product_id: product.clone(),
                quantity: Quantity::parse(1 + rng.below(4) as i64).expect("quantity"),
                reply_to: reply_to.to_string(),
            },
            5..=7 => StockCommand::ReleaseStock {
                order_id: order,
                product_id: product.clone(),
                reply_to: reply_to.to_string(),
            },
            _ => {
                adjustments += 1;
                StockCommand::AdjustStock {
                    adjustment_id: format!("adj-{adjustments}"),
                    product_id: product.clone(),
                    delta: rng.below(11) as i64 - 5,
                    reason: "cycle count".to_string(),
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
    replies: Vec<OrderMessage>,
    events: Vec<Event>,
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
                id: id.to_string(),
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
        broker: app.broker.clone(),
        failpoints: oms_workers::FailPoints::default(),
        low_stock_threshold: 5,
        partition: 0,
        partitions: 1,
    };
    if batches.is_empty() {
        for envelope in sequence {
            handler.handle(envelope).await.expect("one at a time");
        }
    } else {
        let mut rest = sequence;
        for size in batches.iter().cycle() {
            if rest.is_empty() {
                break;
            }
            let (batch, tail) = rest.split_at((*size).min(rest.len()));
            handler.handle_batch(batch).await.expect("batch");
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
        .map(|p| (p.id, p.stock))
        .collect();
    stock.sort();
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
                "{} {:?} {:?} {} {} {:?} {} {:?} {:?}",
                e.op_key,
                e.kind,
                e.outcome,
                e.delta,
                e.balance_after,
                e.reason,
                e.actor,
                e.unit_price,
                e.order_id
            )
        })
        .collect();
    ledger.sort();
    let replies = drain::<OrderMessage>(&channel, REPLIES).await;
    let events = drain::<Event>(&channel, events.name().as_str()).await;
    let _ = connection.close(200, "done".into()).await;
    Outcome {
        stock,
        ledger,
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
async fn batched_and_one_at_a_time_stock_decisions_agree() {
    // No workers: the test drives the two handlers itself.
    let single = TestApp::spawn_with(&[("TEST_WORKERS", "processes")]).await;
    let batched = TestApp::spawn_with(&[("TEST_WORKERS", "processes")]).await;
    let reply_to = REPLIES;
    for seed in 1..=12u64 {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ seed.wrapping_mul(0x1000_0000_01B3));
        let world = world(&mut rng);
        let sequence = commands(&mut rng, &world, 60, reply_to);
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
        assert_eq!(
            one.stock, many.stock,
            "seed {seed}: stock differs (batches {batches:?})"
        );
        assert_eq!(
            one.ledger, many.ledger,
            "seed {seed}: ledger differs (batches {batches:?})"
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
                .filter(|e| !matches!(e.body, StockCommand::AdjustStock { .. }))
                .count()
        );
    }
}
