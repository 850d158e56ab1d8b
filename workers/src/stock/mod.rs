//! The stock worker: the only writer of product stock. One active consumer per partition
//! (`oms.stock.<k>`) serialises each product's changes.
//!
//! Exactly once: every operation has a key — `reserve:<order>:<product>`,
//! `release:<order>:<product>`, `adjust:<id>` — that is the `_id` of its ledger entry. The
//! stock change and the ledger entry are written in one transaction, so either both exist or
//! neither does; a second attempt at the same operation fails on the unique `_id`, and a
//! redelivered command finds the entry and re-sends the recorded result instead of applying
//! it again. Refusals are recorded too (with a zero delta), so the answer never changes.

pub mod batch;

use std::collections::{BTreeMap, HashMap};

use futures_util::TryStreamExt;
use futures_util::future::BoxFuture;
use mongodb::bson::{self, doc};
use mongodb::options::ReturnDocument;
use oms_contracts::messages::{Envelope, Event, OrderMessage, RejectReason, StockCommand};
use oms_contracts::{OrderId, ProductId, UserId};
use oms_platform::broker::Outgoing;
use oms_platform::store::{LedgerDoc, LedgerKind, LedgerOutcome, ProductDoc};
use oms_platform::{Broker, Store};

use crate::consumer::{HandleError, Handler};
use crate::failpoint::{FailPoints, points};
use crate::txn::transaction;

pub struct StockHandler {
    pub store: Store,
    pub broker: Broker,
    pub failpoints: FailPoints,
    pub low_stock_threshold: i64,
}

/// A decision just taken, and whether it took the product's stock across its low-stock threshold.
struct Applied {
    entry: LedgerDoc,
    low_stock: Option<(i64, i64)>,
}

impl Handler for StockHandler {
    type Message = StockCommand;

    fn handle<'a>(&'a self, envelope: &'a Envelope<StockCommand>) -> BoxFuture<'a, Result<(), HandleError>> {
        Box::pin(async move {
            match &envelope.body {
                StockCommand::ReserveStock {
                    order_id,
                    product_id,
                    quantity,
                    ..
                } => {
                    self.reserve(envelope, order_id, product_id, i64::from(quantity.get()))
                        .await
                }
                StockCommand::ReleaseStock {
                    order_id, product_id, ..
                } => self.release(envelope, order_id, product_id).await,
                StockCommand::AdjustStock {
                    adjustment_id,
                    product_id,
                    delta,
                    reason,
                    admin_id,
                } => {
                    self.adjust(envelope, adjustment_id, product_id, *delta, reason, admin_id)
                        .await
                }
            }
        })
    }

    fn handle_batch<'a>(
        &'a self,
        envelopes: &'a [Envelope<StockCommand>],
    ) -> BoxFuture<'a, Result<(), HandleError>> {
        Box::pin(self.batch(envelopes))
    }
}

/// Attempts at a batch's transaction when another attempt decided some of its operations first.
const MAX_BATCH_COLLISIONS: u32 = 5;

/// What one batch decided: every operation's entry (recorded before, or new), and the
/// low-stock crossings the new ones caused.
struct BatchDecisions {
    entries: HashMap<String, LedgerDoc>,
    low_stock: HashMap<String, (i64, i64)>,
}

impl StockHandler {
    /// Decides a batch of commands (several products, in delivery order per product) in one
    /// transaction: one read of the ledger entries they depend on, one read of their products,
    /// one conditional update per product, one insert of the new ledger entries. Then the
    /// replies go out, with confirms, in delivery order; the caller acks the batch after.
    async fn batch(&self, envelopes: &[Envelope<StockCommand>]) -> Result<(), HandleError> {
        let commands: Vec<StockCommand> = envelopes.iter().map(|e| e.body.clone()).collect();
        let mut attempt = 0;
        let decided = loop {
            attempt += 1;
            match transaction(&self.store, |session| {
                let (store, commands) = (self.store.clone(), commands.clone());
                let default_threshold = self.low_stock_threshold;
                Box::pin(async move { decide_batch(&store, session, &commands, default_threshold).await })
            })
            .await
            {
                Ok(decided) => break decided,
                Err(err) if oms_platform::store::is_duplicate_key(&err) && attempt < MAX_BATCH_COLLISIONS => {
                    // Another consumer (during a fail-over) decided some of these first: decide
                    // again, this time finding its entries recorded.
                    tracing::info!(attempt, "batch collided with another attempt; deciding again");
                }
                Err(err) if is_conflict(&err) => {
                    return Err(HandleError::Transient(anyhow::anyhow!("{err}")));
                }
                Err(err) => return Err(err.into()),
            }
        };
        self.failpoints.check(points::STOCK_AFTER_COMMIT)?;
        let BatchDecisions {
            entries,
            mut low_stock,
        } = decided;
        let mut messages = Vec::with_capacity(envelopes.len());
        for envelope in envelopes {
            let key = batch::op_key(&envelope.body);
            let entry = entries
                .get(&key)
                .ok_or_else(|| HandleError::Permanent(format!("batch decided nothing for {key}")))?;
            // A crossing is announced once, by the decision that caused it (not by a second
            // copy of the same command later in the batch, which re-sends the decision only).
            messages.extend(replies(envelope, entry, low_stock.remove(&key))?);
        }
        self.broker.publish_all(messages).await?;
        Ok(())
    }
}

