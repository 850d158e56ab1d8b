//! The order worker: each order's process manager. One active consumer per partition
//! (`oms.orders.<k>`) serialises an order's messages; a conditional write on the order's
//! version guards against a second consumer during a fail-over.
//!
//! The messages a change produces are stored with it (the order's outbox, tagged with the
//! messages that caused it). They are published, with confirms, before the input is acked;
//! if the process dies in between, the redelivered input finds its change already made and
//! publishes the stored messages again. The order also remembers the ids of the last messages
//! applied to it, so that no message is applied twice.
//!
//! In a batch (`OMS_ORDER_BATCH`), all of one order's messages are applied with one write, and
//! everything the batch sends goes out in one confirmed publish before the batch is acked.

pub mod process;

use std::collections::HashMap;

use futures_util::TryStreamExt;
use futures_util::future::BoxFuture;
use mongodb::bson::{self, doc};
use oms_contracts::OrderId;
use oms_contracts::messages::{Envelope, OrderMessage};
use oms_platform::Store;
use oms_platform::broker::Outgoing;
use oms_platform::store::{OrderDoc, StoredMessage};

use crate::consumer::{HandleError, Handler, Outbox};
use crate::failpoint::{FailPoints, points};
use process::{Context, Output};

pub struct OrderHandler {
    pub store: Store,
    pub failpoints: FailPoints,
    pub partitions: u32,
}

/// Attempts at a conditional write before giving the message back as transient.
const MAX_CONFLICTS: u32 = 20;

impl Handler for OrderHandler {
    type Message = OrderMessage;

    fn handle<'a>(
        &'a self,
        envelope: &'a Envelope<OrderMessage>,
    ) -> BoxFuture<'a, Result<Outbox, HandleError>> {
        Box::pin(async move {
            let order = self.read(envelope.body.order_id()).await?;
            self.apply(order, &[envelope]).await
        })
    }

    fn handle_batch<'a>(
        &'a self,
        envelopes: &'a [Envelope<OrderMessage>],
    ) -> BoxFuture<'a, Result<Outbox, HandleError>> {
        Box::pin(self.batch(envelopes))
    }
}

impl OrderHandler {
    async fn read(&self, order_id: &OrderId) -> Result<Option<OrderDoc>, HandleError> {
        Ok(self.store.order(order_id).await?)
    }

    /// A batch: one read of its orders, one write per order for all of that order's messages
    /// (the replies to an order's reservations tend to arrive together); everything the batch
    /// sends is returned for the consumer to publish, confirmed, before it acks the batch.
    async fn batch(&self, envelopes: &[Envelope<OrderMessage>]) -> Result<Outbox, HandleError> {
        let mut groups: Vec<(&OrderId, Vec<&Envelope<OrderMessage>>)> = Vec::new();
        for envelope in envelopes {
            let order_id = envelope.body.order_id();
            match groups.iter_mut().find(|(id, _)| *id == order_id) {
                Some((_, group)) => group.push(envelope),
                None => groups.push((order_id, vec![envelope])),
            }
        }
        let ids: Vec<&str> = groups.iter().map(|(id, _)| id.as_str()).collect();
        let mut orders: HashMap<OrderId, OrderDoc> = self
            .store
            .orders()
            .find(doc! { "_id": { "$in": &ids } })
            // The whole batch in the first reply (the server's default first batch is 101).
            .batch_size(1024)
            .await?
            .try_collect::<Vec<_>>()
            .await?
            .into_iter()
            .map(|o| (o.id.clone(), o))
            .collect();
        let mut outgoing = Vec::new();
        for (order_id, group) in &groups {
            let order = orders.remove(*order_id);
            outgoing.extend(self.apply(order, group).await?);
        }
        Ok(outgoing)
    }

    /// Applies one order's messages, in delivery order, with one conditional write, and
    /// returns the messages to publish. `order` is the order as last read.
    async fn apply(
        &self,
        mut order: Option<OrderDoc>,
        envelopes: &[&Envelope<OrderMessage>],
    ) -> Result<Vec<Outgoing>, HandleError> {
        for _ in 0..MAX_CONFLICTS {
            let Some(current) = order else {
                return missing(envelopes);
            };
            let mut outgoing = Vec::new();
            let mut resend = false;
            let mut next: Option<OrderDoc> = None;
            let mut causes = Vec::new();
            for envelope in envelopes {
                let cause = envelope.message_id.to_string();
                if current.outbox_causes.contains(&cause) {
                    resend = true;
                    continue;
                }
                if current.seen.contains(&cause) || causes.contains(&cause) {
                    // Applied, and its messages sent, before the order's latest change.
                    continue;
                }
                let state = next.as_ref().unwrap_or(&current);
                let decision = process::decide(
                    state,
                    &envelope.body,
                    &Context {
                        partitions: self.partitions,
                        now: chrono::Utc::now(),
                    },
                );
                outgoing.extend(decision.outputs.iter().map(|o| to_outgoing(envelope, o)));
                if let Some(changed) = decision.next {
                    causes.push(cause);
                    next = Some(changed);
                }
            }
            // Redelivered after its change was committed: what that change sends goes out again.
            let mut resent = Vec::new();
            if resend {
                tracing::info!(order_id = %current.id, "change already made; re-sending its messages");
                resent = stored_outgoing(&current.outbox);
            }
            let Some(mut next) = next else {
                resent.append(&mut outgoing);
                return Ok(resent);
            };
            // `next.version` is already one on per change decided (see `process::change`).
            next.updated_at = bson::DateTime::now();
            next.track_releasing(next.updated_at);
            // Only the new messages: a re-sent outbox is published, not stored again.
            next.outbox = outgoing.iter().map(stored).collect();
            next.seen = current
                .seen
                .iter()
                .chain(&current.outbox_causes)
                .chain(&causes)
                .cloned()
                .collect();
            let excess = next.seen.len().saturating_sub(OrderDoc::SEEN);
            next.seen.drain(..excess);
            next.outbox_causes = causes;
            let written = self
                .store
                .orders()
                .replace_one(
                    doc! { "_id": current.id.as_str(), "version": current.version },
                    &next,
                )
                .await?;
            if written.matched_count == 0 {
                // Someone else changed the order meanwhile: decide again on the new state.
                order = self.store.order(&current.id).await?;
                continue;
            }
            if current.status != next.status {
                tracing::info!(order_id = %current.id, from = %current.status, to = %next.status, "order status changed");
            }
            self.failpoints.check(points::ORDERS_AFTER_COMMIT)?;
            resent.append(&mut outgoing);
            return Ok(resent);
        }
        Err(HandleError::Transient(anyhow::anyhow!(
            "order kept changing under us ({MAX_CONFLICTS} conflicts)"
        )))
    }
}

/// No such order: a placement the API withdrew (its publish was not confirmed) before the
/// worker started has nothing to do; any other message for it is a mistake.
fn missing(envelopes: &[&Envelope<OrderMessage>]) -> Result<Vec<Outgoing>, HandleError> {
    for envelope in envelopes {
        let order_id = envelope.body.order_id();
        match envelope.body {
            OrderMessage::PlaceOrder { .. } => {
                tracing::info!(%order_id, "order withdrawn before placement; nothing to do");
            }
            _ => return Err(HandleError::Permanent(format!("no order {order_id}"))),
        }
    }
    Ok(Vec::new())
}

fn stored_outgoing(outbox: &[StoredMessage]) -> Vec<Outgoing> {
    outbox
        .iter()
        .filter_map(|m| Outgoing::from_stored(&m.exchange, &m.routing_key, &m.body))
        .collect()
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
