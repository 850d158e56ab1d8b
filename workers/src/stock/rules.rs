//! The stock rules, once, as a pure function: a batch of commands (one, or whatever arrived
//! together) decided in delivery order against one read of the products, orders and ledger
//! entries they depend on. The handler reads, calls [`decide`], and writes the result in one
//! transaction; a single command is a batch of one.
//!
//! - A reservation takes `q` when the product is active and has `q` (never below zero); it is
//!   refused after its line's release.
//! - A release gives back what its line's reservation took, once, and leaves a tombstone that
//!   refuses a later reservation.
//! - An adjustment never takes the stock below zero.
//! - A whole order (its products all in this partition) reserves every line or none: `PLACED`
//!   with the prices read, or `REJECTED` with a reason per refused line and nothing held.
//!
//! Every operation has a key (the `_id` of its ledger entry, or the order's own status for a
//! whole order): a command whose key is already decided is answered with the recorded result.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use mongodb::bson;
use oms_contracts::messages::{Event, RejectReason, StockCommand};
use oms_contracts::routing::partition_of;
use oms_contracts::{Money, OrderId, OrderStatus, ProductId};
use oms_platform::store::{
    LedgerDoc, LedgerKind, LedgerOutcome, LineReservation, OrderDoc, ProductDoc, Refusal,
};

use crate::orders::process;

/// The operation key of a stock command: the `_id` of its ledger entry (`None` for a whole
/// order, whose decision is recorded on the order).
pub fn op_key(command: &StockCommand) -> Option<String> {
    match command {
        StockCommand::ReserveStock {
            order_id, product_id, ..
        } => Some(LedgerDoc::reserve_key(order_id.as_str(), product_id.as_str())),
        StockCommand::ReleaseStock {
            order_id, product_id, ..
        } => Some(LedgerDoc::release_key(order_id.as_str(), product_id.as_str())),
        StockCommand::AdjustStock { adjustment_id, .. } => Some(LedgerDoc::adjust_key(adjustment_id)),
        StockCommand::PlaceOrder { .. } => None,
    }
}

/// The key of the entry a command's decision depends on: a reservation is refused after its
/// line's release, a release gives back what its line's reservation took.
pub fn related_key(command: &StockCommand) -> Option<String> {
    match command {
        StockCommand::ReserveStock {
            order_id, product_id, ..
        } => Some(LedgerDoc::release_key(order_id.as_str(), product_id.as_str())),
        StockCommand::ReleaseStock {
            order_id, product_id, ..
        } => Some(LedgerDoc::reserve_key(order_id.as_str(), product_id.as_str())),
        StockCommand::AdjustStock { .. } | StockCommand::PlaceOrder { .. } => None,
    }
}

/// The product a single-product command changes.
pub fn product_of(command: &StockCommand) -> Option<&ProductId> {
    match command {
        StockCommand::ReserveStock { product_id, .. }
        | StockCommand::ReleaseStock { product_id, .. }
        | StockCommand::AdjustStock { product_id, .. } => Some(product_id),
        StockCommand::PlaceOrder { .. } => None,
    }
}

/// A product as the batch read it.
#[derive(Clone, Debug)]
pub struct ProductView {
    pub stock: i64,
    pub active: bool,
    pub price: Money,
    pub name: String,
    pub threshold: i64,
}

impl ProductView {
    pub fn of(product: &ProductDoc, default_threshold: i64) -> Self {
        Self {
            stock: product.stock,
            active: product.active,
            price: product.price,
            name: product.name.clone(),
            threshold: product.low_stock_threshold.unwrap_or(default_threshold),
        }
    }
}

/// What the batch read: the products (absent: no such product), the recorded ledger entries
/// the commands depend on, and the orders of its whole-order commands.
#[derive(Debug, Default)]
pub struct Read {
    pub products: HashMap<ProductId, ProductView>,
    pub known: HashMap<String, LedgerDoc>,
    pub orders: HashMap<OrderId, OrderDoc>,
}

/// Where the batch is decided.
#[derive(Clone, Copy, Debug)]
pub struct Context {
    /// The stock partition whose commands these are.
    pub partition: u32,
    pub partitions: u32,
    pub now: DateTime<Utc>,
}

/// A product's stock crossing its low-stock threshold downwards.
#[derive(Clone, Debug, PartialEq)]
pub struct Crossing {
    pub product_id: ProductId,
    pub stock: i64,
    pub threshold: i64,
}

/// What became of a whole-order command.
#[derive(Clone, Debug, PartialEq)]
pub enum OrderOutcome {
    /// Decided in this batch (`PLACED` or `REJECTED`); the event announces it.
    Decided(Event),
    /// Decided before (a redelivery): the event that announced it, to send again.
    DecidedBefore(Event),
    /// Nothing to do: the order was withdrawn, has ended, or its saga already started.
    Nothing,
    /// Its products are not all in this partition: the order worker's saga decides it.
    Forward,
}

