//! The stock worker: the only writer of product stock. One active consumer per partition
//! (`oms.stock.<k>`) serialises each product's changes.
//!
//! Exactly once: every operation has a key — `reserve:<order>:<product>`,
//! `release:<order>:<product>`, `adjust:<id>` — that is the `_id` of its ledger entry. The
//! stock change and the ledger entry are written in one transaction, so either both exist or
//! neither does; a second attempt at the same operation fails on the unique `_id`, and a
//! redelivered command finds the entry and re-sends the recorded result instead of applying
//! it again. Refusals are recorded too (with a zero delta), so the answer never changes.

use futures_util::future::BoxFuture;
use mongodb::bson::{self, doc};
use mongodb::options::ReturnDocument;
use oms_contracts::messages::{Envelope, Event, OrderMessage, RejectReason, StockCommand};
use oms_contracts::{OrderId, ProductId, UserId};
use oms_platform::broker::Outgoing;
use oms_platform::store::{LedgerDoc, LedgerKind, LedgerOutcome};
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
                    reply_to,
                } => {
                    self.reserve(
                        envelope,
                        order_id,
                        product_id,
                        i64::from(quantity.get()),
                        reply_to,
                    )
                    .await
                }
                StockCommand::ReleaseStock {
                    order_id,
                    product_id,
                    reply_to,
                } => self.release(envelope, order_id, product_id, reply_to).await,
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
        reply_to: &str,
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

        let reply = match decided.outcome {
            LedgerOutcome::Applied => OrderMessage::StockReserved {
                order_id: order_id.clone(),
                product_id: product_id.clone(),
                unit_price: decided
                    .unit_price
                    .ok_or_else(|| HandleError::Permanent(format!("ledger entry {op_key} has no price")))?,
                product_name: decided.product_name.clone().unwrap_or_default(),
                balance_after: decided.balance_after,
            },
            _ => OrderMessage::StockRejected {
                order_id: order_id.clone(),
                product_id: product_id.clone(),
                reason: parse_reject_code(decided.reason.as_deref()),
            },
        };
        let mut messages = vec![Outgoing::command(reply_to, &envelope.follow(reply))];
        if let Some((stock, threshold)) = low_stock {
            messages.push(Outgoing::event(&envelope.follow(Event::StockLow {
                product_id: product_id.clone(),
                stock,
                threshold,
            })));
        }
        self.broker.publish_all(messages).await?;
        Ok(())
    }

    async fn release(
        &self,
        envelope: &Envelope<StockCommand>,
        order_id: &OrderId,
        product_id: &ProductId,
        reply_to: &str,
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
        let reply = OrderMessage::StockReleased {
            order_id: order_id.clone(),
            product_id: product_id.clone(),
            restored: decided.delta,
        };
        self.broker
            .publish(Outgoing::command(reply_to, &envelope.follow(reply)))
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
        let event = match decided.outcome {
            LedgerOutcome::Applied => Event::StockAdjusted {
                product_id: product_id.clone(),
                adjustment_id: adjustment_id.to_string(),
                delta,
                balance_after: decided.balance_after,
            },
            _ => Event::StockAdjustmentRefused {
                product_id: product_id.clone(),
                adjustment_id: adjustment_id.to_string(),
                delta,
                reason: decided.reason.clone().unwrap_or_default(),
            },
        };
        let mut messages = vec![Outgoing::event(&envelope.follow(event))];
        if let Some((stock, threshold)) = low_stock {
            messages.push(Outgoing::event(&envelope.follow(Event::StockLow {
                product_id: product_id.clone(),
                stock,
                threshold,
            })));
        }
        self.broker.publish_all(messages).await?;
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