/// The product changed between the batch's read and its write (only possible when another
/// writer slipped past the transaction's own conflict detection): decide the batch again.
#[derive(Debug)]
struct ProductMoved(String);

impl std::fmt::Display for ProductMoved {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "product {} changed while its batch was decided", self.0)
    }
}

fn is_conflict(err: &mongodb::error::Error) -> bool {
    matches!(err.kind.as_ref(), mongodb::error::ErrorKind::Custom(c) if c.is::<ProductMoved>())
}

async fn decide_batch(
    store: &Store,
    session: &mut mongodb::ClientSession,
    commands: &[StockCommand],
    default_threshold: i64,
) -> mongodb::error::Result<BatchDecisions> {
    let mut keys: Vec<String> = commands.iter().map(batch::op_key).collect();
    keys.extend(commands.iter().filter_map(batch::related_key));
    keys.sort();
    keys.dedup();
    let mut known: HashMap<String, LedgerDoc> = store
        .ledger()
        .find(doc! { "_id": { "$in": &keys } })
        .session(&mut *session)
        .await?
        .stream(&mut *session)
        .try_collect::<Vec<_>>()
        .await?
        .into_iter()
        .map(|e| (e.op_key.clone(), e))
        .collect();
    // Each product's undecided commands, in delivery order (a BTreeMap: a stable write order).
    let mut by_product: BTreeMap<&str, Vec<&StockCommand>> = BTreeMap::new();
    for command in commands {
        if !known.contains_key(&batch::op_key(command)) {
            by_product
                .entry(batch::product_of(command).as_str())
                .or_default()
                .push(command);
        }
    }
    let mut low_stock = HashMap::new();
    if !by_product.is_empty() {
        let ids: Vec<&str> = by_product.keys().copied().collect();
        let products: HashMap<String, ProductDoc> = store
            .products()
            .find(doc! { "_id": { "$in": &ids } })
            .session(&mut *session)
            .await?
            .stream(&mut *session)
            .try_collect::<Vec<_>>()
            .await?
            .into_iter()
            .map(|p| (p.id.clone(), p))
            .collect();
        let now = bson::DateTime::now();
        let mut new_entries = Vec::new();
        for (product_id, commands) in &by_product {
            let product = products.get(*product_id);
            let view = product.map(|p| batch::ProductView::of(p, default_threshold));
            let decided = batch::decide_product(view.as_ref(), commands, &mut known, now);
            if let (Some(product), Some(after)) = (product, decided.stock_after) {
                // Written even when the stock ends where it was (a release of nothing): a
                // consumer overlapping during a fail-over then collides instead of slipping past.
                let written = store
                    .products()
                    .update_one(
                        doc! { "_id": *product_id, "stock": product.stock, "active": product.active },
                        doc! { "$inc": { "stock": after - product.stock }, "$set": { "updated_at": now } },
                    )
                    .session(&mut *session)
                    .await?;
                if written.matched_count == 0 {
                    return Err(mongodb::error::Error::custom(ProductMoved(
                        product_id.to_string(),
                    )));
                }
            }
            low_stock.extend(decided.low_stock.into_iter().map(|(key, s, t)| (key, (s, t))));
            new_entries.extend(decided.entries);
        }
        if !new_entries.is_empty() {
            store
                .ledger()
                .insert_many(&new_entries)
                .session(&mut *session)
                .await?;
        }
    }
    Ok(BatchDecisions {
        entries: known,
        low_stock,
    })
}

