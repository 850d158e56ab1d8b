//! The stock worker: the only writer of product stock, and the one that decides whole orders
//! whose products all belong to its partition. One active consumer per partition
//! (`oms.stock.<k>`) serialises each product's changes.
//!
//! Every delivery batch (one command, or whatever arrived together, up to `OMS_STOCK_BATCH`)
//! is decided in one transaction: one read of the ledger entries and products it depends on,
//! the pure rules of [`rules`], then one conditional update command for the products, one
//! insert of the new ledger entries and one conditional update command for the orders decided
//! whole. Then the replies and events go out with confirms, and the consumer acks the batch.
//!
//! A whole-order command carries the order as placed, so the batch first assumes each order
//! is still so instead of reading it; the order's write is conditional on exactly that. If an
//! order has moved on (a redelivery after its decision, a cancel that came first) the write
//! matches less than decided, the transaction is abandoned, and the batch is decided again on
//! the orders as read.
//!
//! Exactly once: every stock operation has a key — `reserve:<order>:<product>`,
//! `release:<order>:<product>`, `adjust:<id>` — that is the `_id` of its ledger entry; a whole
//! order's decision is its own status. A redelivered command finds its decision recorded and
//! re-sends it instead of deciding again. Refusals of single reservations are recorded too
//! (with a zero delta), so their answer never changes.

pub mod rules;

use futures_util::TryStreamExt;
use futures_util::future::BoxFuture;
use mongodb::bson::{self, doc};
use oms_contracts::messages::{Envelope, Event, OrderMessage, RejectReason, StockCommand};
use oms_contracts::routing::orders_queue_for;
use oms_platform::Store;
use oms_platform::broker::Outgoing;
use oms_platform::store::{LedgerDoc, LedgerOutcome, ORDERS, PRODUCTS, Refusal};

use crate::consumer::{HandleError, Handler, Outbox};
use crate::failpoint::{FailPoints, points};
use oms_platform::store::transaction;
use rules::{Crossing, Decided, Decisions, OrderOutcome};

/// One partition's stock worker.
pub struct StockHandler {
    pub store: Store,
    pub failpoints: FailPoints,
    pub low_stock_threshold: i64,
    /// The partition whose queue this handler consumes, of `partitions`.
    pub partition: u32,
    pub partitions: u32,
}

impl Handler for StockHandler {
    type Message = StockCommand;

    /// One command: a batch of one.
    fn handle<'a>(
        &'a self,
        envelope: &'a Envelope<StockCommand>,
    ) -> BoxFuture<'a, Result<Outbox, HandleError>> {
        Box::pin(self.batch(std::slice::from_ref(envelope)))
    }

    fn handle_batch<'a>(
        &'a self,
        envelopes: &'a [Envelope<StockCommand>],
    ) -> BoxFuture<'a, Result<Outbox, HandleError>> {
        Box::pin(self.batch(envelopes))
    }
}

/// Attempts at a batch when another writer changed what it read (a fail-over overlap, or an
/// order cancelled while its placement was being decided): each attempt reads afresh.
const MAX_BATCH_COLLISIONS: u32 = 10;

/// A conditional write matched fewer documents than it was decided on: something changed
/// between the batch's read and its write. The batch is decided again.
#[derive(Debug)]
struct Moved(&'static str);

impl std::fmt::Display for Moved {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} changed while the batch was decided", self.0)
    }
}

fn is_moved(err: &mongodb::error::Error) -> bool {
    matches!(err.kind.as_ref(), mongodb::error::ErrorKind::Custom(c) if c.is::<Moved>())
}

impl StockHandler {
    /// Decides `envelopes` in one transaction and returns every reply and event, in delivery
    /// order, for the consumer to publish (with confirms) before it acks.
    async fn batch(&self, envelopes: &[Envelope<StockCommand>]) -> Result<Outbox, HandleError> {
        let commands: Vec<StockCommand> = envelopes.iter().map(|e| e.body.clone()).collect();
        let mut attempt = 0;
        let mut orders = Orders::AsPlaced;
        let decisions = loop {
            attempt += 1;
            let result = transaction(&self.store, |session| {
                let (store, commands) = (self.store.clone(), commands.clone());
                let ctx = rules::Context {
                    partition: self.partition,
                    partitions: self.partitions,
                    now: chrono::Utc::now(),
                };
                let threshold = self.low_stock_threshold;
                Box::pin(
                    async move { decide_and_write(&store, session, &commands, ctx, threshold, orders).await },
                )
            })
            .await;
            match result {
                Ok(decisions) => break decisions,
                Err(err)
                    if (is_moved(&err) || oms_platform::store::is_duplicate_key(&err))
                        && attempt < MAX_BATCH_COLLISIONS =>
                {
                    // An order was not as placed, or another writer got there first: decide
                    // again on what is stored.
                    tracing::debug!(attempt, error = %err, "batch decided on stale assumptions; deciding again");
                    orders = Orders::Read;
                }
                Err(err) if is_moved(&err) => return Err(HandleError::Transient(err.into())),
                Err(err) => return Err(err.into()),
            }
        };
        self.failpoints.check(points::STOCK_AFTER_COMMIT)?;
        let mut messages = Vec::with_capacity(envelopes.len() * 2);
        let mut whole = 0u64;
        for (envelope, (decided, crossings)) in envelopes.iter().zip(&decisions.decided) {
            if matches!(decided, Decided::Order(OrderOutcome::Decided(_))) {
                whole += 1;
            }
            messages.extend(self.messages(envelope, decided, crossings)?);
        }
        if whole > 0 {
            metrics::counter!("oms_orders_decided_whole_total").increment(whole);
        }
        Ok(messages)
    }

