//! `oms verify`: checks every stock and order invariant over the store and reports each
//! violation. Read-only. Orders that changed within the grace period are counted as in
//! flight rather than judged (their releases may still be on the way).
//!
//! - every product: stock ≥ 0 and stock = the sum of its ledger;
//! - every `PLACED`/`CONFIRMED`/`SHIPPED`/`DELIVERED` order: each line holds exactly its quantity;
//! - every `CANCELLED`/`REJECTED` order: no line holds anything;
//! - no order is `PENDING` for longer than the grace period.

use std::collections::HashMap;
use std::time::Duration;

use crate::Store;
use crate::store::{OrderDoc, ProductDoc};
use futures_util::TryStreamExt;
use mongodb::bson::{Bson, Document, doc};
use oms_contracts::OrderStatus;
use serde::Serialize;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Violation {
    /// `negative_stock`, `stock_ledger_mismatch`, `missing_reservation`, `stock_not_released`,
    /// `stuck_pending`.
    pub kind: &'static str,
    /// The product or order concerned.
    pub subject: String,
    pub detail: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = VerifyReport)]
pub struct Report {
    pub ok: bool,
    pub products_checked: u64,
    pub orders_checked: u64,
    /// Orders changed within the grace period, not judged.
    pub orders_in_flight: u64,
    pub violations: Vec<Violation>,
}

fn as_i64(value: Option<&Bson>) -> i64 {
    match value {
        Some(Bson::Int32(n)) => i64::from(*n),
        Some(Bson::Int64(n)) => *n,
        Some(Bson::Double(n)) => *n as i64,
        _ => 0,
    }
}

/// Runs every check. `grace` is how old a change must be before it is judged.
pub async fn verify(store: &Store, grace: Duration) -> mongodb::error::Result<Report> {
    let mut violations = Vec::new();

    let mut ledger_sums: HashMap<String, i64> = HashMap::new();
    let mut cursor = store
        .ledger()
        .aggregate(vec![
            doc! { "$group": { "_id": "$product_id", "sum": { "$sum": "$delta" } } },
        ])
        .await?;
    while let Some(row) = cursor.try_next().await? {
        if let Ok(product) = row.get_str("_id") {
            ledger_sums.insert(product.to_string(), as_i64(row.get("sum")));
        }
    }
    let products: Vec<ProductDoc> = store.products().find(doc! {}).await?.try_collect().await?;
    for product in &products {
        if product.stock < 0 {
            violations.push(Violation {
                kind: "negative_stock",
                subject: product.id.to_string(),
                detail: format!("stock is {}", product.stock),
            });
        }
        let sum = ledger_sums.remove(product.id.as_str()).unwrap_or(0);
        if sum != product.stock {
            violations.push(Violation {
                kind: "stock_ledger_mismatch",
                subject: product.id.to_string(),
                detail: format!("stock is {} but its ledger sums to {sum}", product.stock),
            });
        }
    }
    for (product, sum) in ledger_sums {
        if sum != 0 {
            violations.push(Violation {
                kind: "stock_ledger_mismatch",
                subject: product,
                detail: format!("ledger entries sum to {sum} for a product that does not exist"),
            });
        }
    }

    // What each (order, product) holds, net, according to the ledger.
    let mut held: HashMap<(String, String), i64> = HashMap::new();
    let mut cursor = store
        .ledger()
        .aggregate(vec![
            doc! { "$match": { "order_id": { "$ne": null } } },
            doc! { "$group": { "_id": { "o": "$order_id", "p": "$product_id" }, "net": { "$sum": "$delta" } } },
        ])
        .await?;
    while let Some(row) = cursor.try_next().await? {
        let Ok(key) = row.get_document("_id") else {
            continue;
        };
        let (Ok(order), Ok(product)) = (key.get_str("o"), key.get_str("p")) else {
            continue;
        };
        held.insert((order.to_string(), product.to_string()), -as_i64(row.get("net")));
    }

    let cutoff = crate::store::from_chrono(
        chrono::Utc::now() - chrono::Duration::from_std(grace).unwrap_or(chrono::Duration::seconds(30)),
    );
    let mut orders_checked = 0;
    let mut orders_in_flight = 0;
    let mut cursor = store.orders().find(Document::new()).await?;
    while let Some(order) = cursor.try_next().await? {
        orders_checked += 1;
        if order.updated_at > cutoff {
            orders_in_flight += 1;
            continue;
        }
        check_order(&order, &held, &mut violations);
    }

    Ok(Report {
        ok: violations.is_empty(),
        products_checked: products.len() as u64,
        orders_checked,
        orders_in_flight,
        violations,
    })
}

fn check_order(order: &OrderDoc, held: &HashMap<(String, String), i64>, violations: &mut Vec<Violation>) {
    if order.status == OrderStatus::Pending {
        violations.push(Violation {
            kind: "stuck_pending",
            subject: order.id.to_string(),
            detail: "PENDING for longer than the grace period".into(),
        });
        return;
    }
    for line in &order.items {
        let holds = held
            .get(&(order.id.to_string(), line.product_id.to_string()))
            .copied()
            .unwrap_or(0);
        if order.status.holds_stock() && holds != i64::from(line.quantity) {
            violations.push(Violation {
                kind: "missing_reservation",
                subject: order.id.to_string(),
                detail: format!(
                    "{} order holds {holds} of product {} instead of {}",
                    order.status,
                    line.product_id,
                    line.quantity.get()
                ),
            });
        }
        if !order.status.holds_stock() && holds != 0 {
            violations.push(Violation {
                kind: "stock_not_released",
                subject: order.id.to_string(),
                detail: format!(
                    "{} order still holds {holds} of product {}",
                    order.status, line.product_id
                ),
            });
        }
    }
}
