//! The stock ledger of a product: every change that was applied, newest first.

use axum::Json;
use axum::extract::{Path, State};
use oms_platform::store::lists::TimeKey;
use oms_platform::store::{self, LedgerDoc, LedgerKind};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::AdminUser;
use crate::error::ApiError;
use crate::error::responses;
use crate::extract::ApiQuery;
use crate::paging::{Page, page, position};
use crate::state::AppState;

use super::{ensure_product_exists, parse_product_id};

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LedgerQuery {
    /// From 1 (default 1).
    page: Option<i64>,
    /// 1 to 100 (default 20).
    per_page: Option<i64>,
    /// The `next_cursor` of the previous page (instead of `page`).
    cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct LedgerEntryOut {
    pub id: String,
    pub product_id: String,
    pub kind: LedgerKind,
    pub delta: i64,
    pub balance_after: i64,
    pub order_id: Option<String>,
    /// The order's short number (`#1042`), when the entry is an order's and the order has one.
    pub order_number: Option<i64>,
    /// A user id (the admin who adjusted), or `system`.
    pub actor: String,
    /// The name of the admin who adjusted; absent for `system`.
    pub actor_name: Option<String>,
    pub reason: Option<String>,
    pub at: chrono::DateTime<chrono::Utc>,
}

/// The product's stock ledger, newest first: every change that was applied.
#[utoipa::path(
    get,
    path = "/api/products/{id}/ledger",
    tag = "products",
    params(("id" = String, Path, description = "The product's id"), LedgerQuery),
    security(("bearer" = ["admin"])),
    responses(
        (status = 200, description = "A page of ledger entries", body = Page<LedgerEntryOut>),
        (status = 401, response = responses::Unauthenticated),
        (status = 403, response = responses::Forbidden),
        (status = 404, response = responses::NotFound),
        (status = 422, response = responses::Invalid),
        (status = 503, response = responses::Unavailable),
    )
)]
pub(super) async fn list_ledger(
    State(state): State<AppState>,
    AdminUser(_admin): AdminUser,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<LedgerQuery>,
) -> Result<Json<Page<LedgerEntryOut>>, ApiError> {
    let id = parse_product_id(&id)?;
    let name = format!("ledger:{id}");
    let position = position::<TimeKey>(&state, &name, query.page, query.per_page, query.cursor.as_deref())?;
    ensure_product_exists(&state, &id).await?;
    let (slice, count) = tokio::try_join!(
        state
            .store
            .list_ledger(&id, &position.start, position.paging.per_page),
        state.store.count_ledger(&id),
    )?;
    // Names, not ids: the page's orders' numbers and its admins' names, one read each.
    let orders: Vec<&str> = slice
        .items
        .iter()
        .filter_map(|e| e.order_id.as_ref().map(|o| o.as_str()))
        .collect();
    let actors: Vec<&str> = slice
        .items
        .iter()
        .map(|e| e.actor.as_str())
        .filter(|a| *a != "system")
        .collect();
    let (numbers, names) = tokio::try_join!(
        state.store.order_numbers(&orders),
        state.store.user_names(&actors)
    )?;
    Ok(Json(page(
        &state,
        &name,
        &position,
        slice,
        count,
        |e: &LedgerDoc| TimeKey::new(e.at, e.op_key.clone()),
        |e| LedgerEntryOut {
            id: e.op_key,
            product_id: e.product_id.to_string(),
            kind: e.kind,
            delta: e.delta,
            balance_after: e.balance_after,
            order_number: e.order_id.as_ref().and_then(|o| numbers.get(o.as_str()).copied()),
            order_id: e.order_id.map(|o| o.to_string()),
            actor_name: names.get(&e.actor).cloned(),
            actor: e.actor,
            reason: e.reason,
            at: store::to_chrono(e.at),
        },
    )))
}
