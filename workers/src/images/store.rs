//! Where product images end up: the small [`ImageStore`] trait the image worker talks to, its
//! error classification, and the local store (files under the media directory, served by the
//! API at `/media/`).

use std::io::ErrorKind;
use std::path::PathBuf;

use anyhow::Context as _;
use bytes::Bytes;
use futures_util::future::BoxFuture;
use oms_contracts::domain::ImageType;
use tokio::io::AsyncWriteExt;

/// An image the store has accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredImage {
    /// Where clients fetch it.
    pub url: String,
    /// The store's own id for it, to delete it when it is replaced.
    pub store_id: String,
    /// The size the store reports, when it reports one.
    pub width: Option<u32>,
    pub height: Option<u32>,
}

/// How a store operation failed; the worker retries the first kind and records the second.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// May go away by itself (timeout, connection refused, 5xx, rate limited): retry later.
    #[error("{0:#}")]
    Transient(anyhow::Error),
    /// Will fail again however often it is tried; the message is meant for an admin.
    #[error("{0:#}")]
    Permanent(anyhow::Error),
}

/// A place to keep product images. `put` stores a new object under a fresh id (never
/// overwriting another); `delete` is idempotent (deleting what is not there succeeds).
pub trait ImageStore: Send + Sync + 'static {
    fn put(&self, bytes: Bytes, kind: ImageType) -> BoxFuture<'_, Result<StoredImage, StoreError>>;

    fn delete<'a>(&'a self, store_id: &'a str) -> BoxFuture<'a, Result<(), StoreError>>;
}

/// Files under `media_dir`, named by a random UUID (not guessable from the product), served
/// by the API at `/media/<name>`.
pub struct LocalStore {
    media_dir: PathBuf,
}

impl LocalStore {
    pub fn new(media_dir: PathBuf) -> Self {
        Self { media_dir }
    }

    async fn write(&self, bytes: Bytes, kind: ImageType) -> Result<StoredImage, StoreError> {
        let id = uuid::Uuid::new_v4().simple();
        let name = format!("{id}.{}", kind.extension());
        let dir = &self.media_dir;
        tokio::fs::create_dir_all(dir)
            .await
            .with_context(|| format!("cannot create the media directory {}", dir.display()))
            .map_err(StoreError::Transient)?;
        // Written under a temporary name in the same directory, flushed, then renamed: the
        // API never serves a half-written file, and a crash leaves only a stray temp file.
        let temp = dir.join(format!(".{id}.tmp"));
        let target = dir.join(&name);
        let written = async {
            let mut file = tokio::fs::File::create(&temp).await?;
            file.write_all(&bytes).await?;
            file.sync_all().await?;
            drop(file);
            tokio::fs::rename(&temp, &target).await
        }
        .await;
        if let Err(err) = written {
            let _ = tokio::fs::remove_file(&temp).await;
            return Err(StoreError::Transient(
                anyhow::Error::new(err).context(format!("cannot write {}", target.display())),
            ));
        }
        Ok(StoredImage {
            url: format!("/media/{name}"),
            store_id: name,
            width: None,
            height: None,
        })
    }

    async fn remove(&self, store_id: &str) -> Result<(), StoreError> {
        // The id comes from the database: never let it name a file outside the media directory.
        let plain = !store_id.is_empty()
            && !store_id.starts_with('.')
            && store_id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '_');
        if !plain {
            return Err(StoreError::Permanent(anyhow::anyhow!(
                "{store_id:?} is not a media file name"
            )));
        }
        match tokio::fs::remove_file(self.media_dir.join(store_id)).await {
            Ok(()) => Ok(()),
            Err(err) if err.kind() == ErrorKind::NotFound => Ok(()),
            Err(err) => Err(StoreError::Transient(
                anyhow::Error::new(err).context(format!("cannot delete media file {store_id}")),
            )),
        }
    }
}

impl ImageStore for LocalStore {
    fn put(&self, bytes: Bytes, kind: ImageType) -> BoxFuture<'_, Result<StoredImage, StoreError>> {
        Box::pin(self.write(bytes, kind))
    }

    fn delete<'a>(&'a self, store_id: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(self.remove(store_id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir() -> PathBuf {
        std::env::temp_dir().join(format!("oms-local-store-{}", uuid::Uuid::new_v4().simple()))
    }

    #[tokio::test]
    async fn local_files_get_random_names_and_are_deleted_once() {
        let dir = temp_dir();
        let store = LocalStore::new(dir.clone());
        let a = store
            .put(Bytes::from_static(b"png bytes"), ImageType::Png)
            .await
            .expect("put");
        let b = store
            .put(Bytes::from_static(b"png bytes"), ImageType::Png)
            .await
            .expect("put");
        assert_ne!(a.store_id, b.store_id, "every put is a new file");
        assert!(
            a.store_id.ends_with(".png") && a.store_id.len() == 36,
            "{}",
            a.store_id
        );
        assert_eq!(a.url, format!("/media/{}", a.store_id));
        assert_eq!(std::fs::read(dir.join(&a.store_id)).expect("read"), b"png bytes");
        let leftovers = std::fs::read_dir(&dir)
            .expect("dir")
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            .count();
        assert_eq!(leftovers, 0, "no temporary files remain");

        store.delete(&a.store_id).await.expect("delete");
        store.delete(&a.store_id).await.expect("deleting twice is fine");
        assert!(!dir.join(&a.store_id).exists());
        assert!(dir.join(&b.store_id).exists());
        let _ = std::fs::remove_dir_all(dir);
    }

    #[tokio::test]
    async fn local_store_refuses_names_outside_its_directory() {
        let store = LocalStore::new(temp_dir());
        for bad in ["../etc/passwd", "/etc/passwd", "", ".hidden", "a/b.png"] {
            assert!(
                matches!(store.delete(bad).await, Err(StoreError::Permanent(_))),
                "{bad:?}"
            );
        }
    }
}
