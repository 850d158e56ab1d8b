//! Cloudinary as the image store: its signed upload and destroy calls over `reqwest`, the
//! request signature, and which of its answers are worth retrying.
//!
//! The signature is the one Cloudinary documents for authenticated requests: every parameter
//! sent except `file`, `cloud_name`, `resource_type` and `api_key`, sorted by name, as
//! `key=value` joined with `&`, followed by the API secret, hashed with SHA-1, in hex.

use std::time::Duration;

use anyhow::Context as _;
use bytes::Bytes;
use futures_util::future::BoxFuture;
use oms_contracts::domain::ImageType;
use oms_platform::config::CloudinaryConfig;
use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};
use secrecy::ExposeSecret;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use sha1::{Digest, Sha1};

use super::store::{ImageStore, StoreError, StoredImage};

/// The folder every product image goes in, so that OMS's images are easy to tell apart.
pub const FOLDER: &str = "oms/products";

/// Parameters that are sent but not signed.
const UNSIGNED: [&str; 5] = ["file", "cloud_name", "resource_type", "api_key", "signature"];

/// One request may take this long; the worker's retry budget covers several.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The hex SHA-1 signature of `params` (unsigned and empty parameters left out) with `api_secret`.
pub fn sign(params: &[(&str, &str)], api_secret: &str) -> String {
    let mut signed: Vec<&(&str, &str)> = params
        .iter()
        .filter(|(key, value)| !UNSIGNED.contains(key) && !value.is_empty())
        .collect();
    signed.sort_by(|a, b| a.0.cmp(b.0));
    let mut text = signed
        .iter()
        .map(|(key, value)| format!("{key}={value}"))
        .collect::<Vec<_>>()
        .join("&");
    text.push_str(api_secret);
    hex::encode(Sha1::digest(text.as_bytes()))
}

pub struct CloudinaryStore {
    http: reqwest::Client,
    config: CloudinaryConfig,
}

/// The parts of Cloudinary's upload answer OMS keeps.
#[derive(Deserialize)]
struct UploadAnswer {
    public_id: String,
    secure_url: String,
    width: Option<u32>,
    height: Option<u32>,
}

#[derive(Deserialize)]
struct DestroyAnswer {
    result: String,
}

/// Cloudinary's error shape: `{"error": {"message": "..."}}`.
#[derive(Deserialize)]
struct ErrorAnswer {
    error: ErrorMessage,
}

#[derive(Deserialize)]
struct ErrorMessage {
    message: String,
}

impl CloudinaryStore {
    pub fn new(config: CloudinaryConfig) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .build()
            .context("cannot build the HTTP client for Cloudinary")?;
        Ok(Self { http, config })
    }

    fn endpoint(&self, action: &str) -> String {
        format!(
            "{}/v1_1/{}/image/{action}",
            self.config.api_base.trim_end_matches('/'),
            self.config.cloud_name
        )
    }

    /// The signed form fields: `params`, `api_key` and `signature`.
    fn signed_form(&self, params: &[(&str, &str)]) -> Form {
        let signature = sign(params, self.config.api_secret.expose_secret());
        let form = params.iter().fold(Form::new(), |form, (key, value)| {
            form.text(key.to_string(), value.to_string())
        });
        form.text("api_key", self.config.api_key.clone())
            .text("signature", signature)
    }

    async fn upload(&self, bytes: Bytes, kind: ImageType) -> Result<StoredImage, StoreError> {
        let ext = kind.extension();
        // A fresh public id per upload: a replacement never overwrites the image in use.
        let public_id = uuid::Uuid::new_v4().simple().to_string();
        let timestamp = chrono::Utc::now().timestamp().to_string();
        let length = bytes.len() as u64;
        let file = Part::stream_with_length(reqwest::Body::from(bytes), length)
            .file_name(format!("{public_id}.{ext}"))
            .mime_str(kind.media_type())
            .map_err(|e| StoreError::Permanent(anyhow::Error::new(e).context("bad content type")))?;
        let form = self
            .signed_form(&[
                ("folder", FOLDER),
                ("public_id", &public_id),
                ("timestamp", &timestamp),
            ])
            .part("file", file);
        let response = self
            .http
            .post(self.endpoint("upload"))
            .multipart(form)
            .send()
            .await
            .map_err(|e| transport_error(e, "upload"))?;
        let answer: UploadAnswer = read_answer(response, "upload").await?;
        Ok(StoredImage {
            url: answer.secure_url,
            store_id: answer.public_id,
            width: answer.width,
            height: answer.height,
        })
    }

    async fn destroy(&self, public_id: &str) -> Result<(), StoreError> {
        let timestamp = chrono::Utc::now().timestamp().to_string();
        let form = self.signed_form(&[("public_id", public_id), ("timestamp", &timestamp)]);
        let response = self
            .http
            .post(self.endpoint("destroy"))
            .multipart(form)
            .send()
            .await
            .map_err(|e| transport_error(e, "destroy"))?;
        let answer: DestroyAnswer = read_answer(response, "destroy").await?;
        match answer.result.as_str() {
            // Destroying what is already gone is what we wanted.
            "ok" | "not found" => Ok(()),
            other => Err(StoreError::Permanent(anyhow::anyhow!(
                "Cloudinary did not destroy {public_id}: {other}"
            ))),
        }
    }
}

