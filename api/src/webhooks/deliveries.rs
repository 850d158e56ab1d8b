//! An endpoint's delivery log (every attempt of every event sent to it) and manual retries.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use oms_contracts::DeliveryId;
use oms_contracts::webhooks::WebhookEventType;
use oms_platform::store::lists::{DeliveryList, TimeKey};
use oms_platform::store::{AttemptDoc, DeliveryDoc, DeliveryStatus, to_chrono};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{find_endpoint, parse_id};
use crate::auth::AdminUser;
use crate::error::{ApiError, responses};
use crate::extract::ApiQuery;
use crate::paging::{Page, page, position};
use crate::state::AppState;

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeliveryQuery {
    /// Only deliveries in this state.
    status: Option<DeliveryStatus>,
    /// From 1 (default 1).
    page: Option<i64>,
    /// 1 to 100 (default 20).
    per_page: Option<i64>,
    /// The `next_cursor` of the previous page (instead of `page`).
    cursor: Option<String>,
}

/// One attempt. `response_body` is the receiver's answer as plain text (at most 4 KiB): show
/// it as text, never as HTML.
#[derive(Serialize, ToSchema)]
pub struct AttemptOut {
    pub at: chrono::DateTime<chrono::Utc>,
    pub response_status: Option<i32>,
    pub latency_ms: i64,
    pub error: Option<String>,
    pub response_body: Option<String>,
}

impl From<AttemptDoc> for AttemptOut {
    fn from(a: AttemptDoc) -> Self {
        Self {
            at: to_chrono(a.at),
            response_status: a.response_status,
            latency_ms: a.latency_ms,
            error: a.error,
            response_body: a.response_body,
        }
    }
}

/// One event's delivery to the endpoint, with its attempts (oldest first).
#[derive(Serialize, ToSchema)]
pub struct DeliveryOut {
    pub id: String,
    /// The `webhook-id` header: the same on every attempt.
    pub event_id: String,
    pub event_type: WebhookEventType,
    pub status: DeliveryStatus,
    pub attempts: Vec<AttemptOut>,
    /// When the next attempt is due (pending deliveries).
    pub next_attempt_at: Option<chrono::DateTime<chrono::Utc>>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

impl From<DeliveryDoc> for DeliveryOut {
    fn from(d: DeliveryDoc) -> Self {
        Self {
            id: d.id.to_string(),
            event_id: d.event_id,
            event_type: d.event_type,
            status: d.status,
            attempts: d.attempts.into_iter().map(AttemptOut::from).collect(),
            next_attempt_at: d
                .next_attempt_at
                .filter(|_| d.status == DeliveryStatus::Pending)
                .map(to_chrono),
            created_at: to_chrono(d.created_at),
            updated_at: to_chrono(d.updated_at),
        }
    }
}

/// The endpoint's deliveries, newest first.
#[utoipa::path(
    get,
    path = "/api/webhooks/{id}/deliveries",
    tag = "webhooks",
    params(("id" = String, Path, description = "The endpoint's id"), DeliveryQuery),
    security(("bearer" = ["admin"])),
    responses(
        (status = 200, description = "A page of deliveries", body = Page<DeliveryOut>),
        (status = 401, response = responses::Unauthenticated),
        (status = 403, response = responses::Forbidden),
        (status = 404, response = responses::NotFound),
        (status = 422, response = responses::Invalid),
        (status = 503, response = responses::Unavailable),
    )
)]
pub async fn list_deliveries(
    State(state): State<AppState>,
    AdminUser(_): AdminUser,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<DeliveryQuery>,
) -> Result<Json<Page<DeliveryOut>>, ApiError> {
    let id = parse_id(&id)?;
    let list = DeliveryList {
        endpoint: id.clone(),
        status: query.status,
    };
    let name = format!("deliveries:{id}:{:?}", query.status);
    let position = position::<TimeKey>(&state, &name, query.page, query.per_page, query.cursor.as_deref())?;
    find_endpoint(&state, &id).await?;
    let (slice, count) = tokio::try_join!(
        state
            .store
            .list_deliveries(&list, &position.start, position.paging.per_page),
        state.store.count_deliveries(&list),
    )?;
    Ok(Json(page(
        &state,
        &name,
        &position,
        slice,
        count,
        |d: &DeliveryDoc| TimeKey::new(d.created_at, d.id.to_string()),
        DeliveryOut::from,
    )))
}

/// Attempts the delivery again now, with a fresh round of retries (same `webhook-id`).
#[utoipa::path(
    post,
    path = "/api/webhooks/{id}/deliveries/{delivery_id}/retry",
    tag = "webhooks",
    params(
        ("id" = String, Path, description = "The endpoint's id"),
        ("delivery_id" = String, Path, description = "The delivery's id"),
    ),
    security(("bearer" = ["admin"])),
    responses(
        (status = 202, description = "Scheduled now (or being attempted already)"),
        (status = 401, response = responses::Unauthenticated),
        (status = 403, response = responses::Forbidden),
        (status = 404, response = responses::NotFound),
        (status = 503, response = responses::Unavailable),
    )
)]
pub async fn retry_delivery(
    State(state): State<AppState>,
    AdminUser(_): AdminUser,
    Path((id, delivery_id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let id = parse_id(&id)?;
    let delivery_id = DeliveryId::parse(&delivery_id).map_err(|_| ApiError::not_found("delivery"))?;
    if !state.store.retry_webhook_delivery(&id, &delivery_id).await? {
        return Err(ApiError::not_found("delivery"));
    }
    Ok(StatusCode::ACCEPTED)
}
