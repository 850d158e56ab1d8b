//! Live order status over server-sent events. Each API process binds one exclusive,
//! auto-deleted queue to `oms.events` and fans the order events out to its SSE clients
//! through a broadcast channel. A stream starts with the order's current status read from
//! the store, then follows the events, dropping any it has already shown (by version).

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use futures_util::{Stream, StreamExt};
use lapin::options::{BasicConsumeOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::{FieldTable, ShortString};
use oms_contracts::messages::{Envelope, Event};
use oms_contracts::routing::{EVENTS_EXCHANGE, event_keys};
use oms_contracts::{OrderId, OrderStatus};
use oms_platform::Broker;
use oms_platform::store::OrderDoc;
use serde::Serialize;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use crate::auth::CurrentUser;
use crate::error::responses;
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

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
    fn from_event(event: Event) -> Option<Self> {
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
            } => Some(Self {
                kind: "status",
                order_id: order_id.to_string(),
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
    fn current(order: &OrderDoc) -> Self {
        let last = order.history.iter().rev().find(|h| !h.refused);
        Self {
            kind: "status",
            order_id: order.id.to_string(),
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

    fn to_sse(&self) -> SseEvent {
        SseEvent::default()
            .event(self.kind)
            .id(self.version.to_string())
            .json_data(self)
            .unwrap_or_else(|_| SseEvent::default().comment("unserialisable event"))
    }

    fn visible_to(&self, user: &CurrentUser) -> bool {
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
    closed: CancellationToken,
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

fn keep_alive() -> KeepAlive {
    KeepAlive::new()
        .interval(Duration::from_secs(15))
        .text("keep-alive")
}

struct OrderStream {
    state: AppState,
    order_id: OrderId,
    receiver: broadcast::Receiver<HubMessage>,
    first: Option<OrderEventOut>,
    last_version: i64,
    done: bool,
}

/// `GET /api/orders/{id}/events`: the order's current status, then each change; the stream
/// ends after a final status.
#[utoipa::path(
    get,
    path = "/api/orders/{id}/events",
    tag = "events",
    params(("id" = String, Path, description = "The order's id")),
    security(("bearer" = [])),
    responses(
        (
            status = 200,
            description = "A stream of `status` and `refused` events; each `data` is an `OrderEvent`. \
                It starts with the order's current status and ends after a final one.",
            content_type = "text/event-stream",
            body = String
        ),
        (status = 401, response = responses::Unauthenticated),
        (status = 404, description = "No such order, or another user's (`not_found`)", body = ErrorBody),
        (status = 503, response = responses::Unavailable),
    )
)]
pub async fn order_events(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>, ApiError> {
    let order_id = OrderId::parse(&id).map_err(|_| ApiError::not_found("order"))?;
    // Subscribe before reading, so that no change falls between the read and the stream.
    let receiver = state.events.subscribe();
    let order = super::visible_order(&state, &user, &order_id).await?;
    let first = OrderEventOut::current(&order);
    let state_closed = state.events.closed.clone();
    let stream = futures_util::stream::unfold(
        OrderStream {
            state,
            order_id,
            receiver,
            last_version: first.version - 1,
            first: Some(first),
            done: false,
        },
        |mut s| async move {
            if s.done {
                return None;
            }
            if let Some(first) = s.first.take() {
                return Some((s.emit(first), s));
            }
            loop {
                let caught_up = match s.receiver.recv().await {
                    Ok(HubMessage::Event(event)) => {
                        if event.order_id == s.order_id.as_str() && event.version > s.last_version {
                            let event = (*event).clone();
                            return Some((s.emit(event), s));
                        }
                        continue;
                    }
                    // Events may have been missed: catch up from the store.
                    Ok(HubMessage::Resync) | Err(broadcast::error::RecvError::Lagged(_)) => {
                        s.catch_up().await
                    }
                    Err(broadcast::error::RecvError::Closed) => return None,
                };
                if let Some(event) = caught_up {
                    return Some((s.emit(event), s));
                }
            }
        },
    );
    let closed = state_closed;
    let stream = stream.take_until(async move { closed.cancelled().await });
    Ok(Sse::new(stream).keep_alive(keep_alive()))
}

impl OrderStream {
    /// The order's current status, if it is newer than what the stream has shown.
    async fn catch_up(&self) -> Option<OrderEventOut> {
        let order = self
            .state
            .store
            .orders()
            .find_one(mongodb::bson::doc! { "_id": self.order_id.as_str() })
            .await
            .ok()??;
        (order.version > self.last_version).then(|| OrderEventOut::current(&order))
    }

    fn emit(&mut self, event: OrderEventOut) -> Result<SseEvent, Infallible> {
        self.last_version = event.version;
        if event.kind == "status" && event.status.is_final() {
            self.done = true;
        }
        Ok(event.to_sse())
    }
}

/// `GET /api/events`: every order event the caller may see (an admin sees all).
#[utoipa::path(
    get,
    path = "/api/events",
    tag = "events",
    security(("bearer" = [])),
    responses(
        (
            status = 200,
            description = "A stream of `status` and `refused` events (each `data` is an `OrderEvent`), \
                plus `resync` (events may have been missed: reload) and `lagged` (`data` is how many \
                were dropped)",
            content_type = "text/event-stream",
            body = String
        ),
        (status = 401, response = responses::Unauthenticated),
        (status = 503, response = responses::Unavailable),
    )
)]
pub async fn all_events(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Sse<impl Stream<Item = Result<SseEvent, Infallible>>> {
    let receiver = state.events.subscribe();
    let closed = state.events.closed.clone();
    let stream = futures_util::stream::unfold((receiver, user), |(mut receiver, user)| async move {
        loop {
            match receiver.recv().await {
                Ok(HubMessage::Event(event)) if event.visible_to(&user) => {
                    let sse = event.to_sse();
                    return Some((Ok(sse), (receiver, user)));
                }
                Ok(HubMessage::Event(_)) => continue,
                // Some events may have been missed: tell the client, which can reload.
                Ok(HubMessage::Resync) => {
                    let note = SseEvent::default().event("resync").data("{}");
                    return Some((Ok(note), (receiver, user)));
                }
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    let note = SseEvent::default().event("lagged").data(n.to_string());
                    return Some((Ok(note), (receiver, user)));
                }
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    });
    let stream = stream.take_until(async move { closed.cancelled().await });
    Sse::new(stream).keep_alive(keep_alive())
}
