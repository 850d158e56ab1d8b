//! The image worker: moves a product's staged upload (GridFS) to the image store and records
//! the outcome on the product (`ready` with its URL and size, or `failed` with a reason an
//! admin can read). Competing consumers on `oms.images`: uploads need no ordering, because
//! every result is written only while its `upload_id` is still the product's current one.
//!
//! Idempotent: a superseded upload does nothing, a redelivered one whose result is already
//! recorded only finishes the clean-up and re-sends its event.

pub mod cloudinary;
pub mod store;

use std::sync::Arc;
use std::time::Duration;

use backoff::ExponentialBackoff;
use backoff::backoff::Backoff;
use bytes::Bytes;
use futures_util::future::BoxFuture;
use mongodb::bson::{self, Bson, doc};
use mongodb::options::ReturnDocument;
use oms_contracts::ProductId;
use oms_contracts::domain::ImageType;
use oms_contracts::messages::{Envelope, Event, ImageCommand};
use oms_platform::broker::Outgoing;
use oms_platform::config::ImageStoreConfig;
use oms_platform::store::{ImageDoc, ImageStatus, Staged};
use oms_platform::{Broker, Config, Store};
use tokio_util::sync::CancellationToken;

use crate::consumer::{HandleError, Handler, Outbox};
pub use cloudinary::CloudinaryStore;
pub use store::{ImageStore, LocalStore, StoreError, StoredImage};

/// What the admin reads when the image store stayed unreachable for the whole retry budget.
pub const GAVE_UP_REASON: &str = "the image store did not answer; retry";

/// How a transient store failure is retried before the upload is given up (and dead-lettered).
#[derive(Clone, Copy, Debug)]
pub struct RetryPolicy {
    pub initial_interval: Duration,
    pub max_interval: Duration,
    /// The total time spent retrying one upload.
    pub max_elapsed: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            initial_interval: Duration::from_millis(200),
            max_interval: Duration::from_secs(10),
            max_elapsed: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    fn backoff(&self) -> ExponentialBackoff {
        ExponentialBackoff {
            initial_interval: self.initial_interval,
            max_interval: self.max_interval,
            max_elapsed_time: Some(self.max_elapsed),
            ..ExponentialBackoff::default()
        }
    }
}

/// The image store `config` names.
pub fn image_store(config: &Config) -> anyhow::Result<Arc<dyn ImageStore>> {
    Ok(match &config.image_store {
        ImageStoreConfig::Local => Arc::new(LocalStore::new(config.media_dir.clone())),
        ImageStoreConfig::Cloudinary(c) => Arc::new(CloudinaryStore::new(c.clone())?),
    })
}

pub struct ImageHandler {
    pub store: Store,
    pub broker: Broker,
    pub images: Arc<dyn ImageStore>,
    pub retry: RetryPolicy,
    /// Cuts a retrying upload short on shutdown (the delivery stays unacked and comes back).
    pub shutdown: CancellationToken,
}

impl Handler for ImageHandler {
    type Message = ImageCommand;

    fn handle<'a>(
        &'a self,
        envelope: &'a Envelope<ImageCommand>,
    ) -> BoxFuture<'a, Result<Outbox, HandleError>> {
        Box::pin(self.upload(envelope))
    }
}

/// The event that says `upload`'s image is ready at `url`.
fn ready(upload: &Upload<'_>, url: &str, width: Option<u32>, height: Option<u32>) -> Outbox {
    let event = Event::ProductImageReady {
        product_id: upload.product_id.clone(),
        url: url.to_string(),
        width: width.unwrap_or(0),
        height: height.unwrap_or(0),
    };
    vec![Outgoing::event(&upload.envelope.follow(event))]
}

/// Why the store did not take the image.
enum PutError {
    /// Refused for good (bad credentials, an image it will not take).
    Refused(anyhow::Error),
    /// Transient failures for the whole retry budget.
    GaveUp(anyhow::Error),
    ShuttingDown,
}

/// One upload, as the command names it.
struct Upload<'a> {
    envelope: &'a Envelope<ImageCommand>,
    product_id: &'a ProductId,
    upload_id: &'a str,
    staged_id: &'a str,
}

impl ImageHandler {
    async fn upload(&self, envelope: &Envelope<ImageCommand>) -> Result<Outbox, HandleError> {
        let ImageCommand::UploadProductImage {
            product_id,
            upload_id,
            staged_id,
            content_type,
        } = &envelope.body;
        let upload = Upload {
            envelope,
            product_id,
            upload_id,
            staged_id,
        };
        let Some(product) = self.store.product(product_id).await? else {
            tracing::info!(%product_id, "no such product; nothing to upload");
            return Ok(Outbox::new());
        };
        if product.image.upload_id.as_deref() != Some(upload_id.as_str()) {
            tracing::info!(%product_id, upload_id, "upload superseded by a newer one; nothing to do");
            return Ok(Outbox::new());
        }
        if product.image.status == ImageStatus::Ready {
            // Redelivered after its result was recorded: finish what may have been interrupted.
            self.store.unstage(staged_id).await;
            let image = &product.image;
            let url = image.url.as_deref().unwrap_or_default();
            return Ok(ready(&upload, url, image.width, image.height));
        }
        let bytes = match self.store.read_staged(staged_id).await? {
            Staged::Present(bytes) => Bytes::from(bytes),
            Staged::Missing => {
                tracing::warn!(%product_id, staged_id, "staged image missing");
                let reason = "the uploaded file is no longer staged; upload the image again";
                return self.record_failed(&upload, reason, true).await;
            }
            Staged::Damaged(err) => {
                tracing::warn!(%product_id, staged_id, error = %format!("{err:#}"), "staged image damaged");
                let reason = "the uploaded file was damaged in staging; upload the image again";
                return self.record_failed(&upload, reason, true).await;
            }
        };
        let stored = match self.put_with_retry(bytes, *content_type).await {
            Ok(stored) => stored,
            Err(PutError::Refused(err)) => {
                let reason = format!("the image store refused the image: {err:#}");
                tracing::warn!(%product_id, %reason, "image upload refused");
                return self.record_failed(&upload, &reason, false).await;
            }
            Err(PutError::GaveUp(err)) => {
                // Recorded for the admin (and announced now: a dead-lettered delivery's outbox
                // is not sent), and dead-lettered for the operator (who may replay it).
                let announced = self.record_failed(&upload, GAVE_UP_REASON, false).await?;
                self.broker.publish_all(announced).await?;
                return Err(HandleError::Permanent(format!(
                    "the image store did not answer for {:?}: {err:#}",
                    self.retry.max_elapsed
                )));
            }
            Err(PutError::ShuttingDown) => {
                return Err(HandleError::Transient(anyhow::anyhow!(
                    "shutting down in the middle of an upload"
                )));
            }
        };
        self.record_ready(&upload, &product.image, stored).await
    }

