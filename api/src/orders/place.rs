//! Placing an order: the body parsed whole, group-committed as `PENDING`, its placement
//! published with a confirm before the 202; a retry with the same `Idempotency-Key` replays it.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use mongodb::bson::doc;
use oms_contracts::domain::{IdempotencyKey, Quantity};
use oms_contracts::messages::OrderLine;
use oms_contracts::{OrderId, OrderStatus, ProductId};
use oms_platform::store::{CustomerDoc, OrderDoc};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::auth::CurrentUser;
use crate::error::responses;
use crate::error::{ApiError, ErrorBody, Fields};
use crate::extract::{ApiJson, RequestId, idempotency_key};
use crate::state::AppState;
use intake::Admitted;

use super::*;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderIn {
    /// 1 to 50 lines, each product at most once.
    items: Vec<LineIn>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LineIn {
    product_id: String,
    quantity: i64,
}

/// A validated order request.
pub(crate) struct NewOrder {
    lines: Vec<OrderLine>,
}

impl NewOrder {
    /// Every invalid line is reported at once.
    fn parse(body: OrderIn) -> Result<Self, ApiError> {
        if body.items.is_empty() || body.items.len() > MAX_LINES {
            return Err(ApiError::Invalid {
                code: "validation_failed",
                field: "items".into(),
                message: format!("an order has 1 to {MAX_LINES} lines"),
            });
        }
        let mut fields = Fields::default();
        let mut lines: Vec<OrderLine> = Vec::with_capacity(body.items.len());
        for (i, line) in body.items.into_iter().enumerate() {
            let product_id = fields.parse(
                &format!("items[{i}].product_id"),
                ProductId::parse(&line.product_id),
            );
            let quantity = fields.parse(&format!("items[{i}].quantity"), Quantity::parse(line.quantity));
            if let Some(product_id) = &product_id
                && lines.iter().any(|l| l.product_id == *product_id)
            {
                fields.invalid(
                    &format!("items[{i}].product_id"),
                    "validation_failed",
                    "a product may appear only once in an order",
                );
            }
            if let (Some(product_id), Some(quantity)) = (product_id, quantity) {
                lines.push(OrderLine { product_id, quantity });
            }
        }
        fields.finish(|| Some(Self { lines }))
    }

    /// What makes two requests "the same body" for an idempotency key.
    fn hash(&self) -> String {
        let canonical: Vec<(&str, u32)> = self
            .lines
            .iter()
            .map(|l| (l.product_id.as_str(), l.quantity.get()))
            .collect();
        let bytes = serde_json::to_vec(&canonical).unwrap_or_default();
        hex::encode(Sha256::digest(&bytes))
    }
}

pub(crate) fn accepted(order: OrderDoc, viewer: &CurrentUser) -> axum::response::Response {
    let location = format!("/api/orders/{}", order.id);
    (
        StatusCode::ACCEPTED,
        [(header::LOCATION, location)],
        Json(OrderOut::new(order, viewer, &HashMap::new())),
    )
        .into_response()
}

/// Places an order. It is stored before the answer, so a 202 is never lost; the stock workers
/// then reserve its lines and it becomes `PLACED` or `REJECTED`.
#[utoipa::path(
    post,
    path = "/api/orders",
    tag = "orders",
    params((
        "Idempotency-Key" = Option<String>,
        Header,
        description = "1 to 100 visible ASCII characters. The same key with the same body answers \
            with the same order; with another body, 409 `idempotency_key_reused`"
    )),
    request_body = OrderIn,
    security(("bearer" = [])),
    responses(
        (
            status = 202,
            description = "Accepted, `PENDING`",
            body = OrderOut,
            headers(("Location" = String, description = "`/api/orders/{id}`"))
        ),
        (status = 400, response = responses::BadRequest),
        (status = 401, response = responses::Unauthenticated),
        (
            status = 409,
            description = "`idempotency_key_reused`: the key was used for a different order",
            body = ErrorBody
        ),
        (status = 413, response = responses::PayloadTooLarge),
        (status = 415, response = responses::UnsupportedMediaType),
        (status = 422, response = responses::Invalid),
        (status = 503, response = responses::Unavailable),
    )
)]
pub(crate) async fn place_order(
    State(state): State<AppState>,
    user: CurrentUser,
    RequestId(request_id): RequestId,
    headers: HeaderMap,
    ApiJson(body): ApiJson<OrderIn>,
) -> Result<axum::response::Response, ApiError> {
    let key = idempotency_key(&headers)?;
    let new = NewOrder::parse(body)?;
    let request_hash = new.hash();
    let mut order = OrderDoc::placed(
        &OrderId::new(),
        &user.id,
        &new.lines,
        key.as_ref().map(IdempotencyKey::as_str),
        request_hash.clone(),
        chrono::Utc::now(),
    );
    order.number = Some(state.order_numbers.next(&state.store).await?);
    order.customer = Some(CustomerDoc::new(&user.name, &user.email));

    // Durable first: once the order is stored, nothing downstream can lose it. The intake
    // stores it and sends its placement together with the orders that arrived meanwhile.
    match state.intake.admit(order.clone(), request_id.clone()).await? {
        Admitted::Accepted => Ok(accepted(order, &user)),
        Admitted::KeyTaken => replay(&state, &user, &order.idem_key, &request_hash, &request_id).await,
        Admitted::Unconfirmed(cause) => withdraw(&state, &user, order, cause).await,
    }
}

