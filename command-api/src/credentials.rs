//! The write side's credentials and what identity commands load from them before deciding: passwords as
//! argon2id hashes, refresh tokens and reset links as SHA-256 digests, verification codes as HMACs under
//! the data key; and which enrolment a refund or access request belongs to. Only reads live here, and the work of
//! hashing; every rule is decided in the deciders and every write is a side write of an append
//! (`side_writes`).

use argon2::password_hash::rand_core::{OsRng, RngCore};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use database::Database;
use events::Role;
use rand::Rng;
use sha2::{Digest, Sha256};
use time::{Duration, OffsetDateTime};
use tokio_postgres::Row;
use uuid::Uuid;

use crate::domain::account::{MailedCode, MailedLink, PendingVerification, ResetLink};
use event_store::keys::DataKey;

/// How long a verification code and a reset link stay valid.
pub const CODE_TTL: Duration = Duration::minutes(30);
pub const RESET_TTL: Duration = Duration::minutes(30);

/// The write side could not be read or a password could not be hashed; nothing was changed.
#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    #[error("the credentials store is unavailable: {0}")]
    Unavailable(String),
    #[error("password hashing failed: {0}")]
    Hashing(String),
    /// Every hashing thread is taken and the queue is full: nothing was checked or changed.
    #[error("password hashing is busy")]
    Busy,
}

fn unavailable(error: impl std::fmt::Display) -> CredentialsError {
    CredentialsError::Unavailable(error.to_string())
}

/// argon2id with the crate's recommended parameters, on the hashing threads ([`hashing`]).
pub async fn hash_password(password: String) -> Result<String, CredentialsError> {
    hashing::run(move |memory| hashing::hash(password.as_bytes(), memory)).await?
}

/// Whether `password` matches the stored argon2 `hash`, checked on the hashing threads; `Err` only when they are
/// busy (nothing was checked).
pub async fn password_matches(password: String, hash: String) -> Result<bool, CredentialsError> {
    hashing::run(move |memory| hashing::verify(password.as_bytes(), &hash, memory)).await
}

/// Password hashing on a few threads of its own, each with its argon2 memory (19 MiB) kept and reused: a flood of
/// sign-ups or logins waits in a bounded queue, then is refused as busy, instead of taking a thread and fresh
/// memory each from tokio's blocking pool (hundreds of threads, gigabytes the allocator keeps).
pub mod hashing {
    use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
    use std::sync::{Arc, Mutex, OnceLock};

    use argon2::password_hash::rand_core::OsRng;
    use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
    use argon2::{Algorithm, Argon2, Block, Params, Version};

    use super::CredentialsError;

    /// Hashing threads: two cores' worth, so logins and sign-ups leave the rest of the machine to everything else.
    pub const THREADS: usize = 2;
    /// Hashes that may wait for a thread; one more is refused as busy.
    pub const QUEUE: usize = 64;

    type Job = Box<dyn FnOnce(&mut Vec<Block>) + Send>;

