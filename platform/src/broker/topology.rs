//! The broker topology OMS declares: exchanges, partitioned quorum queues with single active
//! consumers, dead-letter queues, and the check that a deployment never shrinks its partitions.

use std::time::Duration;

use lapin::options::{ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use lapin::{Channel, Connection, ExchangeKind};
use oms_contracts::routing::{self, QueueSpec};
use secrecy::SecretString;

use super::*;

pub(crate) fn queue_arguments(spec: &QueueSpec) -> FieldTable {
    let mut args = FieldTable::default();
    args.insert("x-queue-type".into(), AMQPValue::LongString("quorum".into()));
    if spec.single_active_consumer() {
        args.insert("x-single-active-consumer".into(), AMQPValue::Boolean(true));
    }
    args.insert(
        "x-dead-letter-exchange".into(),
        AMQPValue::LongString(routing::DEAD_LETTER_EXCHANGE.into()),
    );
    args.insert(
        "x-dead-letter-routing-key".into(),
        AMQPValue::LongString(LongString::from(spec.name.as_str())),
    );
    args.insert(
        "x-delivery-limit".into(),
        AMQPValue::LongLongInt(routing::DELIVERY_LIMIT),
    );
    args
}

pub(crate) fn dead_letter_arguments() -> FieldTable {
    let mut args = FieldTable::default();
    args.insert("x-queue-type".into(), AMQPValue::LongString("quorum".into()));
    args
}

/// Refuses fewer partitions than the broker at `url` already has queues for: the messages in
/// the higher partitions' queues would never be consumed, and products would change partition
/// under their in-flight commands. For deployments whose store has no recorded count yet (see
/// `oms_platform::check_partitions`); the check costs a channel that the broker closes (and
/// lapin logs) when, as it should, the queue does not exist.
pub async fn refuse_fewer_partitions(
    url: &SecretString,
    partitions: u32,
    name: &str,
) -> Result<(), BrokerError> {
    let connection = connect_with_retry(url, name, Duration::from_secs(60)).await?;
    let result = queue_beyond(&connection, partitions).await;
    let _ = connection.close(200, "checked".into()).await;
    result
}

pub(crate) async fn queue_beyond(connection: &Connection, partitions: u32) -> Result<(), BrokerError> {
    // A passive declaration of a queue that does not exist closes its channel: use a spare one.
    let channel = connection.create_channel().await?;
    let beyond = routing::stock_queue(partitions);
    let exists = channel
        .queue_declare(
            ShortString::from(beyond.as_str()),
            QueueDeclareOptions {
                passive: true,
                ..QueueDeclareOptions::default()
            },
            FieldTable::default(),
        )
        .await
        .is_ok();
    if exists {
        return Err(BrokerError::Partitions(format!(
            "OMS_STOCK_PARTITIONS is {partitions}, but the broker has a queue {beyond}: this deployment \
             was created with more partitions, which stay fixed for its life; set OMS_STOCK_PARTITIONS \
             to that count"
        )));
    }
    Ok(())
}

/// Declares every exchange, queue and binding OMS uses. Idempotent: every process runs it
/// at start-up with the same arguments.
pub async fn declare_topology(channel: &Channel, partitions: u32) -> Result<(), BrokerError> {
    let durable = ExchangeDeclareOptions {
        durable: true,
        ..ExchangeDeclareOptions::default()
    };
    for (name, kind) in [
        (routing::COMMANDS_EXCHANGE, ExchangeKind::Direct),
        (routing::EVENTS_EXCHANGE, ExchangeKind::Topic),
        (routing::DEAD_LETTER_EXCHANGE, ExchangeKind::Direct),
    ] {
        channel
            .exchange_declare(name.into(), kind, durable, FieldTable::default())
            .await?;
    }
    for spec in routing::all_queues(partitions) {
        let dlq = spec.dead_letter_queue();
        channel
            .queue_declare(
                ShortString::from(dlq.as_str()),
                QueueDeclareOptions::durable(),
                dead_letter_arguments(),
            )
            .await?;
        channel
            .queue_bind(
                ShortString::from(dlq.as_str()),
                routing::DEAD_LETTER_EXCHANGE.into(),
                ShortString::from(spec.name.as_str()),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await?;
        channel
            .queue_declare(
                ShortString::from(spec.name.as_str()),
                QueueDeclareOptions::durable(),
                queue_arguments(&spec),
            )
            .await?;
        channel
            .queue_bind(
                ShortString::from(spec.name.as_str()),
                routing::COMMANDS_EXCHANGE.into(),
                ShortString::from(spec.name.as_str()),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await?;
        // Watchers of the events (notifications, webhooks) get their own durable copy.
        for key in spec.event_bindings() {
            channel
                .queue_bind(
                    ShortString::from(spec.name.as_str()),
                    routing::EVENTS_EXCHANGE.into(),
                    ShortString::from(*key),
                    QueueBindOptions::default(),
                    FieldTable::default(),
                )
                .await?;
        }
    }
    declare_analytics_queue(channel).await
}

/// The analytics projection's queue, bound to every order status event on `oms.events`:
/// quorum, single active consumer, dead letters like every other queue.
pub(crate) async fn declare_analytics_queue(channel: &Channel) -> Result<(), BrokerError> {
    let name = routing::ANALYTICS_QUEUE;
    let dlq = routing::dead_letter_queue(name);
    channel
        .queue_declare(
            ShortString::from(dlq.as_str()),
            QueueDeclareOptions::durable(),
            dead_letter_arguments(),
        )
        .await?;
    channel
        .queue_bind(
            ShortString::from(dlq.as_str()),
            routing::DEAD_LETTER_EXCHANGE.into(),
            name.into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await?;
    let mut args = FieldTable::default();
    args.insert("x-queue-type".into(), AMQPValue::LongString("quorum".into()));
    args.insert("x-single-active-consumer".into(), AMQPValue::Boolean(true));
    args.insert(
        "x-dead-letter-exchange".into(),
        AMQPValue::LongString(routing::DEAD_LETTER_EXCHANGE.into()),
    );
    args.insert(
        "x-dead-letter-routing-key".into(),
        AMQPValue::LongString(name.into()),
    );
    args.insert(
        "x-delivery-limit".into(),
        AMQPValue::LongLongInt(routing::DELIVERY_LIMIT),
    );
    channel
        .queue_declare(name.into(), QueueDeclareOptions::durable(), args)
        .await?;
    channel
        .queue_bind(
            name.into(),
            routing::EVENTS_EXCHANGE.into(),
            routing::event_keys::ORDER_STATUS_CHANGED.into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await?;
    Ok(())
}