/// The messages a decided stock command sends: the reply to the order worker (or, for an
/// adjustment, its event), and a `StockLow` event when the decision crossed the threshold.
fn replies(
    envelope: &Envelope<StockCommand>,
    decided: &LedgerDoc,
    low_stock: Option<(i64, i64)>,
) -> Result<Vec<Outgoing>, HandleError> {
    let mut messages = Vec::with_capacity(2);
    let product_id = batch::product_of(&envelope.body);
    match &envelope.body {
        StockCommand::ReserveStock {
            order_id, reply_to, ..
        } => {
            let reply = match decided.outcome {
                LedgerOutcome::Applied => OrderMessage::StockReserved {
                    order_id: order_id.clone(),
                    product_id: product_id.clone(),
                    unit_price: decided.unit_price.ok_or_else(|| {
                        HandleError::Permanent(format!("ledger entry {} has no price", decided.op_key))
                    })?,
                    product_name: decided.product_name.clone().unwrap_or_default(),
                    balance_after: decided.balance_after,
                },
                _ => OrderMessage::StockRejected {
                    order_id: order_id.clone(),
                    product_id: product_id.clone(),
                    reason: parse_reject_code(decided.reason.as_deref()),
                },
            };
            messages.push(Outgoing::command(reply_to, &envelope.follow(reply)));
        }
        StockCommand::ReleaseStock {
            order_id, reply_to, ..
        } => {
            let reply = OrderMessage::StockReleased {
                order_id: order_id.clone(),
                product_id: product_id.clone(),
                restored: decided.delta,
            };
            messages.push(Outgoing::command(reply_to, &envelope.follow(reply)));
        }
        StockCommand::AdjustStock {
            adjustment_id, delta, ..
        } => {
            let event = match decided.outcome {
                LedgerOutcome::Applied => Event::StockAdjusted {
                    product_id: product_id.clone(),
                    adjustment_id: adjustment_id.to_string(),
                    delta: *delta,
                    balance_after: decided.balance_after,
                },
                _ => Event::StockAdjustmentRefused {
                    product_id: product_id.clone(),
                    adjustment_id: adjustment_id.to_string(),
                    delta: *delta,
                    reason: decided.reason.clone().unwrap_or_default(),
                },
            };
            messages.push(Outgoing::event(&envelope.follow(event)));
        }
    }
    if let Some((stock, threshold)) = low_stock {
        messages.push(Outgoing::event(&envelope.follow(Event::StockLow {
            product_id: product_id.clone(),
            stock,
            threshold,
        })));
    }
    Ok(messages)
}

fn entry(
    op_key: String,
    product_id: &ProductId,
    kind: LedgerKind,
    outcome: LedgerOutcome,
    delta: i64,
    balance_after: i64,
) -> LedgerDoc {
    LedgerDoc {
        op_key,
        product_id: product_id.to_string(),
        kind,
        outcome,
        delta,
        balance_after,
        order_id: None,
        actor: "system".to_string(),
        reason: None,
        unit_price: None,
        product_name: None,
        at: bson::DateTime::now(),
    }
}

impl StockHandler {
    /// The recorded decision for `op_key`, if the operation already happened.
    async fn recorded(&self, op_key: &str) -> Result<Option<LedgerDoc>, HandleError> {
        Ok(self.store.ledger().find_one(doc! { "_id": op_key }).await?)
    }

