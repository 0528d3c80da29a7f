//! The server's data key and what is derived from it: the key that turns verification codes into HMACs, and
//! the key that seals write-side secrets (bank account numbers) with AES-256-GCM. The data key comes from
//! `LEARNLOG_DATA_KEY`, or is made once in the data folder; it never leaves the process, and no event, log
//! line or answer carries anything derived from it but digests and ciphertexts.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use uuid::Uuid;

type HmacSha256 = Hmac<Sha256>;

/// Bytes of the random nonce stored before each ciphertext.
const NONCE_LEN: usize = 12;

/// The keys derived from the server's data key.
#[derive(Clone)]
pub struct DataKey {
    codes: [u8; 32],
    sealing: Aes256Gcm,
}

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataKey(..)")
    }
}

/// A sealed value that does not open with this key for this owner: tampered with, moved, or sealed under
/// another data key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a sealed value does not open with this data key")]
pub struct Unsealable;

impl DataKey {
    /// Derives the keys from `secret` (at least 32 bytes of entropy), one per purpose, so that no two uses
    /// share a key.
    pub fn from_secret(secret: &[u8]) -> DataKey {
        let derive = |purpose: &str| -> [u8; 32] {
            let mut mac = <HmacSha256 as hmac::KeyInit>::new_from_slice(secret)
                .unwrap_or_else(|_| unreachable!("HMAC takes any key"));
            mac.update(purpose.as_bytes());
            mac.finalize().into_bytes().into()
        };
        let sealing = derive("learnlog/v1/sealing");
        DataKey {
            codes: derive("learnlog/v1/verification-codes"),
            sealing: Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&sealing)),
        }
    }

    /// A key nobody else has, for tests.
    pub fn random() -> DataKey {
        let mut secret = [0_u8; 32];
        rand::rng().fill_bytes(&mut secret);
        DataKey::from_secret(&secret)
    }

    /// The stored form of a verification code for `user_id`: hex HMAC-SHA256 under the server's key, so a
    /// leaked table cannot be brute-forced over the million six-digit codes without the key.
    pub fn code_digest(&self, user_id: Uuid, code: &str) -> String {
        let mut mac = <HmacSha256 as hmac::KeyInit>::new_from_slice(&self.codes)
            .unwrap_or_else(|_| unreachable!("HMAC takes any key"));
        mac.update(user_id.as_bytes());
        mac.update(code.as_bytes());
        mac.finalize().into_bytes().iter().map(|byte| format!("{byte:02x}")).collect()
    }

    /// Seals `plaintext` for `owner`: a random nonce, then AES-256-GCM with the owner's id as associated data,
    /// so a sealed value copied to another owner's row does not open.
    pub fn seal(&self, plaintext: &str, owner: Uuid) -> Vec<u8> {
        let mut nonce = [0_u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let payload = Payload { msg: plaintext.as_bytes(), aad: owner.as_bytes() };
        let ciphertext = self
            .sealing
            .encrypt(Nonce::from_slice(&nonce), payload)
            .unwrap_or_else(|_| unreachable!("AES-GCM seals any message of this size"));
        [nonce.as_slice(), &ciphertext].concat()
    }

    /// Opens what [`DataKey::seal`] sealed for `owner`.
    pub fn open(&self, sealed: &[u8], owner: Uuid) -> Result<String, Unsealable> {
        if sealed.len() < NONCE_LEN {
            return Err(Unsealable);
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
        let payload = Payload { msg: ciphertext, aad: owner.as_bytes() };
        let plaintext = self.sealing.decrypt(Nonce::from_slice(nonce), payload).map_err(|_| Unsealable)?;
        String::from_utf8(plaintext).map_err(|_| Unsealable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_value_opens_for_its_owner_only_and_hides_the_plaintext() {
        let key = DataKey::random();
        let (owner, other) = (Uuid::now_v7(), Uuid::now_v7());
        let sealed = key.seal("DE89370400440532013000", owner);
        assert!(!sealed.windows(4).any(|w| w == b"8937"), "the plaintext shows through");
        assert_eq!(key.open(&sealed, owner).as_deref(), Ok("DE89370400440532013000"));
        assert_eq!(key.open(&sealed, other), Err(Unsealable));
        assert_ne!(sealed, key.seal("DE89370400440532013000", owner), "a fresh nonce each time");
        let mut tampered = sealed.clone();
        tampered[NONCE_LEN] ^= 1;
        assert_eq!(key.open(&tampered, owner), Err(Unsealable));
        assert_eq!(DataKey::random().open(&sealed, owner), Err(Unsealable), "another data key");
        assert_eq!(key.open(&sealed[..5], owner), Err(Unsealable));
    }

    #[test]
    fn code_digests_depend_on_the_key_the_account_and_the_code() {
        let key = DataKey::from_secret(b"0123456789abcdef0123456789abcdef");
        let user = Uuid::now_v7();
        let digest = key.code_digest(user, "123456");
        assert_eq!(digest.len(), 64);
        assert_eq!(digest, DataKey::from_secret(b"0123456789abcdef0123456789abcdef").code_digest(user, "123456"));
        assert_ne!(digest, key.code_digest(user, "123457"));
        assert_ne!(digest, key.code_digest(Uuid::now_v7(), "123456"));
        assert_ne!(digest, DataKey::random().code_digest(user, "123456"));
    }
}
