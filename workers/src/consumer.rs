//! The consume loop every worker shares, small enough to hold in one's head:
//! connect, prefetch, for each delivery: parse, handle (commit, publish with confirm), ack.
//! A transient failure (store or broker down) is retried with exponential backoff without
//! acking; a permanent one is dead-lettered with its reason; a lost connection is re-made
//! with backoff. On shutdown the current delivery finishes or stays unacked — never half-applied.

use std::sync::Arc;
use std::time::Duration;

use backoff::ExponentialBackoff;
use backoff::backoff::Backoff;
use futures_util::future::BoxFuture;
use futures_util::{FutureExt, StreamExt};
use lapin::message::Delivery;
use lapin::options::{BasicAckOptions, BasicConsumeOptions, BasicQosOptions};
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use lapin::{BasicProperties, Channel, Connection};
use oms_contracts::messages::Envelope;
use oms_contracts::routing::DEAD_LETTER_EXCHANGE;
use oms_platform::Broker;
use oms_platform::broker::Outgoing;
use serde::de::DeserializeOwned;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

/// How a handler failed.
#[derive(Debug, thiserror::Error)]
pub enum HandleError {
    /// May go away by itself (store or broker unavailable, write conflict): retry later.
    #[error("transient failure: {0:#}")]
    Transient(anyhow::Error),
    /// Will never succeed: dead-letter the message with this reason.
    #[error("permanent failure: {0}")]
    Permanent(String),
    /// A fail point fired: behave as if the process died here (no ack, connection dropped).
    #[error("simulated crash at fail point {0}")]
    Crash(&'static str),
}

impl From<mongodb::error::Error> for HandleError {
    fn from(err: mongodb::error::Error) -> Self {
        if oms_platform::store::is_transient(&err) {
            HandleError::Transient(err.into())
        } else {
            HandleError::Permanent(format!("store error: {err}"))
        }
    }
}

impl From<oms_platform::BrokerError> for HandleError {
    fn from(err: oms_platform::BrokerError) -> Self {
        match err {
            oms_platform::BrokerError::Unroutable(key) => {
                HandleError::Permanent(format!("no queue for routing key {key}"))
            }
            other => HandleError::Transient(other.into()),
        }
    }
}

/// Handles one kind of message. Must be idempotent: a message may arrive more than once.
pub trait Handler: Send + Sync + 'static {
    type Message: DeserializeOwned + Send + Sync + 'static;

    fn handle<'a>(&'a self, envelope: &'a Envelope<Self::Message>) -> BoxFuture<'a, Result<(), HandleError>>;

    /// Handles several messages as one unit: all done, or (on an error) any of them may be
    /// done and all come back. The default handles them one after the other.
    fn handle_batch<'a>(
        &'a self,
        envelopes: &'a [Envelope<Self::Message>],
    ) -> BoxFuture<'a, Result<(), HandleError>> {
        Box::pin(async move {
            for envelope in envelopes {
                self.handle(envelope).await?;
            }
            Ok(())
        })
    }
}

pub struct Consumer<H> {
    pub queue: String,
    pub prefetch: u16,
    /// The most deliveries handled as one batch (1: one at a time). A batch is what has
    /// already arrived; the consumer never waits for more.
    pub batch: usize,
    pub handler: Arc<H>,
    pub broker: Broker,
    pub shutdown: CancellationToken,
}

enum SessionEnd {
    Shutdown,
    /// The connection or channel went away (or a simulated crash): reconnect.
    Lost,
}

enum Processed {
    Done,
    Shutdown,
    Lost,
}

fn backoff(max_interval: Duration) -> ExponentialBackoff {
    ExponentialBackoff {
        initial_interval: Duration::from_millis(50),
        max_interval,
        // Never give up on a transient failure: the partition waits for the store or broker.
        max_elapsed_time: None,
        ..ExponentialBackoff::default()
    }
}

