//! `oms verify`: checks every stock and order invariant over the store and reports each
//! violation. Read-only. Orders that changed within the grace period are counted as in
//! flight rather than judged (their releases may still be on the way). It reads in chunks of a
//! thousand documents, so its memory stays bounded however large the store, and it can check
//! one product or only the orders changed since a time ([`Scope`]).
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
use oms_contracts::{OrderStatus, ProductId};
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

/// What to check: everything, one product (its stock and ledger, and the orders that reserved
/// it), or only orders changed since a time (every product still checked: there are few).
#[derive(Clone, Debug, Default)]
pub struct Scope {
    pub product: Option<ProductId>,
    pub since: Option<chrono::DateTime<chrono::Utc>>,
}

/// How far a check has come, reported after every chunk.
#[derive(Clone, Copy, Debug, Default)]
pub struct Progress {
    pub products_checked: u64,
    pub orders_checked: u64,
}

/// Documents read and judged at a time: memory stays bounded whatever the store holds.
const CHUNK: usize = 1000;

/// Runs every check. `grace` is how old a change must be before it is judged.
pub async fn verify(store: &Store, grace: Duration) -> mongodb::error::Result<Report> {
    verify_scoped(store, grace, &Scope::default(), &mut |_| {}).await
}

/// Runs the checks of `scope` in chunks of [`CHUNK`] documents, calling `progress` after each.
pub async fn verify_scoped(
    store: &Store,
    grace: Duration,
    scope: &Scope,
    progress: &mut (dyn FnMut(Progress) + Send),
) -> mongodb::error::Result<Report> {
    let mut violations = Vec::new();
    let mut done = Progress::default();

    // Products, a chunk at a time, each chunk's ledger summed by the store.
    let product_filter = match &scope.product {
        Some(id) => doc! { "_id": id.as_str() },
        None => Document::new(),
    };
    let mut products = store
        .products()
        .find(product_filter)
        .sort(doc! { "_id": 1 })
        .await?;
    let mut chunk: Vec<ProductDoc> = Vec::with_capacity(CHUNK);
    loop {
        let next = products.try_next().await?;
        let end = next.is_none();
        if let Some(product) = next {
            chunk.push(product);
        }
        if (end || chunk.len() >= CHUNK) && !chunk.is_empty() {
            check_products(store, &chunk, &mut violations).await?;
            done.products_checked += chunk.len() as u64;
            progress(done);
            chunk.clear();
        }
        if end {
            break;
        }
    }
    // Ledger entries for products that do not exist (a whole-store check only).
    if scope.product.is_none() {
        let named = store.ledger().distinct("product_id", Document::new()).await?;
        for id in named.iter().filter_map(Bson::as_str) {
            let exists = store.products().find_one(doc! { "_id": id }).await?.is_some();
            if !exists {
                let sum = ledger_sums(store, &[id]).await?.remove(id).unwrap_or(0);
                if sum != 0 {
                    violations.push(Violation {
                        kind: "stock_ledger_mismatch",
                        subject: id.to_string(),
                        detail: format!("ledger entries sum to {sum} for a product that does not exist"),
                    });
                }
            }
        }
    }

    // Orders, a chunk at a time, each chunk's reservations netted by the store.
    let cutoff = crate::store::from_chrono(
        chrono::Utc::now() - chrono::Duration::from_std(grace).unwrap_or(chrono::Duration::seconds(30)),
    );
    let order_filter = match (&scope.product, scope.since) {
        (Some(product), _) => {
            let ids = store
                .ledger()
                .distinct(
                    "order_id",
                    doc! { "product_id": product.as_str(), "order_id": { "$ne": null } },
                )
                .await?;
            doc! { "_id": { "$in": ids } }
        }
        (None, Some(since)) => doc! { "updated_at": { "$gte": crate::store::from_chrono(since) } },
        (None, None) => Document::new(),
    };
    let mut orders_in_flight = 0;
    let mut orders = store.orders().find(order_filter).sort(doc! { "_id": 1 }).await?;
    let mut chunk: Vec<OrderDoc> = Vec::with_capacity(CHUNK);
    loop {
        let next = orders.try_next().await?;
        let end = next.is_none();
        if let Some(order) = next {
            done.orders_checked += 1;
            if order.updated_at > cutoff {
                orders_in_flight += 1;
            } else {
                chunk.push(order);
            }
        }
        if (end || chunk.len() >= CHUNK) && !chunk.is_empty() {
            let held = holdings(store, &chunk).await?;
            for order in &chunk {
                check_order(order, &held, &mut violations);
            }
            progress(done);
            chunk.clear();
        }
        if end {
            break;
        }
    }

    Ok(Report {
        ok: violations.is_empty(),
        products_checked: done.products_checked,
        orders_checked: done.orders_checked,
        orders_in_flight,
        violations,
    })
}

/// Each product's ledger sum, for `products`.
async fn ledger_sums(store: &Store, products: &[&str]) -> mongodb::error::Result<HashMap<String, i64>> {
    let mut sums = HashMap::new();
    let mut cursor = store
        .ledger()
        .aggregate(vec![
            doc! { "$match": { "product_id": { "$in": products } } },
            doc! { "$group": { "_id": "$product_id", "sum": { "$sum": "$delta" } } },
        ])
        .await?;
    while let Some(row) = cursor.try_next().await? {
        if let Ok(product) = row.get_str("_id") {
            sums.insert(product.to_string(), as_i64(row.get("sum")));
        }
    }
    Ok(sums)
}

async fn check_products(
    store: &Store,
    products: &[ProductDoc],
    violations: &mut Vec<Violation>,
) -> mongodb::error::Result<()> {
    let ids: Vec<&str> = products.iter().map(|p| p.id.as_str()).collect();
    let sums = ledger_sums(store, &ids).await?;
    for product in products {
        if product.stock < 0 {
            violations.push(Violation {
                kind: "negative_stock",
                subject: product.id.to_string(),
                detail: format!("stock is {}", product.stock),
            });
        }
        let sum = sums.get(product.id.as_str()).copied().unwrap_or(0);
        if sum != product.stock {
            violations.push(Violation {
                kind: "stock_ledger_mismatch",
                subject: product.id.to_string(),
                detail: format!("stock is {} but its ledger sums to {sum}", product.stock),
            });
        }
    }
    Ok(())
}

/// What each (order, product) of `orders` holds, net, according to the ledger.
async fn holdings(
    store: &Store,
    orders: &[OrderDoc],
) -> mongodb::error::Result<HashMap<(String, String), i64>> {
    let ids: Vec<&str> = orders.iter().map(|o| o.id.as_str()).collect();
    let mut held = HashMap::new();
    let mut cursor = store
        .ledger()
        .aggregate(vec![
            doc! { "$match": { "order_id": { "$in": ids } } },
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
    Ok(held)
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
