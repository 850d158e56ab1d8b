//! MongoDB: connecting with retry, the collections, their documents and indexes, and the
//! error classification every writer needs (duplicate key, transient).
//!
//! Everything here works on MongoDB (a single-node replica set) and on SecantusDB alike:
//! plain CRUD, unique indexes, `find_one_and_update`, multi-document transactions.

use std::time::Duration;

use backoff::ExponentialBackoff;
use backoff::backoff::Backoff;
use mongodb::bson::{self, Document, doc};
use mongodb::error::{ErrorKind, WriteFailure};
use mongodb::event::EventHandler;
use mongodb::event::command::CommandEvent;
use mongodb::options::{ClientOptions, IndexOptions};
use mongodb::{Client, Collection, Database, IndexModel};
use secrecy::{ExposeSecret, SecretString};

pub mod analytics;
pub mod docs;
pub mod intake;
pub mod lists;
pub mod lookups;
pub mod notifications;
pub mod product_images;
pub mod refresh_tokens;
pub mod staged;
pub mod txn;
pub mod webhooks;

pub use docs::*;

/// Counters kept by the store (the next order number).
pub const COUNTERS: &str = "counters";
pub use notifications::NotificationDoc;
pub use staged::Staged;
pub use txn::transaction;
pub use webhooks::{AttemptDoc, DeliveryDoc, DeliveryStatus, EndpointDoc, SecretDoc};

pub const USERS: &str = "users";
pub const REFRESH_TOKENS: &str = "refresh_tokens";
pub const PRODUCTS: &str = "products";
pub const LEDGER: &str = "stock_ledger";
pub const ORDERS: &str = "orders";
/// Facts about the deployment itself, such as its partition count.
pub const DEPLOYMENT: &str = "deployment";
/// GridFS bucket holding image uploads until the image worker has stored them.
pub const STAGED_IMAGES_BUCKET: &str = "staged_images";

/// MongoDB's duplicate-key error code.
const DUPLICATE_KEY: i32 = 11000;

#[derive(Clone, Debug)]
pub struct Store {
    client: Client,
    db: Database,
}

/// Counts every command sent to the store by name and collection (`oms_store_commands_total`)
/// and times it (`oms_store_command_seconds`): where the store's time goes, per order.
fn count_command(event: CommandEvent) {
    match event {
        CommandEvent::Started(started) => {
            let collection = started
                .command
                .iter()
                .next()
                .and_then(|(_, value)| value.as_str())
                .filter(|_| {
                    started.command_name != "commitTransaction" && started.command_name != "abortTransaction"
                })
                .unwrap_or("-")
                .to_string();
            metrics::counter!(
                "oms_store_commands_total",
                "command" => started.command_name,
                "collection" => collection
            )
            .increment(1);
        }
        CommandEvent::Succeeded(done) => {
            metrics::histogram!("oms_store_command_seconds", "command" => done.command_name)
                .record(done.duration.as_secs_f64());
        }
        CommandEvent::Failed(failed) => {
            metrics::histogram!("oms_store_command_seconds", "command" => failed.command_name)
                .record(failed.duration.as_secs_f64());
        }
        _ => {}
    }
}

impl Store {
    /// A client for `uri` without waiting for the server: the first operation connects.
    pub async fn open(uri: &SecretString, db_name: &str, app_name: &str) -> mongodb::error::Result<Self> {
        let mut options = ClientOptions::parse(uri.expose_secret()).await?;
        options.app_name = Some(app_name.to_string());
        // Fail fast when the store is down, so that readiness and requests answer promptly.
        options.server_selection_timeout = Some(Duration::from_secs(3));
        options.connect_timeout = Some(Duration::from_secs(3));
        options.command_event_handler = Some(EventHandler::callback(count_command));
        let client = Client::with_options(options)?;
        Ok(Self {
            db: client.database(db_name),
            client,
        })
    }

    /// Connects and waits (with backoff, up to `patience`) until the server answers a ping.
    pub async fn connect(
        uri: &SecretString,
        db_name: &str,
        app_name: &str,
        patience: Duration,
    ) -> mongodb::error::Result<Self> {
        let store = Self::open(uri, db_name, app_name).await?;
        let mut backoff = ExponentialBackoff {
            initial_interval: Duration::from_millis(100),
            max_interval: Duration::from_secs(5),
            max_elapsed_time: Some(patience),
            ..ExponentialBackoff::default()
        };
        loop {
            match store.ping().await {
                Ok(()) => return Ok(store),
                Err(err) => match backoff.next_backoff() {
                    Some(wait) => {
                        tracing::warn!(error = %err, retry_in = ?wait, "cannot reach the store");
                        tokio::time::sleep(wait).await;
                    }
                    None => return Err(err),
                },
            }
        }
    }

