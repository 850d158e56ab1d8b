//! The broker topology OMS declares: exchanges, partitioned quorum queues with single active
//! consumers, dead-letter queues, and the check that a deployment never shrinks its partitions.

use std::time::Duration;

use lapin::options::{ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use lapin::{Channel, Connection, ExchangeKind};
use oms_contracts::routing::{self, QueueSpec};
use secrecy::SecretString;

use super::*;

/// How many RabbitMQ nodes hold a copy of each quorum queue: three when the process is told about
/// three or more nodes (`OMS_AMQP_URL` with several hosts), two with two, and RabbitMQ's own default
/// (every node of the cluster) when it is told about one address, which may front a cluster.
pub fn quorum_replicas(addresses: usize) -> Option<u32> {
    (addresses > 1).then(|| addresses.min(3) as u32)
}

/// The arguments every OMS quorum queue shares: its type and, on a cluster, its replicas, with the
/// leaders spread over the nodes (by default they all land on the declaring connection's node).
fn quorum_arguments(replicas: Option<u32>) -> FieldTable {
    let mut args = FieldTable::default();
    args.insert("x-queue-type".into(), AMQPValue::LongString("quorum".into()));
    if let Some(replicas) = replicas {
        args.insert(
            "x-quorum-initial-group-size".into(),
            AMQPValue::LongLongInt(i64::from(replicas)),
        );
        args.insert(
            "x-queue-leader-locator".into(),
            AMQPValue::LongString("balanced".into()),
        );
    }
    args
}

pub(crate) fn queue_arguments(spec: &QueueSpec, replicas: Option<u32>) -> FieldTable {
    let mut args = quorum_arguments(replicas);
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

pub(crate) fn dead_letter_arguments(replicas: Option<u32>) -> FieldTable {
    quorum_arguments(replicas)
}

/// Declares the durable queue `name`. A queue that exists with other arguments (declared by an
/// earlier deployment: one that grew from one broker node to three keeps its queues' replication
/// as it was) is kept as it is: RabbitMQ refuses a redeclaration whose arguments differ.
async fn declare_queue(
    connection: &Connection,
    channel: &mut Channel,
    name: &str,
    args: FieldTable,
) -> Result<(), BrokerError> {
    let declared = channel
        .queue_declare(ShortString::from(name), QueueDeclareOptions::durable(), args)
        .await;
    match declared {
        Ok(_) => Ok(()),
        Err(err) if is_precondition_failed(&err) => {
            tracing::warn!(
                queue = name,
                "the queue exists with other arguments (declared by an earlier deployment); kept as it is"
            );
            // The refusal closed the channel.
            *channel = connection.create_channel().await?;
            let passive = QueueDeclareOptions {
                passive: true,
                ..QueueDeclareOptions::default()
            };
            channel
                .queue_declare(ShortString::from(name), passive, FieldTable::default())
                .await?;
            Ok(())
        }
        Err(err) => Err(err.into()),
    }
}

fn is_precondition_failed(err: &lapin::Error) -> bool {
    matches!(
        err.kind(),
        lapin::ErrorKind::ProtocolError(amqp) if *amqp.kind()
            == lapin::protocol::AMQPErrorKind::Soft(lapin::protocol::AMQPSoftError::PRECONDITIONFAILED)
    )
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

/// Declares every exchange, queue and binding OMS uses. Idempotent: every process runs it at
/// start-up with the same arguments; a queue declared earlier with other arguments is kept.
pub async fn declare_topology(
    connection: &Connection,
    partitions: u32,
    replicas: Option<u32>,
) -> Result<(), BrokerError> {
    let mut channel = connection.create_channel().await?;
    let channel = &mut channel;
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
        declare_queue(connection, channel, &dlq, dead_letter_arguments(replicas)).await?;
        channel
            .queue_bind(
                ShortString::from(dlq.as_str()),
                routing::DEAD_LETTER_EXCHANGE.into(),
                ShortString::from(spec.name.as_str()),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await?;
        declare_queue(connection, channel, &spec.name, queue_arguments(&spec, replicas)).await?;
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
    declare_analytics_queue(connection, channel, replicas).await?;
    let _ = channel.close(200, "declared".into()).await;
    Ok(())
}

/// The analytics projection's queue, bound to every order status event on `oms.events`:
/// quorum, single active consumer, dead letters like every other queue.
async fn declare_analytics_queue(
    connection: &Connection,
    channel: &mut Channel,
    replicas: Option<u32>,
) -> Result<(), BrokerError> {
    let name = routing::ANALYTICS_QUEUE;
    let dlq = routing::dead_letter_queue(name);
    declare_queue(connection, channel, &dlq, dead_letter_arguments(replicas)).await?;
    channel
        .queue_bind(
            ShortString::from(dlq.as_str()),
            routing::DEAD_LETTER_EXCHANGE.into(),
            name.into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await?;
    let mut args = quorum_arguments(replicas);
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
    declare_queue(connection, channel, name, args).await?;
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
