//! Reading orders: one, a page of them (the caller's own, or everyone's for an admin), and
//! counts by status.

use axum::Json;
use axum::extract::{Path, State};
use mongodb::bson::doc;
use oms_contracts::domain::Email;
use oms_contracts::{OrderId, OrderStatus, UserId};
use oms_platform::store::OrderDoc;
use oms_platform::store::lists::OrderList;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::{AdminUser, CurrentUser};
use crate::error::responses;
use crate::error::{ApiError, ErrorBody};
use crate::extract::ApiQuery;
use crate::paging::{Page, page, position};
use crate::state::AppState;

use super::*;

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
pub(crate) async fn get_order(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<OrderOut>, ApiError> {
    let id = parse_order_id(&id)?;
    let order = visible_order(&state, &user, &id).await?;
    let names = history_names(&state, &[&order], &user).await?;
    Ok(Json(OrderOut::new(order, &user, &names)))
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
    /// Only the order with this number (`#1042` is number 1042).
    number: Option<i64>,
    /// Admins: only the orders of the customer with this e-mail address (any case).
    customer: Option<String>,
    /// Admins: only the orders of customers whose name has every one of these words (any case;
    /// orders placed before names were searchable are found by e-mail or number).
    customer_name: Option<String>,
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
        (status = 403, description = "A non-admin asked for another user's orders, or by customer", body = ErrorBody),
        (status = 404, description = "`not_found`: a cursor that is not one this list gave (altered, or from another list or filter)", body = ErrorBody),
        (status = 422, response = responses::Invalid),
        (status = 503, response = responses::Unavailable),
    )
)]
pub(crate) async fn list_orders(
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
        if let Some(email) = &query.customer {
            list.customer_email = Some(
                Email::parse(email)
                    .map_err(|e| ApiError::Invalid {
                        code: "invalid_query",
                        field: "customer".into(),
                        message: e.0,
                    })?
                    .as_str()
                    .to_string(),
            );
        }
        if let Some(name) = &query.customer_name {
            list.customer_words = customer_words(name)?;
        }
    } else {
        if query.user_id.as_ref().is_some_and(|u| u != user.id.as_str())
            || query.customer.is_some()
            || query.customer_name.is_some()
        {
            return Err(ApiError::Forbidden);
        }
        list.user = Some(user.id.clone());
    }
    if let Some(number) = query.number {
        if number < 1 {
            return Err(ApiError::Invalid {
                code: "invalid_query",
                field: "number".into(),
                message: "must be at least 1".into(),
            });
        }
        list.number = Some(number);
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
        "orders:{}:{}:{}:{}:{}",
        list.user.as_ref().map_or("", UserId::as_str),
        list.status.map_or("", OrderStatus::as_str),
        list.number.map(|n| n.to_string()).unwrap_or_default(),
        list.customer_email.as_deref().unwrap_or_default(),
        list.customer_words.join(" "),
    );
    let position = position::<OrderId>(&state, &name, query.page, query.per_page, query.cursor.as_deref())?;
    let (slice, count) = tokio::try_join!(
        state
            .store
            .list_orders(&list, &position.start, position.paging.per_page),
        state.store.count_orders(&list),
    )?;
    let names = history_names(&state, &slice.items.iter().collect::<Vec<_>>(), &user).await?;
    Ok(Json(page(
        &state,
        &name,
        &position,
        slice,
        count,
        |o: &OrderDoc| o.id.clone(),
        |o| OrderOut::new(o, &user, &names),
    )))
}

#[derive(Serialize, ToSchema)]
pub struct StatsOut {
    pub total: u64,
    /// The number of orders in each status (every status is present).
    #[schema(value_type = std::collections::BTreeMap<OrderStatus, u64>)]
    pub by_status: std::collections::BTreeMap<&'static str, u64>,
}

/// How many orders there are in each status: kept by the analytics projection (a moment behind
/// the orders) rather than counted per request; `PENDING` is counted through its index.
#[utoipa::path(
    get,
    path = "/api/orders/stats",
    tag = "orders",
    security(("bearer" = ["admin"])),
    responses(
        (status = 200, description = "Order counts", body = StatsOut),
        (status = 401, response = responses::Unauthenticated),
        (status = 403, response = responses::Forbidden),
        (status = 503, response = responses::Unavailable),
    )
)]
pub(crate) async fn order_stats(
    State(state): State<AppState>,
    AdminUser(_): AdminUser,
) -> Result<Json<StatsOut>, ApiError> {
    let by_status = oms_platform::analytics::orders_by_status(&state.store).await?;
    Ok(Json(StatsOut {
        total: by_status.values().sum(),
        by_status,
    }))
}

/// The most words a customer-name search takes, and its longest text.
pub const MAX_NAME_SEARCH_WORDS: usize = 5;
pub const MAX_NAME_SEARCH_LEN: usize = 100;

/// What the document says a customer-name search is: one to `MAX_NAME_SEARCH_WORDS` words
/// separated by spaces, exactly the texts `customer_words` takes.
pub fn name_search_pattern() -> String {
    format!("^ *[^ ]+( +[^ ]+){{0,{}}} *$", MAX_NAME_SEARCH_WORDS - 1)
}

/// The words a customer-name search asks for: some, not too many, separated by spaces. A word
/// holding other white space matches no stored name word (those are split on all of it).
fn customer_words(text: &str) -> Result<Vec<String>, ApiError> {
    let invalid = |message: String| ApiError::Invalid {
        code: "invalid_query",
        field: "customer_name".into(),
        message,
    };
    if text.chars().count() > MAX_NAME_SEARCH_LEN {
        return Err(invalid(format!(
            "must be at most {MAX_NAME_SEARCH_LEN} characters"
        )));
    }
    let words: Vec<&str> = text.split(' ').filter(|w| !w.is_empty()).collect();
    match words.len() {
        0 => Err(invalid(
            "must name at least one word of the customer's name".into(),
        )),
        n if n > MAX_NAME_SEARCH_WORDS => Err(invalid(format!(
            "at most {MAX_NAME_SEARCH_WORDS} words, separated by spaces"
        ))),
        _ => {
            let mut words: Vec<String> = words.into_iter().map(str::to_lowercase).collect();
            words.sort_unstable();
            words.dedup();
            Ok(words)
        }
    }
}
