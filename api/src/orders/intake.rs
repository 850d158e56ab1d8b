//! Group commit of new orders. Orders that arrive together are stored with one `insert_many`
//! and their placements published together, confirms pipelined, before each request gets its
//! answer: the same durability as one insert and one confirmed publish per order (nothing is
//! answered 202 before it is stored and its placement confirmed), for a fraction of the round
//! trips. A group is whatever is waiting when a slot frees up; nothing waits for a group to
//! fill, so a lone order pays no extra latency.

use std::sync::Arc;

use oms_contracts::OrderStatus;
use oms_contracts::messages::{Envelope, Event};
use oms_platform::broker::Outgoing;
use oms_platform::store::{self, OrderDoc};
use oms_platform::{Broker, Store};
use tokio::sync::{Semaphore, mpsc, oneshot};

use crate::error::ApiError;

/// The most orders stored with one insert.
const MAX_GROUP: usize = 256;
/// Groups being stored at once: while they are, the next orders gather. A stored group's
/// placements are published (and their confirms awaited) while the next group is stored.
const INSERTS_IN_FLIGHT: usize = 2;
/// Orders waiting for a group before requests are turned away with 503.
const QUEUE: usize = 8192;

/// What became of an order handed to the intake.
#[derive(Debug)]
pub enum Admitted {
    /// Stored, and its placement and its `PENDING` event confirmed by the broker.
    Accepted,
    /// Another order already holds its idempotency key.
    KeyTaken,
    /// Stored, but its placement was not confirmed (the cause): the caller decides whether to
    /// withdraw it.
    Unconfirmed(ApiError),
}

struct Job {
    order: OrderDoc,
    request_id: String,
    done: oneshot::Sender<Result<Admitted, ApiError>>,
}

/// The handle requests submit their orders through.
#[derive(Clone)]
pub struct Intake {
    sender: mpsc::Sender<Job>,
}

impl Intake {
    /// Starts the intake's task; it ends when every handle is dropped.
    pub fn start(store: Store, broker: Broker, partitions: u32) -> Self {
        let (sender, receiver) = mpsc::channel(QUEUE);
        tokio::spawn(run(
            receiver,
            Arc::new(Committer {
                store,
                broker,
                partitions,
            }),
        ));
        Self { sender }
    }

    /// Stores `order` and sends its placement, together with whatever else arrived meanwhile.
    pub async fn admit(&self, order: OrderDoc, request_id: String) -> Result<Admitted, ApiError> {
        let (done, answer) = oneshot::channel();
        self.sender
            .try_send(Job {
                order,
                request_id,
                done,
            })
            .map_err(|_| ApiError::Unavailable("the order intake (too many orders waiting)"))?;
        answer
            .await
            .map_err(|_| ApiError::Unavailable("the order intake"))?
    }
}

struct Committer {
    store: Store,
    broker: Broker,
    partitions: u32,
}

async fn run(mut receiver: mpsc::Receiver<Job>, committer: Arc<Committer>) {
    let slots = Arc::new(Semaphore::new(INSERTS_IN_FLIGHT));
    loop {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let Some(first) = receiver.recv().await else {
            return;
        };
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match receiver.try_recv() {
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        let committer = committer.clone();
        tokio::spawn(async move {
            let stored = committer.store(group).await;
            drop(slot);
            committer.publish(stored).await;
        });
    }
}

impl Committer {
    /// Stores a group with one insert; returns the jobs whose orders are stored (the others
    /// have their answer).
    async fn store(&self, group: Vec<Job>) -> Vec<Job> {
        metrics::histogram!("oms_order_intake_group_size").record(group.len() as f64);
        let orders: Vec<&OrderDoc> = group.iter().map(|j| &j.order).collect();
        let outcome = self.store.orders().insert_many(orders).ordered(false).await;
        // Which orders are stored; the others already have their answer.
        let mut stored: Vec<Job> = Vec::with_capacity(group.len());
        match outcome {
            Ok(_) => stored = group,
            Err(err) => match err.kind.as_ref() {
                // Each document's fate is known: stored, or refused with a write error.
                mongodb::error::ErrorKind::InsertMany(e) if e.write_concern_error.is_none() => {
                    let failed = e.write_errors.clone().unwrap_or_default();
                    for (i, job) in group.into_iter().enumerate() {
                        match failed.iter().find(|w| w.index == i) {
                            None => stored.push(job),
                            Some(w) if w.code == 11000 => {
                                let _ = job.done.send(Ok(Admitted::KeyTaken));
                            }
                            Some(w) => {
                                tracing::error!(order_id = %job.order.id, code = w.code, error = %w.message, "order not stored");
                                let _ = job.done.send(Err(ApiError::Internal(anyhow::anyhow!(
                                    "storing the order failed: {}",
                                    w.message
                                ))));
                            }
                        }
                    }
                }
                // The outcome is unknown (the connection broke after sending, a write concern
                // failed): the orders found stored go on, the others had no effect.
                _ => {
                    let ids: Vec<&str> = group.iter().map(|j| j.order.id.as_str()).collect();
                    let found = match err.kind.as_ref() {
                        // Never sent: nothing to look for (and the lookup would wait as long).
                        mongodb::error::ErrorKind::ServerSelection { .. } => Ok(Vec::new()),
                        _ => self.store.stored_order_ids(&ids).await,
                    };
                    for job in group {
                        match &found {
                            Ok(found) if found.iter().any(|id| id == job.order.id.as_str()) => {
                                stored.push(job)
                            }
                            _ => {
                                let _ = job.done.send(Err(ApiError::from(err.clone())));
                            }
                        }
                    }
                }
            },
        }
        stored
    }

    /// Publishes the placements of stored orders and their `PENDING` events, awaits every
    /// confirm, and answers each request.
    async fn publish(&self, stored: Vec<Job>) {
        if stored.is_empty() {
            return;
        }
        let messages: Vec<Outgoing> = stored
            .iter()
            .flat_map(|job| announce(&job.order, self.partitions, &job.request_id))
            .collect();
        match self.broker.publish_all(messages).await {
            Ok(()) => {
                for job in stored {
                    tracing::debug!(order_id = %job.order.id, "order accepted");
                    let _ = job.done.send(Ok(Admitted::Accepted));
                }
            }
            Err(err) => {
                tracing::warn!(error = %err, orders = stored.len(), "placements not confirmed");
                let unroutable = matches!(err, oms_platform::BrokerError::Unroutable(_));
                for job in stored {
                    let cause = if unroutable {
                        ApiError::Internal(anyhow::anyhow!("a placement could not be routed: {err}"))
                    } else {
                        ApiError::Unavailable("the message broker")
                    };
                    let _ = job.done.send(Ok(Admitted::Unconfirmed(cause)));
                }
            }
        }
    }
}

/// The messages that start a stored order on its way: its placement, and the event that
/// announces it `PENDING`.
pub fn announce(order: &OrderDoc, partitions: u32, request_id: &str) -> [Outgoing; 2] {
    let placement = oms_platform::placement::placement(order, partitions, request_id);
    let event = Envelope::new(
        order.id.to_string(),
        request_id,
        Event::OrderStatusChanged {
            order_id: order.id.clone(),
            user_id: order.user_id.clone(),
            from: None,
            to: OrderStatus::Pending,
            by: order.user_id.to_string(),
            reason: None,
            version: order.version,
            at: store::to_chrono(order.created_at),
            lines: order.event_lines(),
            total: order.total,
            number: order.number,
        },
    );
    [placement, Outgoing::event(&event)]
}
