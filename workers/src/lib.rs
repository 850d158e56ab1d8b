//! OMS workers: the stock worker, the order process manager, the reconciler, and the image
//! worker. Every mutation of stock and orders, and every image upload, happens here.

pub mod analytics;
pub mod consumer;
pub mod failpoint;
pub mod images;
pub mod notifications;
pub mod orders;
pub mod reconciler;
pub mod stock;
pub mod webhooks;

use std::sync::Arc;
use std::time::Duration;

use oms_contracts::routing::{
    ANALYTICS_QUEUE, IMAGES_QUEUE, NOTIFICATIONS_QUEUE, WEBHOOKS_QUEUE, orders_queue, stock_queue,
};
use oms_platform::{Broker, Config, Store};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

pub use failpoint::FailPoints;

/// A kind of worker a process can run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WorkerKind {
    Stock,
    Orders,
    Images,
    /// The analytics projection (`oms.analytics`).
    Analytics,
    /// Order events into the shoppers' in-app notifications.
    Notifications,
    /// Events into webhook deliveries, and the deliveries themselves.
    Webhooks,
}

impl WorkerKind {
    pub const ALL: [WorkerKind; 6] = [
        WorkerKind::Stock,
        WorkerKind::Orders,
        WorkerKind::Images,
        WorkerKind::Analytics,
        WorkerKind::Notifications,
        WorkerKind::Webhooks,
    ];
}

/// Events the analytics projection folds as one batch (one transaction).
const ANALYTICS_BATCH: usize = 500;

/// Events handled as one batch by the notifications and webhook fan-out consumers.
const WATCHER_BATCH: usize = 256;

/// How long the projections (analytics, notifications, webhook fan-out) let a batch fill: their
/// store work is per batch, so under load an event costs a fraction of a round trip, and they
/// take less of the store and the cores from the order path. Their readers see events this much
/// later at most.
const PROJECTION_LINGER: Duration = Duration::from_millis(250);

/// How many deliveries a consumer holds unacknowledged at once: room for a whole batch being
/// decided and the next one arriving meanwhile.
fn prefetch(batch: usize) -> u16 {
    u16::try_from(batch.saturating_mul(2)).unwrap_or(u16::MAX).max(32)
}

/// Image uploads at once per process: competing consumers, one delivery each, so that a slow
/// or retrying upload holds no other message back from the other consumers and processes.
const IMAGE_CONSUMERS: usize = 3;
const IMAGE_PREFETCH: u16 = 1;

