//! Identity commands: sign-up of individual trainees.

use api_contract::{ConsistencyToken, FieldError, JsonCommand, Problem};
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHasher, SaltString};
use axum::extract::State;
use axum::response::Response;
use event_store::writer::append_in_transaction;
use event_store::{AppendError, AppendOutcome, AppendRequest, ExpectedVersion};
use events::stream::user_stream;
use events::{Metadata, NewEvent};
use http::StatusCode;
use serde::Deserialize;
use time::OffsetDateTime;
use tokio_postgres::error::SqlState;
use uuid::Uuid;

use super::CommandApiState;
use super::execute::answer;
use super::headers::CommandHeaders;
use crate::domain::account::{self, Account, AccountRejection, SignUp};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RegisterBody {
    email: String,
    username: String,
    password: String,
    name: String,
    #[serde(default)]
    country: Option<String>,
}

/// `POST /api/v1/auth/register`: a guest signs up as an individual trainee.
pub(crate) async fn register(
    State(state): State<CommandApiState>,
    headers: CommandHeaders,
    command: JsonCommand<RegisterBody>,
) -> Result<Response, Problem> {
    let body = command.body;
    let sign_up = SignUp {
        email: body.email,
        username: body.username,
        password: body.password,
        name: body.name,
        country: body.country,
    }
    .validate()
    .map_err(|violations| {
        Problem::rule("validation_failed", "Some fields are not valid.")
            .with_errors(violations.into_iter().map(|v| FieldError::new(v.field, v.message)).collect())
    })?;
    let user_id = Uuid::now_v7();
    let events = account::register(Account::Missing, user_id, &sign_up).map_err(|rejection| match rejection {
        AccountRejection::AlreadyRegistered => Problem::conflict("This account already exists."),
    })?;
    let password_hash = hash_password(sign_up.password.clone()).await?;

    let metadata = Metadata { correlation_id: Some(headers.correlation_id), causation_id: None, actor: None };
    let now = OffsetDateTime::now_utc();
    let request = AppendRequest {
        stream_id: user_stream(user_id),
        expected: ExpectedVersion::NoStream,
        events: events.iter().map(|event| NewEvent::new(event, metadata.clone(), now)).collect(),
        idempotency: None,
    };
    let unavailable = |error: tokio_postgres::Error| {
        tracing::error!(%error, "sign-up failed");
        Problem::unavailable()
    };
    let mut client = state.store.database().pool().get().await.map_err(|error| {
        tracing::error!(%error, "no store connection for a sign-up");
        Problem::unavailable()
    })?;
    let transaction = client.transaction().await.map_err(unavailable)?;
    // The credentials row claims the email and the username; the unique indexes decide races.
    let claimed = transaction
        .execute(
            "INSERT INTO user_credentials (user_id, email, username, password_hash) VALUES ($1, $2, $3, $4)",
            &[&user_id, &sign_up.email, &sign_up.username, &password_hash],
        )
        .await;
    if let Err(error) = claimed {
        return Err(taken(&error).unwrap_or_else(|| unavailable(error)));
    }
    let mut outcomes =
        append_in_transaction(&transaction, std::slice::from_ref(&request)).await.map_err(unavailable)?;
    let appended = match outcomes.pop() {
        Some(Ok(AppendOutcome::Appended(appended))) => appended,
        Some(Err(AppendError::Conflict { .. })) => return Err(Problem::conflict("This account already exists.")),
        other => {
            tracing::error!(?other, "unexpected append outcome for a sign-up");
            return Err(Problem::internal());
        }
    };
    transaction.commit().await.map_err(unavailable)?;
    let token = ConsistencyToken {
        position: appended.last_position,
        stream_id: appended.stream_id,
        stream_version: appended.stream_version,
    };
    Ok(answer(StatusCode::CREATED, serde_json::json!({ "id": user_id }), token))
}

/// The problem for an email or username someone already has, recognised by the index that refused it.
fn taken(error: &tokio_postgres::Error) -> Option<Problem> {
    let database = error.as_db_error().filter(|db| db.code() == &SqlState::UNIQUE_VIOLATION)?;
    let field = match database.constraint()? {
        "user_credentials_email_unique" => "email",
        "user_credentials_username_unique" => "username",
        _ => return None,
    };
    Some(
        Problem::conflict(format!("This {field} is already taken."))
            .with_errors(vec![FieldError::new(field, "is already taken")]),
    )
}

/// argon2id with the crate's recommended parameters, off the async threads.
async fn hash_password(password: String) -> Result<String, Problem> {
    let hashed = tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        argon2::Argon2::default().hash_password(password.as_bytes(), &salt).map(|hash| hash.to_string())
    })
    .await;
    match hashed {
        Ok(Ok(hash)) => Ok(hash),
        Ok(Err(error)) => {
            tracing::error!(%error, "password hashing failed");
            Err(Problem::internal())
        }
        Err(error) => {
            tracing::error!(%error, "password hashing task failed");
            Err(Problem::internal())
        }
    }
}
