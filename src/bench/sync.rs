//! The synchronous design at its limit, measured in the same run: `concurrency` tasks decide the
//! same order plan straight on the store, each order inside its "request" — per line a
//! conditional decrement (`{_id, stock: {$gte: q}}`, `$inc: -q`), the lines already taken given
//! back when one fails, then the order insert. This is what an Express + MongoDB app does per
//! request, without its HTTP and framework costs, so it is the strongest form of that design.
//! It runs on a copy of the scenario's products in a database of its own.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use mongodb::bson::{Document, doc};
use mongodb::options::ReturnDocument;
use oms_platform::Store;
use serde::Serialize;

use super::{Percentiles, percentiles};

#[derive(Debug, Clone, Serialize)]
pub struct SyncReport {
    pub orders: usize,
    pub placed: usize,
    pub rejected: usize,
    /// Decided orders per second (every order is decided inside its own call).
    pub orders_per_s: f64,
    /// Each order's time from when it was due (open loop) or sent to its decision.
    pub latency_ms: Percentiles,
    /// Store round trips per order.
    pub store_commands_per_order: f64,
}

/// What the baseline needs of the run: the products (id, initial stock) and each order's lines.
pub struct SyncRun<'a> {
    pub products: &'a [(String, i64)],
    pub plans: &'a [Vec<(String, i64)>],
    pub concurrency: usize,
    pub rate: Option<f64>,
    pub run_id: &'a str,
}

pub async fn measure(store: &Store, run: SyncRun<'_>) -> anyhow::Result<SyncReport> {
    let db = store.client().database(&format!("oms_bench_sync_{}", run.run_id));
    let products = db.collection::<Document>("products");
    let orders = db.collection::<Document>("orders");
    let copies: Vec<Document> = run
        .products
        .iter()
        .map(|(id, stock)| {
            doc! {
                "_id": id, "name": format!("copy of {id}"), "price": { "amount": 199i64, "currency": "USD" },
                "stock": stock, "active": true,
            }
        })
        .collect();
    products.insert_many(copies).await?;

    let plans = Arc::new(run.plans.to_vec());
    let next = Arc::new(AtomicUsize::new(0));
    let commands = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(run.concurrency);
    for _ in 0..run.concurrency {
        let (products, orders, plans, next, commands) = (
            products.clone(),
            orders.clone(),
            plans.clone(),
            next.clone(),
            commands.clone(),
        );
        let rate = run.rate;
        tasks.push(tokio::spawn(async move {
            let mut results: Vec<(bool, f64)> = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(lines) = plans.get(i) else { break };
                let due = match rate {
                    Some(rate) => {
                        let due = started + Duration::from_secs_f64(i as f64 / rate);
                        tokio::time::sleep_until(due.into()).await;
                        due
                    }
                    None => Instant::now(),
                };
                let placed = place(&products, &orders, lines, &commands).await?;
                results.push((placed, due.elapsed().as_secs_f64() * 1000.0));
            }
            Ok::<_, mongodb::error::Error>(results)
        }));
    }
    let mut results = Vec::with_capacity(run.plans.len());
    for task in tasks {
        results.extend(task.await??);
    }
    let elapsed = started.elapsed().as_secs_f64();
    let _ = db.drop().await;
    let placed = results.iter().filter(|(placed, _)| *placed).count();
    Ok(SyncReport {
        orders: results.len(),
        placed,
        rejected: results.len() - placed,
        orders_per_s: results.len() as f64 / elapsed,
        latency_ms: percentiles(results.iter().map(|(_, ms)| *ms).collect()),
        store_commands_per_order: commands.load(Ordering::Relaxed) as f64 / results.len().max(1) as f64,
    })
}

/// One order, decided the synchronous way; `true` when placed.
async fn place(
    products: &mongodb::Collection<Document>,
    orders: &mongodb::Collection<Document>,
    lines: &[(String, i64)],
    commands: &AtomicUsize,
) -> mongodb::error::Result<bool> {
    let mut taken: Vec<(&str, i64, i64)> = Vec::with_capacity(lines.len());
    for (product_id, quantity) in lines {
        commands.fetch_add(1, Ordering::Relaxed);
        let product = products
            .find_one_and_update(
                doc! { "_id": product_id, "active": true, "stock": { "$gte": quantity } },
                doc! { "$inc": { "stock": -quantity } },
            )
            .return_document(ReturnDocument::After)
            .await?;
        match product {
            Some(product) => {
                let price = product
                    .get_document("price")
                    .ok()
                    .and_then(|p| p.get_i64("amount").ok())
                    .unwrap_or(0);
                taken.push((product_id, *quantity, price));
            }
            None => {
                for (product_id, quantity, _) in taken {
                    commands.fetch_add(1, Ordering::Relaxed);
                    products
                        .update_one(doc! { "_id": product_id }, doc! { "$inc": { "stock": quantity } })
                        .await?;
                }
                return Ok(false);
            }
        }
    }
    let total: i64 = taken.iter().map(|(_, q, price)| q * price).sum();
    let items: Vec<Document> = taken
        .iter()
        .map(|(product_id, quantity, price)| doc! { "product_id": *product_id, "quantity": quantity, "unit_price": price })
        .collect();
    commands.fetch_add(1, Ordering::Relaxed);
    orders
        .insert_one(doc! {
            "_id": uuid::Uuid::now_v7().to_string(), "status": "PLACED", "items": items,
            "total": { "amount": total, "currency": "USD" }, "created_at": mongodb::bson::DateTime::now(),
        })
        .await?;
    Ok(true)
}
