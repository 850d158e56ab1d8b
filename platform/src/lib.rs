//! The runtime that the OMS api and workers share: configuration, telemetry, the RabbitMQ
//! connection and topology, the MongoDB connection, its collections and indexes.

pub mod broker;
pub mod config;
pub mod dead_letters;
pub mod metrics;
pub mod placement;
pub mod rabbit;
pub mod store;
pub mod telemetry;

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
    let broker = Broker::connect(config.amqp_url.clone(), config.partitions, name, STARTUP_PATIENCE)
        .await
        .map_err(|e| anyhow::anyhow!("cannot reach the broker (OMS_AMQP_URL): {e}"))?;
    Ok((store, broker))
}
