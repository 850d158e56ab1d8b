//! RabbitMQ: connecting with retry, declaring the topology, and publishing with confirms.
//!
//! The publisher keeps one connection and one confirm-mode channel, shared by every task
//! of the process (confirms are pipelined per channel). When the broker goes away the
//! next publish reconnects, at most once per second, so that an HTTP request fails fast
//! with 503 instead of hanging while the broker is down.

pub mod headers;
mod topology;
pub use topology::*;

use std::sync::Arc;
use std::time::{Duration, Instant};

use backoff::ExponentialBackoff;
use backoff::backoff::Backoff;
use lapin::options::{BasicPublishOptions, ConfirmSelectOptions};
use lapin::types::{FieldTable, LongString, ShortString};
use lapin::{BasicProperties, Channel, Confirmation, Connection, ConnectionProperties};
use oms_contracts::messages::{CONTENT_TYPE, Envelope, Event};
use oms_contracts::routing::{self};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use tokio::sync::Mutex;

use crate::urls::ServiceUrl;

#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    #[error("the message broker is unavailable: {0}")]
    Unavailable(String),
    #[error("the broker did not confirm the message within {0:?}")]
    ConfirmTimeout(Duration),
    #[error("the broker refused the message (nack)")]
    Nacked,
    #[error("the message could not be routed to any queue (routing key {0:?})")]
    Unroutable(String),
    /// The configured partition count does not match the deployment's.
    #[error("{0}")]
    Partitions(String),
    #[error(transparent)]
    Amqp(#[from] lapin::Error),
}

/// A message ready to publish: where it goes, its JSON body and AMQP properties.
#[derive(Clone, Debug)]
pub struct Outgoing {
    pub exchange: &'static str,
    pub routing_key: String,
    pub payload: Vec<u8>,
    pub properties: BasicProperties,
}

impl Outgoing {
    /// A command for the queue `queue` (routed by name through `oms.commands`).
    pub fn command<M: Serialize>(queue: impl Into<String>, envelope: &Envelope<M>) -> Self {
        Self::new(routing::COMMANDS_EXCHANGE, queue.into(), envelope)
    }

    /// An event on `oms.events`, routed by its kind.
    pub fn event(envelope: &Envelope<Event>) -> Self {
        Self::new(
            routing::EVENTS_EXCHANGE,
            envelope.body.routing_key().to_string(),
            envelope,
        )
    }

    /// Rebuilds a message stored as JSON (an order's outbox). `None` for an exchange OMS
    /// does not publish to.
    pub fn from_stored(exchange: &str, routing_key: &str, body: &str) -> Option<Self> {
        let exchange = [
            routing::COMMANDS_EXCHANGE,
            routing::EVENTS_EXCHANGE,
            routing::DEAD_LETTER_EXCHANGE,
        ]
        .into_iter()
        .find(|e| *e == exchange)?;
        let envelope: Envelope<serde_json::Value> = serde_json::from_str(body).ok()?;
        Some(Self::new(exchange, routing_key.to_string(), &envelope))
    }

    fn new<M: Serialize>(exchange: &'static str, routing_key: String, envelope: &Envelope<M>) -> Self {
        // Serialising our own types cannot fail: no maps with non-string keys, no floats.
        let value = serde_json::to_value(envelope).unwrap_or(serde_json::Value::Null);
        let kind = value
            .get("type")
            .and_then(|t| t.as_str())
            .unwrap_or("unknown")
            .to_string();
        let payload = serde_json::to_vec(&value).unwrap_or_default();
        let mut headers = FieldTable::default();
        headers.insert(
            self::headers::CAUSATION_ID.into(),
            self::headers::long_text(envelope.causation_id.as_str()),
        );
        let properties = BasicProperties::default()
            .with_content_type(CONTENT_TYPE.into())
            .with_delivery_mode(2)
            .with_message_id(ShortString::from(envelope.message_id.as_str()))
            .with_correlation_id(ShortString::from(envelope.correlation_id.as_str()))
            .with_type(ShortString::from(kind.as_str()))
            .with_timestamp(envelope.occurred_at.timestamp().max(0) as u64)
            .with_headers(headers);
        Self {
            exchange,
            routing_key,
            payload,
            properties,
        }
    }
}

#[derive(Clone)]
pub struct Broker {
    inner: Arc<Inner>,
}

