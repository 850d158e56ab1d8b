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

mod running;
use running::*;

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use mongodb::bson;
use oms_contracts::messages::{Event, StockCommand};
use oms_contracts::{Money, OrderId, ProductId};
use oms_platform::store::{LedgerDoc, OrderDoc, ProductDoc};

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
        number,
    } = command
    else {
        return None;
    };
    let mut order = OrderDoc::placed(order_id, user_id, lines, None, String::new(), at);
    order.number = *number;
    Some(order)
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

#[cfg(test)]
mod tests;
