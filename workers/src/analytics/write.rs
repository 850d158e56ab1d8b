//! The projection's writes: an order's facts (conditional on the revision read) and a
//! [`Delta`] as `$inc` upserts, each kind as one `update` command of many statements.

use std::collections::HashMap;

use mongodb::ClientSession;
use mongodb::bson::{self, Document, doc};
use oms_platform::Store;
use oms_platform::store::analytics::{
    ANALYTICS_BUCKETS, ANALYTICS_ORDERS, ANALYTICS_PRODUCTS, ANALYTICS_REASONS, ANALYTICS_STATUS,
    STATUS_DOC_ID,
};

use super::projection::{BucketKey, Delta, OrderFacts};

/// Statements per `update` command: well under the server's batch and size limits.
const CHUNK: usize = 1000;

/// Another projector changed an order's facts since they were read (a fail-over): the batch
/// is given back and applied again.
#[derive(Debug)]
pub struct FactsMoved;

/// An order's facts as read, with the revision a write is conditional on (0: none stored).
pub struct StoredFacts {
    pub rev: i64,
    pub facts: OrderFacts,
}

/// Reads the facts of `orders` within `session`.
pub async fn read_facts(
    store: &Store,
    session: &mut ClientSession,
    orders: &[String],
) -> mongodb::error::Result<HashMap<String, StoredFacts>> {
    let mut cursor = store
        .analytics_orders()
        .find(doc! { "_id": { "$in": orders } })
        .session(&mut *session)
        .await?;
    let mut found = HashMap::new();
    while let Some(doc) = cursor.next(&mut *session).await.transpose()? {
        let id = doc.get_str("_id").unwrap_or_default().to_string();
        let rev = doc.get_i64("rev").unwrap_or(0);
        let facts: OrderFacts = bson::from_document(doc).map_err(mongodb::error::Error::custom)?;
        found.insert(id, StoredFacts { rev, facts });
    }
    Ok(found)
}

/// The statement that stores `facts` for `order` if its revision is still `rev` (a stored
/// document of another revision makes the upsert's insert fail on the unique `_id`).
pub fn facts_statement(order: &str, rev: i64, facts: &OrderFacts) -> mongodb::error::Result<Document> {
    let mut set = bson::to_document(facts).map_err(mongodb::error::Error::custom)?;
    set.insert("rev", rev + 1);
    Ok(doc! { "q": { "_id": order, "rev": rev }, "u": { "$set": set }, "upsert": true })
}

fn bucket_id((granularity, start): &BucketKey) -> String {
    format!("{}:{}", granularity.as_str(), start.to_rfc3339())
}

fn on_insert((granularity, start): &BucketKey) -> Document {
    doc! { "granularity": granularity.as_str(), "start": oms_platform::store::from_chrono(*start) }
}

fn upsert(id: String, set_on_insert: Document, inc: Document, set: Option<Document>) -> Document {
    let mut update = doc! { "$setOnInsert": set_on_insert, "$inc": inc };
    if let Some(set) = set {
        update.insert("$set", set);
    }
    doc! { "q": { "_id": id }, "u": update, "upsert": true }
}

/// The `update` statements that add `delta` to the model, by collection.
pub fn delta_statements(delta: &Delta) -> Vec<(&'static str, Vec<Document>)> {
    // Every status is written whenever one changes, so that the document has the same fields
    // however its increments were grouped (a status counted and then left reads 0, not absent).
    let status = if delta.status.values().all(|n| *n == 0) {
        Vec::new()
    } else {
        let mut inc = doc! {};
        for status in oms_contracts::OrderStatus::ALL {
            inc.insert(
                format!("counts.{}", status.as_str()),
                delta.status.get(status.as_str()).copied().unwrap_or(0),
            );
        }
        vec![doc! { "q": { "_id": STATUS_DOC_ID }, "u": { "$inc": inc }, "upsert": true }]
    };
    let buckets = delta
        .buckets
        .iter()
        .map(|(key, b)| {
            let mut inc = doc! {
                "placed": b.placed, "cancelled": b.cancelled, "rejected": b.rejected, "delivered": b.delivered,
            };
            for (currency, amount) in &b.revenue {
                inc.insert(format!("revenue.{currency}"), *amount);
            }
            for (bin, n) in &b.placed_to_shipped {
                inc.insert(format!("placed_to_shipped.b{bin}"), *n);
            }
            for (bin, n) in &b.shipped_to_delivered {
                inc.insert(format!("shipped_to_delivered.b{bin}"), *n);
            }
            upsert(bucket_id(key), on_insert(key), inc, None)
        })
        .collect();
    let products = delta
        .products
        .iter()
        .map(|((key, product), p)| {
            let mut inc = doc! { "units": p.units };
            for (currency, amount) in &p.revenue {
                inc.insert(format!("revenue.{currency}"), *amount);
            }
            let mut insert = on_insert(key);
            insert.insert("product_id", product);
            let set = p.name.as_ref().map(|name| doc! { "name": name });
            upsert(format!("{}:{product}", bucket_id(key)), insert, inc, set)
        })
        .collect();
    let reasons = delta
        .reasons
        .iter()
        .map(|((key, reason), n)| {
            let mut insert = on_insert(key);
            insert.insert("reason", reason);
            upsert(
                format!("{}:{reason}", bucket_id(key)),
                insert,
                doc! { "count": n },
                None,
            )
        })
        .collect();
    vec![
        (ANALYTICS_STATUS, status),
        (ANALYTICS_BUCKETS, buckets),
        (ANALYTICS_PRODUCTS, products),
        (ANALYTICS_REASONS, reasons),
    ]
}

/// Runs `statements` on `collection` in chunks, within `session` (its transaction, if any).
/// Returns how many documents they matched or inserted.
pub async fn run(
    store: &Store,
    session: &mut ClientSession,
    collection: &str,
    statements: Vec<Document>,
) -> mongodb::error::Result<u64> {
    let mut n = 0;
    let mut statements = statements.into_iter().peekable();
    while statements.peek().is_some() {
        let chunk: Vec<Document> = statements.by_ref().take(CHUNK).collect();
        n += store.update_each(session, collection, chunk).await?;
    }
    Ok(n)
}

/// Stores the facts of every order in `changed` (conditional on their revisions) and adds
/// `delta`: the projection's whole write, within `session`.
pub async fn commit(
    store: &Store,
    session: &mut ClientSession,
    changed: &[(String, i64, OrderFacts)],
    delta: &Delta,
) -> mongodb::error::Result<()> {
    let statements = changed
        .iter()
        .map(|(order, rev, facts)| facts_statement(order, *rev, facts))
        .collect::<mongodb::error::Result<Vec<_>>>()?;
    let expected = statements.len() as u64;
    if run(store, session, ANALYTICS_ORDERS, statements).await? != expected {
        return Err(mongodb::error::Error::custom(FactsMoved));
    }
    for (collection, statements) in delta_statements(delta) {
        run(store, session, collection, statements).await?;
    }
    Ok(())
}