    pub async fn ping(&self) -> mongodb::error::Result<()> {
        self.db.run_command(doc! { "ping": 1 }).await.map(|_| ())
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn db(&self) -> &Database {
        &self.db
    }

    pub fn users(&self) -> Collection<UserDoc> {
        self.db.collection(USERS)
    }

    pub fn refresh_tokens(&self) -> Collection<RefreshTokenDoc> {
        self.db.collection(REFRESH_TOKENS)
    }

    pub fn products(&self) -> Collection<ProductDoc> {
        self.db.collection(PRODUCTS)
    }

    pub fn ledger(&self) -> Collection<LedgerDoc> {
        self.db.collection(LEDGER)
    }

    pub fn orders(&self) -> Collection<OrderDoc> {
        self.db.collection(ORDERS)
    }

    /// Reserves `count` order numbers (one round trip): the range returned is the caller's
    /// alone, whichever process asks. Numbers start at 1; a range not used up leaves a gap.
    pub async fn reserve_order_numbers(&self, count: i64) -> mongodb::error::Result<std::ops::Range<i64>> {
        let counter = self
            .db
            .collection::<bson::Document>(COUNTERS)
            .find_one_and_update(doc! { "_id": "order_number" }, doc! { "$inc": { "next": count } })
            .upsert(true)
            .return_document(mongodb::options::ReturnDocument::After)
            .await?
            .ok_or_else(|| mongodb::error::Error::custom("the order number counter vanished"))?;
        let end = match counter.get("next") {
            Some(bson::Bson::Int64(n)) => *n,
            Some(bson::Bson::Int32(n)) => i64::from(*n),
            _ => {
                return Err(mongodb::error::Error::custom(
                    "the order number counter is not a number",
                ));
            }
        };
        Ok(end - count + 1..end + 1)
    }

    pub fn staged_images(&self) -> mongodb::gridfs::GridFsBucket {
        self.db.gridfs_bucket(
            mongodb::options::GridFsBucketOptions::builder()
                .bucket_name(STAGED_IMAGES_BUCKET.to_string())
                .build(),
        )
    }

    /// Creates every index OMS relies on. Idempotent; every process runs it at start-up.
    pub async fn ensure_indexes(&self) -> mongodb::error::Result<()> {
        let unique = || IndexOptions::builder().unique(true).build();
        self.users()
            .create_index(
                IndexModel::builder()
                    .keys(doc! { "email": 1 })
                    .options(unique())
                    .build(),
            )
            .await?;
        self.refresh_tokens()
            .create_index(IndexModel::builder().keys(doc! { "family_id": 1 }).build())
            .await?;
        self.products()
            .create_index(
                IndexModel::builder()
                    .keys(doc! { "sku": 1 })
                    .options(unique())
                    .build(),
            )
            .await?;
        self.products()
            .create_index(
                IndexModel::builder()
                    .keys(doc! { "active": 1, "created_at": -1 })
                    .build(),
            )
            .await?;
        self.ledger()
            .create_index(
                IndexModel::builder()
                    .keys(doc! { "product_id": 1, "at": -1 })
                    .build(),
            )
            .await?;
        self.ledger()
            .create_index(IndexModel::builder().keys(doc! { "order_id": 1 }).build())
            .await?;
        self.orders()
            .create_index(
                IndexModel::builder()
                    .keys(doc! { "idem_key": 1 })
                    .options(unique())
                    .build(),
            )
            .await?;
        self.orders()
            .create_index(
                IndexModel::builder()
                    .keys(doc! { "user_id": 1, "created_at": -1 })
                    .build(),
            )
            .await?;
        self.orders()
            .create_index(
                IndexModel::builder()
                    .keys(doc! { "status": 1, "updated_at": 1 })
                    .build(),
            )
            .await?;
        // Ended orders whose stock is on its way back, for the reconciler (few at any time).
        self.orders()
            .create_index(
                IndexModel::builder()
                    .keys(doc! { "releasing_since": 1 })
                    .options(IndexOptions::builder().sparse(true).build())
                    .build(),
            )
            .await?;
        for (collection, keys) in Self::list_indexes() {
            self.db()
                .collection::<Document>(collection)
                .create_index(IndexModel::builder().keys(keys).build())
                .await?;
        }
        self.ensure_analytics_indexes().await?;
        self.ensure_webhook_indexes().await?;
        Ok(())
    }

    /// Applies `statements` (`{q, u}` update statements) to `collection` in one round trip
    /// (the `update` command, in order) within `session`'s transaction, and returns how many
    /// documents they matched. MongoDB's `update` takes many statements on every server
    /// version; the driver's per-statement helpers would cost a round trip each.
    pub async fn update_each(
        &self,
        session: &mut mongodb::ClientSession,
        collection: &str,
        statements: Vec<bson::Document>,
    ) -> mongodb::error::Result<u64> {
        if statements.is_empty() {
            return Ok(0);
        }
        let reply = self
            .db
            .run_command(doc! { "update": collection, "updates": statements, "ordered": true })
            .session(session)
            .await?;
        if let Ok(errors) = reply.get_array("writeErrors")
            && !errors.is_empty()
        {
            let codes = errors
                .iter()
                .filter_map(|e| e.as_document().and_then(|e| e.get_i32("code").ok()))
                .collect();
            return Err(mongodb::error::Error::custom(WriteErrors {
                codes,
                detail: format!("update of {collection} failed: {errors:?}"),
            }));
        }
        Ok(match reply.get("n") {
            Some(bson::Bson::Int32(n)) => u64::try_from(*n).unwrap_or(0),
            Some(bson::Bson::Int64(n)) => u64::try_from(*n).unwrap_or(0),
            _ => 0,
        })
    }

    /// The partition count this deployment was created with, if recorded.
    pub async fn recorded_partitions(&self) -> mongodb::error::Result<Option<u32>> {
        let fact = self
            .db
            .collection::<bson::Document>(DEPLOYMENT)
            .find_one(doc! { "_id": "stock_partitions" })
            .await?;
        Ok(fact
            .and_then(|d| d.get_i64("value").ok())
            .and_then(|n| u32::try_from(n).ok()))
    }

    /// Records `partitions` as the deployment's count unless one is recorded already (two
    /// processes starting at once may race to insert it: the loser finds it recorded).
    pub async fn record_partitions(&self, partitions: u32) -> mongodb::error::Result<()> {
        self.db
            .collection::<bson::Document>(DEPLOYMENT)
            .update_one(
                doc! { "_id": "stock_partitions" },
                doc! { "$setOnInsert": { "value": i64::from(partitions) } },
            )
            .upsert(true)
            .await
            .map(|_| ())
            .or_else(|e| if is_duplicate_key(&e) { Ok(()) } else { Err(e) })
    }

    /// Drops the whole database (tests clean up with it).
    pub async fn drop_database(&self) -> mongodb::error::Result<()> {
        self.db.drop().await
    }
}

/// Write errors reported by a command that itself succeeded (`update_each`).
#[derive(Debug)]
struct WriteErrors {
    codes: Vec<i32>,
    detail: String,
}

impl std::fmt::Display for WriteErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.detail)
    }
}