    fn jobs() -> &'static SyncSender<Job> {
        static JOBS: OnceLock<SyncSender<Job>> = OnceLock::new();
        JOBS.get_or_init(|| {
            let (sender, receiver) = sync_channel::<Job>(QUEUE);
            let receiver = Arc::new(Mutex::new(receiver));
            for n in 0..THREADS {
                let receiver = Arc::clone(&receiver);
                let spawned =
                    std::thread::Builder::new().name(format!("password-hashing-{n}")).spawn(move || work(&receiver));
                if let Err(error) = spawned {
                    tracing::error!(%error, "a password hashing thread could not start");
                }
            }
            sender
        })
    }

    fn work(receiver: &Mutex<Receiver<Job>>) {
        let mut memory = vec![Block::default(); Params::DEFAULT.block_count()];
        loop {
            let job = match receiver.lock() {
                Ok(receiver) => receiver.recv(),
                Err(_) => return,
            };
            match job {
                Ok(job) => job(&mut memory),
                Err(_) => return,
            }
        }
    }

    /// Runs `job` on a hashing thread with that thread's memory; `Busy` when the queue is full.
    pub async fn run<T: Send + 'static>(
        job: impl FnOnce(&mut Vec<Block>) -> T + Send + 'static,
    ) -> Result<T, CredentialsError> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |memory| {
            let _ = reply.send(job(memory));
        });
        match jobs().try_send(job) {
            Ok(()) => answer.await.map_err(|_| CredentialsError::Hashing("the hashing thread stopped".to_owned())),
            Err(TrySendError::Full(_)) => Err(CredentialsError::Busy),
            Err(TrySendError::Disconnected(_)) => Err(CredentialsError::Hashing("no hashing thread runs".to_owned())),
        }
    }

    /// A new argon2id hash of `password` in the PHC string format, as `Argon2::default().hash_password` makes it,
    /// computed in `memory`.
    pub fn hash(password: &[u8], memory: &mut [Block]) -> Result<String, CredentialsError> {
        let failed = |error: &dyn std::fmt::Display| CredentialsError::Hashing(error.to_string());
        let params = Params::DEFAULT;
        let salt = SaltString::generate(&mut OsRng);
        let mut salt_bytes = [0_u8; 64];
        let salt_bytes = salt.as_salt().decode_b64(&mut salt_bytes).map_err(|e| failed(&e))?;
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
        let output = Output::init_with(Params::DEFAULT_OUTPUT_LEN, |out| {
            argon2.hash_password_into_with_memory(password, salt_bytes, out, &mut memory[..]).map_err(Into::into)
        })
        .map_err(|e| failed(&e))?;
        let hash = PasswordHash {
            algorithm: Algorithm::Argon2id.ident(),
            version: Some(Version::V0x13.into()),
            params: ParamsString::try_from(&params).map_err(|e| failed(&e))?,
            salt: Some(salt.as_salt()),
            hash: Some(output),
        };
        Ok(hash.to_string())
    }

    /// Whether `password` hashes to the stored `hash` (its own algorithm and parameters), computed in `memory`
    /// (grown for a hash made with more); the comparison takes constant time.
    pub fn verify(password: &[u8], hash: &str, memory: &mut Vec<Block>) -> bool {
        let mut check = || -> Option<bool> {
            let parsed = PasswordHash::new(hash).ok()?;
            let algorithm = Algorithm::try_from(parsed.algorithm).ok()?;
            let version = parsed.version.map(Version::try_from).transpose().ok()?.unwrap_or_default();
            let params = Params::try_from(&parsed).ok()?;
            let expected = parsed.hash?;
            let mut salt_bytes = [0_u8; 64];
            let salt_bytes = parsed.salt?.decode_b64(&mut salt_bytes).ok()?;
            if memory.len() < params.block_count() {
                memory.resize(params.block_count(), Block::default());
            }
            let argon2 = Argon2::new(algorithm, version, params);
            let output = Output::init_with(expected.len(), |out| {
                argon2.hash_password_into_with_memory(password, salt_bytes, out, &mut memory[..]).map_err(Into::into)
            })
            .ok()?;
            Some(output == expected)
        };
        check().unwrap_or(false)
    }

    #[cfg(test)]
    mod tests {
        use super::*;
        use argon2::password_hash::{PasswordHasher, PasswordVerifier};

        #[test]
        fn hashes_are_the_crates_own_both_ways() {
            let mut memory = vec![Block::default(); Params::DEFAULT.block_count()];
            let ours = hash(b"correct horse battery", &mut memory).expect("hashes");
            let parsed = PasswordHash::new(&ours).expect("a PHC string");
            assert!(Argon2::default().verify_password(b"correct horse battery", &parsed).is_ok());
            assert!(Argon2::default().verify_password(b"another", &parsed).is_err());
            let salt = SaltString::generate(&mut OsRng);
            let theirs = Argon2::default().hash_password(b"correct horse battery", &salt).expect("hashes").to_string();
            assert!(verify(b"correct horse battery", &theirs, &mut memory));
            assert!(!verify(b"correct horse batterY", &theirs, &mut memory));
            assert!(!verify(b"anything", "not a hash", &mut memory));
            assert_ne!(hash(b"same", &mut memory).ok(), hash(b"same", &mut memory).ok(), "salted");
        }

        #[test]
        fn a_hash_made_with_more_memory_is_checked_with_more() {
            let params = Params::new(Params::DEFAULT_M_COST * 2, 1, 1, None).expect("valid");
            let salt = SaltString::generate(&mut OsRng);
            let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
            let bigger = argon2.hash_password(b"pw", &salt).expect("hashes").to_string();
            let mut memory = vec![Block::default(); Params::DEFAULT.block_count()];
            assert!(verify(b"pw", &bigger, &mut memory));
        }

        #[tokio::test]
        async fn a_full_queue_is_busy_and_nothing_waits_for_ever() {
            let (hold, held) = std::sync::mpsc::channel::<()>();
            let held = Arc::new(Mutex::new(held));
            // The threads held: of more jobs than the threads and the queue take, the rest are refused at once.
            let mut submitted = Vec::new();
            for _ in 0..THREADS + QUEUE + 4 {
                let held = Arc::clone(&held);
                submitted.push(tokio::spawn(run(move |_| {
                    let _ = held.lock().map(|held| held.recv());
                })));
            }
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            drop(hold);
            let mut busy = 0;
            for job in submitted {
                match tokio::time::timeout(std::time::Duration::from_secs(10), job).await {
                    Ok(Ok(Ok(()))) => {}
                    Ok(Ok(Err(CredentialsError::Busy))) => busy += 1,
                    other => panic!("a job neither ran nor was refused: {other:?}"),
                }
            }
            // The queue takes QUEUE; the threads take up to THREADS more, as soon as they are quick enough to.
            assert!((4..=4 + THREADS).contains(&busy), "{busy} refused");
        }
    }
}

