//! Live order status over server-sent events. Each API process binds one exclusive,
//! auto-deleted queue to `oms.events` and fans the order events out to its SSE clients
//! through a broadcast channel. A stream starts with the order's current status read from
//! the store, then follows the events, dropping any it has already shown (by version).

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use futures_util::{Stream, StreamExt};
use oms_contracts::OrderId;
use tokio::sync::broadcast;

use crate::auth::CurrentUser;
use crate::error::responses;
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

pub use super::hub::{EventHub, HubMessage, OrderEventOut};

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
        let order = self.state.store.order(&self.order_id).await.ok()??;
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
