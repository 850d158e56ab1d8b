//! From events to deliveries: each event on `oms.webhooks` becomes one pending delivery per
//! enabled endpoint subscribed to its type, due at once. The queue has one active consumer, so
//! deliveries are recorded in the order the events were published; a delivery is unique per
//! (endpoint, event id), so a redelivered event adds nothing. Acked once they are stored.

use futures_util::TryStreamExt;
use futures_util::future::BoxFuture;
use mongodb::bson::{DateTime, doc};
use oms_contracts::DeliveryId;
use oms_contracts::messages::{Envelope, Event};
use oms_contracts::webhooks::WebhookEvent;
use oms_platform::Store;
use oms_platform::store::{DeliveryDoc, DeliveryStatus, EndpointDoc};

use crate::consumer::{HandleError, Handler, Outbox};
use crate::notifications::only_duplicates;

pub struct FanOut {
    pub store: Store,
}

impl FanOut {
    async fn fan_out(&self, envelopes: &[Envelope<Event>]) -> Result<Outbox, HandleError> {
        let events: Vec<WebhookEvent> = envelopes.iter().filter_map(WebhookEvent::from_envelope).collect();
        if events.is_empty() {
            return Ok(Outbox::new());
        }
        // One read of the endpoints per batch: there are few, and the batch is what has arrived.
        let endpoints: Vec<EndpointDoc> = self
            .store
            .webhook_endpoints()
            .find(doc! { "disabled": false })
            .await?
            .try_collect()
            .await?;
        let now = DateTime::now();
        let deliveries: Vec<DeliveryDoc> = events
            .iter()
            .flat_map(|event| {
                endpoints
                    .iter()
                    .filter(|e| e.events.contains(&event.kind))
                    .map(move |endpoint| delivery(endpoint, event, now))
            })
            .collect();
        if deliveries.is_empty() {
            return Ok(Outbox::new());
        }
        let count = deliveries.len();
        match self
            .store
            .webhook_deliveries()
            .insert_many(deliveries)
            .ordered(false)
            .await
        {
            Ok(_) => metrics::counter!("oms_webhook_deliveries_created_total").increment(count as u64),
            Err(err) if only_duplicates(&err) => tracing::debug!("some deliveries existed already"),
            Err(err) => return Err(err.into()),
        }
        Ok(Outbox::new())
    }
}

fn delivery(endpoint: &EndpointDoc, event: &WebhookEvent, now: DateTime) -> DeliveryDoc {
    DeliveryDoc {
        id: DeliveryId::new(),
        endpoint_id: endpoint.id.clone(),
        event_id: event.id.clone(),
        event_type: event.kind,
        ordering_key: event.ordering_key.clone(),
        seq: event.seq,
        body: event.body(),
        status: DeliveryStatus::Pending,
        round_attempts: 0,
        attempts: Vec::new(),
        next_attempt_at: Some(now),
        waiting: false,
        has_waiters: false,
        claim: None,
        created_at: now,
        updated_at: now,
    }
}

impl Handler for FanOut {
    type Message = Event;

    fn handle<'a>(&'a self, envelope: &'a Envelope<Event>) -> BoxFuture<'a, Result<Outbox, HandleError>> {
        Box::pin(self.fan_out(std::slice::from_ref(envelope)))
    }

    fn handle_batch<'a>(
        &'a self,
        envelopes: &'a [Envelope<Event>],
    ) -> BoxFuture<'a, Result<Outbox, HandleError>> {
        Box::pin(self.fan_out(envelopes))
    }
}
