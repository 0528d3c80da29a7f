//! Creating an account, whoever asks (sign-up, an admin, the command line): hash the password with argon2id,
//! then in one transaction claim the email and username with the credentials row and append the account's
//! first event. A taken email or username is refused by the unique indexes, whatever the race.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use database::Database;
use event_store::writer::append_in_transaction;
use event_store::{AppendOutcome, AppendRequest, Appended, ExpectedVersion, IdempotencyRecord};
use events::stream::user_stream;
use events::{Event, Metadata, NewEvent, PasswordChanged, Role};
use time::OffsetDateTime;
use tokio_postgres::error::SqlState;
use uuid::Uuid;

use crate::domain::account::ValidSignUp;
use crate::keys::DataKey;

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// `email` or `username` belongs to someone already.
    #[error("this {0} is already taken")]
    Taken(&'static str),
    #[error("the account stream already exists")]
    Exists,
    #[error("the store is unavailable: {0}")]
    Unavailable(String),
    #[error("password hashing failed: {0}")]
    Hashing(String),
    #[error("the current password is wrong")]
    WrongPassword,
    #[error("the reset link is invalid, expired or already used")]
    InvalidResetToken,
    #[error("the verification code is wrong or expired")]
    InvalidCode,
    #[error("the email is already verified")]
    AlreadyVerified,
    #[error("only instructors have this")]
    NotAnInstructor,
    #[error("there is no such account")]
    Unknown,
    #[error("only trainee accounts are deleted")]
    NotATrainee,
}

/// An account to create: `user_id` acting as `role`, with `events` as its stream's first events.
#[derive(Debug)]
pub struct NewAccount<'a> {
    pub user_id: Uuid,
    pub sign_up: &'a ValidSignUp,
    pub role: Role,
    pub events: &'a [Event],
}

/// Creates `account`: its credentials, its first events and, for a trainee who signed up, a verification
/// code, in one transaction.
pub async fn create(
    store: &Database,
    key: &DataKey,
    account: NewAccount<'_>,
    metadata: Metadata,
    idempotency: Option<IdempotencyRecord>,
) -> Result<AppendOutcome, AccountError> {
    let NewAccount { user_id, sign_up, role, events } = account;
    let password_hash = hash_password(sign_up.password.clone()).await?;
    let unavailable = |error: &dyn std::fmt::Display| AccountError::Unavailable(error.to_string());
    let mut client = store.pool().get().await.map_err(|e| unavailable(&e))?;
    let transaction = client.transaction().await.map_err(|e| unavailable(&e))?;
    transaction
        .execute(
            "INSERT INTO user_credentials (user_id, email, username, password_hash, role) VALUES ($1, $2, $3, $4, $5)",
            &[&user_id, &sign_up.email, &sign_up.username, &password_hash, &role.as_str()],
        )
        .await
        .map_err(|error| taken(&error).unwrap_or_else(|| unavailable(&error)))?;
    let now = OffsetDateTime::now_utc();
    let mut events = events.to_vec();
    // Trainees sign up themselves, so their email is unproven: a code goes out with the first event. An
    // admin vouches for the accounts they create.
    if role == Role::IndividualTrainee {
        let requested = crate::recovery::issue_verification(&*transaction, key, user_id, &sign_up.email)
            .await
            .map_err(|e| unavailable(&e))?;
        events.push(requested);
    }
    let request = AppendRequest {
        stream_id: user_stream(user_id),
        expected: ExpectedVersion::NoStream,
        events: events.iter().map(|event| NewEvent::new(event, metadata.clone(), now)).collect(),
        idempotency,
        side_writes: Vec::new(),
    };
    let mut outcomes =
        append_in_transaction(&transaction, std::slice::from_ref(&request)).await.map_err(|e| unavailable(&e))?;
    match outcomes.pop() {
        Some(Ok(AppendOutcome::Appended(appended))) => {
            transaction.commit().await.map_err(|e| unavailable(&e))?;
            Ok(AppendOutcome::Appended(appended))
        }
        // The key was used already: nothing of this request is kept.
        Some(Ok(AppendOutcome::Replayed(stored))) => Ok(AppendOutcome::Replayed(stored)),
        _ => Err(AccountError::Exists),
    }
}

/// Which field a unique violation is about, recognised by the index that refused it.
fn taken(error: &tokio_postgres::Error) -> Option<AccountError> {
    let database = error.as_db_error().filter(|db| db.code() == &SqlState::UNIQUE_VIOLATION)?;
    match database.constraint()? {
        "user_credentials_email_unique" => Some(AccountError::Taken("email")),
        "user_credentials_username_unique" => Some(AccountError::Taken("username")),
        _ => None,
    }
}

