//! Webhook endpoints and their deliveries. A delivery is one event for one endpoint, with
//! every attempt it took; `status: pending` with `next_attempt_at` is the persistent retry
//! schedule the delivery workers poll (a restart loses nothing: the time is in the store).

use futures_util::TryStreamExt;
use mongodb::bson::{Bson, DateTime, doc};
use mongodb::options::{IndexOptions, ReturnDocument};
use mongodb::{Collection, IndexModel};
use oms_contracts::webhooks::WebhookEventType;
use oms_contracts::{DeliveryId, WebhookId};
use serde::{Deserialize, Serialize};

use super::Store;

/// The server's error code for dropping an index that does not exist.
const INDEX_NOT_FOUND: i32 = 27;

pub const WEBHOOK_ENDPOINTS: &str = "webhook_endpoints";
pub const WEBHOOK_DELIVERIES: &str = "webhook_deliveries";

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EndpointDoc {
    #[serde(rename = "_id")]
    pub id: WebhookId,
    pub url: String,
    pub events: Vec<WebhookEventType>,
    pub description: Option<String>,
    pub disabled: bool,
    /// Why it is disabled (by an admin, or after failing every delivery for days).
    pub disabled_reason: Option<String>,
    /// The signing secrets, newest last: sealed (encrypted), never stored in the clear.
    pub secrets: Vec<SecretDoc>,
    /// Since when every attempt has failed (`None` after a success).
    pub failing_since: Option<DateTime>,
    pub created_at: DateTime,
    pub updated_at: DateTime,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SecretDoc {
    /// The secret sealed with the deployment's webhook key (see the webhooks worker's `secrets`).
    pub sealed: String,
    pub created_at: DateTime,
    /// Set when a newer secret replaced it: it keeps signing beside it until then.
    pub expires_at: Option<DateTime>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Waiting for its next attempt (at `next_attempt_at`).
    Pending,
    Succeeded,
    /// Every scheduled attempt failed; kept for a manual retry.
    Failed,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Succeeded => "succeeded",
            DeliveryStatus::Failed => "failed",
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DeliveryDoc {
    #[serde(rename = "_id")]
    pub id: DeliveryId,
    pub endpoint_id: WebhookId,
    /// The `webhook-id`: the same on every attempt.
    pub event_id: String,
    pub event_type: WebhookEventType,
    /// Deliveries of one endpoint with the same key go out in `seq` order.
    pub ordering_key: String,
    pub seq: i64,
    /// The exact body every attempt posts.
    pub body: String,
    pub status: DeliveryStatus,
    /// Attempts in the current round (a manual retry starts a new round).
    pub round_attempts: i32,
    pub attempts: Vec<AttemptDoc>,
    /// When the next attempt is due; while an attempt is under way, when its lease ends (a
    /// worker that dies mid-attempt leaves it to be taken again then).
    pub next_attempt_at: Option<DateTime>,
    /// Held back behind an earlier delivery of the same order to the same endpoint: it is
    /// made due as soon as that one settles (or at `next_attempt_at` at the latest).
    #[serde(default)]
    pub waiting: bool,
    /// A later delivery of the same order waits for this one: wake it when this one settles.
    #[serde(default)]
    pub has_waiters: bool,
    /// The claim of the worker attempting it now (with the lease in `next_attempt_at`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claim: Option<String>,
    pub created_at: DateTime,
    pub updated_at: DateTime,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AttemptDoc {
    pub at: DateTime,
    /// The receiver's HTTP status, when it answered.
    pub response_status: Option<i32>,
    pub latency_ms: i64,
    pub error: Option<String>,
    /// The start of the receiver's answer (at most 4 KiB), as text; never rendered as HTML.
    pub response_body: Option<String>,
}

/// What an admin changes on an endpoint (`None`: left as it is).
#[derive(Debug, Default)]
pub struct EndpointChange {
    pub url: Option<String>,
    pub events: Option<Vec<WebhookEventType>>,
    /// `Some(None)` removes the description.
    pub description: Option<Option<String>>,
    /// Enabling also forgets that it was failing.
    pub disabled: Option<bool>,
}

impl Store {
    pub fn webhook_endpoints(&self) -> Collection<EndpointDoc> {
        self.db().collection(WEBHOOK_ENDPOINTS)
    }

    /// The endpoints, newest first (at most `limit`).
    pub async fn list_webhook_endpoints(&self, limit: i64) -> mongodb::error::Result<Vec<EndpointDoc>> {
        self.webhook_endpoints()
            .find(doc! {})
            .sort(doc! { "created_at": -1 })
            .limit(limit)
            .await?
            .try_collect()
            .await
    }

    /// Applies `change`; the endpoint as it is after, `None` when there is no such endpoint.
    pub async fn update_webhook_endpoint(
        &self,
        id: &WebhookId,
        change: EndpointChange,
    ) -> mongodb::error::Result<Option<EndpointDoc>> {
        let mut set = doc! { "updated_at": DateTime::now() };
        if let Some(url) = change.url {
            set.insert("url", url);
        }
        if let Some(events) = change.events {
            set.insert("events", mongodb::bson::to_bson(&events)?);
        }
        if let Some(description) = change.description {
            set.insert("description", description);
        }
        match change.disabled {
            Some(true) => {
                set.insert("disabled", true);
                set.insert("disabled_reason", "disabled by an administrator");
            }
            Some(false) => {
                set.insert("disabled", false);
                set.insert("disabled_reason", Bson::Null);
                set.insert("failing_since", Bson::Null);
            }
            None => {}
        }
        self.webhook_endpoints()
            .find_one_and_update(doc! { "_id": id.as_str() }, doc! { "$set": set })
            .return_document(ReturnDocument::After)
            .await
    }

    /// Deletes an endpoint and its delivery log; `false` when there is no such endpoint. A
    /// delivery under way when it goes is abandoned by the worker.
    pub async fn delete_webhook_endpoint(&self, id: &WebhookId) -> mongodb::error::Result<bool> {
        let deleted = self
            .webhook_endpoints()
            .delete_one(doc! { "_id": id.as_str() })
            .await?;
        if deleted.deleted_count == 0 {
            return Ok(false);
        }
        self.webhook_deliveries()
            .delete_many(doc! { "endpoint_id": id.as_str() })
            .await?;
        Ok(true)
    }

    /// Schedules the endpoint's delivery for a new round of attempts now. One being attempted
    /// right now is left to its worker (its outcome is recorded by its claim). `false` when the
    /// endpoint has no such delivery.
    pub async fn retry_webhook_delivery(
        &self,
        endpoint: &WebhookId,
        delivery: &DeliveryId,
    ) -> mongodb::error::Result<bool> {
        let mine = doc! { "_id": delivery.as_str(), "endpoint_id": endpoint.as_str() };
        let mut idle = mine.clone();
        idle.insert("claim", doc! { "$exists": false });
        let deliveries = self.webhook_deliveries();
        let scheduled = deliveries
            .update_one(
                idle,
                doc! { "$set": {
                    "status": DeliveryStatus::Pending.as_str(),
                    "next_attempt_at": DateTime::now(),
                    "round_attempts": 0,
                    "waiting": false,
                } },
            )
            .await?;
        Ok(scheduled.matched_count == 1 || deliveries.find_one(mine).await?.is_some())
    }

    /// Replaces the endpoint's secrets if it is still as read (`read_at`: its `updated_at`), so
    /// that two rotations at once cannot drop each other's secret; `false` when it changed.
    pub async fn replace_webhook_secrets(
        &self,
        endpoint: &EndpointDoc,
        secrets: &[SecretDoc],
        now: DateTime,
    ) -> mongodb::error::Result<bool> {
        let secrets = mongodb::bson::to_bson(secrets)?;
        let replaced = self
            .webhook_endpoints()
            .update_one(
                doc! { "_id": endpoint.id.as_str(), "updated_at": endpoint.updated_at },
                doc! { "$set": { "secrets": secrets, "updated_at": now } },
            )
            .await?;
        Ok(replaced.matched_count == 1)
    }

    pub fn webhook_deliveries(&self) -> Collection<DeliveryDoc> {
        self.db().collection(WEBHOOK_DELIVERIES)
    }

    pub(super) async fn ensure_webhook_indexes(&self) -> mongodb::error::Result<()> {
        let deliveries = self.webhook_deliveries();
        // One delivery per event and endpoint, however often the event arrives.
        deliveries
            .create_index(
                IndexModel::builder()
                    .keys(doc! { "endpoint_id": 1, "event_id": 1 })
                    .options(IndexOptions::builder().unique(true).build())
                    .build(),
            )
            .await?;
        // The schedule the workers poll.
        deliveries
            .create_index(
                IndexModel::builder()
                    .keys(doc! { "status": 1, "next_attempt_at": 1 })
                    .build(),
            )
            .await?;
        // Ordering: is an earlier delivery of the same order still pending, and which later
        // ones wait for this one? `status` is in the index because secantusd-rs serves a query
        // with a field its index lacks by walking far more (every pending delivery, or a hot
        // product's whole history): each ordering query names exactly these fields.
        deliveries
            .create_index(
                IndexModel::builder()
                    .keys(doc! { "endpoint_id": 1, "ordering_key": 1, "status": 1, "seq": 1 })
                    .build(),
            )
            .await?;
        // The index it replaces, which the planner could still pick where it was made.
        if let Err(err) = deliveries.drop_index("endpoint_id_1_ordering_key_1_seq_1").await
            && !matches!(*err.kind, mongodb::error::ErrorKind::Command(ref e) if e.code == INDEX_NOT_FOUND)
        {
            return Err(err);
        }
        // A worker reads back what it claimed.
        deliveries
            .create_index(
                IndexModel::builder()
                    .keys(doc! { "claim": 1 })
                    .options(IndexOptions::builder().sparse(true).build())
                    .build(),
            )
            .await?;
        // The delivery log's indexes are the lists' (`lists::DeliveryList`).
        Ok(())
    }
}