impl std::error::Error for WriteErrors {}

/// MongoDB's `WriteConflict`.
const WRITE_CONFLICT: i32 = 112;

/// Whether `err` is a write conflict reported per statement (MongoDB reports one inside a
/// transaction as the command's error, labelled transient; a compatible server may report it
/// among the statements' write errors instead).
pub fn is_write_conflict(err: &mongodb::error::Error) -> bool {
    matches!(err.kind.as_ref(), ErrorKind::Custom(c)
        if c.downcast_ref::<WriteErrors>().is_some_and(|w| w.codes.contains(&WRITE_CONFLICT)))
}

/// Whether `err` is a unique-index violation.
pub fn is_duplicate_key(err: &mongodb::error::Error) -> bool {
    match err.kind.as_ref() {
        ErrorKind::Write(WriteFailure::WriteError(e)) => e.code == DUPLICATE_KEY,
        ErrorKind::Command(e) => e.code == DUPLICATE_KEY,
        ErrorKind::InsertMany(e) => e
            .write_errors
            .as_ref()
            .is_some_and(|errors| errors.iter().any(|e| e.code == DUPLICATE_KEY)),
        ErrorKind::BulkWrite(e) => e.write_errors.values().any(|e| e.code == DUPLICATE_KEY),
        ErrorKind::Custom(c) => c
            .downcast_ref::<WriteErrors>()
            .is_some_and(|w| w.codes.contains(&DUPLICATE_KEY)),
        _ => false,
    }
}

/// Whether `err` may go away by itself (the store is down, restarting, or a transaction
/// collided with another): worth retrying with backoff rather than failing the message.
pub fn is_transient(err: &mongodb::error::Error) -> bool {
    use mongodb::error::{
        RETRYABLE_WRITE_ERROR, TRANSIENT_TRANSACTION_ERROR, UNKNOWN_TRANSACTION_COMMIT_RESULT,
    };
    if err.contains_label(TRANSIENT_TRANSACTION_ERROR)
        || err.contains_label(UNKNOWN_TRANSACTION_COMMIT_RESULT)
        || err.contains_label(RETRYABLE_WRITE_ERROR)
        || is_write_conflict(err)
    {
        return true;
    }
    match err.kind.as_ref() {
        ErrorKind::Io(_)
        | ErrorKind::ServerSelection { .. }
        | ErrorKind::ConnectionPoolCleared { .. }
        | ErrorKind::DnsResolve { .. } => true,
        // WriteConflict, NotWritablePrimary, shutdown in progress, interrupted, and friends.
        ErrorKind::Command(e) => matches!(
            e.code,
            112 | 91 | 189 | 11600 | 11602 | 10107 | 13435 | 13436 | 6 | 7 | 89 | 9001 | 262
        ),
        _ => false,
    }
}

/// Converts between the store's timestamps and the API's.
pub fn to_chrono(at: bson::DateTime) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp_millis(at.timestamp_millis()).unwrap_or_default()
}

pub fn from_chrono(at: chrono::DateTime<chrono::Utc>) -> bson::DateTime {
    bson::DateTime::from_millis(at.timestamp_millis())
}
