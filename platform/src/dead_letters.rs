//! Dead letters: listing them without losing them, and replaying chosen ones to the queue
//! they died in. Both read the dead-letter queue with `basic.get` and hold what they read
//! unacknowledged, so that each message is seen once per pass; what is not replayed goes
//! back to the queue when the channel closes. A replayed message is acked only after its
//! republication is confirmed.

use std::collections::HashSet;
use std::time::Duration;

use lapin::message::BasicGetMessage;
use lapin::options::{BasicAckOptions, BasicGetOptions};
use lapin::types::{AMQPValue, ShortString};
use oms_contracts::routing::{self, COMMANDS_EXCHANGE};
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::Broker;
use crate::broker::{Outgoing, headers};

/// Most messages one pass reads.
pub const MAX_PER_PASS: usize = 10_000;

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct DeadLetter {
    /// The message id, or a digest of the body for messages without one.
    pub id: String,
    pub queue: String,
    pub reason: Option<String>,
    pub attempts: Option<i64>,
    pub first_failure_at: Option<String>,
    pub dead_lettered_at: Option<String>,
    /// The order or product the message concerns.
    pub correlation_id: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// The message body: JSON when it parses, else its text.
    pub body: Value,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Replayed {
    pub replayed: usize,
    pub kept: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum DeadLetterError {
    #[error("{0} is not a queue OMS declares")]
    UnknownQueue(String),
    #[error(transparent)]
    Broker(#[from] crate::BrokerError),
    #[error(transparent)]
    Amqp(#[from] lapin::Error),
}

/// The source queue named by `queue` (its dead-letter queue's name is accepted too).
pub fn source_queue(queue: &str, partitions: u32) -> Result<String, DeadLetterError> {
    let name = queue.strip_suffix(".dlq").unwrap_or(queue);
    routing::all_queues(partitions)
        .into_iter()
        .find(|spec| spec.name == name)
        .map(|spec| spec.name)
        .ok_or_else(|| DeadLetterError::UnknownQueue(queue.to_string()))
}

fn describe(queue: &str, message: &BasicGetMessage) -> DeadLetter {
    let properties = &message.delivery.properties;
    let table = properties.headers().clone().unwrap_or_default();
    let data = &message.delivery.data;
    let id = properties
        .message_id()
        .as_ref()
        .map(|id| id.as_str().to_string())
        .unwrap_or_else(|| hex::encode(&Sha256::digest(data)[..8]));
    // RabbitMQ's own dead-lettering (delivery limit) leaves its reason in x-death.
    let x_death_reason = || match table.inner().get(headers::X_DEATH)? {
        AMQPValue::FieldArray(deaths) => deaths.as_slice().first().and_then(|d| match d {
            AMQPValue::FieldTable(t) => headers::text(t, "reason"),
            _ => None,
        }),
        _ => None,
    };
    DeadLetter {
        id,
        queue: queue.to_string(),
        reason: headers::text(&table, headers::REASON).or_else(x_death_reason),
        attempts: headers::int(&table, headers::ATTEMPTS)
            .or_else(|| headers::int(&table, headers::DELIVERY_COUNT)),
        first_failure_at: headers::text(&table, headers::FIRST_FAILURE_AT),
        dead_lettered_at: headers::text(&table, headers::DEAD_LETTERED_AT),
        correlation_id: properties
            .correlation_id()
            .as_ref()
            .map(|c| c.as_str().to_string()),
        kind: properties.kind().as_ref().map(|k| k.as_str().to_string()),
        body: serde_json::from_slice(data)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(data).into_owned())),
    }
}

/// Up to `limit` dead letters of `queue`, oldest first; they stay where they are.
pub async fn list(broker: &Broker, queue: &str, limit: usize) -> Result<Vec<DeadLetter>, DeadLetterError> {
    let queue = source_queue(queue, broker.partitions())?;
    read_dead_letters(broker, &[queue], limit).await
}

/// Up to `limit` dead letters of each queue OMS declares, queue by queue; they stay where they are.
pub async fn list_all(broker: &Broker, limit: usize) -> Result<Vec<DeadLetter>, DeadLetterError> {
    let queues: Vec<String> = routing::all_queues(broker.partitions())
        .into_iter()
        .map(|spec| spec.name)
        .collect();
    read_dead_letters(broker, &queues, limit).await
}

/// Reads the dead-letter queues of `queues` over one connection, without taking anything.
async fn read_dead_letters(
    broker: &Broker,
    queues: &[String],
    limit: usize,
) -> Result<Vec<DeadLetter>, DeadLetterError> {
    let connection = broker
        .dedicated_connection("dead-letters", Duration::from_secs(5))
        .await?;
    let mut letters = Vec::new();
    for queue in queues {
        let dlq = routing::dead_letter_queue(queue);
        // A channel per queue: closing it returns every message read, unacknowledged, to its
        // dead-letter queue.
        let channel = connection.create_channel().await?;
        let mut read = 0;
        while read < limit.min(MAX_PER_PASS) {
            let Some(message) = channel
                .basic_get(ShortString::from(dlq.as_str()), BasicGetOptions { no_ack: false })
                .await?
            else {
                break;
            };
            letters.push(describe(queue, &message));
            read += 1;
        }
        let _ = channel.close(200, "listed".into()).await;
    }
    let _ = connection.close(200, "listed".into()).await;
    Ok(letters)
}

/// Republishes the dead letters of `queue` whose ids are in `ids` (all of them when `None`)
/// to `queue`, each acked in the dead-letter queue only after its publish is confirmed.
pub async fn replay(
    broker: &Broker,
    queue: &str,
    ids: Option<&[String]>,
) -> Result<Replayed, DeadLetterError> {
    let queue = source_queue(queue, broker.partitions())?;
    let dlq = routing::dead_letter_queue(&queue);
    let wanted: Option<HashSet<&str>> = ids.map(|ids| ids.iter().map(String::as_str).collect());
    let connection = broker
        .dedicated_connection("dead-letters", Duration::from_secs(5))
        .await?;
    let channel = connection.create_channel().await?;
    let (mut replayed, mut kept) = (0, 0);
    for _ in 0..MAX_PER_PASS {
        let Some(message) = channel
            .basic_get(ShortString::from(dlq.as_str()), BasicGetOptions { no_ack: false })
            .await?
        else {
            break;
        };
        let letter = describe(&queue, &message);
        if wanted.as_ref().is_some_and(|w| !w.contains(letter.id.as_str())) {
            kept += 1;
            continue;
        }
        let fresh = headers::replayed(&message.delivery.properties);
        broker
            .publish(Outgoing {
                exchange: COMMANDS_EXCHANGE,
                routing_key: queue.clone(),
                payload: message.delivery.data.clone(),
                properties: message.delivery.properties.clone().with_headers(fresh),
            })
            .await?;
        message.delivery.ack(BasicAckOptions::default()).await?;
        replayed += 1;
    }
    let _ = channel.close(200, "replayed".into()).await;
    let _ = connection.close(200, "replayed".into()).await;
    tracing::info!(queue, replayed, kept, "dead letters replayed");
    Ok(Replayed { replayed, kept })
}