    /// The decision for `op_key`: the recorded one when the operation already happened (a
    /// redelivery, or another attempt that won the race on the unique `_id`), else the one
    /// `body` takes now, in a transaction.
    async fn decision<F>(&self, op_key: &str, body: F) -> Result<Applied, HandleError>
    where
        F: for<'s> FnMut(&'s mut mongodb::ClientSession) -> BoxFuture<'s, mongodb::error::Result<Applied>>,
    {
        let recorded = |entry| Applied {
            entry,
            low_stock: None,
        };
        if let Some(entry) = self.recorded(op_key).await? {
            return Ok(recorded(entry));
        }
        match transaction(&self.store, body).await {
            Ok(applied) => {
                self.failpoints.check(points::STOCK_AFTER_COMMIT)?;
                Ok(applied)
            }
            Err(err) if oms_platform::store::is_duplicate_key(&err) => {
                tracing::info!(op_key, "operation already decided by another attempt");
                let entry = self.recorded(op_key).await?.ok_or_else(|| {
                    HandleError::Transient(anyhow::anyhow!("decision for {op_key} not visible yet"))
                })?;
                Ok(recorded(entry))
            }
            Err(err) => Err(err.into()),
        }
    }

    async fn reserve(
        &self,
        envelope: &Envelope<StockCommand>,
        order_id: &OrderId,
        product_id: &ProductId,
        quantity: i64,
    ) -> Result<(), HandleError> {
        let op_key = LedgerDoc::reserve_key(order_id.as_str(), product_id.as_str());
        let Applied { entry: decided, low_stock } = self
            .decision(&op_key, |session| {
                        let store = self.store.clone();
                        let default_threshold = self.low_stock_threshold;
                        let (op_key, order_id, product_id) = (op_key.clone(), order_id.clone(), product_id.clone());
                        Box::pin(async move {
                            let release_key = LedgerDoc::release_key(order_id.as_str(), product_id.as_str());
                            let released_first =
                                store.ledger().find_one(doc! { "_id": &release_key }).session(&mut *session).await?;
                            let mut low_stock = None;
                            let mut decided = if released_first.is_some() {
                                // The order withdrew this line before the reservation arrived.
                                let mut e = entry(op_key, &product_id, LedgerKind::Reserve, LedgerOutcome::Rejected, 0, 0);
                                e.reason = Some(reject_code(RejectReason::OrderReleased));
                                e
                            } else {
                                // The conditional decrement: never below zero, whatever the concurrency.
                                let taken = store
                                    .products()
                                    .find_one_and_update(
                                        doc! { "_id": product_id.as_str(), "active": true, "stock": { "$gte": quantity } },
                                        doc! { "$inc": { "stock": -quantity }, "$set": { "updated_at": bson::DateTime::now() } },
                                    )
                                    .return_document(ReturnDocument::After)
                                    .session(&mut *session)
                                    .await?;
                                match taken {
                                    Some(product) => {
                                        let threshold = product.low_stock_threshold.unwrap_or(default_threshold);
                                        if product.stock + quantity > threshold && product.stock <= threshold {
                                            low_stock = Some((product.stock, threshold));
                                        }
                                        let mut e = entry(
                                            op_key,
                                            &product_id,
                                            LedgerKind::Reserve,
                                            LedgerOutcome::Applied,
                                            -quantity,
                                            product.stock,
                                        );
                                        e.unit_price = Some(product.price);
                                        e.product_name = Some(product.name);
                                        e
                                    }
                                    None => {
                                        let product = store
                                            .products()
                                            .find_one(doc! { "_id": product_id.as_str() })
                                            .session(&mut *session)
                                            .await?;
                                        let (reason, balance) = match &product {
                                            None => (RejectReason::UnknownProduct, 0),
                                            Some(p) if !p.active => (RejectReason::InactiveProduct, p.stock),
                                            Some(p) => (RejectReason::InsufficientStock, p.stock),
                                        };
                                        let mut e =
                                            entry(op_key, &product_id, LedgerKind::Reserve, LedgerOutcome::Rejected, 0, balance);
                                        e.reason = Some(reject_code(reason));
                                        e
                                    }
                                }
                            };
                            decided.order_id = Some(order_id.to_string());
                            store.ledger().insert_one(&decided).session(&mut *session).await?;
                            Ok(Applied {
                                entry: decided,
                                low_stock,
                            })
                        })
                    })
                    .await?;

        self.broker
            .publish_all(replies(envelope, &decided, low_stock)?)
            .await?;
        Ok(())
    }

    async fn release(
        &self,
        envelope: &Envelope<StockCommand>,
        order_id: &OrderId,
        product_id: &ProductId,
    ) -> Result<(), HandleError> {
        let op_key = LedgerDoc::release_key(order_id.as_str(), product_id.as_str());
        let Applied { entry: decided, .. } = self
            .decision(&op_key, |session| {
                        let store = self.store.clone();
                        let (op_key, order_id, product_id) = (op_key.clone(), order_id.clone(), product_id.clone());
                        Box::pin(async move {
                            let reserve_key = LedgerDoc::reserve_key(order_id.as_str(), product_id.as_str());
                            let reservation =
                                store.ledger().find_one(doc! { "_id": &reserve_key }).session(&mut *session).await?;
                            let held = reservation
                                .filter(|r| r.outcome == LedgerOutcome::Applied)
                                .map(|r| -r.delta)
                                .unwrap_or(0);
                            // The product is written even when nothing is held: a reservation of
                            // this line committing concurrently (two consumers overlapping during a
                            // fail-over) then collides with this transaction instead of slipping past it.
                            let product = store
                                .products()
                                .find_one_and_update(
                                    doc! { "_id": product_id.as_str() },
                                    doc! { "$inc": { "stock": held }, "$set": { "updated_at": bson::DateTime::now() } },
                                )
                                .return_document(ReturnDocument::After)
                                .session(&mut *session)
                                .await?;
                            let restored = product.filter(|_| held > 0);
                            let mut decided = match restored {
                                Some(product) => {
                                    entry(op_key, &product_id, LedgerKind::Release, LedgerOutcome::Applied, held, product.stock)
                                }
                                // Nothing was held: record a tombstone so that a late reservation is refused.
                                None => entry(op_key, &product_id, LedgerKind::Release, LedgerOutcome::Noop, 0, 0),
                            };
                            decided.order_id = Some(order_id.to_string());
                            store.ledger().insert_one(&decided).session(&mut *session).await?;
                            Ok(Applied {
                                entry: decided,
                                low_stock: None,
                            })
                        })
                    })
                    .await?;
        self.broker
            .publish_all(replies(envelope, &decided, None)?)
            .await?;
        Ok(())
    }

    async fn adjust(
        &self,
        envelope: &Envelope<StockCommand>,
        adjustment_id: &str,
        product_id: &ProductId,
        delta: i64,
        reason: &str,
        admin_id: &UserId,
    ) -> Result<(), HandleError> {
        let op_key = LedgerDoc::adjust_key(adjustment_id);
        let Applied { entry: decided, low_stock } = self
            .decision(&op_key, |session| {
                        let store = self.store.clone();
                        let default_threshold = self.low_stock_threshold;
                        let (op_key, product_id, reason, admin_id) =
                            (op_key.clone(), product_id.clone(), reason.to_string(), admin_id.to_string());
                        Box::pin(async move {
                            let mut filter = doc! { "_id": product_id.as_str() };
                            if delta < 0 {
                                filter.insert("stock", doc! { "$gte": -delta });
                            }
                            let changed = store
                                .products()
                                .find_one_and_update(
                                    filter,
                                    doc! { "$inc": { "stock": delta }, "$set": { "updated_at": bson::DateTime::now() } },
                                )
                                .return_document(ReturnDocument::After)
                                .session(&mut *session)
                                .await?;
                            let mut low_stock = None;
                            let mut decided = match changed {
                                Some(product) => {
                                    let threshold = product.low_stock_threshold.unwrap_or(default_threshold);
                                    if product.stock - delta > threshold && product.stock <= threshold {
                                        low_stock = Some((product.stock, threshold));
                                    }
                                    let mut e =
                                        entry(op_key, &product_id, LedgerKind::Adjust, LedgerOutcome::Applied, delta, product.stock);
                                    e.reason = Some(reason);
                                    e
                                }
                                None => {
                                    let product = store
                                        .products()
                                        .find_one(doc! { "_id": product_id.as_str() })
                                        .session(&mut *session)
                                        .await?;
                                    let (why, balance) = match product {
                                        None => ("no such product".to_string(), 0),
                                        Some(p) => (
                                            format!("it would take the stock below zero (stock is {})", p.stock),
                                            p.stock,
                                        ),
                                    };
                                    let mut e =
                                        entry(op_key, &product_id, LedgerKind::Adjust, LedgerOutcome::Rejected, 0, balance);
                                    e.reason = Some(why);
                                    e
                                }
                            };
                            decided.actor = admin_id;
                            store.ledger().insert_one(&decided).session(&mut *session).await?;
                            Ok(Applied {
                                entry: decided,
                                low_stock,
                            })
                        })
                    })
                    .await?;
        self.broker
            .publish_all(replies(envelope, &decided, low_stock)?)
            .await?;
        Ok(())
    }
}

fn reject_code(reason: RejectReason) -> String {
    serde_json::to_value(reason)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_else(|| "unavailable".to_string())
}

fn parse_reject_code(code: Option<&str>) -> RejectReason {
    code.and_then(|c| serde_json::from_value(serde_json::Value::String(c.to_string())).ok())
        .unwrap_or(RejectReason::Unavailable)
}