impl ImageStore for CloudinaryStore {
    fn put(&self, bytes: Bytes, kind: ImageType) -> BoxFuture<'_, Result<StoredImage, StoreError>> {
        Box::pin(self.upload(bytes, kind))
    }

    fn delete<'a>(&'a self, store_id: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(self.destroy(store_id))
    }
}

/// No answer at all (timeout, refused or reset connection) is worth retrying; a request
/// that cannot even be built (a bad `CLOUDINARY_API_BASE`) is not.
fn transport_error(err: reqwest::Error, action: &str) -> StoreError {
    let builder = err.is_builder();
    let err = anyhow::Error::new(err).context(format!("Cloudinary {action}: no answer"));
    if builder {
        StoreError::Permanent(err)
    } else {
        StoreError::Transient(err)
    }
}

/// Rate limits (429, and the 420 Cloudinary also uses), timeouts and server errors pass;
/// any other refusal is about this request and will be refused again.
fn is_transient_status(status: StatusCode) -> bool {
    status.is_server_error() || matches!(status.as_u16(), 408 | 420 | 429)
}

async fn read_answer<T: DeserializeOwned>(
    response: reqwest::Response,
    action: &str,
) -> Result<T, StoreError> {
    let status = response.status();
    let body = response.bytes().await.map_err(|e| {
        StoreError::Transient(anyhow::Error::new(e).context(format!("Cloudinary {action}: answer cut short")))
    })?;
    if status.is_success() {
        return serde_json::from_slice(&body).map_err(|e| {
            StoreError::Permanent(
                anyhow::Error::new(e).context(format!("Cloudinary {action}: unexpected answer")),
            )
        });
    }
    let message = match serde_json::from_slice::<ErrorAnswer>(&body) {
        Ok(answer) => answer.error.message,
        Err(_) => String::from_utf8_lossy(&body).chars().take(200).collect(),
    };
    let err = anyhow::anyhow!(
        "Cloudinary refused the {action} (HTTP {}): {message}",
        status.as_u16()
    );
    if is_transient_status(status) {
        Err(StoreError::Transient(err))
    } else {
        Err(StoreError::Permanent(err))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_cloudinarys_documented_example() {
        // https://cloudinary.com/documentation/authentication_signatures
        let params = [
            ("timestamp", "1315060510"),
            ("public_id", "sample_image"),
            ("eager", "w_400,h_300,c_pad|w_260,h_200,c_crop"),
            ("file", "ignored"),
            ("api_key", "ignored"),
        ];
        assert_eq!(sign(&params, "abcd"), "bfd09f95f331f558cbd1320e67aa8d488770583e");
    }

    #[test]
    fn empty_parameters_are_not_signed() {
        let with_empty = [("public_id", "a"), ("folder", ""), ("timestamp", "1")];
        let without = [("public_id", "a"), ("timestamp", "1")];
        assert_eq!(sign(&with_empty, "s"), sign(&without, "s"));
    }

    #[test]
    fn rate_limits_and_server_errors_are_retried_other_refusals_are_not() {
        for code in [500, 502, 503, 504, 429, 420, 408] {
            assert!(
                is_transient_status(StatusCode::from_u16(code).expect("status")),
                "{code}"
            );
        }
        for code in [400, 401, 403, 404, 413, 422] {
            assert!(
                !is_transient_status(StatusCode::from_u16(code).expect("status")),
                "{code}"
            );
        }
    }
}
