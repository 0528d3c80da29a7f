//! The server's data key and what is derived from it: the key that turns verification codes into HMACs, and
//! the key that seals write-side secrets (bank account numbers, and each person's own key) with AES-256-GCM.
//! The data key comes from `LEARNLOG_DATA_KEY`, or is made once in the data folder; it never leaves the
//! process, and no event, log line or answer carries anything derived from it but digests and ciphertexts.
//!
//! Crypto-shredding: every person has a key of their own ([`UserKey`], kept sealed in `user_keys`) that seals
//! the personal fields of their events before they are stored. The [`KeyRing`] seals on the write side and
//! opens on the read side; deleting a person's key erases their personal data from every copy at once.

use std::collections::HashMap;
use std::sync::Arc;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use database::Database;
use events::{Event, Personal};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use uuid::Uuid;

use crate::append::{SideWrite, SqlValue};
use crate::feed::ReadError;

type HmacSha256 = Hmac<Sha256>;

/// Bytes of the random nonce stored before each ciphertext.
const NONCE_LEN: usize = 12;

/// The keys derived from the server's data key.
#[derive(Clone)]
pub struct DataKey {
    labels: [u8; 32],
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
            labels: derive("learnlog/v1/labels"),
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

    /// A keyed label of `text` for `purpose` (hex HMAC-SHA256): stands for a value that must not appear in
    /// clear (an email address in a stream id), or signs one (an unsubscribe link), and means nothing without
    /// the server's key.
    pub fn label(&self, purpose: &str, text: &str) -> String {
        self.label_mac(purpose, text).finalize().into_bytes().iter().map(|byte| format!("{byte:02x}")).collect()
    }

    /// Whether `candidate` is the label of `text` for `purpose`, compared in constant time.
    pub fn is_label(&self, purpose: &str, text: &str, candidate: &str) -> bool {
        let bytes: Option<Vec<u8>> = (0..candidate.len())
            .step_by(2)
            .map(|at| candidate.get(at..at + 2).and_then(|pair| u8::from_str_radix(pair, 16).ok()))
            .collect();
        bytes.is_some_and(|bytes| hmac::Mac::verify_slice(self.label_mac(purpose, text), &bytes).is_ok())
    }

    fn label_mac(&self, purpose: &str, text: &str) -> HmacSha256 {
        let mut mac = <HmacSha256 as hmac::KeyInit>::new_from_slice(&self.labels)
            .unwrap_or_else(|_| unreachable!("HMAC takes any key"));
        hmac::Mac::update(&mut mac, purpose.as_bytes());
        hmac::Mac::update(&mut mac, &[0]);
        hmac::Mac::update(&mut mac, text.as_bytes());
        mac
    }

    /// Seals `plaintext` for `owner`: a random nonce, then AES-256-GCM with the owner's id as associated data,
    /// so a sealed value copied to another owner's row does not open.
    pub fn seal(&self, plaintext: &str, owner: Uuid) -> Vec<u8> {
        seal_bytes(&self.sealing, plaintext.as_bytes(), owner)
    }

    /// Opens what [`DataKey::seal`] sealed for `owner`.
    pub fn open(&self, sealed: &[u8], owner: Uuid) -> Result<String, Unsealable> {
        open_bytes(&self.sealing, sealed, owner).and_then(|plain| String::from_utf8(plain).ok()).ok_or(Unsealable)
    }
}

/// A random nonce, then `message` sealed with AES-256-GCM, `owner`'s id as associated data: a sealed value
/// copied to another owner's row does not open.
fn seal_bytes(cipher: &Aes256Gcm, message: &[u8], owner: Uuid) -> Vec<u8> {
    let mut nonce = [0_u8; NONCE_LEN];
    rand::rng().fill_bytes(&mut nonce);
    let payload = Payload { msg: message, aad: owner.as_bytes() };
    let ciphertext = cipher
        .encrypt(Nonce::from_slice(&nonce), payload)
        .unwrap_or_else(|_| unreachable!("AES-GCM seals any message of this size"));
    [nonce.as_slice(), &ciphertext].concat()
}

/// What [`seal_bytes`] sealed for `owner` with `cipher`; `None` if it was not.
fn open_bytes(cipher: &Aes256Gcm, sealed: &[u8], owner: Uuid) -> Option<Vec<u8>> {
    let (nonce, ciphertext) = sealed.split_at_checked(NONCE_LEN)?;
    cipher.decrypt(Nonce::from_slice(nonce), Payload { msg: ciphertext, aad: owner.as_bytes() }).ok()
}

/// People's keys as read for one batch of a projector: present, or `None` once erased.
#[derive(Default)]
pub struct KeyCache(HashMap<Uuid, Option<UserKey>>);

impl std::fmt::Debug for KeyCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "KeyCache({} people)", self.0.len())
    }
}

/// A person's own key: it seals the personal fields of their events, bound to their id.
#[derive(Clone)]
pub struct UserKey {
    user_id: Uuid,
    cipher: Aes256Gcm,
}

impl std::fmt::Debug for UserKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "UserKey({}, ..)", self.user_id)
    }
}

impl UserKey {
    /// A new random key for `user_id`, with its raw bytes (to be kept sealed with the data key).
    pub(crate) fn random(user_id: Uuid) -> (UserKey, [u8; 32]) {
        let mut raw = [0_u8; 32];
        rand::rng().fill_bytes(&mut raw);
        let key = UserKey::from_bytes(user_id, &raw).unwrap_or_else(|| unreachable!("32 bytes make a key"));
        (key, raw)
    }