    /// What a decided command sends: the reply to the order worker (or, for an adjustment,
    /// its event), a whole order's status event (or its hand-over to the saga), and a
    /// `StockLow` event for every threshold the decision crossed.
    fn messages(
        &self,
        envelope: &Envelope<StockCommand>,
        decided: &Decided,
        crossings: &[Crossing],
    ) -> Result<Vec<Outgoing>, HandleError> {
        let mut messages = Vec::with_capacity(1 + crossings.len());
        match (&envelope.body, decided) {
            (StockCommand::PlaceOrder { order_id, .. }, Decided::Order(outcome)) => match outcome {
                OrderOutcome::Decided(event) | OrderOutcome::DecidedBefore(event) => {
                    messages.push(Outgoing::event(&envelope.follow(event.clone())));
                }
                OrderOutcome::Forward => {
                    tracing::info!(%order_id, "order spans stock partitions; handing it to its order worker");
                    let place = OrderMessage::PlaceOrder {
                        order_id: order_id.clone(),
                    };
                    messages.push(Outgoing::command(
                        orders_queue_for(order_id, self.partitions),
                        &envelope.follow(place),
                    ));
                }
                OrderOutcome::Nothing => {}
            },
            (command, Decided::Entry(entry)) => messages.push(reply(envelope, command, entry)?),
            (_, Decided::Order(_)) => {}
        }
        for crossing in crossings {
            messages.push(Outgoing::event(&envelope.follow(Event::StockLow {
                product_id: crossing.product_id.clone(),
                stock: crossing.stock,
                threshold: crossing.threshold,
            })));
        }
        Ok(messages)
    }
}

/// The reply to a single-product command, from its ledger entry.
fn reply(
    envelope: &Envelope<StockCommand>,
    command: &StockCommand,
    entry: &LedgerDoc,
) -> Result<Outgoing, HandleError> {
    Ok(match command {
        StockCommand::ReserveStock {
            order_id,
            product_id,
            reply_to,
            ..
        } => {
            let reply = match entry.outcome {
                LedgerOutcome::Applied => OrderMessage::StockReserved {
                    order_id: order_id.clone(),
                    product_id: product_id.clone(),
                    unit_price: entry.unit_price.ok_or_else(|| {
                        HandleError::Permanent(format!("ledger entry {} has no price", entry.op_key))
                    })?,
                    product_name: entry.product_name.clone().unwrap_or_default(),
                    balance_after: entry.balance_after,
                },
                _ => OrderMessage::StockRejected {
                    order_id: order_id.clone(),
                    product_id: product_id.clone(),
                    reason: match &entry.refusal {
                        Some(Refusal::Reservation { reason }) => *reason,
                        // Recorded before refusals had their own field: the reason held the code.
                        _ => entry
                            .reason
                            .as_deref()
                            .and_then(RejectReason::from_code)
                            .unwrap_or(RejectReason::Unavailable),
                    },
                },
            };
            Outgoing::command(reply_to, &envelope.follow(reply))
        }
        StockCommand::ReleaseStock {
            order_id,
            product_id,
            reply_to,
        } => {
            let reply = OrderMessage::StockReleased {
                order_id: order_id.clone(),
                product_id: product_id.clone(),
                restored: entry.delta,
            };
            Outgoing::command(reply_to, &envelope.follow(reply))
        }
        StockCommand::AdjustStock {
            adjustment_id,
            product_id,
            delta,
            ..
        } => {
            let event = match entry.outcome {
                LedgerOutcome::Applied => Event::StockAdjusted {
                    product_id: product_id.clone(),
                    adjustment_id: adjustment_id.clone(),
                    delta: delta.units(),
                    balance_after: entry.balance_after,
                },
                _ => Event::StockAdjustmentRefused {
                    product_id: product_id.clone(),
                    adjustment_id: adjustment_id.clone(),
                    delta: delta.units(),
                    reason: match &entry.refusal {
                        Some(refusal) => refusal.describe(),
                        None => entry.reason.clone().unwrap_or_default(),
                    },
                },
            };
            Outgoing::event(&envelope.follow(event))
        }
        StockCommand::PlaceOrder { order_id, .. } => {
            return Err(HandleError::Permanent(format!(
                "order {order_id} was decided as a stock operation"
            )));
        }
    })
}

