//! The analytics projection worker (`oms worker analytics`): consumes every order status
//! event from its own queue (`oms.analytics`) and keeps the read model that
//! `GET /api/analytics/*` serves. A batch of events is folded through the pure
//! [`projection`] and committed in one transaction with the facts of the orders it touched, so
//! each (order, version) applies exactly once however often it is delivered; the consumer acks
//! only after the commit. `oms analytics rebuild` ([`rebuild`]) builds the same model from the
//! orders.

pub use oms_contracts::analytics as projection;
pub mod rebuild;
pub use oms_platform::analytics as summary;
pub mod write;

use std::collections::HashMap;

use futures_util::future::BoxFuture;
use oms_contracts::messages::{Envelope, Event};
use oms_platform::Store;

use crate::consumer::{HandleError, Handler, Outbox};
use oms_platform::store::transaction;
use projection::{Change, Delta, OrderFacts};

pub struct AnalyticsHandler {
    pub store: Store,
}

impl Handler for AnalyticsHandler {
    type Message = Event;

    fn handle<'a>(&'a self, envelope: &'a Envelope<Event>) -> BoxFuture<'a, Result<Outbox, HandleError>> {
        Box::pin(self.project(std::slice::from_ref(envelope)))
    }

    fn handle_batch<'a>(
        &'a self,
        envelopes: &'a [Envelope<Event>],
    ) -> BoxFuture<'a, Result<Outbox, HandleError>> {
        Box::pin(self.project(envelopes))
    }
}

impl AnalyticsHandler {
    async fn project(&self, envelopes: &[Envelope<Event>]) -> Result<Outbox, HandleError> {
        let changes: Vec<Change> = envelopes
            .iter()
            .filter_map(|e| Change::from_event(&e.body))
            .collect();
        if changes.is_empty() {
            return Ok(Outbox::new());
        }
        let mut orders: Vec<String> = changes.iter().map(|c| c.order_id.to_string()).collect();
        orders.sort();
        orders.dedup();
        let applied = transaction(&self.store, |session| {
            let (store, changes, orders) = (self.store.clone(), changes.clone(), orders.clone());
            Box::pin(async move {
                let mut stored = write::read_facts(&store, session, &orders).await?;
                let (changed, delta, applied) = fold(&mut stored, &changes);
                write::commit(&store, session, &changed, &delta).await?;
                Ok(applied)
            })
        })
        .await
        .map_err(|err| {
            if err.get_custom::<write::FactsMoved>().is_some() || oms_platform::store::is_duplicate_key(&err)
            {
                HandleError::Transient(anyhow::anyhow!("another projector changed these orders' facts"))
            } else {
                HandleError::from(err)
            }
        })?;
        metrics::counter!("oms_analytics_changes_applied_total").increment(applied);
        metrics::counter!("oms_analytics_changes_skipped_total").increment(changes.len() as u64 - applied);
        Ok(Outbox::new())
    }
}

/// Folds `changes` into the stored facts: the orders whose facts changed (with the revision
/// they were read at), what the changes add, and how many applied (the others were applied
/// before).
fn fold(
    stored: &mut HashMap<String, write::StoredFacts>,
    changes: &[Change],
) -> (Vec<(String, i64, OrderFacts)>, Delta, u64) {
    let mut delta = Delta::default();
    let mut touched: Vec<String> = Vec::new();
    let mut applied = 0;
    for change in changes {
        let order = change.order_id.to_string();
        let entry = stored.entry(order.clone()).or_insert_with(|| write::StoredFacts {
            rev: 0,
            facts: OrderFacts::default(),
        });
        if projection::apply(&mut entry.facts, change, &mut delta) {
            applied += 1;
            if !touched.contains(&order) {
                touched.push(order);
            }
        }
    }
    let changed = touched
        .into_iter()
        .filter_map(|order| {
            let s = stored.get(&order)?;
            Some((order, s.rev, s.facts.clone()))
        })
        .collect();
    (changed, delta, applied)
}
