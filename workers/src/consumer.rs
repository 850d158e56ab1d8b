//! The consume loop every worker shares, small enough to hold in one's head:
//! connect, prefetch; for each delivery (or batch of what has arrived): parse, handle (decide
//! and commit), publish what the handler committed to send, with confirms, then ack.
//!
//! Publishing and acking run beside the handling of the next batch, in delivery order: a batch
//! is acked only once its own messages and every earlier batch's are confirmed, so an ack never
//! covers work whose messages could still be lost. A transient failure (store or broker down)
//! is retried with exponential backoff without acking; a permanent one is dead-lettered with its
//! reason; a lost connection is re-made with backoff. On shutdown the current delivery finishes
//! or stays unacked — never half-applied.

use std::sync::Arc;
use std::time::Duration;

use backoff::ExponentialBackoff;
use backoff::backoff::Backoff;
use futures_util::future::BoxFuture;
use futures_util::{FutureExt, StreamExt};
use lapin::message::Delivery;
use lapin::options::{BasicAckOptions, BasicConsumeOptions, BasicQosOptions};
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use lapin::{BasicProperties, Channel, Connection, Consumer as Deliveries};
use oms_contracts::messages::Envelope;
use oms_contracts::routing::DEAD_LETTER_EXCHANGE;
use oms_platform::Broker;
use oms_platform::broker::Outgoing;
use serde::de::DeserializeOwned;
use tokio::sync::{mpsc, oneshot};
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

/// The messages a handled delivery (or batch) must send once its effect is committed. The
/// consumer publishes them, with confirms, before it acks.
pub type Outbox = Vec<Outgoing>;

/// Handles one kind of message: decides, commits, and returns what must be sent. Must be
/// idempotent: a message may arrive more than once, and must then return the same messages.
pub trait Handler: Send + Sync + 'static {
    type Message: DeserializeOwned + Send + Sync + 'static;

    fn handle<'a>(
        &'a self,
        envelope: &'a Envelope<Self::Message>,
    ) -> BoxFuture<'a, Result<Outbox, HandleError>>;

    /// Handles several messages as one unit: all done, or (on an error) any of them may be
    /// done and all come back. The default handles them one after the other.
    fn handle_batch<'a>(
        &'a self,
        envelopes: &'a [Envelope<Self::Message>],
    ) -> BoxFuture<'a, Result<Outbox, HandleError>> {
        Box::pin(async move {
            let mut outbox = Outbox::new();
            for envelope in envelopes {
                outbox.extend(self.handle(envelope).await?);
            }
            Ok(outbox)
        })
    }
}

pub struct Consumer<H> {
    pub queue: String,
    pub prefetch: u16,
    /// The most deliveries handled as one batch (1: one at a time). A batch is what has
    /// already arrived; the consumer never waits for more.
    pub batch: usize,
    /// Whether the next batch may be decided while the previous one's messages await their
    /// confirms. Only for handlers that can rebuild any committed decision's messages from what
    /// they recorded: a redelivery after a later batch committed must still re-send them.
    pub pipelined: bool,
    pub handler: Arc<H>,
    pub broker: Broker,
    pub shutdown: CancellationToken,
}

enum SessionEnd {
    Shutdown,
    /// The connection or channel went away (or a simulated crash): reconnect.
    Lost,
}

/// What became of a delivery or batch on the receiving side.
enum Processed {
    /// Committed: its messages and acks are handed to the sending side.
    Decided(Job),
    /// Finished here (dead-lettered, or it was all unparseable).
    Done,
    Shutdown,
    Lost,
}

/// Committed work waiting for its messages to be confirmed and its deliveries acked.
struct Job {
    deliveries: Vec<Delivery>,
    outbox: Outbox,
    /// Told once the job is acked, when the receiving side waits for it (not pipelined).
    acked: Option<oneshot::Sender<()>>,
}

/// What became of a job's messages.
enum Sent {
    /// Confirmed: its deliveries may be acked.
    Confirmed,
    /// Some were unroutable: their causes are dead-lettered, the other deliveries acked.
    Settled,
    /// The session ended first: its deliveries stay unacked and come back.
    Over,
}