    fn from_bytes(user_id: Uuid, bytes: &[u8]) -> Option<UserKey> {
        (bytes.len() == 32).then(|| UserKey { user_id, cipher: Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(bytes)) })
    }

    /// `text` sealed: base64url of a random nonce and the AES-256-GCM ciphertext, the owner's id as
    /// associated data.
    pub fn seal(&self, text: &str) -> String {
        URL_SAFE_NO_PAD.encode(seal_bytes(&self.cipher, text.as_bytes(), self.user_id))
    }

    /// What [`UserKey::seal`] sealed; `None` if it was not sealed with this key.
    pub fn open(&self, sealed: &str) -> Option<String> {
        let bytes = URL_SAFE_NO_PAD.decode(sealed).ok()?;
        String::from_utf8(open_bytes(&self.cipher, &bytes, self.user_id)?).ok()
    }

    /// Seals every clear personal field of `event` (which must be this person's).
    pub fn seal_event(&self, event: &mut Event) {
        let Some((owner, fields)) = event.personal_mut() else { return };
        debug_assert_eq!(owner, self.user_id, "a person's data is sealed with their own key");
        for field in fields {
            if let Personal::Clear(text) = field {
                *field = Personal::Sealed(self.seal(text));
            }
        }
    }
}

/// Where people's keys are kept (`user_keys`, in the store's database, each sealed with the data key), and
/// the one way to seal and open personal data.
#[derive(Debug, Clone)]
pub struct KeyRing {
    store: Database,
    data_key: Arc<DataKey>,
}

impl KeyRing {
    pub fn new(store: Database, data_key: Arc<DataKey>) -> Self {
        KeyRing { store, data_key }
    }

    /// The event store the keys are kept in (and the events they seal).
    pub fn store(&self) -> &Database {
        &self.store
    }

    /// The key of `user_id`; `None` once erased (or for an account made before keys existed).
    pub async fn key(&self, user_id: Uuid) -> Result<Option<UserKey>, ReadError> {
        let client = self.store.pool().get().await?;
        let row = client.query_opt("SELECT sealed_key FROM user_keys WHERE user_id = $1", &[&user_id]).await?;
        let Some(row) = row else { return Ok(None) };
        let sealed: Vec<u8> = row.try_get(0)?;
        let raw = open_bytes(&self.data_key.sealing, &sealed, user_id);
        match raw.and_then(|raw| UserKey::from_bytes(user_id, &raw)) {
            Some(key) => Ok(Some(key)),
            None => Err(ReadError::ForeignKey { user_id }),
        }
    }

    /// A new key for `user_id`, and the side write that keeps it (with the append that first uses it).
    pub fn new_key(&self, user_id: Uuid) -> (UserKey, SideWrite) {
        let (key, raw) = UserKey::random(user_id);
        let keep = SideWrite::new(
            "INSERT INTO user_keys (user_id, sealed_key) VALUES ($1, $2)",
            vec![SqlValue::Uuid(user_id), SqlValue::Bytes(seal_bytes(&self.data_key.sealing, &raw, user_id))],
        );
        (key, keep)
    }

    /// The side write that erases `user_id`'s personal data everywhere: their key goes.
    pub fn forget(user_id: Uuid) -> SideWrite {
        SideWrite::new("DELETE FROM user_keys WHERE user_id = $1", vec![SqlValue::Uuid(user_id)])
    }

    /// Seals the personal fields of `events` with their owners' keys, making a key (and the side write that
    /// keeps it, pushed onto `side_writes`) for an owner who has none yet.
    pub async fn seal(&self, events: &mut [Event], side_writes: &mut Vec<SideWrite>) -> Result<(), ReadError> {
        let mut keys: HashMap<Uuid, UserKey> = HashMap::new();
        for event in events.iter_mut() {
            let Some((owner, _)) = event.personal_mut() else { continue };
            let key = match keys.get(&owner) {
                Some(key) => key.clone(),
                None => {
                    let key = match self.key(owner).await? {
                        Some(key) => key,
                        None => {
                            let (key, keep) = self.new_key(owner);
                            side_writes.push(keep);
                            key
                        }
                    };
                    keys.insert(owner, key.clone());
                    key
                }
            };
            key.seal_event(event);
        }
        Ok(())
    }

    /// Opens the sealed personal fields of `event`; a field whose owner's key is gone becomes
    /// [`Personal::Erased`].
    pub async fn open(&self, event: &mut Event) -> Result<(), ReadError> {
        self.open_cached(event, &mut KeyCache::default()).await
    }

    /// Like [`KeyRing::open`], reading each person's key once into `cache` (a projector's batch, one
    /// transaction, meets the same people many times).
    pub async fn open_cached(&self, event: &mut Event, cache: &mut KeyCache) -> Result<(), ReadError> {
        let Some((owner, fields)) = event.personal_mut() else { return Ok(()) };
        if !fields.iter().any(|field| matches!(field, Personal::Sealed(_))) {
            return Ok(());
        }
        let key = match cache.0.get(&owner) {
            Some(key) => key.clone(),
            None => {
                let key = self.key(owner).await?;
                cache.0.insert(owner, key.clone());
                key
            }
        };
        let Some((_, fields)) = event.personal_mut() else { return Ok(()) };
        for field in fields {
            if let Personal::Sealed(sealed) = field {
                *field = match key.as_ref().and_then(|key| key.open(sealed)) {
                    Some(text) => Personal::Clear(text),
                    None => Personal::Erased,
                };
            }
        }
        Ok(())
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
        let label = key.label("unsubscribe", "abc");
        assert!(key.is_label("unsubscribe", "abc", &label));
        assert!(!key.is_label("unsubscribe", "abd", &label) && !key.is_label("other", "abc", &label));
        assert!(!DataKey::random().is_label("unsubscribe", "abc", &label) && !key.is_label("unsubscribe", "abc", "zz"));
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