/// Starts the consumers of `kinds` on every partition (single active consumer: in a process
/// whose peer is active, they wait as standbys) and, with the order workers, the reconciler;
/// the image workers compete for `oms.images`.
/// Returns when `shutdown` is cancelled and every consumer has finished its current delivery.
pub async fn run(
    config: &Config,
    store: Store,
    broker: Broker,
    kinds: &[WorkerKind],
    failpoints: FailPoints,
    shutdown: CancellationToken,
) {
    let mut tasks = JoinSet::new();
    let partitions = config.partitions;
    for kind in kinds {
        match kind {
            WorkerKind::Stock => {
                for k in 0..partitions {
                    let handler = Arc::new(stock::StockHandler {
                        store: store.clone(),
                        failpoints: failpoints.clone(),
                        low_stock_threshold: config.low_stock_threshold,
                        partition: k,
                        partitions,
                    });
                    tasks.spawn(
                        consumer::Consumer {
                            queue: stock_queue(k),
                            prefetch: prefetch(config.stock_batch),
                            batch: config.stock_batch,
                            linger: Duration::ZERO,
                            // Every decision is recorded (ledger entries, the order's history),
                            // so a redelivery rebuilds its messages whatever came after.
                            pipelined: true,
                            handler,
                            broker: broker.clone(),
                            shutdown: shutdown.clone(),
                        }
                        .run(),
                    );
                }
            }
            WorkerKind::Orders => {
                let handler = Arc::new(orders::OrderHandler {
                    store: store.clone(),
                    failpoints: failpoints.clone(),
                    partitions,
                });
                for k in 0..partitions {
                    tasks.spawn(
                        consumer::Consumer {
                            queue: orders_queue(k),
                            prefetch: prefetch(config.order_batch),
                            batch: config.order_batch,
                            linger: Duration::ZERO,
                            // An order keeps only its latest change's messages for re-sending:
                            // an earlier change must be confirmed before a later one is decided.
                            pipelined: false,
                            handler: handler.clone(),
                            broker: broker.clone(),
                            shutdown: shutdown.clone(),
                        }
                        .run(),
                    );
                }
                let reconciler = reconciler::Reconciler {
                    store: store.clone(),
                    broker: broker.clone(),
                    partitions,
                    after: config.reconcile_after,
                };
                tasks.spawn(reconciler.run(shutdown.clone()));
            }
            WorkerKind::Analytics => {
                tasks.spawn(
                    consumer::Consumer {
                        queue: ANALYTICS_QUEUE.to_string(),
                        prefetch: prefetch(ANALYTICS_BATCH),
                        batch: ANALYTICS_BATCH,
                        linger: PROJECTION_LINGER,
                        // Nothing to send: each batch's commit is all there is to ack after.
                        pipelined: true,
                        handler: Arc::new(analytics::AnalyticsHandler { store: store.clone() }),
                        broker: broker.clone(),
                        shutdown: shutdown.clone(),
                    }
                    .run(),
                );
            }
            WorkerKind::Images => {
                let images = match images::image_store(config) {
                    Ok(images) => images,
                    Err(err) => {
                        // Uploads wait in their queue until a worker with a working store starts.
                        tracing::error!(error = format!("{err:#}"), "image workers not started");
                        continue;
                    }
                };
                let handler = Arc::new(images::ImageHandler {
                    store: store.clone(),
                    broker: broker.clone(),
                    images,
                    retry: images::RetryPolicy {
                        max_elapsed: config.image_retry_for,
                        ..images::RetryPolicy::default()
                    },
                    shutdown: shutdown.clone(),
                });
                for _ in 0..IMAGE_CONSUMERS {
                    tasks.spawn(
                        consumer::Consumer {
                            queue: IMAGES_QUEUE.to_string(),
                            prefetch: IMAGE_PREFETCH,
                            batch: 1,
                            linger: Duration::ZERO,
                            // One delivery at a time (prefetch 1): nothing to overlap.
                            pipelined: false,
                            handler: handler.clone(),
                            broker: broker.clone(),
                            shutdown: shutdown.clone(),
                        }
                        .run(),
                    );
                }
            }
            WorkerKind::Notifications => {
                tasks.spawn(
                    consumer::Consumer {
                        queue: NOTIFICATIONS_QUEUE.to_string(),
                        prefetch: prefetch(WATCHER_BATCH),
                        batch: WATCHER_BATCH,
                        linger: PROJECTION_LINGER,
                        // Nothing to send: every batch is done once stored.
                        pipelined: true,
                        handler: Arc::new(notifications::NotificationHandler { store: store.clone() }),
                        broker: broker.clone(),
                        shutdown: shutdown.clone(),
                    }
                    .run(),
                );
            }
            WorkerKind::Webhooks => {
                tasks.spawn(
                    consumer::Consumer {
                        // One active consumer: deliveries are recorded in the events' order.
                        queue: WEBHOOKS_QUEUE.to_string(),
                        prefetch: prefetch(WATCHER_BATCH),
                        batch: WATCHER_BATCH,
                        linger: PROJECTION_LINGER,
                        pipelined: true,
                        handler: Arc::new(webhooks::FanOut { store: store.clone() }),
                        broker: broker.clone(),
                        shutdown: shutdown.clone(),
                    }
                    .run(),
                );
                match webhooks::Dispatcher::new(store.clone(), &config.webhooks) {
                    Ok(dispatcher) => {
                        tasks.spawn(Arc::new(dispatcher).run(shutdown.clone()));
                    }
                    // Deliveries wait in the store until a worker that can send them starts.
                    Err(err) => tracing::error!(error = format!("{err:#}"), "webhook deliveries not started"),
                }
            }
        }
    }
    while tasks.join_next().await.is_some() {}
}
