//! Creating a product from a multipart form: its fields, its initial stock (with the ledger
//! entry that explains it) and, optionally, its image.

use axum::Json;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use mongodb::bson::{self, doc};
use mongodb::error::UNKNOWN_TRANSACTION_COMMIT_RESULT;
use oms_contracts::domain::{Currency, Description, Price, ProductName, Sku, StockLevel};
use oms_contracts::{Money, ProductId};
use oms_platform::store::transaction;
use oms_platform::store::{ImageDoc, ImageStatus, LedgerDoc, LedgerKind, LedgerOutcome, ProductDoc};
use utoipa::ToSchema;

use super::upload::{self, ValidImage};
use crate::auth::AdminUser;
use crate::error::responses;
use crate::error::{ApiError, ErrorBody, Fields, conflict_on_duplicate};
use crate::state::AppState;

use super::ProductOut;
use super::image::dispatch_image_upload;

/// The form of `POST /api/products`.
// For the documentation only: `read_new_product` reads the parts one by one.
#[derive(ToSchema)]
#[expect(
    dead_code,
    reason = "a schema for the documentation; the handler reads the parts one by one"
)]
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

/// The fields of `POST /api/products`, parsed.
pub(super) struct NewProduct {
    sku: Sku,
    name: ProductName,
    description: Description,
    price: Money,
    stock: StockLevel,
    image: Option<ValidImage>,
}

pub(super) async fn read_new_product(
    mut multipart: Multipart,
    max_image_bytes: usize,
) -> Result<NewProduct, ApiError> {
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
                    return Err(upload::duplicate_field("image"));
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
            return Err(upload::duplicate_field(key));
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

/// Creates a product with its initial stock and, optionally, its image; the image worker then
/// sets `image.status` to `ready` (with a URL) or `failed` (with a reason).
#[utoipa::path(
    post,
    path = "/api/products",
    tag = "products",
    request_body(content = ProductForm, content_type = "multipart/form-data"),
    security(("bearer" = ["admin"])),
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
pub(super) async fn create_product(
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

/// Inserts the product and its first ledger entry in one transaction (the shared helper retries
/// a transient failure and an uncertain commit). When the commit's outcome stays unknown, the
/// store is asked: a product that is there was created, and its image must still be dispatched.
async fn insert_product_with_ledger(
    store: &oms_platform::Store,
    product: &ProductDoc,
    initial: &LedgerDoc,
) -> mongodb::error::Result<()> {
    let inserted = transaction(store, |session| {
        let (products, ledger) = (store.products(), store.ledger());
        let (product, initial) = (product.clone(), initial.clone());
        Box::pin(async move {
            products.insert_one(product).session(&mut *session).await?;
            ledger.insert_one(initial).session(&mut *session).await?;
            Ok(())
        })
    })
    .await;
    match inserted {
        Err(err) if err.contains_label(UNKNOWN_TRANSACTION_COMMIT_RESULT) => {
            match store.product(&product.id).await {
                Ok(Some(_)) => Ok(()),
                _ => Err(err),
            }
        }
        other => other,
    }
}