/// Sends a stored order's placement and announces it `PENDING` (again, for a replay).
pub(crate) async fn publish_place(
    state: &AppState,
    order: &OrderDoc,
    request_id: &str,
) -> Result<(), ApiError> {
    let messages = intake::announce(order, state.config.partitions, request_id);
    state.broker.publish_all(messages.into()).await?;
    Ok(())
}

/// `PlaceOrder` was not confirmed. Withdraw the order — unless a worker already started on it
/// (the message got through and only its confirm was lost) or a retry with the same key sent it
/// again: then it is accepted after all. If the withdrawal itself fails, the order is stored
/// and the reconciler will place it, so it is accepted too.
pub(crate) async fn withdraw(
    state: &AppState,
    user: &CurrentUser,
    order: OrderDoc,
    cause: ApiError,
) -> Result<axum::response::Response, ApiError> {
    match state.store.withdraw_unstarted_order(&order.id).await {
        Ok(true) => {
            tracing::warn!(order_id = %order.id, "order withdrawn: the broker did not confirm PlaceOrder");
            Err(cause)
        }
        Ok(false) => {
            tracing::info!(order_id = %order.id, "PlaceOrder was unconfirmed but the order is being placed");
            let current = state.store.order(&order.id).await?.unwrap_or(order);
            Ok(accepted(current, user))
        }
        Err(err) => {
            tracing::error!(order_id = %order.id, error = %err, "could not withdraw an unconfirmed order; the reconciler will place it");
            Ok(accepted(order, user))
        }
    }
}

/// The same key again: the same body gets the same order; another body is a conflict.
pub(crate) async fn replay(
    state: &AppState,
    user: &CurrentUser,
    idem_key: &str,
    request_hash: &str,
    request_id: &str,
) -> Result<axum::response::Response, ApiError> {
    let existing = state
        .store
        .order_by_idempotency_key(idem_key)
        .await?
        // Deleted between our insert and this read: a withdrawn attempt. Retrying is safe.
        .ok_or(ApiError::Unavailable("the store"))?;
    if existing.request_hash != request_hash {
        return Err(ApiError::Conflict {
            code: "idempotency_key_reused",
            message: "this Idempotency-Key was used for a different order".into(),
            field: None,
        });
    }
    if existing.status == OrderStatus::Pending && !existing.dispatched {
        // The earlier attempt may have failed to publish; sending again is harmless. Mark the
        // order first, so that the earlier attempt cannot withdraw what this one promises.
        if !state.store.mark_order_retried(&existing.id).await? {
            // The earlier attempt withdrew it just now; a new attempt will place it afresh.
            return Err(ApiError::Unavailable("the message broker"));
        }
        publish_place(state, &existing, request_id).await?;
    }
    Ok(accepted(existing, user))
}
