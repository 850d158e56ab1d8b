//! The batched stock decisions, as a pure function: the commands of one product, in delivery
//! order, decided against one read of it. The handler reads the product and the ledger entries
//! the decisions depend on, calls [`decide_product`], and writes the result in one transaction
//! (one conditional update of the product, one insert of the new ledger entries).
//!
//! The rules are the one-at-a-time path's, applied to a running balance instead of to the
//! store: a reservation takes `q` when the product is active and has `q`; a release restores
//! what its line's reservation took (and leaves a tombstone that refuses a later reservation);
//! an adjustment never takes the stock below zero. The property test in `tests/it` runs both
//! paths on the same random commands and compares every ledger entry and reply.

use std::collections::HashMap;

use mongodb::bson;
use oms_contracts::Money;
use oms_contracts::messages::{RejectReason, StockCommand};
use oms_platform::store::{LedgerDoc, LedgerKind, LedgerOutcome, ProductDoc};

use super::{entry, reject_code};

/// The operation key of `command`: the `_id` of its ledger entry.
pub fn op_key(command: &StockCommand) -> String {
    match command {
        StockCommand::ReserveStock {
            order_id, product_id, ..
        } => LedgerDoc::reserve_key(order_id.as_str(), product_id.as_str()),
        StockCommand::ReleaseStock {
            order_id, product_id, ..
        } => LedgerDoc::release_key(order_id.as_str(), product_id.as_str()),
        StockCommand::AdjustStock { adjustment_id, .. } => LedgerDoc::adjust_key(adjustment_id),
    }
}

/// The key of the entry that `command`'s decision depends on: a reservation is refused after
/// its line's release, a release gives back what its line's reservation took.
pub fn related_key(command: &StockCommand) -> Option<String> {
    match command {
        StockCommand::ReserveStock {
            order_id, product_id, ..
        } => Some(LedgerDoc::release_key(order_id.as_str(), product_id.as_str())),
        StockCommand::ReleaseStock {
            order_id, product_id, ..
        } => Some(LedgerDoc::reserve_key(order_id.as_str(), product_id.as_str())),
        StockCommand::AdjustStock { .. } => None,
    }
}