/// The decision for one command.
#[derive(Clone, Debug, PartialEq)]
pub enum Decided {
    /// A stock operation's ledger entry: recorded before (a redelivery), or taken now.
    Entry(LedgerDoc),
    Order(OrderOutcome),
}

/// A batch's decisions: one per command (in delivery order) with the crossings it caused,
/// and what must be written.
#[derive(Debug, Default)]
pub struct Decisions {
    pub decided: Vec<(Decided, Vec<Crossing>)>,
    /// Each product written: `(id, stock as read, active as read, stock after)`. A product
    /// that a new single-product decision touched is written even when its stock ends where
    /// it was (a release of nothing): a consumer overlapping during a fail-over then collides
    /// instead of slipping past.
    pub products: Vec<(ProductId, i64, bool, i64)>,
    /// The new ledger entries, in delivery order.
    pub entries: Vec<LedgerDoc>,
    /// Orders decided whole: `(version as read, new state)`.
    pub orders: Vec<(i64, OrderDoc)>,
}

/// The products a batch must read: those of its single-product commands and the lines of the
/// whole orders it may decide (`orders` as read).
pub fn products_to_read(commands: &[StockCommand], orders: &HashMap<OrderId, OrderDoc>) -> Vec<ProductId> {
    let mut ids: Vec<ProductId> = Vec::new();
    for command in commands {
        match command {
            StockCommand::PlaceOrder { order_id, .. } => {
                if let Some(order) = orders.get(order_id).filter(|o| undecided(o)) {
                    ids.extend(order.items.iter().map(|l| l.product_id.clone()));
                }
            }
            other => ids.extend(product_of(other).cloned()),
        }
    }
    ids.sort();
    ids.dedup();
    ids
}

/// The ledger keys a batch must read.
pub fn keys_to_read(commands: &[StockCommand]) -> Vec<String> {
    let mut keys: Vec<String> = commands
        .iter()
        .flat_map(|c| op_key(c).into_iter().chain(related_key(c)))
        .collect();
    keys.sort();
    keys.dedup();
    keys
}

/// The order a whole-order command places, as the API stored it (`PENDING`, version 0, not
/// dispatched) so far as deciding it is concerned: what the stock worker assumes instead of
/// reading it, with its write conditional on the order being still so.
pub fn as_placed(command: &StockCommand, at: DateTime<Utc>) -> Option<OrderDoc> {
    let StockCommand::PlaceOrder {
        order_id,
        user_id,
        lines,
    } = command
    else {
        return None;
    };
    Some(OrderDoc::placed(
        order_id,
        user_id,
        lines,
        None,
        String::new(),
        at,
    ))
}

/// A whole order that nobody has started deciding.
fn undecided(order: &OrderDoc) -> bool {
    order.status == OrderStatus::Pending && !order.dispatched
}

struct Running<'a> {
    read: &'a mut Read,
    ctx: Context,
    at: bson::DateTime,
    /// Stock after the decisions so far, per product decided on.
    stock: HashMap<ProductId, i64>,
    /// Products a single-product decision touched, in first-touch order.
    touched: Vec<ProductId>,
    out: Decisions,
}

/// Decides `commands` in delivery order against `read`, which is updated with every decision
/// (so that a command repeated within the batch is answered with the first one's result).
pub fn decide(read: &mut Read, commands: &[StockCommand], ctx: Context) -> Decisions {
    let mut run = Running {
        read,
        ctx,
        at: bson::DateTime::from_millis(ctx.now.timestamp_millis()),
        stock: HashMap::new(),
        touched: Vec::new(),
        out: Decisions::default(),
    };
    for command in commands {
        let mut crossings = Vec::new();
        let decided = match command {
            StockCommand::PlaceOrder { order_id, .. } => {
                Decided::Order(run.whole_order(order_id, &mut crossings))
            }
            single => run.single(single, &mut crossings),
        };
        run.out.decided.push((decided, crossings));
    }
    let Running {
        read,
        stock,
        touched,
        mut out,
        ..
    } = run;
    let mut written: Vec<&ProductId> = touched.iter().collect();
    for (id, after) in &stock {
        if !touched.contains(id) && read.products.get(id).is_some_and(|p| p.stock != *after) {
            written.push(id);
        }
    }
    written.sort();
    for id in written {
        if let (Some(view), Some(after)) = (read.products.get(id), stock.get(id)) {
            out.products.push((id.clone(), view.stock, view.active, *after));
        }
    }
    out
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
    fn single(&mut self, command: &StockCommand, crossings: &mut Vec<Crossing>) -> Decided {
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
    fn whole_order(&mut self, order_id: &OrderId, crossings: &mut Vec<Crossing>) -> OrderOutcome {
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

#[cfg(test)]
mod tests;