/// Hex SHA-256 of a high-entropy secret (a refresh token, a reset token).
pub fn digest(secret: &str) -> String {
    Sha256::digest(secret.as_bytes()).iter().map(|byte| format!("{byte:02x}")).collect()
}

/// 256 random bits, URL-safe.
pub fn secret_token() -> String {
    let mut bytes = [0_u8; 32];
    OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A six-digit verification code (R21).
pub fn new_code() -> String {
    rand::rng().random_range(100_000..=999_999).to_string()
}

/// A new verification code for `user_id`, valid [`CODE_TTL`]: the code to mail, and its digest to keep.
pub fn mailed_code(key: &DataKey, user_id: Uuid) -> MailedCode {
    let code = new_code();
    MailedCode { digest: key.code_digest(user_id, &code), code, expires_at: expiry(CODE_TTL) }
}

/// A new single-use reset link to mail to `to`, valid [`RESET_TTL`], on the frontend at `link_base`.
pub fn mailed_link(link_base: &str, to: &str) -> MailedLink {
    let token = secret_token();
    MailedLink {
        to: to.to_owned(),
        url: format!("{}/reset-password?token={token}", link_base.trim_end_matches('/')),
        token_digest: digest(&token),
        expires_at: expiry(RESET_TTL),
    }
}

/// An account's credentials as a login finds them.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub user_id: Uuid,
    pub email: String,
    pub password_hash: String,
    pub role: Role,
    /// The generation of the account's sessions: access tokens are signed for it.
    pub session_generation: u32,
}

fn credentials(row: &Row) -> Result<Credentials, CredentialsError> {
    let role: String = row.try_get(3).map_err(unavailable)?;
    Ok(Credentials {
        user_id: row.try_get(0).map_err(unavailable)?,
        email: row.try_get(1).map_err(unavailable)?,
        password_hash: row.try_get(2).map_err(unavailable)?,
        role: Role::parse(&role).ok_or_else(|| unavailable(format!("a credential has an unknown role {role:?}")))?,
        session_generation: u32::try_from(row.try_get::<_, i32>(4).map_err(unavailable)?).unwrap_or_default(),
    })
}

