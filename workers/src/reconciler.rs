//! The reconciler: finds orders stuck in `PENDING` (the API's publish was lost, a reply went
//! to a dead-letter queue, a worker was down for long) and sends `PlaceOrder` again — every
//! step downstream is idempotent — or, after many attempts, asks the order worker to give up
//! on the order (`REJECTED`, every reservation released) so that nothing stays pending forever.
//! It also re-sends the releases of ended orders whose stock has not come back.

use std::time::Duration;

use futures_util::TryStreamExt;
use mongodb::bson::{self, doc};
use oms_contracts::OrderStatus;
use oms_contracts::domain::Reason;
use oms_contracts::messages::{Envelope, OrderMessage, StockCommand};
use oms_contracts::routing::{orders_queue_for, stock_queue_for};
use oms_platform::broker::Outgoing;
use oms_platform::store::{LineReservation, OrderDoc};
use oms_platform::{Broker, Store};
use tokio_util::sync::CancellationToken;

/// After this many re-sends an order is given up on.
pub const MAX_ATTEMPTS: i32 = 10;

pub struct Reconciler {
    pub store: Store,
    pub broker: Broker,
    pub partitions: u32,
    /// An order untouched for this long (times its attempts so far) is re-sent.
    pub after: Duration,
}

impl Reconciler {
    pub async fn run(self, shutdown: CancellationToken) {
        if let Err(err) = self.adopt_unmarked_releases().await {
            tracing::warn!(error = %format!("{err:#}"), "reconciler could not mark earlier releases");
        }
        let period = (self.after / 2).max(Duration::from_millis(200));
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(period) => {}
            }
            match self.pass().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(orders = n, "reconciler re-sent stuck orders"),
                Err(err) => tracing::warn!(error = %format!("{err:#}"), "reconciler pass failed"),
            }
        }
    }

    /// Orders written before orders kept `releasing_since` that still wait for a release get
    /// it now, so that the passes find them: one walk of the ended orders at start.
    pub async fn adopt_unmarked_releases(&self) -> anyhow::Result<()> {
        let marked = self
            .store
            .orders()
            .update_many(
                doc! {
                    "status": { "$in": [OrderStatus::Cancelled.as_str(), OrderStatus::Rejected.as_str()] },
                    "items.reservation": "releasing",
                    "releasing_since": { "$exists": false },
                },
                doc! { "$set": { "releasing_since": bson::DateTime::now() } },
            )
            .await?;
        if marked.modified_count > 0 {
            tracing::info!(
                orders = marked.modified_count,
                "reconciler marked earlier orders waiting for a release"
            );
        }
        Ok(())
    }

    /// One pass; returns how many orders it acted on.
    pub async fn pass(&self) -> anyhow::Result<usize> {
        Ok(self.pending().await? + self.releasing().await?)
    }

    /// Orders that ended (cancelled or rejected) while a line's release has not come back —
    /// its `ReleaseStock` or the reply may have been dead-lettered: send the release again
    /// (the stock worker applies each release once and answers a repeat with the same result).
    async fn releasing(&self) -> anyhow::Result<usize> {
        let cutoff = chrono::Utc::now() - chrono::Duration::from_std(self.after)?;
        let stuck: Vec<OrderDoc> = self
            .store
            .orders()
            .find(doc! { "releasing_since": { "$lt": oms_platform::store::from_chrono(cutoff) } })
            .limit(200)
            .await?
            .try_collect()
            .await?;
        let mut acted = 0;
        for order in stuck {
            let order_id = order.id.clone();
            // Claim this pass (another reconciler may be looking at the same order).
            let claimed = self
                .store
                .orders()
                .update_one(
                    doc! { "_id": order.id.as_str(), "version": order.version, "releasing_since": order.releasing_since },
                    doc! { "$set": { "releasing_since": bson::DateTime::now() } },
                )
                .await?;
            if claimed.modified_count == 0 {
                continue;
            }
            let reply_to = orders_queue_for(&order_id, self.partitions);
            let messages = order
                .items
                .iter()
                .filter(|line| line.reservation == LineReservation::Releasing)
                .map(|line| &line.product_id)
                .map(|product_id| {
                    let envelope = Envelope::new(
                        order_id.to_string(),
                        "reconciler",
                        StockCommand::ReleaseStock {
                            order_id: order_id.clone(),
                            product_id: product_id.clone(),
                            reply_to: reply_to.clone(),
                        },
                    );
                    Outgoing::command(stock_queue_for(product_id, self.partitions), &envelope)
                })
                .collect();
            tracing::info!(%order_id, "re-sending the releases of an ended order");
            self.broker.publish_all(messages).await?;
            acted += 1;
        }
        Ok(acted)
    }

    async fn pending(&self) -> anyhow::Result<usize> {
        let cutoff = chrono::Utc::now() - chrono::Duration::from_std(self.after)?;
        let stuck: Vec<OrderDoc> = self
            .store
            .orders()
            .find(doc! { "status": OrderStatus::Pending.as_str(), "updated_at": { "$lt": oms_platform::store::from_chrono(cutoff) } })
            .sort(doc! { "updated_at": 1 })
            .limit(200)
            .await?
            .try_collect()
            .await?;
        let mut acted = 0;
        for order in stuck {
            // Back off: the n-th re-send waits n times the threshold.
            let waited = chrono::Utc::now() - oms_platform::store::to_chrono(order.updated_at);
            let due = chrono::Duration::from_std(self.after)? * order.place_attempts.max(1);
            if waited < due {
                continue;
            }
            let order_id = order.id.clone();
            // Claim this attempt (another reconciler may be looking at the same order).
            let claimed = self
                .store
                .orders()
                .update_one(
                    // A new version, so that a concurrent change by the order worker (conditional
                    // on the version it read) cannot write back the attempt count. A whole order
                    // re-sent this way is no longer at the version it was placed with: its stock
                    // partition reads it instead of assuming it.
                    doc! { "_id": order.id.as_str(), "version": order.version, "status": OrderStatus::Pending.as_str() },
                    doc! { "$inc": { "place_attempts": 1, "version": 1 }, "$set": { "updated_at": bson::DateTime::now() } },
                )
                .await?;
            if claimed.modified_count == 0 {
                continue;
            }
            let message = if order.place_attempts + 1 >= MAX_ATTEMPTS {
                tracing::warn!(%order_id, attempts = order.place_attempts + 1, "giving up on a pending order");
                let abandon = OrderMessage::AbandonOrder {
                    order_id: order_id.clone(),
                    reason: Reason::parse("the stock reservations could not be completed")
                        .expect("a valid reason"),
                };
                Outgoing::command(
                    orders_queue_for(&order_id, self.partitions),
                    &Envelope::new(order_id.to_string(), "reconciler", abandon),
                )
            } else {
                tracing::info!(%order_id, attempt = order.place_attempts + 1, "re-sending the placement");
                // The same route the API took: its stock partition, or its order worker.
                oms_platform::placement::placement(&order, self.partitions, "reconciler")
            };
            self.broker.publish(message).await?;
            acted += 1;
        }
        Ok(acted)
    }
}
