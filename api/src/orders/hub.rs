//! The process's fan-out of order events: one exclusive, auto-deleted queue bound to
//! `oms.events`, whose events reach every SSE stream of this process through a broadcast
//! channel, and what a client sees of each event. Holds no request state (the streams are in
//! `events`).

use std::sync::Arc;
use std::time::Duration;

use axum::response::sse::Event as SseEvent;
use futures_util::StreamExt;
use lapin::options::{BasicConsumeOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::{FieldTable, ShortString};
use oms_contracts::OrderStatus;
use oms_contracts::messages::{Envelope, Event};
use oms_contracts::routing::{EVENTS_EXCHANGE, event_keys};
use oms_platform::Broker;
use oms_platform::store::OrderDoc;
use serde::Serialize;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use crate::auth::user::CurrentUser;

/// What a client sees for one order event: the `data` of an SSE event whose `event` is the
/// same as `type` and whose `id` is `version`.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
#[schema(as = OrderEvent)]
pub struct OrderEventOut {
    /// `status` (the order moved to `status`) or `refused` (a transition to `requested` was refused).
    #[serde(rename = "type")]
    #[schema(example = "status")]
    pub kind: &'static str,
    pub order_id: String,
    /// The order's short number (`#1042`), when the event carries it.
    pub number: Option<i64>,
    #[serde(skip)]
    pub user_id: String,
    pub status: OrderStatus,
    pub from: Option<OrderStatus>,
    /// For refusals: the status that was asked for.
    pub requested: Option<OrderStatus>,
    pub by: String,
    pub reason: Option<String>,
    pub version: i64,
    pub at: chrono::DateTime<chrono::Utc>,
}

impl OrderEventOut {
    pub(crate) fn from_event(event: Event) -> Option<Self> {
        match event {
            Event::OrderStatusChanged {
                order_id,
                user_id,
                from,
                to,
                by,
                reason,
                version,
                at,
                // The stream says what happened; the order's lines are read with the order.
                lines: _,
                total: _,
                number,
            } => Some(Self {
                kind: "status",
                order_id: order_id.to_string(),
                number,
                user_id: user_id.to_string(),
                status: to,
                from,
                requested: None,
                by,
                reason,
                version,
                at,
            }),
            Event::OrderTransitionRefused {
                order_id,
                user_id,
                status,
                requested,
                by,
                reason,
                version,
                at,
            } => Some(Self {
                kind: "refused",
                order_id: order_id.to_string(),
                number: None,
                user_id: user_id.to_string(),
                status,
                from: None,
                requested: Some(requested),
                by,
                reason: Some(reason),
                version,
                at,
            }),
            _ => None,
        }
    }

    /// The order as it stands now, as the first event of a stream.
    pub(crate) fn current(order: &OrderDoc) -> Self {
        let last = order.history.iter().rev().find(|h| !h.refused);
        Self {
            kind: "status",
            order_id: order.id.to_string(),
            number: order.number,
            user_id: order.user_id.to_string(),
            status: order.status,
            from: last.and_then(|h| h.from),
            requested: None,
            by: last.map(|h| h.by.clone()).unwrap_or_default(),
            reason: last.and_then(|h| h.reason.clone()),
            version: order.version,
            at: last
                .map(|h| h.at)
                .unwrap_or_else(|| oms_platform::store::to_chrono(order.updated_at)),
        }
    }

    pub(crate) fn to_sse(&self) -> SseEvent {
        SseEvent::default()
            .event(self.kind)
            .id(self.version.to_string())
            .json_data(self)
            .unwrap_or_else(|_| SseEvent::default().comment("unserialisable event"))
    }

    pub(crate) fn visible_to(&self, user: &CurrentUser) -> bool {
        user.is_admin() || self.user_id == user.id.as_str()
    }
}

/// What the hub fans out.
#[derive(Clone, Debug)]
pub enum HubMessage {
    Event(Arc<OrderEventOut>),
    /// The listener (re)connected: events published while it was away are lost, so streams
    /// catch up from the store.
    Resync,
}

/// The process's fan-out of order events.
#[derive(Clone)]
pub struct EventHub {
    sender: broadcast::Sender<HubMessage>,
    /// Cancelled at shutdown: every stream ends, so graceful shutdown does not wait on them.
    pub(crate) closed: CancellationToken,
    /// True while the hub's queue is bound and consuming.
    listening: Arc<tokio::sync::watch::Sender<bool>>,
}

impl Default for EventHub {
    fn default() -> Self {
        Self::new()
    }
}

impl EventHub {
    pub fn new() -> Self {
        let (sender, _) = broadcast::channel(4096);
        Self {
            sender,
            closed: CancellationToken::new(),
            listening: Arc::new(tokio::sync::watch::channel(false).0),
        }
    }

    /// Ends every stream (at shutdown).
    pub fn close(&self) {
        self.closed.cancel();
    }

    /// Waits until events are being received (at most `limit`); `false` on time-out.
    pub async fn wait_listening(&self, limit: Duration) -> bool {
        let mut watch = self.listening.subscribe();
        tokio::time::timeout(limit, watch.wait_for(|listening| *listening))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    pub fn subscribe(&self) -> broadcast::Receiver<HubMessage> {
        self.sender.subscribe()
    }

    /// Listens on the broker until `shutdown`, reconnecting with backoff.
    pub async fn run(self, broker: Broker, shutdown: CancellationToken) {
        let mut wait = Duration::from_millis(100);
        loop {
            let result = tokio::select! {
                _ = shutdown.cancelled() => return,
                result = self.listen(&broker) => result,
            };
            self.listening.send_replace(false);
            if let Err(err) = result {
                tracing::warn!(error = %format!("{err:#}"), retry_in = ?wait, "order event listener lost its connection");
            }
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(wait) => {}
            }
            wait = (wait * 2).min(Duration::from_secs(5));
        }
    }

    async fn listen(&self, broker: &Broker) -> anyhow::Result<()> {
        let connection = broker
            .dedicated_connection("events", Duration::from_secs(10))
            .await?;
        let channel = connection.create_channel().await?;
        let queue = channel
            .queue_declare(
                ShortString::from(""),
                QueueDeclareOptions {
                    exclusive: true,
                    auto_delete: true,
                    ..QueueDeclareOptions::default()
                },
                FieldTable::default(),
            )
            .await?;
        channel
            .queue_bind(
                queue.name().clone(),
                EVENTS_EXCHANGE.into(),
                event_keys::ALL_ORDER_EVENTS.into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await?;
        // Notifications only: a lost one is recovered from the store by the stream that needs it.
        let mut deliveries = channel
            .basic_consume(
                queue.name().clone(),
                ShortString::from("oms-api-events"),
                BasicConsumeOptions {
                    no_ack: true,
                    ..BasicConsumeOptions::default()
                },
                FieldTable::default(),
            )
            .await?;
        self.listening.send_replace(true);
        let _ = self.sender.send(HubMessage::Resync);
        while let Some(delivery) = deliveries.next().await {
            let delivery = delivery?;
            match serde_json::from_slice::<Envelope<Event>>(&delivery.data) {
                Ok(envelope) => {
                    if let Some(event) = OrderEventOut::from_event(envelope.body) {
                        // No receivers is fine: nobody is watching.
                        let _ = self.sender.send(HubMessage::Event(Arc::new(event)));
                    }
                }
                Err(err) => tracing::warn!(error = %err, "unparseable event ignored"),
            }
        }
        anyhow::bail!("the event consumer was cancelled")
    }
}