const CREDENTIAL_COLUMNS: &str = "SELECT user_id, email, password_hash, role, COALESCE(generation, 0) \
                                  FROM user_credentials LEFT JOIN session_revocations USING (user_id)";

/// The account whose email or username (any case) is `login`.
pub async fn by_login(store: &Database, login: &str) -> Result<Option<Credentials>, CredentialsError> {
    find(store, "email = $1 OR lower(username) = $1", &login.trim().to_lowercase()).await
}

/// The account of `user_id`.
pub async fn by_id(store: &Database, user_id: Uuid) -> Result<Option<Credentials>, CredentialsError> {
    find(store, "user_id = $1", &user_id).await
}

/// The account whose email is `email` (compared lower-cased).
pub async fn by_email(store: &Database, email: &str) -> Result<Option<Credentials>, CredentialsError> {
    find(store, "email = $1", &email.trim().to_lowercase()).await
}

/// The account whose credentials meet `condition` on `value` (`$1`), by a statement prepared once per
/// connection: a login runs it every time.
async fn find(
    store: &Database,
    condition: &str,
    value: &(dyn tokio_postgres::types::ToSql + Sync),
) -> Result<Option<Credentials>, CredentialsError> {
    let client = store.pool().get().await.map_err(unavailable)?;
    let statement =
        client.prepare_cached(&format!("{CREDENTIAL_COLUMNS} WHERE {condition}")).await.map_err(unavailable)?;
    client.query_opt(&statement, &[value]).await.map_err(unavailable)?.as_ref().map(credentials).transpose()
}

/// The generation of `user_id`'s sessions now (0 if they never ended).
pub async fn session_generation(store: &Database, user_id: Uuid) -> Result<u32, CredentialsError> {
    let client = store.pool().get().await.map_err(unavailable)?;
    let row = client
        .query_opt("SELECT generation FROM session_revocations WHERE user_id = $1", &[&user_id])
        .await
        .map_err(unavailable)?;
    let generation: i32 = row.map(|row| row.try_get(0)).transpose().map_err(unavailable)?.unwrap_or(0);
    Ok(u32::try_from(generation).unwrap_or_default())
}

/// The reset link of `token`, and whose it is.
pub async fn reset_link(store: &Database, token: &str) -> Result<Option<(Uuid, ResetLink)>, CredentialsError> {
    let client = store.pool().get().await.map_err(unavailable)?;
    let row = client
        .query_opt(
            "SELECT user_id, expires_at, used_at IS NOT NULL FROM password_reset_tokens WHERE token_hash = $1",
            &[&digest(token.trim())],
        )
        .await
        .map_err(unavailable)?;
    row.map(|row| {
        let link =
            ResetLink { expires_at: row.try_get(1).map_err(unavailable)?, used: row.try_get(2).map_err(unavailable)? };
        Ok((row.try_get(0).map_err(unavailable)?, link))
    })
    .transpose()
}

/// The account's pending verification, if it has one.
pub async fn pending_verification(
    store: &Database,
    user_id: Uuid,
) -> Result<Option<PendingVerification>, CredentialsError> {
    let client = store.pool().get().await.map_err(unavailable)?;
    let row = client
        .query_opt(
            "SELECT code_hash, expires_at, attempts, verified_at IS NOT NULL FROM email_verifications \
             WHERE user_id = $1",
            &[&user_id],
        )
        .await
        .map_err(unavailable)?;
    row.map(|row| {
        Ok(PendingVerification {
            code_digest: row.try_get(0).map_err(unavailable)?,
            expires_at: row.try_get(1).map_err(unavailable)?,
            attempts: row.try_get(2).map_err(unavailable)?,
            verified: row.try_get(3).map_err(unavailable)?,
        })
    })
    .transpose()
}

