//! Password hashing with Argon2id (the `argon2` crate's defaults: m=19 MiB, t=2, p=1,
//! OWASP's recommendation). Hashing is CPU-bound, so it runs on the blocking pool.
//!
//! Memory: each hash works in 19 MiB. Allocated per hash, that memory ends up retained by
//! whichever thread's allocator arena served it (32 sign-ups at once measured 700 MB of
//! resident memory that never came back). So hashes run at most one per core at a time, each in
//! one of a few work areas allocated once and reused: the process's whole cost for passwords
//! is one work area per core, whatever the load, and a burst waits instead of growing memory.

use std::sync::{Mutex, OnceLock};

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use rand::RngCore;
use subtle::ConstantTimeEq;
use tokio::sync::Semaphore;

use crate::error::ApiError;

/// The parameters new hashes use.
fn params() -> Params {
    Params::default()
}

/// Work areas for hashes with the default parameters, and the right to use one.
struct Pool {
    slots: Semaphore,
    areas: Mutex<Vec<Vec<Block>>>,
}

fn pool() -> &'static Pool {
    static POOL: OnceLock<Pool> = OnceLock::new();
    POOL.get_or_init(|| Pool {
        slots: Semaphore::new(std::thread::available_parallelism().map_or(2, |n| n.get())),
        areas: Mutex::new(Vec::new()),
    })
}

/// Runs `work` on the blocking pool with a work area of `blocks` blocks (from the pool when it
/// is the default size), at most one per core at a time.
async fn with_area<T: Send + 'static>(
    blocks: usize,
    work: impl FnOnce(&mut [Block]) -> T + Send + 'static,
) -> Result<T, ApiError> {
    let pool = pool();
    let _slot = pool
        .slots
        .acquire()
        .await
        .map_err(|e| anyhow::anyhow!("password hashing is closed: {e}"))?;
    let pooled = blocks == params().block_count();
    tokio::task::spawn_blocking(move || {
        let mut area = pooled
            .then(|| pool.areas.lock().ok().and_then(|mut areas| areas.pop()))
            .flatten()
            .unwrap_or_else(|| vec![Block::default(); blocks]);
        let result = work(&mut area);
        if pooled && let Ok(mut areas) = pool.areas.lock() {
            areas.push(area);
        }
        result
    })
    .await
    .map_err(|e| ApiError::Internal(anyhow::anyhow!("password hashing task failed: {e}")))
}

fn argon2(algorithm: Algorithm, version: Version, params: Params) -> Argon2<'static> {
    Argon2::new(algorithm, version, params)
}

/// A new Argon2id hash of `password`, as a PHC string.
pub async fn hash(password: String) -> Result<String, ApiError> {
    let mut salt = [0u8; Salt::RECOMMENDED_LENGTH];
    rand::rng().fill_bytes(&mut salt);
    let params = params();
    let result = with_area(params.block_count(), move |area| {
        let salt = Salt::new(&salt).map_err(|e| anyhow::anyhow!("salt: {e}"))?;
        let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
        argon2(Algorithm::Argon2id, Version::V0x13, params.clone())
            .hash_password_into_with_memory(password.as_bytes(), salt.as_ref(), &mut out, area)
            .map_err(|e| anyhow::anyhow!("hashing a password failed: {e}"))?;
        let hash = PasswordHash {
            algorithm: Algorithm::Argon2id.ident(),
            version: Some(Version::V0x13.into()),
            params: ParamsString::try_from(&params).map_err(|e| anyhow::anyhow!("params: {e}"))?,
            salt: Some(salt),
            hash: Some(Output::new(&out).map_err(|e| anyhow::anyhow!("output: {e}"))?),
        };
        Ok::<_, anyhow::Error>(hash.to_string())
    })
    .await?;
    result.map_err(ApiError::Internal)
}

/// Verifies `password` against `stored` (a PHC string). For an unknown user pass `None`:
/// the same work is done against a dummy hash, so response times do not reveal which
/// e-mail addresses have accounts.
pub async fn verify(password: String, stored: Option<String>) -> Result<bool, ApiError> {
    let known = stored.is_some();
    let stored = match stored {
        Some(stored) => stored,
        None => dummy_hash().await?,
    };
    let Ok(parsed) = PasswordHash::new(&stored) else {
        return Ok(false);
    };
    let (Ok(algorithm), Ok(params), Some(salt), Some(expected)) = (
        Algorithm::try_from(parsed.algorithm.as_str()),
        Params::try_from(&parsed),
        parsed.salt,
        parsed.hash,
    ) else {
        return Ok(false);
    };
    let version = parsed
        .version
        .and_then(|v| Version::try_from(v).ok())
        .unwrap_or(Version::V0x13);
    let matches = with_area(params.block_count(), move |area| {
        let mut out = vec![0u8; expected.len()];
        argon2(algorithm, version, params)
            .hash_password_into_with_memory(password.as_bytes(), salt.as_ref(), &mut out, area)
            .is_ok_and(|()| bool::from(out.as_slice().ct_eq(expected.as_bytes())))
    })
    .await?;
    Ok(matches && known)
}

async fn dummy_hash() -> Result<String, ApiError> {
    static DUMMY: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    DUMMY
        .get_or_try_init(|| hash("not a real password, only here to spend the same time".into()))
        .await
        .cloned()
}

#[cfg(test)]
mod tests {
    use argon2::password_hash::PasswordHasher;

    use super::*;

    #[tokio::test]
    async fn hashes_are_argon2id_and_verify() {
        let stored = hash("correct horse battery".into()).await.expect("hash");
        assert!(stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(
            verify("correct horse battery".into(), Some(stored.clone()))
                .await
                .expect("verify")
        );
        assert!(
            !verify("wrong horse battery".into(), Some(stored))
                .await
                .expect("verify")
        );
    }

    #[tokio::test]
    async fn hashes_made_by_the_argon2_crate_itself_verify_and_vice_versa() {
        // Another implementation's hash (other parameters too) verifies here, and ours there.
        let theirs = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(8192, 3, 1, None).expect("params"),
        )
        .hash_password(b"pa55word!")
        .expect("hash")
        .to_string();
        assert!(
            verify("pa55word!".into(), Some(theirs.clone()))
                .await
                .expect("verify")
        );
        assert!(!verify("pa55word?".into(), Some(theirs)).await.expect("verify"));
        let ours = hash("pa55word!".into()).await.expect("hash");
        let parsed = PasswordHash::new(&ours).expect("a PHC string");
        assert!(
            argon2::password_hash::PasswordVerifier::verify_password(
                &Argon2::default(),
                b"pa55word!",
                &parsed
            )
            .is_ok()
        );
    }

    #[tokio::test]
    async fn unknown_users_never_verify() {
        assert!(
            !verify(
                "not a real password, only here to spend the same time".into(),
                None
            )
            .await
            .expect("verify")
        );
    }

    #[tokio::test]
    async fn malformed_hashes_do_not_verify() {
        for stored in ["", "plain text", "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$"] {
            assert!(
                !verify("x".into(), Some(stored.to_string()))
                    .await
                    .expect("verify")
            );
        }
    }
}
