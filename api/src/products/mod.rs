//! Products: the catalogue (list and read, public; create with an image, patch), product images,
//! stock adjustments and the stock ledger (admin). One module per seam; this one holds the router
//! and what they share.

mod catalogue;
mod create;
mod image;
mod ledger;
mod stock;
pub mod upload;

use axum::extract::DefaultBodyLimit;
use mongodb::bson::doc;
use oms_contracts::{Money, ProductId};
use oms_platform::store::{self, ImageStatus, ProductDoc};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;

use crate::error::ApiError;
use crate::state::AppState;

pub fn router(max_image_bytes: usize) -> OpenApiRouter<AppState> {
    // Multipart routes may carry an image plus a little text; everything else is small JSON.
    let upload_limit = DefaultBodyLimit::max(max_image_bytes + 256 * 1024);
    OpenApiRouter::default()
        .routes(routes!(catalogue::list_products, create::create_product).layer(upload_limit))
        .routes(routes!(catalogue::get_product, catalogue::patch_product))
        .routes(routes!(image::replace_image).layer(upload_limit))
        .routes(routes!(ledger::list_ledger))
        .routes(routes!(stock::adjust_stock))
        .routes(routes!(stock::get_adjustment))
}

#[derive(Serialize, ToSchema)]
pub struct ImageOut {
    pub status: ImageStatus,
    pub url: Option<String>,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub error: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ProductOut {
    pub id: String,
    pub sku: String,
    pub name: String,
    pub description: String,
    pub price: Money,
    pub stock: i64,
    pub active: bool,
    pub low_stock: bool,
    pub low_stock_threshold: i64,
    pub image: ImageOut,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

impl ProductOut {
    pub fn new(p: ProductDoc, default_threshold: i64) -> Self {
        let threshold = p.low_stock_threshold.unwrap_or(default_threshold);
        Self {
            low_stock: p.stock <= threshold,
            low_stock_threshold: threshold,
            id: p.id.to_string(),
            sku: p.sku,
            name: p.name,
            description: p.description,
            price: p.price,
            stock: p.stock,
            active: p.active,
            image: ImageOut {
                status: p.image.status,
                url: p.image.url,
                width: p.image.width,
                height: p.image.height,
                error: p.image.error,
            },
            created_at: store::to_chrono(p.created_at),
            updated_at: store::to_chrono(p.updated_at),
        }
    }
}

async fn ensure_product_exists(state: &AppState, id: &ProductId) -> Result<(), ApiError> {
    match state.store.product(id).await? {
        Some(_) => Ok(()),
        None => Err(ApiError::not_found("product")),
    }
}

pub fn parse_product_id(raw: &str) -> Result<ProductId, ApiError> {
    ProductId::parse(raw).map_err(|_| ApiError::not_found("product"))
}