/// Counts one try against the account's pending code and returns its number (0 when there is no pending
/// code). Throttling state, not an event: a try changes nothing about the account, but a code takes five
/// at most (R21). The increment is one statement, so concurrent tries each get a number of their own.
pub async fn count_attempt(store: &Database, user_id: Uuid) -> Result<i32, CredentialsError> {
    let client = store.pool().get().await.map_err(unavailable)?;
    let row = client
        .query_opt(
            "UPDATE email_verifications SET attempts = attempts + 1 WHERE user_id = $1 AND verified_at IS NULL \
             RETURNING attempts",
            &[&user_id],
        )
        .await
        .map_err(unavailable)?;
    row.map(|row| row.try_get(0).map_err(unavailable)).transpose().map(Option::unwrap_or_default)
}

/// The session family of the user's refresh token `token`, if it is still active.
pub async fn active_family(store: &Database, user_id: Uuid, token: &str) -> Result<Option<Uuid>, CredentialsError> {
    let client = store.pool().get().await.map_err(unavailable)?;
    let row = client
        .query_opt(
            "SELECT family_id FROM refresh_tokens WHERE token_hash = $1 AND user_id = $2 AND revoked_at IS NULL",
            &[&digest(token.trim()), &user_id],
        )
        .await
        .map_err(unavailable)?;
    row.map(|row| row.try_get(0).map_err(unavailable)).transpose()
}

/// When a code or link made now stops being valid.
pub fn expiry(ttl: Duration) -> OffsetDateTime {
    OffsetDateTime::now_utc() + ttl
}

/// Seals every bank account number still stored in clear (written before numbers were sealed), once, when a
/// command API starts. Returns how many were sealed.
pub async fn seal_plaintext_bank_accounts(store: &Database, key: &DataKey) -> Result<u64, CredentialsError> {
    let mut client = store.pool().get().await.map_err(unavailable)?;
    let transaction = client.transaction().await.map_err(unavailable)?;
    let rows = transaction
        .query(
            "SELECT user_id, account_number FROM instructor_bank_accounts WHERE account_number IS NOT NULL FOR UPDATE",
            &[],
        )
        .await
        .map_err(unavailable)?;
    for row in &rows {
        let user_id: Uuid = row.try_get(0).map_err(unavailable)?;
        let number: String = row.try_get(1).map_err(unavailable)?;
        transaction
            .execute(
                "UPDATE instructor_bank_accounts SET account_number_sealed = $2, account_number = NULL WHERE user_id = $1",
                &[&user_id, &key.seal(&number, user_id)],
            )
            .await
            .map_err(unavailable)?;
    }
    transaction.commit().await.map_err(unavailable)?;
    Ok(rows.len() as u64)
}

/// The enrolment (trainee, course) of refund request `refund_id`, as written with the request.
pub async fn refund_request(store: &Database, refund_id: Uuid) -> Result<Option<(Uuid, Uuid)>, CredentialsError> {
    trainee_and_course(store, "SELECT trainee_id, course_id FROM refund_requests WHERE refund_id = $1", refund_id).await
}

/// The (trainee, course) of corporate access request `request_id`, as written with the request.
pub async fn access_request(store: &Database, request_id: Uuid) -> Result<Option<(Uuid, Uuid)>, CredentialsError> {
    trainee_and_course(store, "SELECT trainee_id, course_id FROM access_requests WHERE request_id = $1", request_id)
        .await
}

async fn trainee_and_course(store: &Database, sql: &str, id: Uuid) -> Result<Option<(Uuid, Uuid)>, CredentialsError> {
    let client = store.pool().get().await.map_err(unavailable)?;
    let row = client.query_opt(sql, &[&id]).await.map_err(unavailable)?;
    row.map(|row| Ok((row.try_get(0).map_err(unavailable)?, row.try_get(1).map_err(unavailable)?))).transpose()
}