struct Inner {
    url: SecretString,
    name: String,
    partitions: u32,
    confirm_timeout: Duration,
    publisher: Mutex<PublisherState>,
    /// Told when a reconnect attempt ends, whichever way.
    reconnected: tokio::sync::Notify,
}

#[derive(Default)]
struct PublisherState {
    connection: Option<Connection>,
    channel: Option<Channel>,
    last_failure: Option<Instant>,
    /// A reconnect is under way (in the background; see [`Broker::channel`]).
    reconnecting: bool,
}

/// How long a connection attempt to a lone address (or a new channel) may take before it counts
/// as failed.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a publish waits for a reconnect under way before it answers "unavailable": a
/// broker that is back reconnects in milliseconds, one that is down must not hold requests.
const RECONNECT_WAIT: Duration = Duration::from_millis(500);
/// The least time between two reconnect attempts.
const RECONNECT_EVERY: Duration = Duration::from_secs(1);

impl Broker {
    /// Connects (retrying with backoff for up to `patience`), declares the topology and
    /// opens the publishing channel. `name` shows in RabbitMQ's connection list.
    pub async fn connect(
        url: SecretString,
        partitions: u32,
        name: &str,
        patience: Duration,
    ) -> Result<Self, BrokerError> {
        let connection = connect_with_retry(&url, name, patience).await?;
        let replicas = quorum_replicas(addresses(&url)?.len());
        declare_topology(&connection, partitions, replicas).await?;
        let channel = connection.create_channel().await?;
        channel.confirm_select(ConfirmSelectOptions::default()).await?;
        Ok(Self {
            inner: Arc::new(Inner {
                url,
                name: name.to_string(),
                partitions,
                confirm_timeout: Duration::from_secs(10),
                publisher: Mutex::new(PublisherState {
                    connection: Some(connection),
                    channel: Some(channel),
                    last_failure: None,
                    reconnecting: false,
                }),
                reconnected: tokio::sync::Notify::new(),
            }),
        })
    }

    pub fn partitions(&self) -> u32 {
        self.inner.partitions
    }

    /// A new connection of its own (consumers use one each, so that a slow consumer
    /// never holds up publishing), retrying for up to `patience`.
    pub async fn dedicated_connection(
        &self,
        role: &str,
        patience: Duration,
    ) -> Result<Connection, BrokerError> {
        connect_with_retry(&self.inner.url, &format!("{}/{role}", self.inner.name), patience).await
    }

    /// Publishes one message and waits for the broker's confirm.
    pub async fn publish(&self, message: Outgoing) -> Result<(), BrokerError> {
        self.publish_all(vec![message]).await
    }

