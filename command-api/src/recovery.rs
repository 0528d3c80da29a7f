//! Proving an email and recovering a password, both by mail through the outbox. Secrets (the six-digit
//! code, the reset token) are mailed once and stored only as hashes; no event carries them.

use argon2::password_hash::rand_core::{OsRng, RngCore};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use database::Database;
use event_store::Appended;
use events::identity::{EmailVerificationRequested, EmailVerified, PasswordReset, PasswordResetRequested};
use events::{Event, Metadata};
use rand::Rng;
use sha2::{Digest, Sha256};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::accounts::{AccountError, append_to_user, hash_password, replace_password};
use crate::email::enqueue;
use crate::keys::DataKey;

/// How long a verification code and a reset link stay valid.
pub const CODE_TTL: Duration = Duration::minutes(30);
pub const RESET_TTL: Duration = Duration::minutes(30);
/// Wrong codes before a code is dead (a new one can be requested).
pub const MAX_CODE_ATTEMPTS: i32 = 5;

/// Hex SHA-256 of a secret.
pub(crate) fn digest(secret: &str) -> String {
    Sha256::digest(secret.as_bytes()).iter().map(|byte| format!("{byte:02x}")).collect()
}

/// 256 random bits, URL-safe.
pub(crate) fn secret_token() -> String {
    let mut bytes = [0_u8; 32];
    OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

fn unavailable(error: impl std::fmt::Display) -> AccountError {
    AccountError::Unavailable(error.to_string())
}

/// Stores a new six-digit code (R21) for `user_id`, replacing any earlier one, and mails it to `email`;
/// returns the event to record with it.
pub(crate) async fn issue_verification(
    client: &impl tokio_postgres::GenericClient,
    key: &DataKey,
    user_id: Uuid,
    email: &str,
) -> Result<Event, tokio_postgres::Error> {
    let code = rand::rng().random_range(100_000..=999_999).to_string();
    let expires_at = OffsetDateTime::now_utc() + CODE_TTL;
    client
        .execute(
            "INSERT INTO email_verifications (user_id, code_hash, expires_at) VALUES ($1, $2, $3) \
             ON CONFLICT (user_id) DO UPDATE SET code_hash = $2, expires_at = $3, attempts = 0",
            &[&user_id, &key.code_digest(user_id, &code), &expires_at],
        )
        .await?;
    let body = format!(
        "Welcome to Learnlog.\n\nYour verification code is {code}. It is valid for 30 minutes.\n\n\
         If you did not sign up, ignore this email."
    );
    enqueue(client, email, "Learnlog: your verification code", &body, Some(expires_at)).await?;
    Ok(Event::EmailVerificationRequested(EmailVerificationRequested { user_id, expires_at }))
}

/// The account of `email`, if there is one: its id.
async fn account_of(client: &impl tokio_postgres::GenericClient, email: &str) -> Result<Option<Uuid>, AccountError> {
    let row = client
        .query_opt("SELECT user_id FROM user_credentials WHERE email = $1", &[&email.trim().to_lowercase()])
        .await
        .map_err(unavailable)?;
    row.map(|row| row.try_get(0)).transpose().map_err(unavailable)
}

/// Mails a new code to an unverified account of `email`; nothing (and the same answer) otherwise.
pub async fn resend_verification(
    store: &Database,
    key: &DataKey,
    email: &str,
    metadata: Metadata,
) -> Result<(), AccountError> {
    let mut client = store.pool().get().await.map_err(unavailable)?;
    let transaction = client.transaction().await.map_err(unavailable)?;
    let Some(user_id) = account_of(&*transaction, email).await? else { return Ok(()) };
    let verified = transaction
        .query_opt("SELECT verified_at IS NOT NULL FROM email_verifications WHERE user_id = $1", &[&user_id])
        .await
        .map_err(unavailable)?
        .map(|row| row.try_get::<_, bool>(0))
        .transpose()
        .map_err(unavailable)?;
    // Accounts an admin created have no pending verification; they need none.
    if verified != Some(false) {
        return Ok(());
    }
    let event =
        issue_verification(&*transaction, key, user_id, &email.trim().to_lowercase()).await.map_err(unavailable)?;
    append_to_user(&transaction, user_id, &event, metadata).await?;
    transaction.commit().await.map_err(unavailable)
}

/// Checks `code` for the account of `email`: at most `MAX_CODE_ATTEMPTS` tries per code, within its time.
pub async fn verify_email(
    store: &Database,
    key: &DataKey,
    email: &str,
    code: &str,
    metadata: Metadata,
) -> Result<Appended, AccountError> {
    let email = email.trim().to_lowercase();
    let mut client = store.pool().get().await.map_err(unavailable)?;
    let transaction = client.transaction().await.map_err(unavailable)?;
    let row = transaction
        .query_opt(
            "SELECT v.user_id, v.code_hash, v.expires_at > now(), v.attempts, v.verified_at IS NOT NULL \
             FROM email_verifications v JOIN user_credentials c USING (user_id) WHERE c.email = $1 \
             FOR UPDATE OF v",
            &[&email],
        )
        .await
        .map_err(unavailable)?;
    let Some(row) = row else { return Err(AccountError::InvalidCode) };
    let user_id: Uuid = row.try_get(0).map_err(unavailable)?;
    let stored: String = row.try_get(1).map_err(unavailable)?;
    let current: bool = row.try_get(2).map_err(unavailable)?;
    let attempts: i32 = row.try_get(3).map_err(unavailable)?;
    if row.try_get::<_, bool>(4).map_err(unavailable)? {
        return Err(AccountError::AlreadyVerified);
    }
    if !current || attempts >= MAX_CODE_ATTEMPTS {
        return Err(AccountError::InvalidCode);
    }
    if key.code_digest(user_id, code.trim()) != stored {
        transaction
            .execute("UPDATE email_verifications SET attempts = attempts + 1 WHERE user_id = $1", &[&user_id])
            .await
            .map_err(unavailable)?;
        transaction.commit().await.map_err(unavailable)?;
        return Err(AccountError::InvalidCode);
    }
    transaction
        .execute("UPDATE email_verifications SET verified_at = now() WHERE user_id = $1", &[&user_id])
        .await
        .map_err(unavailable)?;
    let appended =
        append_to_user(&transaction, user_id, &Event::EmailVerified(EmailVerified { user_id, email }), metadata)
            .await?;
    transaction.commit().await.map_err(unavailable)?;
    Ok(appended)
}

/// Mails a single-use reset link to the account of `email`, ending any earlier link; for an unknown email
/// nothing happens, and the caller answers the same either way.
pub async fn request_password_reset(
    store: &Database,
    email: &str,
    link_base: &str,
    metadata: Metadata,
) -> Result<(), AccountError> {
    let mut client = store.pool().get().await.map_err(unavailable)?;
    let transaction = client.transaction().await.map_err(unavailable)?;
    let Some(user_id) = account_of(&*transaction, email).await? else { return Ok(()) };
    let token = secret_token();
    let expires_at = OffsetDateTime::now_utc() + RESET_TTL;
    transaction
        .execute("UPDATE password_reset_tokens SET used_at = now() WHERE user_id = $1 AND used_at IS NULL", &[&user_id])
        .await
        .map_err(unavailable)?;
    transaction
        .execute(
            "INSERT INTO password_reset_tokens (token_hash, user_id, expires_at) VALUES ($1, $2, $3)",
            &[&digest(&token), &user_id, &expires_at],
        )
        .await
        .map_err(unavailable)?;
    let body = format!(
        "Someone asked to reset your Learnlog password.\n\nChoose a new one here within 30 minutes:\n\
         {}/reset-password?token={token}\n\nIf it was not you, ignore this email; your password stays as it is.",
        link_base.trim_end_matches('/')
    );
    enqueue(&*transaction, &email.trim().to_lowercase(), "Learnlog: reset your password", &body, Some(expires_at))
        .await
        .map_err(unavailable)?;
    let event = Event::PasswordResetRequested(PasswordResetRequested { user_id, expires_at });
    append_to_user(&transaction, user_id, &event, metadata).await?;
    transaction.commit().await.map_err(unavailable)
}

/// Sets a new password with a reset token: once, within its time; every session of the user ends.
/// `new` must already satisfy the password rule.
pub async fn reset_password(
    store: &Database,
    token: &str,
    new: String,
    metadata: Metadata,
) -> Result<Appended, AccountError> {
    let new_hash = hash_password(new).await?;
    let mut client = store.pool().get().await.map_err(unavailable)?;
    let transaction = client.transaction().await.map_err(unavailable)?;
    // Conditional on the token being unused and current: of two racing uses, one wins.
    let used = transaction
        .query_opt(
            "UPDATE password_reset_tokens SET used_at = now() \
             WHERE token_hash = $1 AND used_at IS NULL AND expires_at > now() RETURNING user_id",
            &[&digest(token.trim())],
        )
        .await
        .map_err(unavailable)?;
    let Some(row) = used else { return Err(AccountError::InvalidResetToken) };
    let user_id: Uuid = row.try_get(0).map_err(unavailable)?;
    let event = Event::PasswordReset(PasswordReset { user_id });
    let appended = replace_password(&transaction, user_id, &new_hash, event, metadata).await?;
    transaction.commit().await.map_err(unavailable)?;
    Ok(appended)
}
