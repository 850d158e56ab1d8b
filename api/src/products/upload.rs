//! Product images on the way in: the type is sniffed from the bytes (never trusted from the
//! client's header or file name), the image must decode, and its size is bounded.

use std::io::Cursor;

use axum::extract::multipart::{Field, MultipartError, MultipartRejection};
use bytes::{Bytes, BytesMut};
use futures_util::io::AsyncWriteExt;
use image::{ImageFormat, ImageReader, Limits};
use mongodb::bson::Bson;
use oms_platform::Store;

use crate::error::ApiError;

/// An upload that passed every check.
pub struct ValidImage {
    pub bytes: Bytes,
    pub content_type: &'static str,
    pub width: u32,
    pub height: u32,
}

/// The formats OMS accepts, told apart by their magic bytes.
pub fn sniff(bytes: &[u8]) -> Option<(ImageFormat, &'static str)> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some((ImageFormat::Png, "image/png"))
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some((ImageFormat::Jpeg, "image/jpeg"))
    } else if bytes.len() >= 12 && &bytes[0..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some((ImageFormat::WebP, "image/webp"))
    } else {
        None
    }
}

/// Sniffs and fully decodes the image (on the blocking pool), so that a truncated or
/// corrupt file is refused now rather than failing in the worker later.
pub async fn validate(bytes: Bytes) -> Result<ValidImage, ApiError> {
    let Some((format, content_type)) = sniff(&bytes) else {
        return Err(ApiError::UnsupportedMediaType(
            "the image must be a PNG, JPEG or WebP file".into(),
        ));
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
            content_type,
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
    let staged_id = uuid::Uuid::now_v7().to_string();
    let mut upload = store
        .staged_images()
        .open_upload_stream(format!("{staged_id}.{}", extension(image.content_type)))
        .id(Bson::String(staged_id.clone()))
        .await?;
    // Writing to GridFS fails when the store does: the request had no effect.
    let unavailable = |e: std::io::Error| {
        tracing::warn!(error = %e, "staging an image failed");
        ApiError::Unavailable("the store")
    };
    upload.write_all(&image.bytes).await.map_err(unavailable)?;
    upload.close().await.map_err(unavailable)?;
    Ok(staged_id)
}

pub fn extension(content_type: &str) -> &'static str {
    match content_type {
        "image/png" => "png",
        "image/jpeg" => "jpg",
        _ => "webp",
    }
}

/// Best effort: a staged blob that outlives its product is only wasted space.
pub async fn unstage(store: &Store, staged_id: &str) {
    if let Err(err) = store
        .staged_images()
        .delete(Bson::String(staged_id.to_string()))
        .await
    {
        tracing::warn!(staged_id, error = %err, "could not delete a staged image");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffing_reads_magic_bytes_only() {
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\nrest").map(|s| s.1), Some("image/png"));
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0]).map(|s| s.1), Some("image/jpeg"));
        assert_eq!(sniff(b"RIFF\0\0\0\0WEBPVP8 ").map(|s| s.1), Some("image/webp"));
        assert!(sniff(b"GIF89a").is_none());
        assert!(sniff(b"hello, I am a .png").is_none());
    }
}
