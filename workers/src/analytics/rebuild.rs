//! `oms analytics rebuild`: the read model built again from the orders, whose histories hold
//! every status change with its version. It folds the same changes through the same
//! [`projection::apply`] as the live worker, so the result equals the live model. Run it with
//! the analytics worker stopped: events that wait in its queue meanwhile are then skipped (their
//! versions are in the rebuilt facts) or applied (changes made after the rebuild read them).

use futures_util::TryStreamExt;
use mongodb::bson::{Document, doc};
use oms_platform::Store;
use oms_platform::store::OrderDoc;
use oms_platform::store::analytics::{ANALYTICS_COLLECTIONS, ANALYTICS_ORDERS};

use super::projection::{self, Change, Delta, OrderFacts};
use super::write;

/// What a rebuild read and wrote.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rebuilt {
    pub orders: u64,
    pub changes: u64,
}

/// The status changes recorded in `order`'s history, as its events announced them (refusals
/// and entries recorded without a version announce nothing).
pub fn changes_of(order: &OrderDoc) -> Vec<Change> {
    let lines = order.event_lines();
    order
        .history
        .iter()
        .filter(|entry| !entry.refused)
        .filter_map(|entry| {
            Some(Change {
                order_id: order.id.clone(),
                version: entry.version?,
                to: entry.to,
                at: projection::truncate_ms(entry.at),
                reason: entry.reason.clone(),
                lines: lines.clone(),
                total: order.total,
            })
        })
        .collect()
}

/// Orders folded between two writes of the model: bounds the rebuild's memory by this many
/// orders' facts and the buckets they touch, whatever the store holds.
const FLUSH_EVERY: u64 = 10_000;

/// Replaces the read model with one built from every order, streaming: the model is emptied
/// first, then every `FLUSH_EVERY` orders their facts are stored and their counts added (the
/// counts are `$inc` upserts, so adding them in parts sums to the same model). A rebuild that
/// stops half-way leaves a partial model; running it again replaces that.
pub async fn rebuild(store: &Store) -> mongodb::error::Result<Rebuilt> {
    rebuild_in_parts(store, FLUSH_EVERY).await
}

/// [`rebuild`], writing every `every` orders.
pub async fn rebuild_in_parts(store: &Store, every: u64) -> mongodb::error::Result<Rebuilt> {
    for name in ANALYTICS_COLLECTIONS {
        store
            .db()
            .collection::<Document>(name)
            .delete_many(doc! {})
            .await?;
    }
    let mut session = store.client().start_session().await?;
    let mut pending = Pending::default();
    let mut rebuilt = Rebuilt {
        orders: 0,
        changes: 0,
    };
    // By id, which is time first (UUIDv7): a part's orders then fall in the same few hours, so
    // each bucket document is written by one or two parts rather than by every one.
    let mut orders = store.orders().find(doc! {}).sort(doc! { "_id": 1 }).await?;
    while let Some(order) = orders.try_next().await? {
        let mut facts = OrderFacts::default();
        for change in changes_of(&order) {
            if projection::apply(&mut facts, &change, &mut pending.delta) {
                rebuilt.changes += 1;
            }
        }
        rebuilt.orders += 1;
        if !facts.applied.is_empty() {
            pending
                .facts
                .push(write::facts_statement(order.id.as_str(), 0, &facts)?);
        }
        if rebuilt.orders.is_multiple_of(every.max(1)) {
            pending.write(store, &mut session).await?;
            tracing::info!(orders = rebuilt.orders, "analytics rebuild: orders folded");
        }
    }
    pending.write(store, &mut session).await?;
    tracing::info!(
        orders = rebuilt.orders,
        changes = rebuilt.changes,
        "analytics read model rebuilt"
    );
    Ok(rebuilt)
}

/// What a rebuild has folded and not yet written.
#[derive(Default)]
struct Pending {
    facts: Vec<Document>,
    delta: Delta,
}

impl Pending {
    async fn write(
        &mut self,
        store: &Store,
        session: &mut mongodb::ClientSession,
    ) -> mongodb::error::Result<()> {
        let Pending { facts, delta } = std::mem::take(self);
        write::run(store, session, ANALYTICS_ORDERS, facts).await?;
        for (collection, statements) in write::delta_statements(&delta) {
            write::run(store, session, collection, statements).await?;
        }
        Ok(())
    }
}