/// Committed batches waiting to be sent, beyond the one being sent: the pipeline's depth.
const JOBS_WAITING: usize = 1;

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
        let deliveries = channel
            .basic_consume(
                ShortString::from(self.queue.as_str()),
                ShortString::from(format!("oms-{}-{}", self.queue, uuid::Uuid::new_v4().simple())),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await?;
        reconnect.reset();
        tracing::info!(queue = %self.queue, "consuming");
        // The receiving side decides batch after batch; the sending side publishes and acks
        // them in order. Either side ending the session stops the other.
        let (jobs, waiting) = mpsc::channel(JOBS_WAITING);
        let stop = CancellationToken::new();
        let (received, sent) = tokio::join!(
            self.receive(&channel, deliveries, jobs, &stop),
            self.send(waiting, &stop),
        );
        let end = match (received, sent) {
            (SessionEnd::Shutdown, SessionEnd::Shutdown) => SessionEnd::Shutdown,
            _ => SessionEnd::Lost,
        };
        let why = match end {
            SessionEnd::Shutdown => "shutting down",
            SessionEnd::Lost => "dropping the connection",
        };
        close(&connection, why).await;
        Ok(end)
    }

    /// Takes deliveries (a batch of what has arrived, up to the bound), has them decided, and
    /// hands the committed work to the sending side.
    async fn receive(
        &self,
        channel: &Channel,
        mut deliveries: Deliveries,
        jobs: mpsc::Sender<Job>,
        stop: &CancellationToken,
    ) -> SessionEnd {
        let end = loop {
            let next = tokio::select! {
                _ = self.shutdown.cancelled() => break SessionEnd::Shutdown,
                _ = stop.cancelled() => break SessionEnd::Lost,
                next = deliveries.next() => next,
            };
            let delivery = match next {
                None => {
                    // The channel is gone: what the sending side holds can no longer be acked.
                    stop.cancel();
                    break SessionEnd::Lost;
                }
                Some(Err(err)) => {
                    tracing::warn!(queue = %self.queue, error = %err, "delivery stream failed");
                    stop.cancel();
                    break SessionEnd::Lost;
                }
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
                Ok([delivery]) => self.process(channel, delivery).await,
                Err(batch) => self.process_batch(channel, batch, &jobs).await,
            };
            match processed {
                Processed::Decided(job) => {
                    if !self.hand_over(job, &jobs).await {
                        stop.cancel();
                        break SessionEnd::Lost;
                    }
                }
                Processed::Done => {}
                Processed::Shutdown => break SessionEnd::Shutdown,
                Processed::Lost => {
                    // Also what a simulated crash does: nothing more is sent or acked.
                    stop.cancel();
                    break SessionEnd::Lost;
                }
            }
            if ended {
                break SessionEnd::Lost;
            }
        };
        // Dropping `jobs` lets the sending side finish what is committed, then end.
        end
    }

    /// Gives a committed job to the sending side and, unless pipelined, waits until it is
    /// acked. `false` when the session ended first.
    async fn hand_over(&self, mut job: Job, jobs: &mpsc::Sender<Job>) -> bool {
        let acked = if self.pipelined {
            None
        } else {
            let (tell, acked) = oneshot::channel();
            job.acked = Some(tell);
            Some(acked)
        };
        if jobs.send(job).await.is_err() {
            return false;
        }
        match acked {
            Some(acked) => acked.await.is_ok(),
            None => true,
        }
    }

    /// Publishes each committed job's messages (confirmed) and then acks its deliveries, in
    /// the order they were decided.
    async fn send(&self, mut jobs: mpsc::Receiver<Job>, stop: &CancellationToken) -> SessionEnd {
        loop {
            let job = tokio::select! {
                _ = stop.cancelled() => return SessionEnd::Lost,
                job = jobs.recv() => job,
            };
            let Some(Job {
                deliveries,
                outbox,
                acked,
            }) = job
            else {
                return if self.shutdown.is_cancelled() {
                    SessionEnd::Shutdown
                } else {
                    SessionEnd::Lost
                };
            };
            let Some(last) = deliveries.last() else {
                if let Some(acked) = acked {
                    let _ = acked.send(());
                }
                continue;
            };
            match self.confirm(outbox, &deliveries, stop).await {
                Sent::Confirmed => {}
                Sent::Settled => {
                    if let Some(acked) = acked {
                        let _ = acked.send(());
                    }
                    continue;
                }
                Sent::Over => {
                    stop.cancel();
                    return SessionEnd::Lost;
                }
            }
            // One ack for the job: every delivery up to its last one on this channel (the
            // dead-lettered ones among them are acked already, earlier jobs before this one).
            let multiple = deliveries.len() > 1;
            match last.ack(BasicAckOptions { multiple }).await {
                Ok(true) => {
                    metrics::counter!("oms_messages_acked_total", "queue" => self.queue.clone())
                        .increment(deliveries.len() as u64);
                    if let Some(acked) = acked {
                        let _ = acked.send(());
                    }
                }
                // Unacked: they will come back, and the handler is idempotent.
                Ok(false) | Err(_) => {
                    stop.cancel();
                    return SessionEnd::Lost;
                }
            }
        }
    }

    /// Publishes `outbox` with confirms, retrying transient failures while the session lasts.
    /// A message that no queue takes is a permanent failure of the delivery that caused it:
    /// that delivery is dead-lettered, the others are acked one by one.
    async fn confirm(&self, outbox: Outbox, deliveries: &[Delivery], stop: &CancellationToken) -> Sent {
        let mut retry = backoff(Duration::from_secs(2));
        loop {
            let err = match self.broker.publish_all(outbox.clone()).await {
                Ok(()) => return Sent::Confirmed,
                Err(err) => err,
            };
            if matches!(err, oms_platform::BrokerError::Unroutable(_)) {
                match self.unroutable(&outbox, deliveries).await {
                    Ok(sent) => return sent,
                    // A transient failure while sorting them out: start over.
                    Err(other) => tracing::warn!(queue = %self.queue, error = %other, "cannot publish yet"),
                }
            }
            let wait = retry.next_backoff().unwrap_or(Duration::from_secs(2));
            metrics::counter!("oms_messages_retried_total", "queue" => self.queue.clone())
                .increment(deliveries.len() as u64);
            tracing::warn!(queue = %self.queue, error = %err, retry_in = ?wait, "cannot publish yet; retrying");
            tokio::select! {
                // Committed and recorded: unacked, it comes back and is re-sent from the record.
                _ = self.shutdown.cancelled() => return Sent::Over,
                _ = stop.cancelled() => return Sent::Over,
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }

    /// Some message of `outbox` has no queue: publishes them one by one to find which, and
    /// dead-letters the deliveries that caused those (every outgoing message names its cause
    /// in its `causation_id` header), acking the others.
    async fn unroutable(
        &self,
        outbox: &Outbox,
        deliveries: &[Delivery],
    ) -> Result<Sent, oms_platform::BrokerError> {
        let mut culprits: Vec<(String, String)> = Vec::new();
        for message in outbox {
            match self.broker.publish(message.clone()).await {
                Ok(()) => {}
                Err(oms_platform::BrokerError::Unroutable(key)) => {
                    culprits.push((causation_id(&message.properties).unwrap_or_default(), key));
                }
                Err(other) => return Err(other),
            }
        }
        for delivery in deliveries {
            let id = delivery.properties.message_id().as_ref().map(|id| id.to_string());
            let culprit = culprits.iter().find(|(cause, _)| Some(cause) == id.as_ref());
            let done = match culprit {
                Some((_, key)) => {
                    let reason = format!("no queue for routing key {key}");
                    tracing::error!(queue = %self.queue, %reason, "dead-lettering the message that sends it");
                    let attempt = delivery_count(&delivery.properties) + 1;
                    matches!(
                        self.dead_letter(delivery, &reason, attempt).await,
                        Processed::Done
                    )
                }
                None => matches!(delivery.ack(BasicAckOptions::default()).await, Ok(true)),
            };
            if !done {
                return Ok(Sent::Over);
            }
        }
        Ok(Sent::Settled)
    }

    async fn process(&self, channel: &Channel, delivery: Delivery) -> Processed {
        let attempt = delivery_count(&delivery.properties) + 1;
        metrics::counter!("oms_messages_consumed_total", "queue" => self.queue.clone()).increment(1);
        let envelope: Envelope<H::Message> = match serde_json::from_slice(&delivery.data) {
            Ok(envelope) => envelope,
            Err(err) => {
                let reason = format!("unparseable message: {err}");
                return self.dead_letter(&delivery, &reason, attempt).await;
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
                Ok(outbox) => {
                    return Processed::Decided(Job {
                        deliveries: vec![delivery],
                        outbox,
                        acked: None,
                    });
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
                    return self.dead_letter(&delivery, &reason, attempt).await;
                }
                Err(HandleError::Crash(point)) => {
                    span.in_scope(|| tracing::warn!(point, "fail point: simulating a crash"));
                    return Processed::Lost;
                }
            }
        }
    }

    /// Handles several deliveries as one batch, to be acked with one `multiple` ack. An
    /// unparseable one is dead-lettered by itself; if the batch fails permanently, each
    /// delivery is handled alone (each its own job), so that only the bad one is dead-lettered.
    async fn process_batch(
        &self,
        channel: &Channel,
        deliveries: Vec<Delivery>,
        jobs: &mpsc::Sender<Job>,
    ) -> Processed {
        let mut parsed = Vec::with_capacity(deliveries.len());
        for delivery in deliveries {
            metrics::counter!("oms_messages_consumed_total", "queue" => self.queue.clone()).increment(1);
            match serde_json::from_slice::<Envelope<H::Message>>(&delivery.data) {
                Ok(envelope) => parsed.push((delivery, envelope)),
                Err(err) => {
                    let attempt = delivery_count(&delivery.properties) + 1;
                    let reason = format!("unparseable message: {err}");
                    match self.dead_letter(&delivery, &reason, attempt).await {
                        Processed::Done => {}
                        other => return other,
                    }
                }
            }
        }
        let (deliveries, envelopes): (Vec<Delivery>, Vec<Envelope<H::Message>>) = parsed.into_iter().unzip();
        if deliveries.is_empty() {
            return Processed::Done;
        }
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
                Ok(outbox) => {
                    return Processed::Decided(Job {
                        deliveries,
                        outbox,
                        acked: None,
                    });
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
                            Processed::Decided(job) => {
                                if !self.hand_over(job, jobs).await {
                                    return Processed::Lost;
                                }
                            }
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
    async fn dead_letter(&self, delivery: &Delivery, reason: &str, attempt: i64) -> Processed {
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

/// The message an outgoing message follows from, as `Outgoing` records it.
fn causation_id(properties: &BasicProperties) -> Option<String> {
    match properties.headers().as_ref()?.inner().get("causation_id")? {
        AMQPValue::LongString(id) => Some(id.to_string()),
        _ => None,
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
