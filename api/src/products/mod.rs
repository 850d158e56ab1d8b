//! The catalogue: list and read (public), create with an image, patch, replace the image,
//! and read the stock ledger (admin).

pub mod upload;

use axum::Json;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{DefaultBodyLimit, Multipart, Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use futures_util::TryStreamExt;
use mongodb::bson::{self, Document, doc};
use oms_contracts::domain::{Currency, Description, Price, ProductName, Reason, Sku, StockDelta, StockLevel};
use oms_contracts::messages::{Envelope, ImageCommand, StockCommand};
use oms_contracts::routing::{IMAGES_QUEUE, stock_queue_for};
use oms_contracts::{Money, ProductId};
use oms_platform::broker::Outgoing;
use oms_platform::store::{self, ImageDoc, ImageStatus, LedgerDoc, LedgerKind, LedgerOutcome, ProductDoc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;

use crate::auth::{AdminUser, CurrentUser};
use crate::error::responses;
use crate::error::{ApiError, ErrorBody, Fields, conflict_on_duplicate};
use crate::extract::{ApiJson, ApiQuery, RequestId, idempotency_key};
use crate::paging::{Page, paging};
use crate::state::AppState;
use upload::ValidImage;

pub fn router(max_image_bytes: usize) -> OpenApiRouter<AppState> {
    // Multipart routes may carry an image plus a little text; everything else is small JSON.
    let upload_limit = DefaultBodyLimit::max(max_image_bytes + 256 * 1024);
    OpenApiRouter::default()
        .routes(routes!(list_products, create_product).layer(upload_limit))
        .routes(routes!(get_product, patch_product))
        .routes(routes!(replace_image).layer(upload_limit))
        .routes(routes!(list_ledger))
        .routes(routes!(adjust_stock))
        .routes(routes!(get_adjustment))
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
fn regex_escape(text: &str) -> String {
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
async fn list_products(
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

async fn ensure_product_exists(state: &AppState, id: &ProductId) -> Result<(), ApiError> {
    match state
        .store
        .products()
        .find_one(doc! { "_id": id.as_str() })
        .await?
    {
        Some(_) => Ok(()),
        None => Err(ApiError::not_found("product")),
    }
}

pub fn parse_product_id(raw: &str) -> Result<ProductId, ApiError> {
    ProductId::parse(raw).map_err(|_| ApiError::not_found("product"))
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
async fn get_product(
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

/// The form of `POST /api/products`.
// For the documentation only: `read_new_product` reads the parts one by one.
#[derive(ToSchema)]
pub struct ProductForm {
    pub name: String,
    #[schema(required = false)]
    pub description: String,
    /// Unique: letters, digits, `-`, `_` and `.`, at most 64 characters.
    pub sku: String,
    /// In minor units.
    #[schema(minimum = 0)]
    pub price: i64,
    /// An ISO 4217 code (default `USD`).
    #[schema(required = false, example = "USD")]
    pub currency: String,
    /// The initial stock.
    #[schema(minimum = 0)]
    pub stock: i64,
    /// PNG, JPEG or WebP, at most `OMS_MAX_IMAGE_BYTES` (default 5 MiB).
    #[schema(required = false, value_type = String, format = Binary)]
    pub image: Vec<u8>,
}

/// The form of `POST /api/products/{id}/image`.
// For the documentation only: `replace_image` reads the parts one by one.
#[derive(ToSchema)]
pub struct ImageForm {
    /// PNG, JPEG or WebP, at most `OMS_MAX_IMAGE_BYTES`. Without it (or without any body),
    /// the staged upload is sent to the image worker again.
    #[schema(required = false, value_type = String, format = Binary)]
    pub image: Vec<u8>,
}

/// The fields of `POST /api/products`, parsed.
struct NewProduct {
    sku: Sku,
    name: ProductName,
    description: Description,
    price: Money,
    stock: StockLevel,
    image: Option<ValidImage>,
}

async fn read_new_product(mut multipart: Multipart, max_image_bytes: usize) -> Result<NewProduct, ApiError> {
    let mut text: std::collections::HashMap<&'static str, String> = Default::default();
    let mut image = None;
    let mut image_seen = false;
    while let Some(field) = multipart.next_field().await.map_err(upload::multipart_error)? {
        let name = field.name().unwrap_or("").to_string();
        let key: &'static str = match name.as_str() {
            "name" => "name",
            "description" => "description",
            "sku" => "sku",
            "price" => "price",
            "currency" => "currency",
            "stock" => "stock",
            "image" => {
                if image_seen {
                    return Err(duplicate_field("image"));
                }
                image_seen = true;
                let bytes = upload::read_limited(field, max_image_bytes, "image").await?;
                // Decoded after the text fields are read, so that its errors join theirs.
                if !bytes.is_empty() {
                    image = Some(bytes);
                }
                continue;
            }
            _ => {
                return Err(ApiError::Invalid {
                    code: "unknown_field",
                    field: name,
                    message: "is not a product field".into(),
                });
            }
        };
        let value = upload::read_text(field, 16 * 1024, key).await?;
        if text.insert(key, value).is_some() {
            return Err(duplicate_field(key));
        }
    }
    // Every field is checked, so that the answer names all the invalid ones at once.
    let mut fields = Fields::default();
    let required = |fields: &mut Fields, key: &'static str| {
        let value = text.get(key).cloned();
        if value.is_none() {
            fields.invalid(key, "validation_failed", "is required");
        }
        value
    };
    let integer = |fields: &mut Fields, key: &'static str, raw: Option<String>| {
        let parsed = raw?.trim().parse::<i64>();
        if parsed.is_err() {
            fields.invalid(key, "validation_failed", "must be a whole number");
        }
        parsed.ok()
    };
    let name = required(&mut fields, "name").and_then(|raw| fields.parse("name", ProductName::parse(&raw)));
    let sku = required(&mut fields, "sku").and_then(|raw| fields.parse("sku", Sku::parse(&raw)));
    let raw_price = required(&mut fields, "price");
    let price = integer(&mut fields, "price", raw_price).and_then(|p| fields.parse("price", Price::parse(p)));
    let currency = match text.get("currency") {
        Some(raw) => fields.parse("currency", Currency::parse(raw)),
        None => Some(Currency::USD),
    };
    let raw_stock = required(&mut fields, "stock");
    let stock =
        integer(&mut fields, "stock", raw_stock).and_then(|s| fields.parse("stock", StockLevel::parse(s)));
    let description = fields.parse(
        "description",
        Description::parse(text.get("description").map(String::as_str).unwrap_or("")),
    );
    let image = match image {
        Some(bytes) => fields.check(upload::validate(bytes).await)?,
        None => None,
    };
    fields.finish(|| {
        Some(NewProduct {
            sku: sku?,
            name: name?,
            description: description?,
            price: Money {
                amount: price?.minor_units(),
                currency: currency?,
            },
            stock: stock?,
            image,
        })
    })
}

fn duplicate_field(name: &str) -> ApiError {
    ApiError::Invalid {
        code: "validation_failed",
        field: name.to_string(),
        message: "is given more than once".into(),
    }
}

/// Creates a product with its initial stock and, optionally, its image; the image worker then
/// sets `image.status` to `ready` (with a URL) or `failed` (with a reason).
#[utoipa::path(
    post,
    path = "/api/products",
    tag = "products",
    request_body(content = ProductForm, content_type = "multipart/form-data"),
    security(("bearer" = [])),
    responses(
        (
            status = 201,
            description = "Created; `image.status` is `pending` when an image was sent",
            body = ProductOut,
            headers(("Location" = String, description = "`/api/products/{id}`"))
        ),
        (status = 400, response = responses::BadRequest),
        (status = 401, response = responses::Unauthenticated),
        (status = 403, response = responses::Forbidden),
        (status = 409, description = "`sku_taken`: another product has this SKU", body = ErrorBody),
        (status = 413, response = responses::PayloadTooLarge),
        (status = 415, description = "Not `multipart/form-data`, or the image is not PNG, JPEG or WebP", body = ErrorBody),
        (status = 422, response = responses::Invalid),
        (status = 503, response = responses::Unavailable),
    )
)]
async fn create_product(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let multipart = multipart.map_err(upload::multipart_rejection)?;
    let new = read_new_product(multipart, state.config.max_image_bytes).await?;
    let id = ProductId::new();
    let now = bson::DateTime::now();

    let mut image = ImageDoc::none();
    if let Some(valid) = &new.image {
        image.status = ImageStatus::Pending;
        image.staged_id = Some(upload::stage(&state.store, valid).await?);
        image.upload_id = Some(uuid::Uuid::now_v7().to_string());
        image.content_type = Some(valid.kind);
        image.width = Some(valid.width);
        image.height = Some(valid.height);
    }
    let product = ProductDoc {
        id: id.clone(),
        sku: new.sku.as_str().to_string(),
        name: new.name.into_inner(),
        description: new.description.into_inner(),
        price: new.price,
        stock: new.stock.units(),
        active: true,
        image,
        low_stock_threshold: None,
        created_at: now,
        updated_at: now,
    };
    let initial = LedgerDoc {
        op_key: LedgerDoc::initial_key(id.as_str()),
        product_id: id.clone(),
        kind: LedgerKind::Initial,
        outcome: LedgerOutcome::Applied,
        delta: product.stock,
        balance_after: product.stock,
        order_id: None,
        actor: admin.id.to_string(),
        reason: Some("initial stock".into()),
        refusal: None,
        unit_price: None,
        product_name: None,
        at: now,
    };

    // The product and its first ledger entry exist together or not at all.
    let inserted = insert_product_with_ledger(&state.store, &product, &initial).await;
    if let Err(err) = inserted {
        if let Some(staged) = &product.image.staged_id {
            state.store.unstage(staged).await;
        }
        return Err(conflict_on_duplicate(
            err,
            "sku_taken",
            "a product with this SKU already exists",
            "sku",
        ));
    }
    tracing::info!(product_id = %id, sku = %product.sku, admin_id = %admin.id, "product created");
    let product = dispatch_image_upload(&state, product).await;
    let out = ProductOut::new(product, state.config.low_stock_threshold);
    Ok((
        StatusCode::CREATED,
        [(axum::http::header::LOCATION, format!("/api/products/{}", out.id))],
        Json(out),
    ))
}

async fn insert_product_with_ledger(
    store: &oms_platform::Store,
    product: &ProductDoc,
    initial: &LedgerDoc,
) -> mongodb::error::Result<()> {
    let mut session = store.client().start_session().await?;
    let mut attempt = 0;
    loop {
        attempt += 1;
        session.start_transaction().await?;
        let mut result = store
            .products()
            .insert_one(product)
            .session(&mut session)
            .await
            .map(|_| ());
        if result.is_ok() {
            result = store
                .ledger()
                .insert_one(initial)
                .session(&mut session)
                .await
                .map(|_| ());
        }
        let result = match result {
            Ok(()) => session.commit_transaction().await,
            Err(err) => {
                let _ = session.abort_transaction().await;
                Err(err)
            }
        };
        match result {
            Err(err) if err.contains_label(mongodb::error::TRANSIENT_TRANSACTION_ERROR) && attempt < 5 => {
                continue;
            }
            other => return other,
        }
    }
}

/// Why an image is `failed` when its upload could not be handed to the image workers.
const NOT_DISPATCHED: &str =
    "the upload could not be handed to the image workers (the broker is unavailable); retry";

/// Hands a staged image to the image workers, and returns the product as it now stands. A
/// failure here is not the client's: the product is stored, and its image is marked `failed`
/// (unless a worker already took the upload) so that the admin sees it and retries with
/// `POST /api/products/{id}/image`, which re-uses the staged blob.
async fn dispatch_image_upload(state: &AppState, product: ProductDoc) -> ProductDoc {
    let (Some(staged_id), Some(upload_id), Some(content_type)) = (
        product.image.staged_id.clone(),
        product.image.upload_id.clone(),
        product.image.content_type,
    ) else {
        return product;
    };
    let envelope = Envelope::new(
        product.id.to_string(),
        upload_id.clone(),
        ImageCommand::UploadProductImage {
            product_id: product.id.clone(),
            upload_id: upload_id.clone(),
            staged_id,
            content_type,
        },
    );
    match state
        .broker
        .publish(Outgoing::command(IMAGES_QUEUE, &envelope))
        .await
    {
        Ok(()) => product,
        Err(err) => {
            tracing::warn!(product_id = %product.id, error = %err, "image upload not dispatched; marked failed for a retry");
            let failed = state
                .store
                .products()
                .find_one_and_update(
                    doc! { "_id": product.id.as_str(), "image.upload_id": &upload_id, "image.status": "pending" },
                    doc! { "$set": {
                        "image.status": "failed", "image.error": NOT_DISPATCHED, "updated_at": bson::DateTime::now(),
                    } },
                )
                .return_document(mongodb::options::ReturnDocument::After)
                .await;
            match failed {
                Ok(Some(failed)) => failed,
                // Taken by a worker after all, or the store is away too: as it was.
                _ => product,
            }
        }
    }
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

fn double_option<'de, D, T>(de: D) -> Result<Option<Option<T>>, D::Error>
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
async fn patch_product(
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

/// Replaces the image, or (with no `image` part) retries the staged one.
#[utoipa::path(
    post,
    path = "/api/products/{id}/image",
    tag = "products",
    params(("id" = String, Path, description = "The product's id")),
    request_body(content = Option<ImageForm>, content_type = "multipart/form-data"),
    security(("bearer" = [])),
    responses(
        (status = 202, description = "Accepted; the image worker will upload it", body = ProductOut),
        (status = 400, response = responses::BadRequest),
        (status = 401, response = responses::Unauthenticated),
        (status = 403, response = responses::Forbidden),
        (status = 404, response = responses::NotFound),
        (status = 409, description = "`image_changed`: the image changed meanwhile", body = ErrorBody),
        (status = 413, response = responses::PayloadTooLarge),
        (status = 415, description = "Not `multipart/form-data`, or the image is not PNG, JPEG or WebP", body = ErrorBody),
        (status = 422, response = responses::Invalid),
        (status = 503, response = responses::Unavailable),
    )
)]
async fn replace_image(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    Path(id): Path<String>,
    headers: axum::http::HeaderMap,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let id = parse_product_id(&id)?;
    let mut image = None;
    // No body at all (or a form without parts) means: retry the staged upload.
    let empty_body = !headers.contains_key(axum::http::header::CONTENT_TYPE)
        && headers
            .get(axum::http::header::CONTENT_LENGTH)
            .is_none_or(|len| len.as_bytes() == b"0");
    let mut multipart = if empty_body {
        None
    } else {
        Some(multipart.map_err(upload::multipart_rejection)?)
    };
    while let Some(field) = match multipart.as_mut() {
        Some(m) => m.next_field().await.map_err(upload::multipart_error)?,
        None => None,
    } {
        match field.name() {
            Some("image") if image.is_none() => {
                let bytes = upload::read_limited(field, state.config.max_image_bytes, "image").await?;
                image = Some(upload::validate(bytes).await?);
            }
            Some("image") => return Err(duplicate_field("image")),
            other => {
                return Err(ApiError::Invalid {
                    code: "unknown_field",
                    field: other.unwrap_or("").to_string(),
                    message: "only an `image` part is expected".into(),
                });
            }
        }
    }
    let products = state.store.products();
    let current = products
        .find_one(doc! { "_id": id.as_str() })
        .await?
        .ok_or_else(|| ApiError::not_found("product"))?;
    let upload_id = uuid::Uuid::now_v7().to_string();
    let set = match &image {
        Some(valid) => {
            let staged_id = upload::stage(&state.store, valid).await?;
            doc! {
                "image.status": "pending", "image.error": null, "image.staged_id": &staged_id,
                "image.upload_id": &upload_id, "image.content_type": valid.kind.media_type(),
                "image.width": valid.width as i64, "image.height": valid.height as i64,
                "updated_at": bson::DateTime::now(),
            }
        }
        None => {
            if current.image.staged_id.is_none() || current.image.status == ImageStatus::Ready {
                return Err(ApiError::Invalid {
                    code: "validation_failed",
                    field: "image".into(),
                    message: "send an image (there is no staged upload to retry)".into(),
                });
            }
            doc! {
                "image.status": "pending", "image.error": null, "image.upload_id": &upload_id,
                "updated_at": bson::DateTime::now(),
            }
        }
    };
    // A retry applies only to the upload we looked at: if the worker finished it meanwhile,
    // there is nothing left to retry.
    let filter = match &image {
        Some(_) => doc! { "_id": id.as_str() },
        None => doc! {
            "_id": id.as_str(),
            "image.upload_id": current.image.upload_id.as_deref(),
            "image.status": { "$ne": "ready" },
            "image.staged_id": { "$ne": null },
        },
    };
    let updated = products
        .find_one_and_update(filter, doc! { "$set": set })
        .return_document(mongodb::options::ReturnDocument::After)
        .await?
        .ok_or_else(|| ApiError::Conflict {
            code: "image_changed",
            message: "the product's image changed meanwhile; reload it and try again".into(),
            field: Some("image".into()),
        })?;
    // The previous staged blob, if it was replaced, is no longer anyone's.
    if image.is_some()
        && let Some(old) = &current.image.staged_id
        && updated.image.staged_id.as_ref() != Some(old)
    {
        state.store.unstage(old).await;
    }
    tracing::info!(product_id = %id, admin_id = %admin.id, upload_id, "product image upload requested");
    // Not dispatched (broker down): the image is marked failed, and posting again without a
    // file re-sends the staged upload.
    let updated = dispatch_image_upload(&state, updated).await;
    Ok((
        StatusCode::ACCEPTED,
        Json(ProductOut::new(updated, state.config.low_stock_threshold)),
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StockIn {
    /// Units to add (restock) or remove (correction); not zero.
    delta: i64,
    reason: String,
}

#[derive(Serialize, ToSchema)]
pub struct AdjustmentOut {
    pub adjustment_id: String,
    pub product_id: String,
    pub delta: i64,
    pub reason: String,
}

/// A restock or correction, applied by the product's stock worker (which refuses it if it
/// would take stock below zero; the outcome shows in the ledger and as an event). With an
/// `Idempotency-Key`, a retried request is applied once.
#[utoipa::path(
    post,
    path = "/api/products/{id}/stock",
    tag = "products",
    params(
        ("id" = String, Path, description = "The product's id"),
        (
            "Idempotency-Key" = Option<String>,
            Header,
            description = "1 to 100 visible ASCII characters: the same request with the same key is applied once"
        ),
    ),
    request_body = StockIn,
    security(("bearer" = [])),
    responses(
        (status = 202, description = "Sent to the product's stock worker", body = AdjustmentOut),
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
async fn adjust_stock(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    RequestId(request_id): RequestId,
    headers: axum::http::HeaderMap,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<StockIn>,
) -> Result<impl IntoResponse, ApiError> {
    let id = parse_product_id(&id)?;
    let mut fields = Fields::default();
    let delta = fields.parse("delta", StockDelta::parse(body.delta));
    let reason = fields.parse("reason", Reason::parse(&body.reason));
    let (delta, reason) = fields.finish(|| Some((delta?, reason?)))?;
    ensure_product_exists(&state, &id).await?;
    // With an Idempotency-Key, the same request (same key, delta and reason) is one
    // adjustment however often it is sent.
    let adjustment_id = match idempotency_key(&headers)? {
        Some(key) => {
            let request = format!(
                "{}\n{}\n{}\n{}\n{}",
                admin.id,
                id,
                key.as_str(),
                delta.units(),
                reason.as_str()
            );
            hex::encode(&Sha256::digest(request.as_bytes())[..16])
        }
        None => uuid::Uuid::now_v7().simple().to_string(),
    };
    let envelope = Envelope::new(
        id.to_string(),
        request_id,
        StockCommand::AdjustStock {
            adjustment_id: adjustment_id.clone(),
            product_id: id.clone(),
            delta: delta.units(),
            reason: reason.as_str().to_string(),
            admin_id: admin.id.clone(),
        },
    );
    state
        .broker
        .publish(Outgoing::command(
            stock_queue_for(&id, state.config.partitions),
            &envelope,
        ))
        .await?;
    tracing::info!(product_id = %id, admin_id = %admin.id, delta = delta.units(), adjustment_id, "stock adjustment requested");
    Ok((
        StatusCode::ACCEPTED,
        Json(AdjustmentOut {
            adjustment_id,
            product_id: id.to_string(),
            delta: delta.units(),
            reason: reason.into_inner(),
        }),
    ))
}

/// Where a stock adjustment stands.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AdjustmentStatus {
    /// Not decided yet (or no adjustment has this id).
    Pending,
    Applied,
    /// Refused by the stock worker: it would have taken the stock below zero.
    Refused,
}

#[derive(Serialize, ToSchema)]
pub struct AdjustmentStatusOut {
    pub adjustment_id: String,
    pub product_id: String,
    pub status: AdjustmentStatus,
    /// The change applied (0 unless applied).
    pub delta: i64,
    /// The stock after it, once applied.
    pub balance_after: Option<i64>,
    /// The admin's reason when applied; why it was refused when refused.
    pub reason: Option<String>,
}

/// The outcome of a stock adjustment, by the `adjustment_id` its 202 returned: `pending` until
/// the product's stock worker decides it, then `applied` or `refused` (with why).
#[utoipa::path(
    get,
    path = "/api/products/{id}/stock/{adjustment_id}",
    tag = "products",
    params(
        ("id" = String, Path, description = "The product's id"),
        ("adjustment_id" = String, Path, description = "The id the adjustment's 202 returned"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Where the adjustment stands", body = AdjustmentStatusOut),
        (status = 401, response = responses::Unauthenticated),
        (status = 403, response = responses::Forbidden),
        (status = 404, response = responses::NotFound),
        (status = 503, response = responses::Unavailable),
    )
)]
async fn get_adjustment(
    State(state): State<AppState>,
    AdminUser(_admin): AdminUser,
    Path((id, adjustment_id)): Path<(String, String)>,
) -> Result<Json<AdjustmentStatusOut>, ApiError> {
    let id = parse_product_id(&id)?;
    ensure_product_exists(&state, &id).await?;
    let decided = if adjustment_id.len() <= 100
        && adjustment_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
    {
        state
            .store
            .ledger()
            .find_one(doc! { "_id": LedgerDoc::adjust_key(&adjustment_id), "product_id": id.as_str() })
            .await?
    } else {
        None
    };
    let out = match decided {
        None => AdjustmentStatusOut {
            adjustment_id,
            product_id: id.to_string(),
            status: AdjustmentStatus::Pending,
            delta: 0,
            balance_after: None,
            reason: None,
        },
        Some(entry) => AdjustmentStatusOut {
            adjustment_id,
            product_id: id.to_string(),
            status: match entry.outcome {
                LedgerOutcome::Applied => AdjustmentStatus::Applied,
                _ => AdjustmentStatus::Refused,
            },
            delta: entry.delta,
            balance_after: (entry.outcome == LedgerOutcome::Applied).then_some(entry.balance_after),
            reason: match &entry.refusal {
                Some(refusal) => Some(refusal.describe()),
                None => entry.reason,
            },
        },
    };
    Ok(Json(out))
}

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
async fn list_ledger(
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