/// argon2id with the crate's recommended parameters, off the async threads.
pub(crate) async fn hash_password(password: String) -> Result<String, AccountError> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        argon2::Argon2::default().hash_password(password.as_bytes(), &salt).map(|hash| hash.to_string())
    })
    .await
    .map_err(|error| AccountError::Hashing(error.to_string()))?
    .map_err(|error| AccountError::Hashing(error.to_string()))
}

/// Replaces the password of `user_id` once `current` is proven, and ends every session of the user, in one
/// transaction with a `PasswordChanged` event. `new` must already satisfy the password rule.
pub async fn change_password(
    store: &Database,
    user_id: Uuid,
    current: String,
    new: String,
    metadata: Metadata,
) -> Result<Appended, AccountError> {
    let unavailable = |error: &dyn std::fmt::Display| AccountError::Unavailable(error.to_string());
    let mut client = store.pool().get().await.map_err(|e| unavailable(&e))?;
    let stored: Option<String> = client
        .query_opt("SELECT password_hash FROM user_credentials WHERE user_id = $1", &[&user_id])
        .await
        .map_err(|e| unavailable(&e))?
        .map(|row| row.try_get(0))
        .transpose()
        .map_err(|e| unavailable(&e))?;
    let Some(stored) = stored else { return Err(AccountError::WrongPassword) };
    if !password_matches(current, stored).await {
        return Err(AccountError::WrongPassword);
    }
    let new_hash = hash_password(new).await?;
    let transaction = client.transaction().await.map_err(|e| unavailable(&e))?;
    let appended = replace_password(
        &transaction,
        user_id,
        &new_hash,
        Event::PasswordChanged(PasswordChanged { user_id }),
        metadata,
    )
    .await?;
    transaction.commit().await.map_err(|e| unavailable(&e))?;
    Ok(appended)
}

/// Sets `user_id`'s password hash, ends every session of the user and records `event`, inside `transaction`.
pub(crate) async fn replace_password(
    transaction: &tokio_postgres::Transaction<'_>,
    user_id: Uuid,
    new_hash: &str,
    event: Event,
    metadata: Metadata,
) -> Result<Appended, AccountError> {
    let unavailable = |error: &dyn std::fmt::Display| AccountError::Unavailable(error.to_string());
    transaction
        .execute("UPDATE user_credentials SET password_hash = $2 WHERE user_id = $1", &[&user_id, &new_hash])
        .await
        .map_err(|e| unavailable(&e))?;
    transaction
        .execute("UPDATE refresh_tokens SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL", &[&user_id])
        .await
        .map_err(|e| unavailable(&e))?;
    append_to_user(transaction, user_id, &event, metadata).await
}

/// Appends one event to an existing account's stream inside `transaction`.
pub(crate) async fn append_to_user(
    transaction: &tokio_postgres::Transaction<'_>,
    user_id: Uuid,
    event: &Event,
    metadata: Metadata,
) -> Result<Appended, AccountError> {
    let request = AppendRequest {
        stream_id: user_stream(user_id),
        expected: ExpectedVersion::Any,
        events: vec![NewEvent::new(event, metadata, OffsetDateTime::now_utc())],
        idempotency: None,
        side_writes: Vec::new(),
    };
    let mut outcomes = append_in_transaction(transaction, std::slice::from_ref(&request))
        .await
        .map_err(|e| AccountError::Unavailable(e.to_string()))?;
    match outcomes.pop() {
        Some(Ok(AppendOutcome::Appended(appended))) => Ok(appended),
        _ => Err(AccountError::Unavailable(format!("{} could not be recorded", event.event_type()))),
    }
}

/// Whether `password` matches the stored argon2 `hash`, checked off the async threads.
pub async fn password_matches(password: String, hash: String) -> bool {
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash)
            .map(|parsed| argon2::Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
            .unwrap_or(false)
    })
    .await
    .unwrap_or(false)
}