/// How a batch knows the orders its whole-order commands place.
#[derive(Clone, Copy, Debug)]
enum Orders {
    /// As their commands carry them (`PENDING`, as placed): no read; the writes check it.
    AsPlaced,
    /// As stored.
    Read,
}

/// One attempt at a batch, inside `session`'s transaction: read what the commands depend on,
/// decide, write. Every write is conditional on what was read (or assumed).
async fn decide_and_write(
    store: &Store,
    session: &mut mongodb::ClientSession,
    commands: &[StockCommand],
    ctx: rules::Context,
    default_threshold: i64,
    orders: Orders,
) -> mongodb::error::Result<Decisions> {
    let now = bson::DateTime::from_millis(ctx.now.timestamp_millis());
    let mut read = rules::Read::default();
    match orders {
        Orders::AsPlaced => {
            read.orders = commands
                .iter()
                .filter_map(|c| rules::as_placed(c, ctx.now))
                .map(|o| (o.id.clone(), o))
                .collect();
        }
        Orders::Read => {
            let ids: Vec<&str> = commands
                .iter()
                .filter_map(|c| match c {
                    StockCommand::PlaceOrder { order_id, .. } => Some(order_id.as_str()),
                    _ => None,
                })
                .collect();
            if !ids.is_empty() {
                read.orders = store
                    .orders()
                    .find(doc! { "_id": { "$in": &ids } })
                    .batch_size(READ_BATCH)
                    .session(&mut *session)
                    .await?
                    .stream(&mut *session)
                    .try_collect::<Vec<_>>()
                    .await?
                    .into_iter()
                    .map(|o| (o.id.clone(), o))
                    .collect();
            }
        }
    }
    let keys = rules::keys_to_read(commands);
    if !keys.is_empty() {
        read.known = store
            .ledger()
            .find(doc! { "_id": { "$in": &keys } })
            .batch_size(READ_BATCH)
            .session(&mut *session)
            .await?
            .stream(&mut *session)
            .try_collect::<Vec<_>>()
            .await?
            .into_iter()
            .map(|e| (e.op_key.clone(), e))
            .collect();
    }
    let product_ids = rules::products_to_read(commands, &read.orders);
    if !product_ids.is_empty() {
        read.products = store
            .products()
            .find(doc! { "_id": { "$in": product_ids.iter().map(|p| p.as_str()).collect::<Vec<_>>() } })
            .batch_size(READ_BATCH)
            .session(&mut *session)
            .await?
            .stream(&mut *session)
            .try_collect::<Vec<_>>()
            .await?
            .into_iter()
            .map(|p| (p.id.clone(), rules::ProductView::of(&p, default_threshold)))
            .collect();
    }

    let decisions = rules::decide(&mut read, commands, ctx);

    let products: Vec<bson::Document> = decisions
        .products
        .iter()
        .map(|(id, stock, active, after)| {
            doc! {
                "q": { "_id": id.as_str(), "stock": stock, "active": active },
                "u": { "$inc": { "stock": after - stock }, "$set": { "updated_at": now } },
            }
        })
        .collect();
    let expected = products.len() as u64;
    if store.update_each(session, PRODUCTS, products).await? != expected {
        return Err(mongodb::error::Error::custom(Moved("a product")));
    }
    if !decisions.entries.is_empty() {
        store
            .ledger()
            .insert_many(&decisions.entries)
            .session(&mut *session)
            .await?;
    }
    let orders = decisions
        .orders
        .iter()
        .map(|(version, order)| decided_order(*version, order, now))
        .collect::<mongodb::error::Result<Vec<_>>>()?;
    let expected = orders.len() as u64;
    if store.update_each(session, ORDERS, orders).await? != expected {
        return Err(mongodb::error::Error::custom(Moved("an order")));
    }
    Ok(decisions)
}

/// The most documents a batch's reads take per round trip: a whole batch's worth, so that a
/// read is one command (the server's default first batch is 101).
const READ_BATCH: u32 = 1024;

/// The update statement that records a whole order's decision: only what the decision changed,
/// on the condition that the order is still the `PENDING`, undispatched one it was decided on.
fn decided_order(
    version: i64,
    order: &oms_platform::store::OrderDoc,
    now: bson::DateTime,
) -> mongodb::error::Result<bson::Document> {
    let entry = order
        .history
        .last()
        .ok_or_else(|| mongodb::error::Error::custom(Moved("an order without its decision")))?;
    Ok(doc! {
        "q": { "_id": order.id.as_str(), "version": version, "status": "PENDING", "dispatched": false },
        "u": {
            "$set": {
                "status": bson::to_bson(&order.status)?,
                "items": bson::to_bson(&order.items)?,
                "total": bson::to_bson(&order.total)?,
                "version": order.version,
                "dispatched": true,
                "updated_at": now,
            },
            "$push": { "history": bson::to_bson(entry)? },
        },
    })
}
