//! The notifications worker: turns each status change of an order (from its own durable queue
//! bound to `oms.events`) into a notification in the owner's inbox. A notification is keyed by
//! the order and its version, so a redelivered (or re-published) event adds nothing; the
//! delivery is acked only once the notifications are stored.

use futures_util::future::BoxFuture;
use mongodb::bson::DateTime;
use oms_contracts::messages::{Envelope, Event};
use oms_platform::Store;
use oms_platform::store::{NotificationDoc, from_chrono};

use crate::consumer::{HandleError, Handler, Outbox};

pub struct NotificationHandler {
    pub store: Store,
}

/// The notification an event makes: one per change of status (the order's creation, from no
/// status to `PENDING`, is the shopper's own doing and tells them nothing).
pub fn notification_of(event: &Event, now: DateTime) -> Option<NotificationDoc> {
    match event {
        Event::OrderStatusChanged {
            order_id,
            user_id,
            from: Some(from),
            to,
            reason,
            version,
            at,
            number,
            ..
        } => Some(NotificationDoc {
            id: NotificationDoc::key(order_id, *version),
            user_id: user_id.clone(),
            order_id: order_id.clone(),
            order_number: *number,
            status: *to,
            from: Some(*from),
            reason: reason.clone(),
            version: *version,
            at: from_chrono(*at),
            created_at: now,
            read_at: None,
        }),
        _ => None,
    }
}

impl NotificationHandler {
    async fn store_all(&self, docs: Vec<NotificationDoc>) -> Result<Outbox, HandleError> {
        if docs.is_empty() {
            return Ok(Outbox::new());
        }
        let count = docs.len();
        match self.store.notifications().insert_many(docs).ordered(false).await {
            Ok(_) => {}
            // Already there: this event was handled before (a redelivery). The others in the
            // batch are inserted all the same (unordered).
            Err(err) if only_duplicates(&err) => {
                tracing::debug!(count, "some notifications existed already");
            }
            Err(err) => return Err(err.into()),
        }
        Ok(Outbox::new())
    }
}

/// Whether every write error of an unordered insert is a duplicate key.
pub fn only_duplicates(err: &mongodb::error::Error) -> bool {
    use mongodb::error::ErrorKind;
    match err.kind.as_ref() {
        ErrorKind::InsertMany(e) => {
            e.write_concern_error.is_none()
                && e.write_errors
                    .as_ref()
                    .is_some_and(|errors| errors.iter().all(|e| e.code == 11000))
        }
        _ => oms_platform::store::is_duplicate_key(err),
    }
}

impl Handler for NotificationHandler {
    type Message = Event;

    fn handle<'a>(&'a self, envelope: &'a Envelope<Event>) -> BoxFuture<'a, Result<Outbox, HandleError>> {
        Box::pin(async move {
            let docs = notification_of(&envelope.body, DateTime::now())
                .into_iter()
                .collect();
            self.store_all(docs).await
        })
    }

    fn handle_batch<'a>(
        &'a self,
        envelopes: &'a [Envelope<Event>],
    ) -> BoxFuture<'a, Result<Outbox, HandleError>> {
        Box::pin(async move {
            let now = DateTime::now();
            let docs = envelopes
                .iter()
                .filter_map(|e| notification_of(&e.body, now))
                .collect();
            self.store_all(docs).await
        })
    }
}