    /// Publishes messages in order, pipelining them, then waits for every confirm.
    /// `Ok` means the broker has taken responsibility for all of them.
    pub async fn publish_all(&self, messages: Vec<Outgoing>) -> Result<(), BrokerError> {
        if messages.is_empty() {
            return Ok(());
        }
        let started = Instant::now();
        let channel = self.channel().await?;
        let timeout = self.inner.confirm_timeout;
        let mut published: Vec<(&'static str, u64)> = Vec::new();
        for message in &messages {
            match published.iter_mut().find(|(e, _)| *e == message.exchange) {
                Some((_, n)) => *n += 1,
                None => published.push((message.exchange, 1)),
            }
        }
        let result = tokio::time::timeout(timeout, async {
            let mut confirms = Vec::with_capacity(messages.len());
            for message in messages {
                let confirm = channel
                    .basic_publish(
                        message.exchange.into(),
                        ShortString::from(message.routing_key.as_str()),
                        // Mandatory: a command that no queue takes is an error, not a silent drop.
                        BasicPublishOptions {
                            mandatory: message.exchange == routing::COMMANDS_EXCHANGE,
                            immediate: false,
                        },
                        &message.payload,
                        message.properties,
                    )
                    .await?;
                confirms.push((message.routing_key, confirm));
            }
            for (routing_key, confirm) in confirms {
                match confirm.await? {
                    Confirmation::Ack(None) | Confirmation::NotRequested => {}
                    Confirmation::Ack(Some(_returned)) => return Err(BrokerError::Unroutable(routing_key)),
                    Confirmation::Nack(_) => return Err(BrokerError::Nacked),
                }
            }
            Ok(())
        })
        .await;
        match result {
            Ok(Ok(())) => {
                // From the first publish to the last confirm: what a caller waits for the broker.
                metrics::histogram!("oms_publish_confirmed_seconds").record(started.elapsed().as_secs_f64());
                for (exchange, n) in published {
                    metrics::counter!("oms_messages_published_total", "exchange" => exchange).increment(n);
                }
                Ok(())
            }
            Ok(Err(err)) => {
                if !matches!(err, BrokerError::Unroutable(_)) {
                    self.invalidate(&channel).await;
                }
                Err(err)
            }
            Err(_) => {
                self.invalidate(&channel).await;
                Err(BrokerError::ConfirmTimeout(timeout))
            }
        }
    }

    /// Whether the broker can be reached now (reconnecting if needed).
    pub async fn check(&self) -> Result<(), BrokerError> {
        self.channel().await.map(|_| ())
    }

    /// Closes the publishing connection (at shutdown).
    pub async fn close(&self) {
        let mut state = self.inner.publisher.lock().await;
        state.channel = None;
        if let Some(connection) = state.connection.take() {
            // A connection the broker already dropped may never answer the close: do not wait on it.
            let closing = connection.close(200, "shutting down".into());
            let _ = tokio::time::timeout(Duration::from_secs(2), closing).await;
        }
    }

    /// The publishing channel. When it is gone, a reconnect starts in the background and the
    /// caller waits for it at most [`RECONNECT_WAIT`]: with the broker down, requests answer 503
    /// at once instead of queueing behind a connection attempt (up to [`CONNECT_TIMEOUT`]).
    async fn channel(&self) -> Result<Channel, BrokerError> {
        let waited = {
            let mut state = self.inner.publisher.lock().await;
            if let Some(channel) = &state.channel
                && channel.status().connected()
            {
                return Ok(channel.clone());
            }
            state.channel = None;
            if !state.reconnecting {
                if state
                    .last_failure
                    .is_some_and(|at| at.elapsed() < RECONNECT_EVERY)
                {
                    return Err(BrokerError::Unavailable(
                        "reconnect attempted less than a second ago".into(),
                    ));
                }
                state.reconnecting = true;
                let broker = self.clone();
                tokio::spawn(async move { broker.reconnect().await });
            }
            // Registered before the lock is released, so that the end cannot be missed.
            self.inner.reconnected.notified()
        };
        let _ = tokio::time::timeout(RECONNECT_WAIT, waited).await;
        let state = self.inner.publisher.lock().await;
        match &state.channel {
            Some(channel) if channel.status().connected() => Ok(channel.clone()),
            _ => Err(BrokerError::Unavailable("reconnecting to the broker".into())),
        }
    }

    /// One reconnect attempt, without holding the publisher's lock while it connects.
    async fn reconnect(&self) {
        let old = self.inner.publisher.lock().await.connection.take();
        if let Some(old) = old {
            let _ =
                tokio::time::timeout(Duration::from_millis(200), old.close(200, "reconnecting".into())).await;
        }
        let opened = self.open_publisher().await;
        let mut state = self.inner.publisher.lock().await;
        match opened {
            Ok((connection, channel)) => {
                state.connection = Some(connection);
                state.channel = Some(channel);
                state.last_failure = None;
                tracing::info!(name = %self.inner.name, "broker publisher reconnected");
            }
            Err(err) => {
                state.last_failure = Some(Instant::now());
                tracing::warn!(name = %self.inner.name, error = %err, "broker publisher cannot reconnect");
            }
        }
        state.reconnecting = false;
        self.inner.reconnected.notify_waiters();
    }

    async fn open_publisher(&self) -> Result<(Connection, Channel), BrokerError> {
        // Each address is tried for a bounded time; then the channel must open in time too.
        let connection = connect_once(&self.inner.url, &self.inner.name).await?;
        let setup = async {
            let channel = connection.create_channel().await?;
            channel.confirm_select(ConfirmSelectOptions::default()).await?;
            Ok::<_, BrokerError>(channel)
        };
        match tokio::time::timeout(CONNECT_TIMEOUT, setup).await {
            Ok(Ok(channel)) => Ok((connection, channel)),
            Ok(Err(err)) => Err(err),
            Err(_) => Err(BrokerError::Unavailable(format!(
                "no channel within {CONNECT_TIMEOUT:?}"
            ))),
        }
    }

    async fn invalidate(&self, failed: &Channel) {
        let mut state = self.inner.publisher.lock().await;
        if state.channel.as_ref().is_some_and(|c| c.id() == failed.id()) {
            state.channel = None;
        }
    }
}

/// The largest AMQP frame this client asks for, unless the URL says otherwise. Every OMS
/// message fits in a few kilobytes, while lapin keeps two buffers of 32 frames per connection:
/// at RabbitMQ's default of 128 KiB that is 8 MiB per connection, 56 MiB for `oms up`.
const FRAME_MAX: u32 = 16 * 1024;

/// The heartbeat this client asks for, in seconds, unless the URL says otherwise. A connection
/// that stops answering without being closed (a peer that froze, a half-open TCP connection
/// behind a load balancer) is given up by both sides after two missed heartbeats: with
/// RabbitMQ's default of 60 s, a consumer on such a connection would hold its partition's single
/// active consumer slot, and every order of the partition, for two minutes.
const HEARTBEAT_SECONDS: u16 = 10;

/// One URL per broker address: `amqp://user:pass@host1:5672,host2:5672/vhost` names a cluster's
/// nodes, which share the credentials, the vhost and the query.
fn addresses(url: &SecretString) -> Result<Vec<SecretString>, BrokerError> {
    ServiceUrl::parse(url.expose_secret())
        .map(|url| url.each_host().into_iter().map(SecretString::from).collect())
        .ok_or_else(|| BrokerError::Unavailable("the AMQP URL is not valid".into()))
}

/// How long one address may take to answer before the next is tried: a node that is gone
/// refuses at once, one that is unreachable must not hold the others up.
const ADDRESS_TIMEOUT: Duration = Duration::from_secs(2);

/// Connects to the first of the URL's addresses that answers, in the order given (list them in
/// another order per process to spread the connections over a cluster's nodes).
async fn connect_once(url: &SecretString, name: &str) -> Result<Connection, BrokerError> {
    let addresses = addresses(url)?;
    let patience = if addresses.len() > 1 {
        ADDRESS_TIMEOUT
    } else {
        CONNECT_TIMEOUT
    };
    let mut last = None;
    for address in &addresses {
        match tokio::time::timeout(patience, connect_address(address, name)).await {
            Ok(Ok(connection)) => return Ok(connection),
            Ok(Err(err)) => last = Some(err),
            Err(_) => {
                last = Some(BrokerError::Unavailable(format!(
                    "no connection within {patience:?}"
                )))
            }
        }
    }
    Err(last.unwrap_or_else(|| BrokerError::Unavailable("the AMQP URL names no address".into())))
}

async fn connect_address(url: &SecretString, name: &str) -> Result<Connection, BrokerError> {
    let properties = ConnectionProperties::default().with_connection_name(LongString::from(name));
    let mut uri: lapin::uri::AMQPUri = url
        .expose_secret()
        .parse()
        .map_err(|e: String| BrokerError::Unavailable(format!("the AMQP URL is not valid: {e}")))?;
    if uri.query.frame_max.is_none() {
        uri.query.frame_max = Some(FRAME_MAX);
    }
    if uri.query.heartbeat.is_none() {
        uri.query.heartbeat = Some(HEARTBEAT_SECONDS);
    }
    Ok(Connection::connect_uri(uri, properties).await?)
}

/// Connects, retrying with exponential backoff for up to `patience`.
pub async fn connect_with_retry(
    url: &SecretString,
    name: &str,
    patience: Duration,
) -> Result<Connection, BrokerError> {
    let mut backoff = ExponentialBackoff {
        initial_interval: Duration::from_millis(100),
        max_interval: Duration::from_secs(5),
        max_elapsed_time: Some(patience),
        ..ExponentialBackoff::default()
    };
    loop {
        // Bounded per address by connect_once.
        let error = match connect_once(url, name).await {
            Ok(connection) => return Ok(connection),
            Err(err) => err,
        };
        match backoff.next_backoff() {
            Some(wait) => {
                tracing::warn!(%name, error = %error, retry_in = ?wait, "cannot connect to the broker");
                tokio::time::sleep(wait).await;
            }
            None => return Err(error),
        }
    }
}
