//! The analytics read model's collections: kept by the analytics projection worker (and
//! `oms analytics rebuild`), read by `GET /api/analytics/*`. Every figure is kept per hour and
//! per day (`granularity`), so that any range reads at most a few hundred bucket documents.

use std::collections::BTreeMap;

use mongodb::bson::{DateTime, Document, doc};
use mongodb::options::IndexOptions;
use mongodb::{Collection, IndexModel};
use serde::{Deserialize, Serialize};

use super::Store;

/// What the projection remembers of each order (the versions applied, lead-time starts).
pub const ANALYTICS_ORDERS: &str = "analytics_orders";
/// Per-bucket counts, revenue per currency and lead-time histograms.
pub const ANALYTICS_BUCKETS: &str = "analytics_buckets";
/// Per-bucket units and revenue of each product.
pub const ANALYTICS_PRODUCTS: &str = "analytics_products";
/// Per-bucket counts of cancellation reasons.
pub const ANALYTICS_REASONS: &str = "analytics_reasons";
/// Orders by current status (one document).
pub const ANALYTICS_STATUS: &str = "analytics_status";
/// The id of the one document of [`ANALYTICS_STATUS`].
pub const STATUS_DOC_ID: &str = "orders_by_status";

/// Every collection of the read model, as a rebuild clears them.
pub const ANALYTICS_COLLECTIONS: [&str; 5] = [
    ANALYTICS_ORDERS,
    ANALYTICS_BUCKETS,
    ANALYTICS_PRODUCTS,
    ANALYTICS_REASONS,
    ANALYTICS_STATUS,
];

/// One bucket's figures. Histogram bins are keyed `b<bin>` (field names must be strings).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BucketDoc {
    #[serde(rename = "_id")]
    pub id: String,
    pub granularity: String,
    pub start: DateTime,
    #[serde(default)]
    pub placed: i64,
    #[serde(default)]
    pub cancelled: i64,
    #[serde(default)]
    pub rejected: i64,
    #[serde(default)]
    pub delivered: i64,
    #[serde(default)]
    pub revenue: BTreeMap<String, i64>,
    #[serde(default)]
    pub placed_to_shipped: BTreeMap<String, i64>,
    #[serde(default)]
    pub shipped_to_delivered: BTreeMap<String, i64>,
}

impl BucketDoc {
    /// A bucket nothing happened in.
    pub fn empty(granularity: &str, start: DateTime) -> Self {
        Self {
            id: format!("{granularity}:{}", start.timestamp_millis()),
            granularity: granularity.to_string(),
            start,
            placed: 0,
            cancelled: 0,
            rejected: 0,
            delivered: 0,
            revenue: BTreeMap::new(),
            placed_to_shipped: BTreeMap::new(),
            shipped_to_delivered: BTreeMap::new(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProductSalesDoc {
    #[serde(rename = "_id")]
    pub id: String,
    pub granularity: String,
    pub start: DateTime,
    pub product_id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub units: i64,
    #[serde(default)]
    pub revenue: BTreeMap<String, i64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReasonDoc {
    #[serde(rename = "_id")]
    pub id: String,
    pub granularity: String,
    pub start: DateTime,
    pub reason: String,
    #[serde(default)]
    pub count: i64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StatusCountsDoc {
    #[serde(rename = "_id")]
    pub id: String,
    #[serde(default)]
    pub counts: BTreeMap<String, i64>,
}

impl Store {
    pub fn analytics_buckets(&self) -> Collection<BucketDoc> {
        self.db().collection(ANALYTICS_BUCKETS)
    }

    pub fn analytics_products(&self) -> Collection<ProductSalesDoc> {
        self.db().collection(ANALYTICS_PRODUCTS)
    }

    pub fn analytics_reasons(&self) -> Collection<ReasonDoc> {
        self.db().collection(ANALYTICS_REASONS)
    }

    pub fn analytics_status(&self) -> Collection<StatusCountsDoc> {
        self.db().collection(ANALYTICS_STATUS)
    }

    pub fn analytics_orders(&self) -> Collection<Document> {
        self.db().collection(ANALYTICS_ORDERS)
    }

    /// The indexes a range query uses: by granularity and bucket start.
    pub async fn ensure_analytics_indexes(&self) -> mongodb::error::Result<()> {
        for name in [ANALYTICS_BUCKETS, ANALYTICS_PRODUCTS, ANALYTICS_REASONS] {
            self.db()
                .collection::<Document>(name)
                .create_index(
                    IndexModel::builder()
                        .keys(doc! { "granularity": 1, "start": 1 })
                        .options(IndexOptions::builder().build())
                        .build(),
                )
                .await?;
        }
        Ok(())
    }
}
