//! The raw rates that `oms bench` divides by, measured in the same run with the same code and
//! connections the system uses: the store's sequential conditional decrement and insert, and
//! the broker's confirmed publishing of persistent messages to a quorum queue.

use std::time::{Duration, Instant};

use lapin::BasicProperties;
use lapin::options::{QueueDeclareOptions, QueueDeleteOptions};
use lapin::types::{AMQPValue, FieldTable, ShortString};
use mongodb::bson::{Document, doc};
use oms_platform::broker::Outgoing;
use oms_platform::{Broker, Store};
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct Baselines {
    /// `find_one_and_update({stock >= 1}, {$inc: -1})`, one at a time, per second.
    pub store_cond_updates_per_s: f64,
    /// `insert_one`, one at a time, per second.
    pub store_inserts_per_s: f64,
    /// Persistent 1 KB messages to a quorum queue, confirms pipelined, per second.
    pub broker_confirms_per_s: f64,
}

const STORE_OPS: usize = 2_000;
const BROKER_MESSAGES: usize = 5_000;

pub async fn measure(store: &Store, broker: &Broker, run_id: &str) -> anyhow::Result<Baselines> {
    let collection = store
        .db()
        .collection::<Document>(&format!("bench_baseline_{run_id}"));
    collection
        .insert_one(doc! { "_id": "counter", "stock": 1_000_000_000i64 })
        .await?;
    let started = Instant::now();
    for _ in 0..STORE_OPS {
        collection
            .find_one_and_update(
                doc! { "_id": "counter", "stock": { "$gte": 1 } },
                doc! { "$inc": { "stock": -1 } },
            )
            .await?;
    }
    let store_cond_updates_per_s = STORE_OPS as f64 / started.elapsed().as_secs_f64();
    let started = Instant::now();
    for i in 0..STORE_OPS {
        collection
            .insert_one(doc! { "n": i as i64, "pad": "x".repeat(200) })
            .await?;
    }
    let store_inserts_per_s = STORE_OPS as f64 / started.elapsed().as_secs_f64();
    collection.drop().await?;

    let queue = format!("oms.bench.{run_id}");
    let connection = broker
        .dedicated_connection("bench", Duration::from_secs(10))
        .await?;
    let channel = connection.create_channel().await?;
    let mut args = FieldTable::default();
    args.insert("x-queue-type".into(), AMQPValue::LongString("quorum".into()));
    channel
        .queue_declare(
            ShortString::from(queue.as_str()),
            QueueDeclareOptions::durable(),
            args,
        )
        .await?;
    let payload = vec![b'x'; 1024];
    let messages: Vec<Outgoing> = (0..BROKER_MESSAGES)
        .map(|_| Outgoing {
            exchange: "",
            routing_key: queue.clone(),
            payload: payload.clone(),
            properties: BasicProperties::default().with_delivery_mode(2),
        })
        .collect();
    let started = Instant::now();
    broker.publish_all(messages).await?;
    let broker_confirms_per_s = BROKER_MESSAGES as f64 / started.elapsed().as_secs_f64();
    channel
        .queue_delete(ShortString::from(queue.as_str()), QueueDeleteOptions::default())
        .await?;
    // Closing the connection closes its channel (closing both races in lapin's log).
    let _ = connection.close(200, "done".into()).await;

    Ok(Baselines {
        store_cond_updates_per_s,
        store_inserts_per_s,
        broker_confirms_per_s,
    })
}
