//! Orders: placing (with idempotency keys), reading, cancelling, admin transitions and
//! statistics. The API never changes an order's status itself: it checks the request
//! against the state machine, publishes the command with a confirm, and answers 202.

pub mod events;
pub mod intake;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use futures_util::TryStreamExt;
use mongodb::bson::{self, doc};
use oms_contracts::domain::{IdempotencyKey, Quantity, Reason};
use oms_contracts::messages::{Envelope, HistoryEntry, OrderLine, OrderMessage, RejectReason};
use oms_contracts::order::{self, Actor};
use oms_contracts::routing::orders_queue_for;
use oms_contracts::{Money, OrderId, OrderStatus, ProductId, UserId};
use oms_platform::broker::Outgoing;
use oms_platform::store::lists::OrderList;
use oms_platform::store::{self, LineReservation, OrderDoc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{AdminUser, CurrentUser};
use crate::error::responses;
use crate::error::{ApiError, ErrorBody, Fields};
use crate::extract::{ApiJson, ApiQuery, RequestId, idempotency_key};
use crate::paging::{Page, page, position};
use crate::state::AppState;
use intake::Admitted;

pub const MAX_LINES: usize = 50;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::default()
        .routes(routes!(place_order, list_orders))
        .routes(routes!(order_stats))
        .routes(routes!(get_order))
        .routes(routes!(cancel_order))
        .routes(routes!(transition_order))
        .routes(routes!(events::order_events))
        .routes(routes!(events::all_events))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderIn {
    /// 1 to 50 lines, each product at most once.
    #[schema(min_items = 1, max_items = 50)]
    items: Vec<LineIn>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LineIn {
    product_id: String,
    #[schema(minimum = 1, maximum = 1000)]
    quantity: i64,
}

/// A validated order request.
struct NewOrder {
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

#[derive(Serialize, ToSchema)]
pub struct LineOut {
    pub product_id: String,
    /// The product's name when it was reserved.
    pub name: Option<String>,
    pub quantity: i64,
    /// The product's price when it was reserved.
    pub unit_price: Option<Money>,
    pub line_total: Option<Money>,
    pub reservation: LineReservation,
    pub reject_reason: Option<RejectReason>,
    /// `reject_reason` in words.
    pub reject_message: Option<&'static str>,
}

#[derive(Serialize, ToSchema)]
pub struct OrderOut {
    pub id: String,
    pub user_id: String,
    pub status: OrderStatus,
    pub items: Vec<LineOut>,
    pub total: Option<Money>,
    pub history: Vec<HistoryEntry>,
    pub version: i64,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
    /// The statuses the caller may move the order to from its current `status`, from the
    /// state machine: for an admin the next step and `CANCELLED` while it is still allowed,
    /// for the order's owner only `CANCELLED` (before shipping); empty when the status is
    /// final. Live status events do not carry it: fetch the order again after one.
    pub allowed_next: Vec<OrderStatus>,
}

/// How the state machine sees `user` acting on an order owned by `owner_id`.
fn actor_for(user: &CurrentUser, owner_id: &UserId) -> Option<Actor> {
    if user.is_admin() {
        Some(Actor::Admin)
    } else if *owner_id == user.id {
        Some(Actor::Owner)
    } else {
        None
    }
}

impl OrderOut {
    /// The order as `viewer` sees it: `allowed_next` depends on who asks.
    fn new(o: OrderDoc, viewer: &CurrentUser) -> Self {
        let allowed_next = actor_for(viewer, &o.user_id)
            .map(|actor| order::allowed_next(o.status, actor))
            .unwrap_or_default();
        Self {
            allowed_next,
            items: o
                .items
                .into_iter()
                .map(|l| LineOut {
                    line_total: match (l.line_total, l.unit_price) {
                        (Some(amount), Some(price)) => Some(Money {
                            amount,
                            currency: price.currency,
                        }),
                        _ => None,
                    },
                    product_id: l.product_id.to_string(),
                    name: l.name,
                    quantity: i64::from(l.quantity),
                    unit_price: l.unit_price,
                    reservation: l.reservation,
                    reject_message: l.reject_reason.map(RejectReason::describe),
                    reject_reason: l.reject_reason,
                })
                .collect(),
            id: o.id.to_string(),
            user_id: o.user_id.to_string(),
            status: o.status,
            total: o.total,
            history: o.history,
            version: o.version,
            created_at: store::to_chrono(o.created_at),
            updated_at: store::to_chrono(o.updated_at),
        }
    }
}

fn accepted(order: OrderDoc, viewer: &CurrentUser) -> axum::response::Response {
    let location = format!("/api/orders/{}", order.id);
    (
        StatusCode::ACCEPTED,
        [(header::LOCATION, location)],
        Json(OrderOut::new(order, viewer)),
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
async fn place_order(
    State(state): State<AppState>,
    user: CurrentUser,
    RequestId(request_id): RequestId,
    headers: HeaderMap,
    ApiJson(body): ApiJson<OrderIn>,
) -> Result<axum::response::Response, ApiError> {
    let key = idempotency_key(&headers)?;
    let new = NewOrder::parse(body)?;
    let request_hash = new.hash();
    let order = OrderDoc::placed(
        &OrderId::new(),
        &user.id,
        &new.lines,
        key.as_ref().map(IdempotencyKey::as_str),
        request_hash.clone(),
        chrono::Utc::now(),
    );

    // Durable first: once the order is stored, nothing downstream can lose it. The intake
    // stores it and sends its placement together with the orders that arrived meanwhile.
    match state.intake.admit(order.clone(), request_id.clone()).await? {
        Admitted::Accepted => Ok(accepted(order, &user)),
        Admitted::KeyTaken => replay(&state, &user, &order.idem_key, &request_hash, &request_id).await,
        Admitted::Unconfirmed(cause) => withdraw(&state, &user, order, cause).await,
    }
}

/// Sends a stored order's placement and announces it `PENDING` (again, for a replay).
async fn publish_place(state: &AppState, order: &OrderDoc, request_id: &str) -> Result<(), ApiError> {
    let messages = intake::announce(order, state.config.partitions, request_id);
    state.broker.publish_all(messages.into()).await?;
    Ok(())
}

/// `PlaceOrder` was not confirmed. Withdraw the order — unless a worker already started on it
/// (the message got through and only its confirm was lost) or a retry with the same key sent it
/// again: then it is accepted after all. If the withdrawal itself fails, the order is stored
/// and the reconciler will place it, so it is accepted too.
async fn withdraw(
    state: &AppState,
    user: &CurrentUser,
    order: OrderDoc,
    cause: ApiError,
) -> Result<axum::response::Response, ApiError> {
    let withdrawn = state
        .store
        .orders()
        .delete_one(doc! {
            "_id": order.id.as_str(),
            "status": OrderStatus::Pending.as_str(),
            "dispatched": false,
            "retried": { "$ne": true },
        })
        .await;
    match withdrawn {
        Ok(result) if result.deleted_count == 1 => {
            tracing::warn!(order_id = %order.id, "order withdrawn: the broker did not confirm PlaceOrder");
            Err(cause)
        }
        Ok(_) => {
            tracing::info!(order_id = %order.id, "PlaceOrder was unconfirmed but the order is being placed");
            let current = state
                .store
                .orders()
                .find_one(doc! { "_id": order.id.as_str() })
                .await?
                .unwrap_or(order);
            Ok(accepted(current, user))
        }
        Err(err) => {
            tracing::error!(order_id = %order.id, error = %err, "could not withdraw an unconfirmed order; the reconciler will place it");
            Ok(accepted(order, user))
        }
    }
}

/// The same key again: the same body gets the same order; another body is a conflict.
async fn replay(
    state: &AppState,
    user: &CurrentUser,
    idem_key: &str,
    request_hash: &str,
    request_id: &str,
) -> Result<axum::response::Response, ApiError> {
    let existing = state
        .store
        .orders()
        .find_one(doc! { "idem_key": idem_key })
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
        let marked = state
            .store
            .orders()
            .update_one(
                doc! { "_id": existing.id.as_str() },
                doc! { "$set": { "retried": true } },
            )
            .await?;
        if marked.matched_count == 0 {
            // The earlier attempt withdrew it just now; a new attempt will place it afresh.
            return Err(ApiError::Unavailable("the message broker"));
        }
        publish_place(state, &existing, request_id).await?;
    }
    Ok(accepted(existing, user))
}

fn parse_order_id(raw: &str) -> Result<OrderId, ApiError> {
    OrderId::parse(raw).map_err(|_| ApiError::not_found("order"))
}

/// The order, if `user` may see it (its owner or an admin); anyone else gets 404.
pub async fn visible_order(state: &AppState, user: &CurrentUser, id: &OrderId) -> Result<OrderDoc, ApiError> {
    state
        .store
        .orders()
        .find_one(doc! { "_id": id.as_str() })
        .await?
        .filter(|o| user.is_admin() || o.user_id == user.id)
        .ok_or_else(|| ApiError::not_found("order"))
}

/// One order, for its owner or an admin.
#[utoipa::path(
    get,
    path = "/api/orders/{id}",
    tag = "orders",
    params(("id" = String, Path, description = "The order's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The order", body = OrderOut),
        (status = 401, response = responses::Unauthenticated),
        (status = 404, description = "No such order, or another user's (`not_found`)", body = ErrorBody),
        (status = 503, response = responses::Unavailable),
    )
)]
async fn get_order(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<OrderOut>, ApiError> {
    let id = parse_order_id(&id)?;
    Ok(Json(OrderOut::new(
        visible_order(&state, &user, &id).await?,
        &user,
    )))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct OrderQuery {
    /// Only orders with this status.
    #[param(value_type = Option<OrderStatus>)]
    status: Option<String>,
    /// Admins: only this user's orders. Others may name only themselves.
    user_id: Option<String>,
    /// From 1 (default 1).
    page: Option<i64>,
    /// 1 to 100 (default 20).
    per_page: Option<i64>,
    /// The `next_cursor` of the previous page (instead of `page`).
    cursor: Option<String>,
}

/// Orders, newest first: the caller's own, or (for an admin) everyone's.
#[utoipa::path(
    get,
    path = "/api/orders",
    tag = "orders",
    params(OrderQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of orders", body = Page<OrderOut>),
        (status = 401, response = responses::Unauthenticated),
        (status = 403, description = "A non-admin asked for another user's orders", body = ErrorBody),
        (status = 422, response = responses::Invalid),
        (status = 503, response = responses::Unavailable),
    )
)]
async fn list_orders(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiQuery(query): ApiQuery<OrderQuery>,
) -> Result<Json<Page<OrderOut>>, ApiError> {
    let mut list = OrderList::default();
    if user.is_admin() {
        if let Some(user_id) = &query.user_id {
            list.user = Some(UserId::parse(user_id).map_err(|e| ApiError::Invalid {
                code: "invalid_query",
                field: "user_id".into(),
                message: e.0,
            })?);
        }
    } else {
        if query.user_id.as_ref().is_some_and(|u| u != user.id.as_str()) {
            return Err(ApiError::Forbidden);
        }
        list.user = Some(user.id.clone());
    }
    if let Some(status) = &query.status {
        list.status = Some(
            status
                .parse()
                .map_err(|e: oms_contracts::Invalid| ApiError::Invalid {
                    code: "invalid_query",
                    field: "status".into(),
                    message: e.0,
                })?,
        );
    }
    let name = format!(
        "orders:{}:{}",
        list.user.as_ref().map_or("", UserId::as_str),
        list.status.map_or("", OrderStatus::as_str)
    );
    let position = position::<OrderId>(&state, &name, query.page, query.per_page, query.cursor.as_deref())?;
    let (slice, count) = tokio::try_join!(
        state
            .store
            .list_orders(&list, &position.start, position.paging.per_page),
        state.store.count_orders(&list),
    )?;
    Ok(Json(page(
        &state,
        &name,
        &position,
        slice,
        count,
        |o: &OrderDoc| o.id.clone(),
        |o| OrderOut::new(o, &user),
    )))
}

#[derive(Serialize, ToSchema)]
pub struct StatsOut {
    pub total: u64,
    /// The number of orders in each status (every status is present).
    #[schema(value_type = std::collections::BTreeMap<OrderStatus, u64>)]
    pub by_status: std::collections::BTreeMap<&'static str, u64>,
}

/// How many orders there are in each status.
#[utoipa::path(
    get,
    path = "/api/orders/stats",
    tag = "orders",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Order counts", body = StatsOut),
        (status = 401, response = responses::Unauthenticated),
        (status = 403, response = responses::Forbidden),
        (status = 503, response = responses::Unavailable),
    )
)]
async fn order_stats(
    State(state): State<AppState>,
    AdminUser(_): AdminUser,
) -> Result<Json<StatsOut>, ApiError> {
    let mut cursor = state
        .store
        .orders()
        .aggregate(vec![
            doc! { "$group": { "_id": "$status", "count": { "$sum": 1 } } },
        ])
        .await?;
    let mut by_status: std::collections::BTreeMap<&'static str, u64> =
        OrderStatus::ALL.iter().map(|s| (s.as_str(), 0)).collect();
    while let Some(row) = cursor.try_next().await? {
        let status = row
            .get_str("_id")
            .ok()
            .and_then(|s| s.parse::<OrderStatus>().ok());
        let count = match row.get("count") {
            Some(bson::Bson::Int32(n)) => *n as u64,
            Some(bson::Bson::Int64(n)) => *n as u64,
            _ => 0,
        };
        if let Some(status) = status {
            by_status.insert(status.as_str(), count);
        }
    }
    Ok(Json(StatsOut {
        total: by_status.values().sum(),
        by_status,
    }))
}

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
async fn cancel_order(
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
    Ok((StatusCode::ACCEPTED, Json(OrderOut::new(order, &user))))
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
    security(("bearer" = [])),
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
async fn transition_order(
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
    Ok((StatusCode::ACCEPTED, Json(OrderOut::new(order, &admin))))
}

async fn send(
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