impl<H: Handler> Consumer<H> {
    pub async fn run(self) {
        let mut reconnect = backoff(Duration::from_secs(5));
        loop {
            if self.shutdown.is_cancelled() {
                return;
            }
            match self.session(&mut reconnect).await {
                Ok(SessionEnd::Shutdown) => return,
                Ok(SessionEnd::Lost) => {}
                Err(err) => tracing::warn!(queue = %self.queue, error = %err, "consumer lost its connection"),
            }
            let wait = reconnect.next_backoff().unwrap_or(Duration::from_secs(5));
            tokio::select! {
                _ = self.shutdown.cancelled() => return,
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }

    async fn session(&self, reconnect: &mut ExponentialBackoff) -> Result<SessionEnd, anyhow::Error> {
        let connection = self
            .broker
            .dedicated_connection(&format!("consumer/{}", self.queue), Duration::from_secs(10))
            .await?;
        let channel = connection.create_channel().await?;
        channel
            .basic_qos(self.prefetch, BasicQosOptions::default())
            .await?;
        let mut deliveries = channel
            .basic_consume(
                ShortString::from(self.queue.as_str()),
                ShortString::from(format!("oms-{}-{}", self.queue, uuid::Uuid::new_v4().simple())),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await?;
        reconnect.reset();
        tracing::info!(queue = %self.queue, "consuming");
        loop {
            let next = tokio::select! {
                _ = self.shutdown.cancelled() => {
                    close(&connection, "shutting down").await;
                    return Ok(SessionEnd::Shutdown);
                }
                next = deliveries.next() => next,
            };
            let delivery = match next {
                None => return Ok(SessionEnd::Lost),
                Some(Err(err)) => return Err(err.into()),
                Some(Ok(delivery)) => delivery,
            };
            let mut batch = vec![delivery];
            let mut ended = false;
            if self.batch > 1 {
                // Take what has arrived already, up to the bound; one yield lets the
                // connection's reader hand over what it is holding.
                for yielded in [false, true] {
                    if yielded {
                        tokio::task::yield_now().await;
                    }
                    while batch.len() < self.batch && !ended {
                        match deliveries.next().now_or_never() {
                            None => break,
                            Some(Some(Ok(delivery))) => batch.push(delivery),
                            // Handle what arrived; the session ends after (acks will fail).
                            Some(None | Some(Err(_))) => ended = true,
                        }
                    }
                }
            }
            let processed = match <[Delivery; 1]>::try_from(batch) {
                Ok([delivery]) => self.process(&channel, delivery).await,
                Err(batch) => self.process_batch(&channel, batch).await,
            };
            if ended && matches!(processed, Processed::Done) {
                close(&connection, "the delivery stream ended").await;
                return Ok(SessionEnd::Lost);
            }
            match processed {
                Processed::Done => {}
                Processed::Shutdown => {
                    close(&connection, "shutting down").await;
                    return Ok(SessionEnd::Shutdown);
                }
                Processed::Lost => {
                    close(&connection, "dropping the connection").await;
                    return Ok(SessionEnd::Lost);
                }
            }
        }
    }

    async fn process(&self, channel: &Channel, delivery: Delivery) -> Processed {
        let attempt = delivery_count(&delivery.properties) + 1;
        metrics::counter!("oms_messages_consumed_total", "queue" => self.queue.clone()).increment(1);
        let envelope: Envelope<H::Message> = match serde_json::from_slice(&delivery.data) {
            Ok(envelope) => envelope,
            Err(err) => {
                let reason = format!("unparseable message: {err}");
                return self.dead_letter(delivery, &reason, attempt).await;
            }
        };
        let span = tracing::info_span!(
            "handle",
            queue = %self.queue,
            message_id = %envelope.message_id,
            correlation_id = %envelope.correlation_id,
            causation_id = %envelope.causation_id,
            kind = delivery.properties.kind().as_ref().map(|k| k.as_str()).unwrap_or("-"),
            attempt,
        );
        let kind = delivery
            .properties
            .kind()
            .as_ref()
            .map(|k| k.as_str().to_string())
            .unwrap_or_else(|| "unknown".to_string());
        let mut retry = backoff(Duration::from_secs(2));
        loop {
            let started = std::time::Instant::now();
            let result = self.handler.handle(&envelope).instrument(span.clone()).await;
            metrics::histogram!("oms_handler_duration_seconds", "type" => kind.clone())
                .record(started.elapsed().as_secs_f64());
            match result {
                Ok(()) => {
                    return match delivery.ack(BasicAckOptions::default()).await {
                        Ok(true) => {
                            metrics::counter!("oms_messages_acked_total", "queue" => self.queue.clone())
                                .increment(1);
                            Processed::Done
                        }
                        // Unacked: it will come back, and the handler is idempotent.
                        Ok(false) | Err(_) => Processed::Lost,
                    };
                }
                Err(HandleError::Transient(err)) => {
                    if !channel.status().connected() {
                        // The broker has given this delivery (and the partition) to another
                        // consumer: retrying here would race it.
                        span.in_scope(|| tracing::warn!(error = %format!("{err:#}"), "channel lost while retrying; giving the delivery up"));
                        return Processed::Lost;
                    }
                    let wait = retry.next_backoff().unwrap_or(Duration::from_secs(2));
                    metrics::counter!("oms_messages_retried_total", "queue" => self.queue.clone())
                        .increment(1);
                    span.in_scope(|| tracing::warn!(error = %format!("{err:#}"), retry_in = ?wait, "transient failure; retrying"));
                    tokio::select! {
                        // Leave it unacked: the broker gives it to whoever consumes next.
                        _ = self.shutdown.cancelled() => return Processed::Shutdown,
                        _ = tokio::time::sleep(wait) => {}
                    }
                }
                Err(HandleError::Permanent(reason)) => {
                    span.in_scope(|| tracing::error!(%reason, "permanent failure; dead-lettering"));
                    return self.dead_letter(delivery, &reason, attempt).await;
                }
                Err(HandleError::Crash(point)) => {
                    span.in_scope(|| tracing::warn!(point, "fail point: simulating a crash"));
                    return Processed::Lost;
                }
            }
        }
    }

    /// Handles several deliveries as one batch and acks them with one `multiple` ack. An
    /// unparseable one is dead-lettered by itself; if the batch fails permanently, each
    /// delivery is handled alone, so that only the bad one is dead-lettered.
    async fn process_batch(&self, channel: &Channel, deliveries: Vec<Delivery>) -> Processed {
        let mut parsed = Vec::with_capacity(deliveries.len());
        for delivery in deliveries {
            metrics::counter!("oms_messages_consumed_total", "queue" => self.queue.clone()).increment(1);
            match serde_json::from_slice::<Envelope<H::Message>>(&delivery.data) {
                Ok(envelope) => parsed.push((delivery, envelope)),
                Err(err) => {
                    let attempt = delivery_count(&delivery.properties) + 1;
                    let reason = format!("unparseable message: {err}");
                    match self.dead_letter(delivery, &reason, attempt).await {
                        Processed::Done => {}
                        other => return other,
                    }
                }
            }
        }
        let (deliveries, envelopes): (Vec<Delivery>, Vec<Envelope<H::Message>>) = parsed.into_iter().unzip();
        let Some(last) = deliveries.last() else {
            return Processed::Done;
        };
        let span = tracing::info_span!("handle_batch", queue = %self.queue, size = envelopes.len());
        let mut retry = backoff(Duration::from_secs(2));
        loop {
            let started = std::time::Instant::now();
            let result = self
                .handler
                .handle_batch(&envelopes)
                .instrument(span.clone())
                .await;
            metrics::histogram!("oms_batch_duration_seconds", "queue" => self.queue.clone())
                .record(started.elapsed().as_secs_f64());
            match result {
                Ok(()) => {
                    // One ack for the batch: every delivery up to the last one on this channel
                    // (the dead-lettered ones among them are acked already).
                    return match last.ack(BasicAckOptions { multiple: true }).await {
                        Ok(true) => {
                            metrics::counter!("oms_messages_acked_total", "queue" => self.queue.clone())
                                .increment(deliveries.len() as u64);
                            Processed::Done
                        }
                        Ok(false) | Err(_) => Processed::Lost,
                    };
                }
                Err(HandleError::Transient(err)) => {
                    if !channel.status().connected() {
                        span.in_scope(|| tracing::warn!(error = %format!("{err:#}"), "channel lost while retrying; giving the batch up"));
                        return Processed::Lost;
                    }
                    let wait = retry.next_backoff().unwrap_or(Duration::from_secs(2));
                    metrics::counter!("oms_messages_retried_total", "queue" => self.queue.clone())
                        .increment(deliveries.len() as u64);
                    span.in_scope(|| tracing::warn!(error = %format!("{err:#}"), retry_in = ?wait, "transient failure; retrying the batch"));
                    tokio::select! {
                        _ = self.shutdown.cancelled() => return Processed::Shutdown,
                        _ = tokio::time::sleep(wait) => {}
                    }
                }
                Err(HandleError::Permanent(reason)) => {
                    span.in_scope(|| tracing::warn!(%reason, "batch failed permanently; handling its messages one at a time"));
                    for delivery in deliveries {
                        match self.process(channel, delivery).await {
                            Processed::Done => {}
                            other => return other,
                        }
                    }
                    return Processed::Done;
                }
                Err(HandleError::Crash(point)) => {
                    span.in_scope(|| tracing::warn!(point, "fail point: simulating a crash"));
                    return Processed::Lost;
                }
            }
        }
    }

    /// Moves the delivery to its dead-letter queue with the reason in its headers
    /// (published with a confirm first, then acked, so it is never lost in between).
    async fn dead_letter(&self, delivery: Delivery, reason: &str, attempt: i64) -> Processed {
        let mut headers = delivery.properties.headers().clone().unwrap_or_default();
        let now = chrono::Utc::now().to_rfc3339();
        let first = headers
            .inner()
            .get("x-oms-first-failure-at")
            .cloned()
            .unwrap_or(AMQPValue::LongString(LongString::from(now.as_str())));
        let reason: String = reason.chars().take(1000).collect();
        headers.insert(
            "x-oms-reason".into(),
            AMQPValue::LongString(LongString::from(reason.as_str())),
        );
        headers.insert("x-oms-attempts".into(), AMQPValue::LongLongInt(attempt));
        headers.insert("x-oms-first-failure-at".into(), first);
        headers.insert(
            "x-oms-dead-lettered-at".into(),
            AMQPValue::LongString(LongString::from(now.as_str())),
        );
        headers.insert(
            "x-oms-original-queue".into(),
            AMQPValue::LongString(LongString::from(self.queue.as_str())),
        );
        let properties: BasicProperties = delivery.properties.clone().with_headers(headers);
        let message = Outgoing {
            exchange: DEAD_LETTER_EXCHANGE,
            routing_key: self.queue.clone(),
            payload: delivery.data.clone(),
            properties,
        };
        let mut retry = backoff(Duration::from_secs(2));
        loop {
            match self.broker.publish(message.clone()).await {
                Ok(()) => break,
                Err(err) => {
                    let wait = retry.next_backoff().unwrap_or(Duration::from_secs(2));
                    tracing::warn!(queue = %self.queue, error = %err, "cannot dead-letter yet; retrying");
                    tokio::select! {
                        _ = self.shutdown.cancelled() => return Processed::Shutdown,
                        _ = tokio::time::sleep(wait) => {}
                    }
                }
            }
        }
        match delivery.ack(BasicAckOptions::default()).await {
            Ok(true) => {
                metrics::counter!("oms_messages_dead_lettered_total", "queue" => self.queue.clone())
                    .increment(1);
                Processed::Done
            }
            Ok(false) | Err(_) => Processed::Lost,
        }
    }
}

/// Quorum queues count deliveries in `x-delivery-count` (absent on the first).
fn delivery_count(properties: &BasicProperties) -> i64 {
    properties
        .headers()
        .as_ref()
        .and_then(|h| h.inner().get("x-delivery-count").cloned())
        .and_then(|v| match v {
            AMQPValue::LongLongInt(n) => Some(n),
            AMQPValue::LongInt(n) => Some(i64::from(n)),
            AMQPValue::ShortInt(n) => Some(i64::from(n)),
            AMQPValue::LongUInt(n) => Some(i64::from(n)),
            _ => None,
        })
        .unwrap_or(0)
}

async fn close(connection: &Connection, why: &str) {
    let _ = tokio::time::timeout(
        Duration::from_secs(2),
        connection.close(200, ShortString::from(why)),
    )
    .await;
}
