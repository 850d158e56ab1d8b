//! Reading and changing the catalogue: list (search, filters, sorts), read one, patch.

use axum::Json;
use axum::extract::{Path, State};
use mongodb::bson::Bson;
use oms_contracts::ProductId;
use oms_contracts::domain::{Currency, Description, Price, ProductName};
use oms_platform::store::ProductDoc;
use oms_platform::store::lists::{ProductKey, ProductList, ProductOrder, Start};
use oms_platform::store::lookups::ProductChange;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::{AdminUser, CurrentUser};
use crate::error::responses;
use crate::error::{ApiError, ErrorBody, Fields};
use crate::extract::{ApiJson, ApiQuery};
use crate::paging::{Page, page, position};
use crate::state::AppState;

use super::{ProductOut, parse_product_id};

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Searches names and SKUs (at most 100 characters).
    q: Option<String>,
    /// From 1 (default 1).
    page: Option<i64>,
    /// 1 to 100 (default 20).
    per_page: Option<i64>,
    /// The `next_cursor` of the previous page (instead of `page`).
    cursor: Option<String>,
    /// Only products with stock.
    in_stock: Option<bool>,
    /// Admins only: include deactivated products.
    include_inactive: Option<bool>,
    /// The order of the list (default `newest`).
    #[param(inline)]
    sort: Option<ProductSort>,
}

/// How a product list is ordered.
#[derive(Clone, Copy, Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProductSort {
    /// Newest first.
    #[default]
    Newest,
    /// By name, A to Z.
    Name,
    /// Cheapest first.
    PriceAsc,
    /// Dearest first.
    PriceDesc,
    /// Least stock first.
    StockAsc,
}

impl From<ProductSort> for ProductOrder {
    fn from(sort: ProductSort) -> Self {
        match sort {
            ProductSort::Newest => ProductOrder::Newest,
            ProductSort::Name => ProductOrder::Name,
            ProductSort::PriceAsc => ProductOrder::PriceAsc,
            ProductSort::PriceDesc => ProductOrder::PriceDesc,
            ProductSort::StockAsc => ProductOrder::StockAsc,
        }
    }
}

/// Lists the catalogue: active products only, unless an admin asks for the inactive ones too.
#[utoipa::path(
    get,
    path = "/api/products",
    tag = "products",
    params(ListQuery),
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "A page of products", body = Page<ProductOut>),
        (status = 401, response = responses::Unauthenticated),
        (status = 403, description = "`include_inactive` asked for by a non-admin", body = ErrorBody),
        (status = 404, description = "`not_found`: a cursor that is not one this list gave (altered, or from another list or filter)", body = ErrorBody),
        (status = 422, response = responses::Invalid),
        (status = 503, response = responses::Unavailable),
    )
)]
pub(super) async fn list_products(
    State(state): State<AppState>,
    user: Option<CurrentUser>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<Page<ProductOut>>, ApiError> {
    let mut list = ProductList {
        order: query.sort.unwrap_or_default().into(),
        in_stock: query.in_stock == Some(true),
        ..ProductList::default()
    };
    if query.include_inactive == Some(true) {
        if !user.as_ref().is_some_and(CurrentUser::is_admin) {
            return Err(ApiError::Forbidden);
        }
        list.include_inactive = true;
    }
    if let Some(q) = query.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        if q.chars().count() > 100 {
            return Err(ApiError::Invalid {
                code: "invalid_query",
                field: "q".into(),
                message: "must be at most 100 characters".into(),
            });
        }
        list.search = Some(q.to_string());
    }
    let name = format!(
        "products:{:?}:{}:{}:{}",
        list.order,
        list.include_inactive,
        list.in_stock,
        list.search.as_deref().unwrap_or("")
    );
    let position =
        position::<ProductCursor>(&state, &name, query.page, query.per_page, query.cursor.as_deref())?;
    let start = match &position.start {
        Start::Offset(skip) => Start::Offset(*skip),
        Start::After(c) => Start::After(c.key()?),
    };
    let (slice, count) = tokio::try_join!(
        state.store.list_products(&list, &start, position.paging.per_page),
        state.store.count_products(&list),
    )?;
    let threshold = state.config.low_stock_threshold;
    let order = list.order;
    Ok(Json(page(
        &state,
        &name,
        &position,
        slice,
        count,
        |p: &ProductDoc| ProductCursor::of(p, order),
        |p| ProductOut::new(p, threshold),
    )))
}

/// Where a product page ends: the last product's id and the value it was sorted by.
#[derive(Serialize, Deserialize)]
pub(super) struct ProductCursor {
    id: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    number: Option<i64>,
}