pub fn product_of(command: &StockCommand) -> &oms_contracts::ProductId {
    match command {
        StockCommand::ReserveStock { product_id, .. }
        | StockCommand::ReleaseStock { product_id, .. }
        | StockCommand::AdjustStock { product_id, .. } => product_id,
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

/// One product's decisions.
#[derive(Debug, Default)]
pub struct ProductDecisions {
    /// The new ledger entries, in delivery order.
    pub entries: Vec<LedgerDoc>,
    /// Low-stock crossings, by the op key that caused them: `(stock, threshold)`.
    pub low_stock: Vec<(String, i64, i64)>,
    /// The stock after every decision (`None` when the product does not exist).
    pub stock_after: Option<i64>,
}

/// Decides `commands` (all of one product, in delivery order) against `product` as read.
/// `known` holds the recorded ledger entries the commands depend on, by op key; every decision
/// taken here is added to it, so a command whose key is already there (a redelivery, or the
/// same command twice in one batch) is not decided again.
pub fn decide_product(
    product: Option<&ProductView>,
    commands: &[&StockCommand],
    known: &mut HashMap<String, LedgerDoc>,
    at: bson::DateTime,
) -> ProductDecisions {
    let mut stock = product.map(|p| p.stock);
    let mut out = ProductDecisions::default();
    for command in commands {
        let key = op_key(command);
        if known.contains_key(&key) {
            continue;
        }
        let product_id = product_of(command);
        let mut decided = match command {
            StockCommand::ReserveStock {
                order_id, quantity, ..
            } => {
                let quantity = i64::from(quantity.get());
                let released_first = related_key(command).is_some_and(|k| known.contains_key(&k));
                let mut e = match (product, stock) {
                    _ if released_first => {
                        let mut e = entry(
                            key.clone(),
                            product_id,
                            LedgerKind::Reserve,
                            LedgerOutcome::Rejected,
                            0,
                            0,
                        );
                        e.reason = Some(reject_code(RejectReason::OrderReleased));
                        e
                    }
                    (Some(p), Some(s)) if p.active && s >= quantity => {
                        let after = s - quantity;
                        stock = Some(after);
                        if s > p.threshold && after <= p.threshold {
                            out.low_stock.push((key.clone(), after, p.threshold));
                        }
                        let mut e = entry(
                            key.clone(),
                            product_id,
                            LedgerKind::Reserve,
                            LedgerOutcome::Applied,
                            -quantity,
                            after,
                        );
                        e.unit_price = Some(p.price);
                        e.product_name = Some(p.name.clone());
                        e
                    }
                    (p, s) => {
                        let (reason, balance) = match p {
                            None => (RejectReason::UnknownProduct, 0),
                            Some(p) if !p.active => (RejectReason::InactiveProduct, s.unwrap_or(0)),
                            Some(_) => (RejectReason::InsufficientStock, s.unwrap_or(0)),
                        };
                        let mut e = entry(
                            key.clone(),
                            product_id,
                            LedgerKind::Reserve,
                            LedgerOutcome::Rejected,
                            0,
                            balance,
                        );
                        e.reason = Some(reject_code(reason));
                        e
                    }
                };
                e.order_id = Some(order_id.to_string());
                e
            }
            StockCommand::ReleaseStock { order_id, .. } => {
                let held = related_key(command)
                    .and_then(|k| known.get(&k))
                    .filter(|r| r.outcome == LedgerOutcome::Applied)
                    .map(|r| -r.delta)
                    .unwrap_or(0);
                let mut e = match stock {
                    Some(s) if held > 0 => {
                        stock = Some(s + held);
                        entry(
                            key.clone(),
                            product_id,
                            LedgerKind::Release,
                            LedgerOutcome::Applied,
                            held,
                            s + held,
                        )
                    }
                    // Nothing was held: a tombstone, so that a late reservation is refused.
                    _ => entry(
                        key.clone(),
                        product_id,
                        LedgerKind::Release,
                        LedgerOutcome::Noop,
                        0,
                        0,
                    ),
                };
                e.order_id = Some(order_id.to_string());
                e
            }
            StockCommand::AdjustStock {
                delta,
                reason,
                admin_id,
                ..
            } => {
                let delta = *delta;
                let mut e = match (product, stock) {
                    (Some(p), Some(s)) if s + delta >= 0 || delta >= 0 => {
                        let after = s + delta;
                        stock = Some(after);
                        if s > p.threshold && after <= p.threshold {
                            out.low_stock.push((key.clone(), after, p.threshold));
                        }
                        let mut e = entry(
                            key.clone(),
                            product_id,
                            LedgerKind::Adjust,
                            LedgerOutcome::Applied,
                            delta,
                            after,
                        );
                        e.reason = Some(reason.clone());
                        e
                    }
                    (_, s) => {
                        let why = match s {
                            None => "no such product".to_string(),
                            Some(s) => format!("it would take the stock below zero (stock is {s})"),
                        };
                        let mut e = entry(
                            key.clone(),
                            product_id,
                            LedgerKind::Adjust,
                            LedgerOutcome::Rejected,
                            0,
                            s.unwrap_or(0),
                        );
                        e.reason = Some(why);
                        e
                    }
                };
                e.actor = admin_id.to_string();
                e
            }
        };
        decided.at = at;
        known.insert(key, decided.clone());
        out.entries.push(decided);
    }
    out.stock_after = stock;
    out
}

#[cfg(test)]
mod tests {
    use oms_contracts::domain::Quantity;
    use oms_contracts::{OrderId, ProductId, UserId};

    use super::*;

    fn view(stock: i64) -> ProductView {
        ProductView {
            stock,
            active: true,
            price: Money {
                amount: 100,
                currency: oms_contracts::domain::Currency::USD,
            },
            name: "Widget".into(),
            threshold: 2,
        }
    }

    fn reserve(order: &OrderId, product: &ProductId, q: u32) -> StockCommand {
        StockCommand::ReserveStock {
            order_id: order.clone(),
            product_id: product.clone(),
            quantity: Quantity::parse(i64::from(q)).expect("a valid quantity"),
            reply_to: "oms.orders.0".into(),
        }
    }

    fn release(order: &OrderId, product: &ProductId) -> StockCommand {
        StockCommand::ReleaseStock {
            order_id: order.clone(),
            product_id: product.clone(),
            reply_to: "oms.orders.0".into(),
        }
    }

    #[test]
    fn reservations_take_the_running_balance_and_never_go_below_zero() {
        let p = ProductId::new();
        let (a, b, c) = (OrderId::new(), OrderId::new(), OrderId::new());
        let commands = [reserve(&a, &p, 3), reserve(&b, &p, 3), reserve(&c, &p, 2)];
        let refs: Vec<_> = commands.iter().collect();
        let out = decide_product(Some(&view(5)), &refs, &mut HashMap::new(), bson::DateTime::now());
        let outcomes: Vec<_> = out
            .entries
            .iter()
            .map(|e| (e.outcome, e.delta, e.balance_after))
            .collect();
        assert_eq!(
            outcomes,
            [
                (LedgerOutcome::Applied, -3, 2),
                (LedgerOutcome::Rejected, 0, 2),
                (LedgerOutcome::Applied, -2, 0)
            ]
        );
        assert_eq!(out.stock_after, Some(0));
        // 5 → 2 crosses the threshold of 2 once; 2 → 0 does not cross it again.
        assert_eq!(out.low_stock.len(), 1);
    }

    #[test]
    fn a_release_restores_what_its_reservation_took_and_refuses_a_late_reservation() {
        let p = ProductId::new();
        let (a, b) = (OrderId::new(), OrderId::new());
        let commands = [
            reserve(&a, &p, 4),
            release(&a, &p),
            release(&b, &p),
            reserve(&b, &p, 1),
            reserve(&a, &p, 4),
        ];
        let refs: Vec<_> = commands.iter().collect();
        let out = decide_product(Some(&view(10)), &refs, &mut HashMap::new(), bson::DateTime::now());
        let outcomes: Vec<_> = out.entries.iter().map(|e| (e.kind, e.outcome, e.delta)).collect();
        assert_eq!(
            outcomes,
            [
                (LedgerKind::Reserve, LedgerOutcome::Applied, -4),
                (LedgerKind::Release, LedgerOutcome::Applied, 4),
                (LedgerKind::Release, LedgerOutcome::Noop, 0),
                (LedgerKind::Reserve, LedgerOutcome::Rejected, 0),
            ],
            "the second reservation of order a is the same operation: decided once"
        );
        assert_eq!(out.entries[3].reason.as_deref(), Some("order_released"));
        assert_eq!(out.stock_after, Some(10));
    }

    #[test]
    fn adjustments_refuse_to_go_below_zero_and_unknown_products_refuse_everything() {
        let p = ProductId::new();
        let admin = UserId::new();
        let adjust = |id: &str, delta| StockCommand::AdjustStock {
            adjustment_id: id.into(),
            product_id: p.clone(),
            delta,
            reason: "count".into(),
            admin_id: admin.clone(),
        };
        let commands = [adjust("1", -3), adjust("2", -1), adjust("3", 5)];
        let refs: Vec<_> = commands.iter().collect();
        let out = decide_product(Some(&view(3)), &refs, &mut HashMap::new(), bson::DateTime::now());
        let outcomes: Vec<_> = out.entries.iter().map(|e| (e.outcome, e.balance_after)).collect();
        assert_eq!(
            outcomes,
            [
                (LedgerOutcome::Applied, 0),
                (LedgerOutcome::Rejected, 0),
                (LedgerOutcome::Applied, 5)
            ]
        );
        let order = OrderId::new();
        let unknown = [reserve(&order, &p, 1), adjust("4", 1)];
        let refs: Vec<_> = unknown.iter().collect();
        let out = decide_product(None, &refs, &mut HashMap::new(), bson::DateTime::now());
        assert!(out.entries.iter().all(|e| e.outcome == LedgerOutcome::Rejected));
        assert_eq!(out.stock_after, None);
    }
}
