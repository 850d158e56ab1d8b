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

mod process;
mod publish;

use std::sync::Arc;
use std::time::Duration;

use backoff::ExponentialBackoff;
use backoff::backoff::Backoff;
use futures_util::future::BoxFuture;
use futures_util::{FutureExt, StreamExt};
use lapin::message::Delivery;
use lapin::options::{BasicConsumeOptions, BasicQosOptions};
use lapin::types::{FieldTable, ShortString};
use lapin::{Channel, Connection, Consumer as Deliveries};
use oms_contracts::messages::Envelope;
use oms_platform::Broker;
use oms_platform::broker::Outgoing;
use serde::de::DeserializeOwned;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

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
    /// already arrived, and what arrives within `linger` after its first delivery.
    pub batch: usize,
    /// How long a batch waits for more deliveries before it is handled (zero: never). For
    /// consumers whose cost is per batch and whose readers can wait a moment (projections):
    /// under load their batches fill, so each event costs a fraction of a round trip.
    pub linger: Duration,
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

/// How long opening a consumer's channel and subscribing may take.
const SETUP_TIMEOUT: Duration = Duration::from_secs(10);

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
        // A connection that stops answering while the consumer is set up must not hold it forever.
        let setup = async {
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
            Ok::<_, lapin::Error>((channel, deliveries))
        };
        let (channel, deliveries) = match tokio::time::timeout(SETUP_TIMEOUT, setup).await {
            Ok(result) => result?,
            Err(_) => {
                close(&connection, "no answer while setting up").await;
                anyhow::bail!(
                    "the broker did not answer within {SETUP_TIMEOUT:?} while the consumer was set up"
                );
            }
        };
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
                if !self.linger.is_zero() && batch.len() < self.batch && !ended {
                    let until = tokio::time::sleep(self.linger);
                    tokio::pin!(until);
                    while batch.len() < self.batch && !ended {
                        tokio::select! {
                            _ = &mut until => break,
                            _ = self.shutdown.cancelled() => break,
                            next = deliveries.next() => match next {
                                Some(Ok(delivery)) => batch.push(delivery),
                                None | Some(Err(_)) => ended = true,
                            },
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
}

/// How long an ack may take to be handed to the connection before the session counts as lost.
const ACK_TIMEOUT: Duration = Duration::from_secs(10);

/// Acks `delivery` (with `multiple`, every earlier one on its channel too). `false` when the
/// channel is gone or the ack is not taken in time: the deliveries come back to whoever consumes
/// next, and handlers are idempotent.
async fn ack(delivery: &Delivery, multiple: bool) -> bool {
    let acking = delivery.ack(lapin::options::BasicAckOptions { multiple });
    matches!(tokio::time::timeout(ACK_TIMEOUT, acking).await, Ok(Ok(true)))
}

async fn close(connection: &Connection, why: &str) {
    let _ = tokio::time::timeout(
        Duration::from_secs(2),
        connection.close(200, ShortString::from(why)),
    )
    .await;
}
