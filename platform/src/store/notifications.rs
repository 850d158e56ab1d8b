//! The shoppers' in-app inboxes: one notification per status change of a user's order,
//! keyed by the order and its version so that an event delivered twice adds nothing.

use mongodb::Collection;
use mongodb::bson::{DateTime, doc};
use oms_contracts::{OrderId, OrderStatus, UserId};
use serde::{Deserialize, Serialize};

use super::Store;

pub const NOTIFICATIONS: &str = "notifications";

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct NotificationDoc {
    /// `{order_id}:{version}`: the change it announces, whichever message carried it.
    #[serde(rename = "_id")]
    pub id: String,
    pub user_id: UserId,
    pub order_id: OrderId,
    /// The order's short number, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_number: Option<i64>,
    pub status: OrderStatus,
    pub from: Option<OrderStatus>,
    pub reason: Option<String>,
    pub version: i64,
    /// When the order changed.
    pub at: DateTime,
    pub created_at: DateTime,
    pub read_at: Option<DateTime>,
}

impl NotificationDoc {
    pub fn key(order_id: &OrderId, version: i64) -> String {
        format!("{order_id}:{version}")
    }
}

impl Store {
    pub fn notifications(&self) -> Collection<NotificationDoc> {
        self.db().collection(NOTIFICATIONS)
    }

    /// Marks `user`'s unread notifications read: those with the given ids (others' ids match
    /// nothing), or all of them.
    pub async fn mark_notifications_read(
        &self,
        user: &UserId,
        ids: Option<&[String]>,
    ) -> mongodb::error::Result<u64> {
        let mut filter = doc! { "user_id": user.as_str(), "read_at": null };
        if let Some(ids) = ids {
            filter.insert("_id", doc! { "$in": ids });
        }
        let updated = self
            .notifications()
            .update_many(filter, doc! { "$set": { "read_at": DateTime::now() } })
            .await?;
        Ok(updated.modified_count)
    }
}
