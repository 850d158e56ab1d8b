//! The stock ledger of a product: every change that was applied, newest first.

use axum::Json;
use axum::extract::{Path, State};
use futures_util::TryStreamExt;
use mongodb::bson::doc;
use oms_platform::store::{self, LedgerDoc, LedgerKind};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::AdminUser;
use crate::error::ApiError;
use crate::error::responses;
use crate::extract::ApiQuery;
use crate::paging::{Page, paging};
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
}

#[derive(Serialize, ToSchema)]
pub struct LedgerEntryOut {
    pub id: String,
    pub product_id: String,
    pub kind: LedgerKind,
    pub delta: i64,
    pub balance_after: i64,
    pub order_id: Option<String>,
    pub actor: String,
    pub reason: Option<String>,
    pub at: chrono::DateTime<chrono::Utc>,
}

/// The product's stock ledger, newest first: every change that was applied.
#[utoipa::path(
    get,
    path = "/api/products/{id}/ledger",
    tag = "products",
    params(("id" = String, Path, description = "The product's id"), LedgerQuery),
    security(("bearer" = [])),
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
    let paging = paging(query.page, query.per_page)?;
    ensure_product_exists(&state, &id).await?;
    // Only entries that changed stock; refusals are kept for idempotency, not for the ledger.
    let filter = doc! { "product_id": id.as_str(), "outcome": "applied" };
    let ledger = state.store.ledger();
    let total = ledger.count_documents(filter.clone()).await?;
    let entries: Vec<LedgerDoc> = ledger
        .find(filter)
        .sort(doc! { "at": -1, "_id": -1 })
        .skip(paging.skip())
        .limit(paging.per_page as i64)
        .await?
        .try_collect()
        .await?;
    Ok(Json(Page {
        items: entries
            .into_iter()
            .map(|e| LedgerEntryOut {
                id: e.op_key,
                product_id: e.product_id.to_string(),
                kind: e.kind,
                delta: e.delta,
                balance_after: e.balance_after,
                order_id: e.order_id.map(|o| o.to_string()),
                actor: e.actor,
                reason: e.reason,
                at: store::to_chrono(e.at),
            })
            .collect(),
        page: paging.page,
        per_page: paging.per_page,
        total,
    }))
}
