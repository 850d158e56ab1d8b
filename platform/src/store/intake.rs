//! The API's side of admitting an order: which orders a group insert stored, and the
//! withdrawal protocol for an order whose `PlaceOrder` the broker did not confirm (withdrawn
//! unless a worker started on it or a retry with the same Idempotency-Key promised it).

use futures_util::TryStreamExt;
use mongodb::bson::{Document, doc};
use oms_contracts::{OrderId, OrderStatus};

use super::{OrderDoc, Store};

impl Store {
    /// Which of `ids` are stored.
    pub async fn stored_order_ids(&self, ids: &[&str]) -> mongodb::error::Result<Vec<String>> {
        let found: Vec<Document> = self
            .orders()
            .clone_with_type::<Document>()
            .find(doc! { "_id": { "$in": ids } })
            .projection(doc! { "_id": 1 })
            .batch_size(1024)
            .await?
            .try_collect()
            .await?;
        Ok(found
            .iter()
            .filter_map(|d| d.get_str("_id").ok().map(str::to_string))
            .collect())
    }

    /// Deletes an order no worker has started on and no retry has promised; `false` when it
    /// stays (it is being placed, or a retry sent it again).
    pub async fn withdraw_unstarted_order(&self, id: &OrderId) -> mongodb::error::Result<bool> {
        let deleted = self
            .orders()
            .delete_one(doc! {
                "_id": id.as_str(),
                "status": OrderStatus::Pending.as_str(),
                "dispatched": false,
                "retried": { "$ne": true },
            })
            .await?;
        Ok(deleted.deleted_count == 1)
    }

    /// The order placed with this Idempotency-Key.
    pub async fn order_by_idempotency_key(&self, key: &str) -> mongodb::error::Result<Option<OrderDoc>> {
        self.orders().find_one(doc! { "idem_key": key }).await
    }

    /// Marks an order as promised by a retry, so that the attempt that stored it cannot
    /// withdraw it; `false` when it is gone (withdrawn just now).
    pub async fn mark_order_retried(&self, id: &OrderId) -> mongodb::error::Result<bool> {
        let marked = self
            .orders()
            .update_one(doc! { "_id": id.as_str() }, doc! { "$set": { "retried": true } })
            .await?;
        Ok(marked.matched_count == 1)
    }
}
