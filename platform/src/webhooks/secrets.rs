//! Endpoint secrets at rest. Signing needs the secret itself, so it cannot be hashed: it is
//! sealed with ChaCha20-Poly1305 under the deployment's webhook key (`OMS_WEBHOOK_SECRETS_KEY`,
//! by default derived from `OMS_JWT_SECRET`), with a fresh random nonce per secret. A copy of
//! the database alone reveals no secret; the key never reaches the store.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chacha20poly1305::aead::{Aead, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, KeyInit, Nonce};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};

/// Binds a sealed value to its use: it cannot be passed off as another kind of secret.
const AAD: &[u8] = b"oms webhook secret v1";
const NONCE_LEN: usize = 12;

#[derive(Clone)]
pub struct SealKey(ChaCha20Poly1305);

#[derive(Debug, thiserror::Error)]
pub enum SealError {
    #[error("the webhook secrets key is not 32 bytes of hex")]
    BadKey,
    #[error("a sealed secret does not open with this deployment's key")]
    Unreadable,
}

impl SealKey {
    /// The key from its hex form (as configuration holds it).
    pub fn from_hex(hex_key: &SecretString) -> Result<Self, SealError> {
        let bytes = hex::decode(hex_key.expose_secret()).map_err(|_| SealError::BadKey)?;
        let key = Key::try_from(bytes.as_slice()).map_err(|_| SealError::BadKey)?;
        Ok(Self(ChaCha20Poly1305::new(&key)))
    }

    pub fn seal(&self, secret: &str) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let payload = Payload {
            msg: secret.as_bytes(),
            aad: AAD,
        };
        // Encryption of a short message in memory cannot fail.
        let sealed = self.0.encrypt(&Nonce::from(nonce), payload).unwrap_or_default();
        STANDARD.encode([nonce.as_slice(), sealed.as_slice()].concat())
    }

    pub fn open(&self, sealed: &str) -> Result<SecretString, SealError> {
        let bytes = STANDARD.decode(sealed).map_err(|_| SealError::Unreadable)?;
        if bytes.len() <= NONCE_LEN {
            return Err(SealError::Unreadable);
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
        let nonce = Nonce::try_from(nonce).map_err(|_| SealError::Unreadable)?;
        let plain = self
            .0
            .decrypt(
                &nonce,
                Payload {
                    msg: ciphertext,
                    aad: AAD,
                },
            )
            .map_err(|_| SealError::Unreadable)?;
        String::from_utf8(plain)
            .map(SecretString::from)
            .map_err(|_| SealError::Unreadable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> SealKey {
        SealKey::from_hex(&SecretString::from(hex::encode([byte; 32]))).expect("key")
    }

    #[test]
    fn a_sealed_secret_opens_only_with_its_key() {
        let sealed = key(1).seal("whsec_abc");
        assert!(!sealed.contains("whsec_abc"));
        assert_eq!(key(1).open(&sealed).expect("open").expose_secret(), "whsec_abc");
        assert!(key(2).open(&sealed).is_err());
        assert_ne!(sealed, key(1).seal("whsec_abc"), "nonces repeat");
    }
}
