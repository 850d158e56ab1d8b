//! The runtime that the OMS api and workers share: configuration, telemetry, the RabbitMQ
//! connection and topology, the MongoDB connection, its collections and indexes.

pub mod analytics;
pub mod broker;
pub mod config;
pub mod dead_letters;
pub mod metrics;
pub mod placement;
pub mod proxies;
pub mod rabbit;
pub mod store;
pub mod telemetry;
pub mod urls;
pub mod verify;
pub mod webhooks;

pub use broker::{Broker, BrokerError};
pub use config::Config;
pub use store::Store;

use std::time::Duration;

/// How long start-up waits for the broker and the store before giving up.
pub const STARTUP_PATIENCE: Duration = Duration::from_secs(60);

/// Connects to the store (creating indexes) and to the broker (declaring the topology):
/// the start-up every OMS process shares. `name` identifies the process to both.
pub async fn connect(config: &Config, name: &str) -> anyhow::Result<(Store, Broker)> {
    metrics::install();
    let store = Store::connect(&config.mongo_uri, &config.mongo_db, name, STARTUP_PATIENCE)
        .await
        .map_err(|e| anyhow::anyhow!("cannot reach the store (OMS_MONGO_URI): {e}"))?;
    store
        .ensure_indexes()
        .await
        .map_err(|e| anyhow::anyhow!("cannot create the store's indexes: {e}"))?;
    if check_partitions(&store, config.partitions).await?.is_none() {
        // No count recorded yet: a new deployment, or one from before the count was recorded.
        broker::refuse_fewer_partitions(&config.amqp_url, config.partitions, name)
            .await
            .map_err(|e| match e {
                BrokerError::Partitions(why) => anyhow::anyhow!(why),
                e => anyhow::anyhow!("cannot reach the broker (OMS_AMQP_URL): {e}"),
            })?;
    }
    let broker = Broker::connect(config.amqp_url.clone(), config.partitions, name, STARTUP_PATIENCE)
        .await
        .map_err(|e| anyhow::anyhow!("cannot reach the broker (OMS_AMQP_URL): {e}"))?;
    store
        .record_partitions(config.partitions)
        .await
        .map_err(|e| anyhow::anyhow!("cannot record the partition count in the store: {e}"))?;
    check_partitions(&store, config.partitions).await?;
    Ok((store, broker))
}

/// Refuses a partition count other than the one the deployment's store recorded: products
/// would move between partitions, and commands already in the old partitions' queues would be
/// left behind or decided by two workers.
/// Returns the recorded count, `None` when none is recorded yet.
pub async fn check_partitions(store: &Store, partitions: u32) -> anyhow::Result<Option<u32>> {
    match store
        .recorded_partitions()
        .await
        .map_err(|e| anyhow::anyhow!("cannot read the partition count from the store: {e}"))?
    {
        Some(recorded) if recorded != partitions => anyhow::bail!(
            "OMS_STOCK_PARTITIONS is {partitions}, but this deployment was created with {recorded} \
             partitions, which stay fixed for its life; set OMS_STOCK_PARTITIONS={recorded}"
        ),
        recorded => Ok(recorded),
    }
}