/// Stores an instructor's bank account on the write side and records that one is set (bank and last four
/// characters only). `account` must be validated.
pub async fn set_bank_account(
    store: &Database,
    key: &DataKey,
    user_id: Uuid,
    account: &crate::domain::instructor::BankAccount,
    metadata: Metadata,
) -> Result<Appended, AccountError> {
    let unavailable = |error: &dyn std::fmt::Display| AccountError::Unavailable(error.to_string());
    let mut client = store.pool().get().await.map_err(|e| unavailable(&e))?;
    let transaction = client.transaction().await.map_err(|e| unavailable(&e))?;
    let role: Option<String> = transaction
        .query_opt("SELECT role FROM user_credentials WHERE user_id = $1", &[&user_id])
        .await
        .map_err(|e| unavailable(&e))?
        .map(|row| row.try_get(0))
        .transpose()
        .map_err(|e| unavailable(&e))?;
    if role.as_deref() != Some(Role::Instructor.as_str()) {
        return Err(AccountError::NotAnInstructor);
    }
    transaction
        .execute(
            "INSERT INTO instructor_bank_accounts (user_id, account_holder_name, account_number_sealed, bank_name, \
             branch_name, branch_address, swift_code) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (user_id) DO UPDATE SET account_holder_name = $2, account_number = NULL, \
             account_number_sealed = $3, bank_name = $4, branch_name = $5, branch_address = $6, swift_code = $7, \
             updated_at = now()",
            &[
                &user_id,
                &account.account_holder_name,
                &key.seal(&account.account_number, user_id),
                &account.bank_name,
                &account.branch_name,
                &account.branch_address,
                &account.swift_code,
            ],
        )
        .await
        .map_err(|e| unavailable(&e))?;
    let event = Event::InstructorBankAccountSet(events::identity::InstructorBankAccountSet {
        user_id,
        bank_name: account.bank_name.clone(),
        account_last4: account.last4(),
    });
    let appended = append_to_user(&transaction, user_id, &event, metadata).await?;
    transaction.commit().await.map_err(|e| unavailable(&e))?;
    Ok(appended)
}

/// Deletes the trainee account `user_id` (asked by the trainee or by admin `deleted_by`): its credentials
/// go, which frees the email and username and makes logging in impossible; every session and pending
/// code or link ends; `TraineeAccountDeleted` is recorded. Other kinds of account are not deleted here.
pub async fn delete_trainee(
    store: &Database,
    user_id: Uuid,
    deleted_by: Option<Uuid>,
    metadata: Metadata,
) -> Result<Appended, AccountError> {
    let unavailable = |error: &dyn std::fmt::Display| AccountError::Unavailable(error.to_string());
    let mut client = store.pool().get().await.map_err(|e| unavailable(&e))?;
    let transaction = client.transaction().await.map_err(|e| unavailable(&e))?;
    let role: String = transaction
        .query_opt("SELECT role FROM user_credentials WHERE user_id = $1 FOR UPDATE", &[&user_id])
        .await
        .map_err(|e| unavailable(&e))?
        .ok_or(AccountError::Unknown)?
        .try_get(0)
        .map_err(|e| unavailable(&e))?;
    if ![Role::IndividualTrainee.as_str(), Role::CorporateTrainee.as_str()].contains(&role.as_str()) {
        return Err(AccountError::NotATrainee);
    }
    for statement in [
        "DELETE FROM user_credentials WHERE user_id = $1",
        "UPDATE refresh_tokens SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL",
        "DELETE FROM password_reset_tokens WHERE user_id = $1",
        "DELETE FROM email_verifications WHERE user_id = $1",
    ] {
        transaction.execute(statement, &[&user_id]).await.map_err(|e| unavailable(&e))?;
    }
    let event = Event::TraineeAccountDeleted(events::identity::TraineeAccountDeleted { user_id, deleted_by });
    let appended = append_to_user(&transaction, user_id, &event, metadata).await?;
    transaction.commit().await.map_err(|e| unavailable(&e))?;
    Ok(appended)
}

/// Seals every bank account number still stored in clear (written before numbers were sealed), once, when a
/// command API starts. Returns how many were sealed.
pub async fn seal_plaintext_bank_accounts(store: &Database, key: &DataKey) -> Result<u64, AccountError> {
    let unavailable = |error: &dyn std::fmt::Display| AccountError::Unavailable(error.to_string());
    let mut client = store.pool().get().await.map_err(|e| unavailable(&e))?;
    let transaction = client.transaction().await.map_err(|e| unavailable(&e))?;
    let rows = transaction
        .query(
            "SELECT user_id, account_number FROM instructor_bank_accounts WHERE account_number IS NOT NULL FOR UPDATE",
            &[],
        )
        .await
        .map_err(|e| unavailable(&e))?;
    for row in &rows {
        let user_id: Uuid = row.try_get(0).map_err(|e| unavailable(&e))?;
        let number: String = row.try_get(1).map_err(|e| unavailable(&e))?;
        transaction
            .execute(
                "UPDATE instructor_bank_accounts SET account_number_sealed = $2, account_number = NULL WHERE user_id = $1",
                &[&user_id, &key.seal(&number, user_id)],
            )
            .await
            .map_err(|e| unavailable(&e))?;
    }
    transaction.commit().await.map_err(|e| unavailable(&e))?;
    Ok(rows.len() as u64)
}