impl ProductCursor {
    fn of(product: &ProductDoc, order: ProductOrder) -> Self {
        let key = ProductKey::of(product, order);
        Self {
            id: key.id.to_string(),
            name: key.value.as_ref().and_then(|v| v.as_str().map(str::to_string)),
            number: key.value.as_ref().and_then(Bson::as_i64),
        }
    }

    fn key(&self) -> Result<ProductKey, ApiError> {
        let id = ProductId::parse(&self.id).map_err(|e| ApiError::Invalid {
            code: "invalid_query",
            field: "cursor".into(),
            message: e.0,
        })?;
        let value = match (&self.name, self.number) {
            (Some(name), _) => Some(Bson::String(name.clone())),
            (None, Some(n)) => Some(Bson::Int64(n)),
            (None, None) => None,
        };
        Ok(ProductKey { id, value })
    }
}

/// One product (an inactive one only for admins).
#[utoipa::path(
    get,
    path = "/api/products/{id}",
    tag = "products",
    params(("id" = String, Path, description = "The product's id")),
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "The product", body = ProductOut),
        (status = 401, response = responses::Unauthenticated),
        (status = 404, response = responses::NotFound),
        (status = 503, response = responses::Unavailable),
    )
)]
pub(super) async fn get_product(
    State(state): State<AppState>,
    user: Option<CurrentUser>,
    Path(id): Path<String>,
) -> Result<Json<ProductOut>, ApiError> {
    let id = parse_product_id(&id)?;
    let product = state
        .store
        .product(&id)
        .await?
        .filter(|p| p.active || user.as_ref().is_some_and(CurrentUser::is_admin))
        .ok_or_else(|| ApiError::not_found("product"))?;
    Ok(Json(ProductOut::new(product, state.config.low_stock_threshold)))
}

/// The fields to change (absent ones stay as they are; an empty patch changes nothing).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductPatch {
    name: Option<String>,
    description: Option<String>,
    price: Option<i64>,
    currency: Option<String>,
    active: Option<bool>,
    /// `null` goes back to the default threshold.
    #[serde(default, deserialize_with = "double_option")]
    low_stock_threshold: Option<Option<i64>>,
}

pub(super) fn double_option<'de, D, T>(de: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(de).map(Some)
}

/// Changes a product's name, description, price, currency, active flag or low-stock threshold.
#[utoipa::path(
    patch,
    path = "/api/products/{id}",
    tag = "products",
    params(("id" = String, Path, description = "The product's id")),
    request_body = ProductPatch,
    security(("bearer" = ["admin"])),
    responses(
        (status = 200, description = "The updated product", body = ProductOut),
        (status = 400, response = responses::BadRequest),
        (status = 401, response = responses::Unauthenticated),
        (status = 403, response = responses::Forbidden),
        (status = 404, response = responses::NotFound),
        (status = 413, response = responses::PayloadTooLarge),
        (status = 415, response = responses::UnsupportedMediaType),
        (status = 422, response = responses::Invalid),
        (status = 503, response = responses::Unavailable),
    )
)]
pub(super) async fn patch_product(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    Path(id): Path<String>,
    ApiJson(patch): ApiJson<ProductPatch>,
) -> Result<Json<ProductOut>, ApiError> {
    let id = parse_product_id(&id)?;
    let mut fields = Fields::default();
    let mut change = ProductChange {
        name: (patch.name.as_deref()).and_then(|n| fields.parse("name", ProductName::parse(n))),
        description: (patch.description.as_deref())
            .and_then(|d| fields.parse("description", Description::parse(d))),
        price: patch.price.and_then(|p| fields.parse("price", Price::parse(p))),
        currency: (patch.currency.as_deref()).and_then(|c| fields.parse("currency", Currency::parse(c))),
        active: patch.active,
        low_stock_threshold: None,
    };
    if let Some(threshold) = patch.low_stock_threshold {
        match threshold {
            Some(t) if !(0..=oms_contracts::domain::MAX_STOCK).contains(&t) => {
                fields.invalid(
                    "low_stock_threshold",
                    "validation_failed",
                    "must be between 0 and 1000000000",
                );
            }
            threshold => change.low_stock_threshold = Some(threshold),
        };
    }
    fields.finish(|| Some(()))?;
    // A merge patch with nothing in it changes nothing (RFC 7396): the product as it is.
    let updated = state
        .store
        .update_product(&id, change)
        .await?
        .ok_or_else(|| ApiError::not_found("product"))?;
    tracing::info!(product_id = %id, admin_id = %admin.id, "product updated");
    Ok(Json(ProductOut::new(updated, state.config.low_stock_threshold)))
}
