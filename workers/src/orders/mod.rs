//! The order worker: each order's process manager. One active consumer per partition
//! (`oms.orders.<k>`) serialises an order's messages; a conditional write on the order's
//! version guards against a second consumer during a fail-over.
//!
//! The messages a change produces are stored with it (the order's outbox, tagged with the
//! message that caused it). They are published, with confirms, before the input is acked;
//! if the process dies in between, the redelivered input finds its change already made and
//! publishes the stored messages again.

pub mod process;

use futures_util::future::BoxFuture;
use mongodb::bson::{self, doc};
use oms_contracts::messages::{Envelope, OrderMessage};
use oms_platform::broker::Outgoing;
use oms_platform::store::StoredMessage;
use oms_platform::{Broker, Store};

use crate::consumer::{HandleError, Handler};
use crate::failpoint::{FailPoints, points};
use process::{Context, Output};

pub struct OrderHandler {
    pub store: Store,
    pub broker: Broker,
    pub failpoints: FailPoints,
    pub partitions: u32,
}

/// Attempts at a conditional write before giving the message back as transient.
const MAX_CONFLICTS: u32 = 20;

impl Handler for OrderHandler {
    type Message = OrderMessage;

    fn handle<'a>(&'a self, envelope: &'a Envelope<OrderMessage>) -> BoxFuture<'a, Result<(), HandleError>> {
        Box::pin(self.apply(envelope))
    }
}

impl OrderHandler {
    async fn apply(&self, envelope: &Envelope<OrderMessage>) -> Result<(), HandleError> {
        let order_id = envelope.body.order_id().clone();
        let cause = envelope.message_id.to_string();
        for _ in 0..MAX_CONFLICTS {
            let Some(order) = self
                .store
                .orders()
                .find_one(doc! { "_id": order_id.as_str() })
                .await?
            else {
                return match envelope.body {
                    // The API withdrew the order (its publish was not confirmed) before we started.
                    OrderMessage::PlaceOrder { .. } => {
                        tracing::info!(%order_id, "order withdrawn before placement; nothing to do");
                        Ok(())
                    }
                    _ => Err(HandleError::Permanent(format!("no order {order_id}"))),
                };
            };
            if order.outbox_cause.as_deref() == Some(cause.as_str()) {
                // Redelivered after its change was committed: finish what was interrupted.
                tracing::info!(%order_id, "change already made; re-sending its messages");
                return self.publish_stored(&order.outbox).await;
            }
            let decision = process::decide(
                &order,
                &envelope.body,
                &Context {
                    partitions: self.partitions,
                    now: chrono::Utc::now(),
                },
            );
            let outgoing: Vec<Outgoing> = decision
                .outputs
                .iter()
                .map(|o| to_outgoing(envelope, o))
                .collect();
            let Some(mut next) = decision.next else {
                self.broker.publish_all(outgoing).await?;
                return Ok(());
            };
            next.version = order.version + 1;
            next.updated_at = bson::DateTime::now();
            next.outbox = outgoing.iter().map(stored).collect();
            next.outbox_cause = Some(cause.clone());
            let written = self
                .store
                .orders()
                .replace_one(doc! { "_id": order_id.as_str(), "version": order.version }, &next)
                .await?;
            if written.matched_count == 0 {
                // Someone else changed the order meanwhile: decide again on the new state.
                continue;
            }
            if order.status != next.status {
                tracing::info!(%order_id, from = %order.status, to = %next.status, "order status changed");
            }
            self.failpoints.check(points::ORDERS_AFTER_COMMIT)?;
            self.broker.publish_all(outgoing).await?;
            return Ok(());
        }
        Err(HandleError::Transient(anyhow::anyhow!(
            "order {order_id} kept changing under us ({MAX_CONFLICTS} conflicts)"
        )))
    }

    async fn publish_stored(&self, outbox: &[StoredMessage]) -> Result<(), HandleError> {
        let messages = outbox
            .iter()
            .filter_map(|m| Outgoing::from_stored(&m.exchange, &m.routing_key, &m.body))
            .collect();
        self.broker.publish_all(messages).await?;
        Ok(())
    }
}

fn to_outgoing(cause: &Envelope<OrderMessage>, output: &Output) -> Outgoing {
    match output {
        Output::Stock { queue, command } => Outgoing::command(queue.as_str(), &cause.follow(command.clone())),
        Output::Event(event) => Outgoing::event(&cause.follow(event.clone())),
    }
}

fn stored(message: &Outgoing) -> StoredMessage {
    StoredMessage {
        exchange: message.exchange.to_string(),
        routing_key: message.routing_key.clone(),
        body: String::from_utf8_lossy(&message.payload).into_owned(),
    }
}