    /// Tries the store until it answers, refuses, or the retry budget is spent.
    async fn put_with_retry(&self, bytes: Bytes, content_type: ImageType) -> Result<StoredImage, PutError> {
        let mut backoff = self.retry.backoff();
        loop {
            let attempt = tokio::select! {
                _ = self.shutdown.cancelled() => return Err(PutError::ShuttingDown),
                attempt = self.images.put(bytes.clone(), content_type) => attempt,
            };
            let err = match attempt {
                Ok(stored) => return Ok(stored),
                Err(StoreError::Permanent(err)) => return Err(PutError::Refused(err)),
                Err(StoreError::Transient(err)) => err,
            };
            let Some(wait) = backoff.next_backoff() else {
                return Err(PutError::GaveUp(err));
            };
            tracing::warn!(error = %format!("{err:#}"), retry_in = ?wait, "image store unavailable; retrying");
            tokio::select! {
                _ = self.shutdown.cancelled() => return Err(PutError::ShuttingDown),
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }

    /// Records `ready` while the upload is still current, then removes what it replaced.
    async fn record_ready(
        &self,
        upload: &Upload<'_>,
        image: &ImageDoc,
        stored: StoredImage,
    ) -> Result<Outbox, HandleError> {
        let width = stored.width.or(image.width);
        let height = stored.height.or(image.height);
        let before = self
            .store
            .products()
            .find_one_and_update(
                doc! { "_id": upload.product_id.as_str(), "image.upload_id": upload.upload_id },
                doc! { "$set": {
                    "image.status": "ready", "image.url": &stored.url,
                    "image.width": width.map(i64::from), "image.height": height.map(i64::from),
                    "image.store_id": &stored.store_id, "image.staged_id": Bson::Null,
                    "image.error": Bson::Null, "updated_at": bson::DateTime::now(),
                } },
            )
            .return_document(ReturnDocument::Before)
            .await;
        // On an error the write may still have happened, so the new copy stays (an orphan at
        // worst, never a product pointing at a deleted image); the redelivery sorts it out.
        let Some(before) = before? else {
            // A newer upload (or a retry of this file) took over while we uploaded; its
            // command still needs the staged blob, so only our copy goes.
            tracing::info!(product_id = %upload.product_id, "upload superseded while storing; discarding it");
            self.delete_stored(&stored.store_id).await;
            return Ok(Outbox::new());
        };
        tracing::info!(product_id = %upload.product_id, url = %stored.url, "product image ready");
        metrics::counter!("oms_image_uploads_total", "outcome" => "ready").increment(1);
        if let Some(old) = before.image.store_id.as_deref()
            && old != stored.store_id
        {
            self.delete_stored(old).await;
        }
        self.store.unstage(upload.staged_id).await;
        Ok(ready(upload, &stored.url, width, height))
    }

    /// Records `failed` with `reason` while the upload is still current; returns the event
    /// that says so.
    async fn record_failed(
        &self,
        upload: &Upload<'_>,
        reason: &str,
        unstaged: bool,
    ) -> Result<Outbox, HandleError> {
        let mut set = doc! {
            "image.status": "failed", "image.error": reason, "updated_at": bson::DateTime::now(),
        };
        if unstaged {
            // Nothing left to retry with: the API will then ask for a new file.
            set.insert("image.staged_id", Bson::Null);
        }
        let updated = self
            .store
            .products()
            .update_one(
                doc! { "_id": upload.product_id.as_str(), "image.upload_id": upload.upload_id },
                doc! { "$set": set },
            )
            .await?;
        if updated.matched_count == 0 {
            tracing::info!(product_id = %upload.product_id, "upload superseded; its failure is not recorded");
            return Ok(Outbox::new());
        }
        metrics::counter!("oms_image_uploads_total", "outcome" => "failed").increment(1);
        let event = Event::ProductImageFailed {
            product_id: upload.product_id.clone(),
            reason: reason.to_string(),
        };
        Ok(vec![Outgoing::event(&upload.envelope.follow(event))])
    }

    /// Best effort: an image no product points to is only wasted space.
    async fn delete_stored(&self, store_id: &str) {
        if let Err(err) = self.images.delete(store_id).await {
            tracing::warn!(store_id, error = %err, "could not delete a replaced image from the store");
        }
    }
}
