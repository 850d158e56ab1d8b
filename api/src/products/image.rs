//! A product's image: handing a staged upload to the image workers, and replacing or retrying it.

use axum::Json;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;

use oms_contracts::messages::{Envelope, ImageCommand};
use oms_contracts::routing::IMAGES_QUEUE;
use oms_platform::broker::Outgoing;
use oms_platform::store::product_images::ImageRequest;
use oms_platform::store::{ImageStatus, ProductDoc};
use utoipa::ToSchema;

use super::upload::{self};
use crate::auth::AdminUser;
use crate::error::responses;
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

use super::{ProductOut, parse_product_id};

/// The form of `POST /api/products/{id}/image`.
// For the documentation only: `replace_image` reads the parts one by one.
#[derive(ToSchema)]
#[expect(
    dead_code,
    reason = "a schema for the documentation; the handler reads the parts one by one"
)]
pub struct ImageForm {
    /// PNG, JPEG or WebP, at most `OMS_MAX_IMAGE_BYTES`. Without it (or without any body),
    /// the staged upload is sent to the image worker again.
    #[schema(required = false, value_type = String, format = Binary)]
    pub image: Vec<u8>,
}

/// Why an image is `failed` when its upload could not be handed to the image workers.
pub(super) const NOT_DISPATCHED: &str =
    "the upload could not be handed to the image workers (the broker is unavailable); retry";

/// Hands a staged image to the image workers, and returns the product as it now stands. A
/// failure here is not the client's: the product is stored, and its image is marked `failed`
/// (unless a worker already took the upload) so that the admin sees it and retries with
/// `POST /api/products/{id}/image`, which re-uses the staged blob.
pub(super) async fn dispatch_image_upload(state: &AppState, product: ProductDoc) -> ProductDoc {
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
                .fail_image_upload(&product.id, &upload_id, NOT_DISPATCHED)
                .await;
            match failed {
                Ok(Some(failed)) => failed,
                // Taken by a worker after all, or the store is away too: as it was.
                _ => product,
            }
        }
    }
}

/// Replaces the image, or (with no `image` part) retries the staged one.
#[utoipa::path(
    post,
    path = "/api/products/{id}/image",
    tag = "products",
    params(("id" = String, Path, description = "The product's id")),
    request_body(content = Option<ImageForm>, content_type = "multipart/form-data"),
    security(("bearer" = ["admin"])),
    responses(
        (status = 202, description = "Accepted; the image worker will upload it", body = ProductOut),
        (status = 400, response = responses::BadRequest),
        (status = 401, response = responses::Unauthenticated),
        (status = 403, response = responses::Forbidden),
        (status = 404, response = responses::NotFound),
        (status = 409, description = "`image_changed`: the image changed meanwhile; `nothing_to_retry`: no image sent and no staged upload to retry", body = ErrorBody),
        (status = 413, response = responses::PayloadTooLarge),
        (status = 415, description = "Not `multipart/form-data`, or the image is not PNG, JPEG or WebP", body = ErrorBody),
        (status = 422, response = responses::Invalid),
        (status = 503, response = responses::Unavailable),
    )
)]
pub(super) async fn replace_image(
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
            Some("image") => return Err(upload::duplicate_field("image")),
            other => {
                return Err(ApiError::Invalid {
                    code: "unknown_field",
                    field: other.unwrap_or("").to_string(),
                    message: "only an `image` part is expected".into(),
                });
            }
        }
    }
    let current = state
        .store
        .product(&id)
        .await?
        .ok_or_else(|| ApiError::not_found("product"))?;
    let upload_id = uuid::Uuid::now_v7().to_string();
    let staged_id = match &image {
        Some(valid) => Some(upload::stage(&state.store, valid).await?),
        None => None,
    };
    let request = match (&image, &staged_id) {
        (Some(valid), Some(staged_id)) => ImageRequest::New {
            staged_id,
            content_type: valid.kind,
            width: valid.width,
            height: valid.height,
        },
        _ => {
            if current.image.staged_id.is_none() || current.image.status == ImageStatus::Ready {
                return Err(ApiError::Conflict {
                    code: "nothing_to_retry",
                    field: Some("image".into()),
                    message: "send an image (there is no staged upload to retry)".into(),
                });
            }
            // A retry applies only to the upload we looked at: if the worker finished it
            // meanwhile, there is nothing left to retry.
            ImageRequest::Retry {
                previous: current.image.upload_id.as_deref(),
            }
        }
    };
    let updated = state
        .store
        .request_image_upload(&id, &upload_id, request)
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
