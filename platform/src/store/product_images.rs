//! A product's image as the API asks for it: a new upload (staged bytes, a fresh upload id), a
//! retry of the staged one, or an upload the broker never took. The image worker applies an
//! upload's result only while its upload id is still the product's.

use mongodb::bson::{DateTime, doc};
use mongodb::options::ReturnDocument;
use oms_contracts::ProductId;
use oms_contracts::domain::ImageType;

use super::{ProductDoc, Store};

/// What an upload request changes.
pub enum ImageRequest<'a> {
    /// New bytes, staged under `staged_id`.
    New {
        staged_id: &'a str,
        content_type: ImageType,
        width: u32,
        height: u32,
    },
    /// The staged bytes again, if the upload `previous` is still the product's and not done.
    Retry { previous: Option<&'a str> },
}

impl Store {
    /// Makes `upload_id` the product's pending upload; the product as it is after, `None` when
    /// there is no such product or (for a retry) its upload changed meanwhile.
    pub async fn request_image_upload(
        &self,
        id: &ProductId,
        upload_id: &str,
        request: ImageRequest<'_>,
    ) -> mongodb::error::Result<Option<ProductDoc>> {
        let now = DateTime::now();
        let (filter, set) = match request {
            ImageRequest::New {
                staged_id,
                content_type,
                width,
                height,
            } => (
                doc! { "_id": id.as_str() },
                doc! {
                    "image.status": "pending", "image.error": null, "image.staged_id": staged_id,
                    "image.upload_id": upload_id, "image.content_type": content_type.media_type(),
                    "image.width": i64::from(width), "image.height": i64::from(height),
                    "updated_at": now,
                },
            ),
            ImageRequest::Retry { previous } => (
                doc! {
                    "_id": id.as_str(),
                    "image.upload_id": previous,
                    "image.status": { "$ne": "ready" },
                    "image.staged_id": { "$ne": null },
                },
                doc! {
                    "image.status": "pending", "image.error": null, "image.upload_id": upload_id,
                    "updated_at": now,
                },
            ),
        };
        self.products()
            .find_one_and_update(filter, doc! { "$set": set })
            .return_document(ReturnDocument::After)
            .await
    }

    /// Marks the pending upload `upload_id` failed with `error` (its command never reached the
    /// broker); `None` when a worker took it after all or it is no longer the product's.
    pub async fn fail_image_upload(
        &self,
        id: &ProductId,
        upload_id: &str,
        error: &str,
    ) -> mongodb::error::Result<Option<ProductDoc>> {
        self.products()
            .find_one_and_update(
                doc! { "_id": id.as_str(), "image.upload_id": upload_id, "image.status": "pending" },
                doc! { "$set": { "image.status": "failed", "image.error": error, "updated_at": DateTime::now() } },
            )
            .return_document(ReturnDocument::After)
            .await
    }
}
