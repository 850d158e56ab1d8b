//! The running balance one batch is decided against: each command's rule, applied in order.

use std::collections::HashMap;

use mongodb::bson;
use oms_contracts::messages::{RejectReason, StockCommand};
use oms_contracts::routing::partition_of;
use oms_contracts::{Money, OrderId, OrderStatus, ProductId};
use oms_platform::store::{LedgerDoc, LedgerKind, LedgerOutcome, LineReservation, OrderDoc, Refusal};

use crate::orders::process;

use super::*;

/// A whole order that nobody has started deciding.
pub(crate) fn undecided(order: &OrderDoc) -> bool {
    order.status == OrderStatus::Pending && !order.dispatched
}

pub(crate) struct Running<'a> {
    pub(super) read: &'a mut Read,
    pub(super) ctx: Context,
    pub(super) at: bson::DateTime,
    /// Stock after the decisions so far, per product decided on.
    pub(super) stock: HashMap<ProductId, i64>,
    /// Products a single-product decision touched, in first-touch order.
    pub(super) touched: Vec<ProductId>,
    pub(super) out: Decisions,
}

impl Running<'_> {
    fn current(&self, product_id: &ProductId) -> Option<i64> {
        self.stock
            .get(product_id)
            .copied()
            .or_else(|| self.read.products.get(product_id).map(|p| p.stock))
    }

    /// Moves `product_id`'s running stock to `after`, noting a downward threshold crossing.
    fn set_stock(&mut self, product_id: &ProductId, after: i64, crossings: &mut Vec<Crossing>) {
        let before = self.current(product_id).unwrap_or(after);
        if let Some(view) = self.read.products.get(product_id)
            && before > view.threshold
            && after <= view.threshold
        {
            crossings.push(Crossing {
                product_id: product_id.clone(),
                stock: after,
                threshold: view.threshold,
            });
        }
        self.stock.insert(product_id.clone(), after);
    }

    fn entry(
        &self,
        key: &str,
        product_id: &ProductId,
        kind: LedgerKind,
        outcome: LedgerOutcome,
    ) -> LedgerDoc {
        LedgerDoc {
            op_key: key.to_string(),
            product_id: product_id.clone(),
            kind,
            outcome,
            delta: 0,
            balance_after: 0,
            order_id: None,
            actor: "system".to_string(),
            reason: None,
            refusal: None,
            unit_price: None,
            product_name: None,
            at: self.at,
        }
    }

    fn record(&mut self, entry: LedgerDoc) -> Decided {
        self.read.known.insert(entry.op_key.clone(), entry.clone());
        self.out.entries.push(entry.clone());
        Decided::Entry(entry)
    }

    /// A reservation, release or adjustment of one product.
    pub(super) fn single(&mut self, command: &StockCommand, crossings: &mut Vec<Crossing>) -> Decided {
        let (Some(key), Some(product_id)) = (op_key(command), product_of(command)) else {
            return Decided::Order(OrderOutcome::Nothing);
        };
        if let Some(recorded) = self.read.known.get(&key) {
            return Decided::Entry(recorded.clone());
        }
        let product = self.read.products.get(product_id).cloned();
        if product.is_some() && !self.touched.contains(product_id) {
            self.touched.push(product_id.clone());
        }
        let stock = self.current(product_id);
        let entry = match command {
            StockCommand::ReserveStock {
                order_id, quantity, ..
            } => {
                let quantity = i64::from(quantity.get());
                let released_first = related_key(command).is_some_and(|k| self.read.known.contains_key(&k));
                let mut e = match (&product, stock) {
                    _ if released_first => self.refusal(&key, product_id, RejectReason::OrderReleased, 0),
                    (Some(p), Some(s)) if p.active && s >= quantity => {
                        self.set_stock(product_id, s - quantity, crossings);
                        let mut e = self.entry(&key, product_id, LedgerKind::Reserve, LedgerOutcome::Applied);
                        e.delta = -quantity;
                        e.balance_after = s - quantity;
                        e.unit_price = Some(p.price);
                        e.product_name = Some(p.name.clone());
                        e
                    }
                    (None, _) => self.refusal(&key, product_id, RejectReason::UnknownProduct, 0),
                    (Some(p), s) if !p.active => {
                        self.refusal(&key, product_id, RejectReason::InactiveProduct, s.unwrap_or(0))
                    }
                    (Some(_), s) => {
                        self.refusal(&key, product_id, RejectReason::InsufficientStock, s.unwrap_or(0))
                    }
                };
                e.order_id = Some(order_id.clone());
                e
            }
            StockCommand::ReleaseStock { order_id, .. } => {
                let held = related_key(command)
                    .and_then(|k| self.read.known.get(&k))
                    .filter(|r| r.outcome == LedgerOutcome::Applied)
                    .map(|r| -r.delta)
                    .unwrap_or(0);
                let mut e = match stock {
                    Some(s) if held > 0 => {
                        self.set_stock(product_id, s + held, crossings);
                        let mut e = self.entry(&key, product_id, LedgerKind::Release, LedgerOutcome::Applied);
                        e.delta = held;
                        e.balance_after = s + held;
                        e
                    }
                    // Nothing was held: a tombstone, so that a late reservation is refused.
                    _ => self.entry(&key, product_id, LedgerKind::Release, LedgerOutcome::Noop),
                };
                e.order_id = Some(order_id.clone());
                e
            }
            StockCommand::AdjustStock {
                delta,
                reason,
                admin_id,
                ..
            } => {
                let delta = delta.units();
                let mut e = match stock {
                    Some(s) if delta >= 0 || s + delta >= 0 => {
                        self.set_stock(product_id, s + delta, crossings);
                        let mut e = self.entry(&key, product_id, LedgerKind::Adjust, LedgerOutcome::Applied);
                        e.delta = delta;
                        e.balance_after = s + delta;
                        e.reason = Some(reason.as_str().to_string());
                        e
                    }
                    s => {
                        let mut e = self.entry(&key, product_id, LedgerKind::Adjust, LedgerOutcome::Rejected);
                        e.balance_after = s.unwrap_or(0);
                        e.reason = Some(reason.as_str().to_string());
                        e.refusal = Some(match s {
                            None => Refusal::NoSuchProduct,
                            Some(stock) => Refusal::BelowZero { stock },
                        });
                        e
                    }
                };
                e.actor = admin_id.to_string();
                e
            }
            StockCommand::PlaceOrder { .. } => return Decided::Order(OrderOutcome::Nothing),
        };
        self.record(entry)
    }

    fn refusal(&self, key: &str, product_id: &ProductId, reason: RejectReason, balance: i64) -> LedgerDoc {
        let mut e = self.entry(key, product_id, LedgerKind::Reserve, LedgerOutcome::Rejected);
        e.balance_after = balance;
        e.refusal = Some(Refusal::Reservation { reason });
        e
    }

    /// A whole order: every line reserved, or none.
    pub(super) fn whole_order(&mut self, order_id: &OrderId, crossings: &mut Vec<Crossing>) -> OrderOutcome {
        let Some(order) = self.read.orders.get(order_id).cloned() else {
            // Withdrawn by the API before its placement was confirmed: nothing to decide.
            return OrderOutcome::Nothing;
        };
        if order.status != OrderStatus::Pending {
            // Decided before (its event may not have gone out), or ended without a decision.
            return order
                .history
                .iter()
                .find(|h| {
                    h.from == Some(OrderStatus::Pending)
                        && matches!(h.to, OrderStatus::Placed | OrderStatus::Rejected)
                        && !h.refused
                })
                .and_then(|h| process::replay_event(&order, h))
                .map_or(OrderOutcome::Nothing, OrderOutcome::DecidedBefore);
        }
        if order.dispatched {
            // Its order worker has started reserving line by line: the saga decides it.
            return OrderOutcome::Nothing;
        }
        // No release tombstone needs checking here, unlike for a single reservation: an order's
        // lines are released only after it has ended (its worker records CANCELLED or REJECTED
        // before it sends the releases), and an order that has ended is not decided.

        let mine = order
            .items
            .iter()
            .all(|l| partition_of(l.product_id.as_str(), self.ctx.partitions) == self.ctx.partition);
        if !mine || order.items.is_empty() {
            return OrderOutcome::Forward;
        }

        let mut next = process::change(&order);
        next.dispatched = true;
        let mut refused: Vec<(usize, RejectReason)> = Vec::new();
        for (i, line) in order.items.iter().enumerate() {
            let reason = match self.read.products.get(&line.product_id) {
                None => Some(RejectReason::UnknownProduct),
                Some(p) if !p.active => Some(RejectReason::InactiveProduct),
                Some(_) if self.current(&line.product_id).unwrap_or(0) < i64::from(line.quantity) => {
                    Some(RejectReason::InsufficientStock)
                }
                Some(_) => None,
            };
            if let Some(reason) = reason {
                refused.push((i, reason));
            }
        }
        if refused.is_empty() {
            let currencies: Vec<_> = order
                .items
                .iter()
                .filter_map(|l| self.read.products.get(&l.product_id).map(|p| p.price.currency))
                .collect();
            if currencies.iter().any(|c| *c != currencies[0]) {
                refused = (0..order.items.len())
                    .map(|i| (i, RejectReason::CurrencyMismatch))
                    .collect();
            }
        }

        let event = if refused.is_empty() {
            let mut total = 0i64;
            let mut currency = None;
            for line in next.items.iter_mut() {
                let product_id = line.product_id.clone();
                let Some(view) = self.read.products.get(&product_id).cloned() else {
                    continue;
                };
                let quantity = i64::from(line.quantity);
                let after = self.current(&product_id).unwrap_or(0) - quantity;
                self.set_stock(&product_id, after, crossings);
                let key = LedgerDoc::reserve_key(order_id.as_str(), product_id.as_str());
                let mut e = self.entry(&key, &product_id, LedgerKind::Reserve, LedgerOutcome::Applied);
                e.delta = -quantity;
                e.balance_after = after;
                e.order_id = Some(order_id.clone());
                e.unit_price = Some(view.price);
                e.product_name = Some(view.name.clone());
                self.record(e);
                line.reservation = LineReservation::Reserved;
                line.name = Some(view.name);
                line.unit_price = Some(view.price);
                line.line_total = Some(view.price.amount.saturating_mul(quantity));
                total = total.saturating_add(view.price.amount.saturating_mul(quantity));
                currency = Some(view.price.currency);
            }
            next.total = currency.map(|currency| Money {
                amount: total,
                currency,
            });
            process::record_status(
                &mut next,
                OrderStatus::Pending,
                OrderStatus::Placed,
                "system",
                None,
                self.ctx.now,
            )
        } else {
            for (i, line) in next.items.iter_mut().enumerate() {
                match refused.iter().find(|(j, _)| *j == i) {
                    Some((_, reason)) => {
                        line.reservation = LineReservation::Rejected;
                        line.reject_reason = Some(*reason);
                    }
                    // Nothing was taken for it: nothing to give back.
                    None => line.reservation = LineReservation::Released,
                }
            }
            let (first, reason) = refused[0];
            let why = format!("{}: {}", order.items[first].product_id, reason.describe());
            process::record_status(
                &mut next,
                OrderStatus::Pending,
                OrderStatus::Rejected,
                "system",
                Some(why),
                self.ctx.now,
            )
        };
        self.read.orders.insert(order_id.clone(), next.clone());
        self.out.orders.push((order.version, next));
        OrderOutcome::Decided(event)
    }
}
