//! Reading and changing the catalogue: list (search, filters, sorts), read one, patch.

use axum::Json;
use axum::extract::{Path, State};
use futures_util::TryStreamExt;
use mongodb::bson::{self, Document, doc};
use oms_contracts::domain::{Currency, Description, Price, ProductName};
use oms_platform::store::ProductDoc;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use crate::auth::{AdminUser, CurrentUser};
use crate::error::responses;
use crate::error::{ApiError, ErrorBody, Fields};
use crate::extract::{ApiJson, ApiQuery};
use crate::paging::{Page, paging};
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

impl ProductSort {
    fn order(self) -> Document {
        // `_id` last: pages stay stable when the first key ties.
        match self {
            ProductSort::Newest => doc! { "created_at": -1, "_id": -1 },
            ProductSort::Name => doc! { "name": 1, "_id": 1 },
            ProductSort::PriceAsc => doc! { "price.amount": 1, "_id": 1 },
            ProductSort::PriceDesc => doc! { "price.amount": -1, "_id": 1 },
            ProductSort::StockAsc => doc! { "stock": 1, "_id": 1 },
        }
    }
}

/// Escapes a user's search text for use inside a regular expression.
pub(super) fn regex_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if "\\.+*?()|[]{}^$#&-~".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
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
        (status = 422, response = responses::Invalid),
        (status = 503, response = responses::Unavailable),
    )
)]
pub(super) async fn list_products(
    State(state): State<AppState>,
    user: Option<CurrentUser>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<Page<ProductOut>>, ApiError> {
    let paging = paging(query.page, query.per_page)?;
    let mut filter = Document::new();
    if query.include_inactive == Some(true) {
        if !user.as_ref().is_some_and(CurrentUser::is_admin) {
            return Err(ApiError::Forbidden);
        }
    } else {
        filter.insert("active", true);
    }
    if let Some(q) = query.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        if q.chars().count() > 100 {
            return Err(ApiError::Invalid {
                code: "invalid_query",
                field: "q".into(),
                message: "must be at most 100 characters".into(),
            });
        }
        let pattern = regex_escape(q);
        filter.insert(
            "$or",
            vec![
                doc! { "name": { "$regex": &pattern, "$options": "i" } },
                doc! { "sku": { "$regex": &pattern, "$options": "i" } },
            ],
        );
    }
    if query.in_stock == Some(true) {
        filter.insert("stock", doc! { "$gt": 0 });
    }
    let products = state.store.products();
    let total = products.count_documents(filter.clone()).await?;
    let items: Vec<ProductDoc> = products
        .find(filter)
        .sort(query.sort.unwrap_or_default().order())
        .skip(paging.skip())
        .limit(paging.per_page as i64)
        .await?
        .try_collect()
        .await?;
    let threshold = state.config.low_stock_threshold;
    Ok(Json(Page {
        items: items.into_iter().map(|p| ProductOut::new(p, threshold)).collect(),
        page: paging.page,
        per_page: paging.per_page,
        total,
    }))
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
        .products()
        .find_one(doc! { "_id": id.as_str() })
        .await?
        .filter(|p| p.active || user.as_ref().is_some_and(CurrentUser::is_admin))
        .ok_or_else(|| ApiError::not_found("product"))?;
    Ok(Json(ProductOut::new(product, state.config.low_stock_threshold)))
}

/// The fields to change; at least one.
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
    security(("bearer" = [])),
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
    let mut set = Document::new();
    if let Some(name) = patch
        .name
        .as_deref()
        .and_then(|n| fields.parse("name", ProductName::parse(n)))
    {
        set.insert("name", name.into_inner());
    }
    if let Some(description) =
        (patch.description.as_deref()).and_then(|d| fields.parse("description", Description::parse(d)))
    {
        set.insert("description", description.into_inner());
    }
    if let Some(price) = patch.price.and_then(|p| fields.parse("price", Price::parse(p))) {
        set.insert("price.amount", price.minor_units());
    }
    if let Some(currency) =
        (patch.currency.as_deref()).and_then(|c| fields.parse("currency", Currency::parse(c)))
    {
        set.insert("price.currency", currency.as_str());
    }
    if let Some(active) = patch.active {
        set.insert("active", active);
    }
    if let Some(threshold) = patch.low_stock_threshold {
        match threshold {
            Some(t) if !(0..=oms_contracts::domain::MAX_STOCK).contains(&t) => {
                fields.invalid(
                    "low_stock_threshold",
                    "validation_failed",
                    "must be between 0 and 1000000000",
                );
            }
            Some(t) => {
                set.insert("low_stock_threshold", t);
            }
            None => {
                set.insert("low_stock_threshold", bson::Bson::Null);
            }
        };
    }
    fields.finish(|| Some(()))?;
    if set.is_empty() {
        return Err(ApiError::Invalid {
            code: "validation_failed",
            field: String::new(),
            message: "name at least one field to change".into(),
        });
    }
    set.insert("updated_at", bson::DateTime::now());
    let updated = state
        .store
        .products()
        .find_one_and_update(doc! { "_id": id.as_str() }, doc! { "$set": set })
        .return_document(mongodb::options::ReturnDocument::After)
        .await?
        .ok_or_else(|| ApiError::not_found("product"))?;
    tracing::info!(product_id = %id, admin_id = %admin.id, "product updated");
    Ok(Json(ProductOut::new(updated, state.config.low_stock_threshold)))
}
