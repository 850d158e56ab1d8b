//! Product images on the way in: the type is sniffed from the bytes (never trusted from the
//! client's header or file name), the image must decode, and its size is bounded.

use std::io::Cursor;

use axum::extract::multipart::{Field, MultipartError, MultipartRejection};
use bytes::{Bytes, BytesMut};
use image::{ImageFormat, ImageReader, Limits};
use oms_contracts::domain::ImageType;
use oms_platform::Store;

use crate::error::ApiError;

/// An upload that passed every check.
pub struct ValidImage {
    pub bytes: Bytes,
    pub kind: ImageType,
    pub width: u32,
    pub height: u32,
}

/// Sniffs and fully decodes the image (on the blocking pool), so that a truncated or
/// corrupt file is refused now rather than failing in the worker later.
pub async fn validate(bytes: Bytes) -> Result<ValidImage, ApiError> {
    let Some(kind) = ImageType::sniff(&bytes) else {
        return Err(ApiError::UnsupportedMediaType(
            "the image must be a PNG, JPEG or WebP file".into(),
        ));
    };
    let format = match kind {
        ImageType::Png => ImageFormat::Png,
        ImageType::Jpeg => ImageFormat::Jpeg,
        ImageType::WebP => ImageFormat::WebP,
    };
    let decoded = tokio::task::spawn_blocking({
        let bytes = bytes.clone();
        move || {
            let mut reader = ImageReader::with_format(Cursor::new(&bytes[..]), format);
            let mut limits = Limits::default();
            limits.max_image_width = Some(10_000);
            limits.max_image_height = Some(10_000);
            limits.max_alloc = Some(512 * 1024 * 1024);
            reader.limits(limits);
            reader.decode().map(|img| (img.width(), img.height()))
        }
    })
    .await
    .map_err(|e| ApiError::Internal(anyhow::anyhow!("image decoding task failed: {e}")))?;
    match decoded {
        Ok((width, height)) if width > 0 && height > 0 => Ok(ValidImage {
            bytes,
            kind,
            width,
            height,
        }),
        Ok(_) => Err(invalid_image("the image has no pixels")),
        // The decoder's own words (often a dump of the file's chunks) are for the log only.
        Err(err) => {
            tracing::info!(error = %err, "an uploaded image does not decode");
            Err(invalid_image(
                "the image cannot be read: the file is damaged or incomplete",
            ))
        }
    }
}

fn invalid_image(message: &str) -> ApiError {
    ApiError::Invalid {
        code: "invalid_image",
        field: "image".into(),
        message: message.to_string(),
    }
}

pub fn multipart_rejection(rejection: MultipartRejection) -> ApiError {
    match rejection {
        MultipartRejection::InvalidBoundary(_) => {
            ApiError::UnsupportedMediaType("the body must be multipart/form-data".into())
        }
        other => ApiError::Malformed(other.body_text()),
    }
}

pub fn multipart_error(err: MultipartError) -> ApiError {
    if err.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::TooLarge("the upload is too large".into())
    } else {
        ApiError::Malformed(format!("the multipart body is malformed: {}", err.body_text()))
    }
}

/// Reads a field, refusing it as soon as it exceeds `limit` bytes.
pub async fn read_limited(mut field: Field<'_>, limit: usize, name: &str) -> Result<Bytes, ApiError> {
    let mut buf = BytesMut::new();
    while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
        if buf.len() + chunk.len() > limit {
            return Err(ApiError::TooLarge(format!(
                "{name} must be at most {limit} bytes"
            )));
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf.freeze())
}

/// Reads a text field (UTF-8, at most `limit` bytes).
pub async fn read_text(field: Field<'_>, limit: usize, name: &str) -> Result<String, ApiError> {
    let bytes = read_limited(field, limit, name).await.map_err(|e| match e {
        ApiError::TooLarge(_) => ApiError::Invalid {
            code: "validation_failed",
            field: name.to_string(),
            message: format!("must be at most {limit} bytes"),
        },
        other => other,
    })?;
    String::from_utf8(bytes.to_vec()).map_err(|_| ApiError::Invalid {
        code: "validation_failed",
        field: name.to_string(),
        message: "must be UTF-8 text".into(),
    })
}

/// Stages the bytes in GridFS under a fresh id, for the image worker to pick up.
pub async fn stage(store: &Store, image: &ValidImage) -> Result<String, ApiError> {
    store.stage_image(&image.bytes, image.kind).await.map_err(|e| {
        // Writing to GridFS fails when the store does: the request had no effect.
        tracing::warn!(error = %e, "staging an image failed");
        ApiError::Unavailable("the store")
    })
}

/// A form part that appears twice.
pub fn duplicate_field(name: &str) -> ApiError {
    ApiError::Invalid {
        code: "validation_failed",
        field: name.to_string(),
        message: "is given more than once".into(),
    }
}
