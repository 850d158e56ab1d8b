//! Image bytes staged in GridFS between the API, which validates and stages an upload, and the
//! image worker, which moves it to the image store and unstages it.

use futures_util::{AsyncReadExt, AsyncWriteExt};
use mongodb::bson::Bson;
use mongodb::error::{ErrorKind, GridFsErrorKind};
use oms_contracts::domain::ImageType;

use super::Store;

/// What is staged under an id.
pub enum Staged {
    Present(Vec<u8>),
    /// Nothing (never staged, or unstaged already).
    Missing,
    /// Stored, but unreadable (a chunk is missing or has the wrong size).
    Damaged(mongodb::error::Error),
}

fn not_found(err: &mongodb::error::Error) -> bool {
    matches!(
        err.kind.as_ref(),
        ErrorKind::GridFs(GridFsErrorKind::FileNotFound { .. })
    )
}

impl Store {
    /// Stages `bytes` under a fresh id and returns it. Any failure is the store's (the request
    /// it serves had no effect).
    pub async fn stage_image(&self, bytes: &[u8], kind: ImageType) -> std::io::Result<String> {
        let staged_id = uuid::Uuid::now_v7().to_string();
        let mut upload = self
            .staged_images()
            .open_upload_stream(format!("{staged_id}.{}", kind.extension()))
            .id(Bson::String(staged_id.clone()))
            .await
            .map_err(std::io::Error::other)?;
        upload.write_all(bytes).await?;
        upload.close().await?;
        Ok(staged_id)
    }

    /// The staged bytes under `staged_id`.
    pub async fn read_staged(&self, staged_id: &str) -> mongodb::error::Result<Staged> {
        let mut stream = match self
            .staged_images()
            .open_download_stream(Bson::String(staged_id.to_string()))
            .await
        {
            Ok(stream) => stream,
            Err(err) if not_found(&err) => return Ok(Staged::Missing),
            Err(err) => return Err(err),
        };
        let mut bytes = Vec::new();
        match stream.read_to_end(&mut bytes).await {
            Ok(_) => Ok(Staged::Present(bytes)),
            Err(err) => match err
                .get_ref()
                .and_then(|e| e.downcast_ref::<mongodb::error::Error>())
            {
                Some(e) if matches!(e.kind.as_ref(), ErrorKind::GridFs(_)) => Ok(Staged::Damaged(e.clone())),
                Some(e) => Err(e.clone()),
                // The connection failed mid-read: an I/O error, worth retrying.
                None => Err(err.into()),
            },
        }
    }

    /// Deletes what is staged under `staged_id`. Best effort: a staged blob left behind is
    /// only wasted space.
    pub async fn unstage(&self, staged_id: &str) {
        match self
            .staged_images()
            .delete(Bson::String(staged_id.to_string()))
            .await
        {
            Ok(()) => {}
            Err(err) if not_found(&err) => {}
            Err(err) => tracing::warn!(staged_id, error = %err, "could not delete a staged image"),
        }
    }
}
