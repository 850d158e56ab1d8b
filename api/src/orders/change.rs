//! Changing an order: the owner's or an admin's cancel, and an admin's move along the
//! lifecycle. Checked here, decided by the order's worker.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use mongodb::bson::doc;
use oms_contracts::domain::Reason;
use oms_contracts::messages::{Envelope, OrderMessage};
use oms_contracts::order::{self, Actor};
use oms_contracts::routing::orders_queue_for;
use oms_contracts::{OrderId, OrderStatus};
use oms_platform::broker::Outgoing;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::auth::{AdminUser, CurrentUser};
use crate::error::responses;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, RequestId};
use crate::state::AppState;

use super::*;

/// Asks for the order to be cancelled (by its owner or an admin); its stock is released.
#[utoipa::path(
    post,
    path = "/api/orders/{id}/cancel",
    tag = "orders",
    params(("id" = String, Path, description = "The order's id")),
    security(("bearer" = [])),
    responses(
        (status = 202, description = "Accepted; the order as it was", body = OrderOut),
        (status = 401, response = responses::Unauthenticated),
        (status = 404, description = "No such order, or another user's (`not_found`)", body = ErrorBody),
        (
            status = 409,
            description = "`invalid_transition`: already shipped, or in a final status",
            body = ErrorBody
        ),
        (status = 503, response = responses::Unavailable),
    )
)]
pub(crate) async fn cancel_order(
    State(state): State<AppState>,
    user: CurrentUser,
    RequestId(request_id): RequestId,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let id = parse_order_id(&id)?;
    let order = visible_order(&state, &user, &id).await?;
    let actor = if order.user_id == user.id {
        Actor::Owner
    } else {
        Actor::Admin
    };
    order::transition(order.status, OrderStatus::Cancelled, actor)?;
    let message = OrderMessage::CancelOrder {
        order_id: id.clone(),
        by: user.id.clone(),
        actor,
        reason: None,
    };
    send(&state, &id, &request_id, message).await?;
    tracing::info!(order_id = %id, user_id = %user.id, "cancel requested");
    Ok((
        StatusCode::ACCEPTED,
        Json(OrderOut::new(order, &user, &HashMap::new())),
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusIn {
    /// `CONFIRMED`, `SHIPPED`, `DELIVERED` or `CANCELLED`.
    #[schema(value_type = OrderStatus)]
    status: String,
    reason: Option<String>,
}

/// Moves an order on (admin).
#[utoipa::path(
    post,
    path = "/api/orders/{id}/status",
    tag = "orders",
    params(("id" = String, Path, description = "The order's id")),
    request_body = StatusIn,
    security(("bearer" = ["admin"])),
    responses(
        (status = 202, description = "Accepted; the order as it was", body = OrderOut),
        (status = 400, response = responses::BadRequest),
        (status = 401, response = responses::Unauthenticated),
        (status = 403, response = responses::Forbidden),
        (status = 404, response = responses::NotFound),
        (status = 409, description = "`invalid_transition`: not allowed from the current status", body = ErrorBody),
        (status = 413, response = responses::PayloadTooLarge),
        (status = 415, response = responses::UnsupportedMediaType),
        (status = 422, response = responses::Invalid),
        (status = 503, response = responses::Unavailable),
    )
)]
pub(crate) async fn transition_order(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    RequestId(request_id): RequestId,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<StatusIn>,
) -> Result<impl IntoResponse, ApiError> {
    let id = parse_order_id(&id)?;
    let to: OrderStatus = body.status.parse().map_err(|e| ApiError::invalid("status", e))?;
    if !OrderStatus::ADMIN_TARGETS.contains(&to) {
        return Err(ApiError::Invalid {
            code: "validation_failed",
            field: "status".into(),
            message: "must be CONFIRMED, SHIPPED, DELIVERED or CANCELLED".into(),
        });
    }
    let reason = body
        .reason
        .as_deref()
        .map(|r| Reason::parse(r).map_err(|e| ApiError::invalid("reason", e)))
        .transpose()?;
    let order = visible_order(&state, &admin, &id).await?;
    order::transition(order.status, to, Actor::Admin)?;
    let message = OrderMessage::TransitionOrder {
        order_id: id.clone(),
        to,
        by: admin.id.clone(),
        reason,
    };
    send(&state, &id, &request_id, message).await?;
    tracing::info!(order_id = %id, admin_id = %admin.id, to = %to, "transition requested");
    Ok((
        StatusCode::ACCEPTED,
        Json(OrderOut::new(order, &admin, &HashMap::new())),
    ))
}

pub(crate) async fn send(
    state: &AppState,
    id: &OrderId,
    request_id: &str,
    message: OrderMessage,
) -> Result<(), ApiError> {
    let envelope = Envelope::new(id.to_string(), request_id, message);
    let queue = orders_queue_for(id, state.config.partitions);
    state.broker.publish(Outgoing::command(queue, &envelope)).await?;
    Ok(())
}
