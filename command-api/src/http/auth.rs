//! Identity commands: sign-up of individual trainees, and accounts that admins create.

use api_contract::{Authenticated, FieldError, JsonCommand, PathId, Problem};
use axum::extract::State;
use event_store::{AppendOutcome, IdempotencyRecord};
use events::{Metadata, Role};
use http::StatusCode;
use serde::Deserialize;
use uuid::Uuid;

use super::CommandApiState;
use super::execute::{Accepted, CommandRun, appended_answer, execute, replay, stored_answer};
use super::headers::CommandHeaders;
use super::sessions::ClientIp;
use crate::accounts::{self, AccountError};
use crate::domain::Violation;
use crate::domain::account::{self, Account, AccountRejection, CreatedKind, ProfilePatch, SignUp, ValidSignUp};

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

impl RegisterBody {
    fn validate(self) -> Result<ValidSignUp, Problem> {
        let sign_up = SignUp {
            email: self.email,
            username: self.username,
            password: self.password,
            name: self.name,
            country: self.country,
        };
        sign_up.validate().map_err(invalid)
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum KindBody {
    Instructor,
    CorporateTrainee,
    Admin,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateUserBody {
    kind: KindBody,
    email: String,
    username: String,
    password: String,
    name: String,
    #[serde(default)]
    country: Option<String>,
    /// Required for corporate trainees.
    #[serde(default)]
    company: Option<String>,
}

pub(crate) fn invalid(violations: Vec<Violation>) -> Problem {
    Problem::rule("validation_failed", "Some fields are not valid.")
        .with_errors(violations.into_iter().map(|v| FieldError::new(v.field, v.message)).collect())
}

impl From<AccountRejection> for Problem {
    fn from(rejection: AccountRejection) -> Self {
        rejected(rejection)
    }
}

pub(crate) fn rejected(rejection: AccountRejection) -> Problem {
    match rejection {
        AccountRejection::AlreadyRegistered => Problem::conflict("This account already exists."),
        AccountRejection::Unknown => Problem::not_found("There is no account for this token."),
        AccountRejection::NotAnInstructor => Problem::forbidden("Only instructors have this."),
        AccountRejection::Invalid(violations) => invalid(violations),
    }
}

impl From<AccountError> for Problem {
    fn from(error: AccountError) -> Self {
        match error {
            AccountError::Taken(field) => Problem::conflict(format!("This {field} is already taken."))
                .with_errors(vec![FieldError::new(field, "is already taken")]),
            AccountError::Exists => Problem::conflict("This account already exists."),
            AccountError::WrongPassword => Problem::rule("wrong_password", "The current password is wrong."),
            AccountError::NotAnInstructor => Problem::forbidden("Only instructors have this."),
            AccountError::Unknown => Problem::not_found("There is no such account."),
            AccountError::NotATrainee => {
                Problem::rule("not_a_trainee", "Only trainee accounts are deleted; this one is not a trainee's.")
            }
            AccountError::InvalidResetToken => {
                Problem::rule("reset_token_invalid", "The reset link is invalid, expired or already used.")
            }
            AccountError::InvalidCode => Problem::rule(
                "verification_code_invalid",
                "The code is wrong or expired; after 5 wrong tries, ask for a new one.",
            ),
            AccountError::AlreadyVerified => Problem::rule("email_already_verified", "This email is already verified."),
            AccountError::Unavailable(cause) => {
                tracing::error!(%cause, "creating an account failed");
                Problem::unavailable()
            }
            AccountError::Hashing(cause) => {
                tracing::error!(%cause, "password hashing failed");
                Problem::internal()
            }
        }
    }
}

/// An account to create, and the request that asks for it.
struct Creation<'a> {
    /// Whose Idempotency-Key this is.
    scope: String,
    digest: &'a str,
    user_id: Uuid,
    sign_up: &'a ValidSignUp,
    role: Role,
    events: &'a [events::Event],
    metadata: Metadata,
}

/// Creates the account and answers 201, honouring an Idempotency-Key: a retry with the same key and body
/// answers the first answer again and creates nothing.
async fn created(
    state: &CommandApiState,
    headers: &CommandHeaders,
    creation: Creation<'_>,
) -> Result<Accepted, Problem> {
    let Creation { scope, digest, user_id, sign_up, role, events, metadata } = creation;
    let key = headers.idempotency_key.as_deref();
    if let Some(stored) = stored_answer(state, &scope, key).await? {
        return replay(stored, digest);
    }
    let data = serde_json::json!({ "id": user_id });
    let record = key.map(|key| IdempotencyRecord {
        scope: scope.clone(),
        key: key.to_owned(),
        request_hash: digest.to_owned(),
        status: StatusCode::CREATED.as_u16(),
        response: data.clone(),
    });
    let account = accounts::NewAccount { user_id, sign_up, role, events };
    match accounts::create(state.store.database(), &state.data_key, account, metadata, record).await {
        Ok(AppendOutcome::Appended(appended)) => Ok(appended_answer(StatusCode::CREATED, data, appended)),
        Ok(AppendOutcome::Replayed(stored)) => replay(stored, digest),
        // A retry racing its first attempt finds the email taken by that attempt: answer what it answered.
        Err(AccountError::Taken(field)) => match stored_answer(state, &scope, key).await? {
            Some(stored) => replay(stored, digest),
            None => Err(AccountError::Taken(field).into()),
        },
        Err(error) => Err(error.into()),
    }
}

/// `POST /api/v1/auth/register`: a guest signs up as an individual trainee. An Idempotency-Key is scoped
/// to the client's address, as a guest has no other identity.
pub(crate) async fn register(
    State(state): State<CommandApiState>,
    ClientIp(ip): ClientIp,
    headers: CommandHeaders,
    command: JsonCommand<RegisterBody>,
) -> Result<Accepted, Problem> {
    let sign_up = command.body.validate()?;
    let user_id = Uuid::now_v7();
    let events = account::register(Account::Missing, user_id, &sign_up).map_err(rejected)?;
    let metadata = Metadata { correlation_id: Some(headers.correlation_id), causation_id: None, actor: None };
    let creation = Creation {
        scope: format!("guest:{ip}"),
        digest: &command.digest,
        user_id,
        sign_up: &sign_up,
        role: Role::IndividualTrainee,
        events: &events,
        metadata,
    };
    created(&state, &headers, creation).await
}

/// `POST /api/v1/admin/users`: an admin creates an instructor, a corporate trainee or another admin.
pub(crate) async fn create_user(
    State(state): State<CommandApiState>,
    actor: Authenticated,
    headers: CommandHeaders,
    command: JsonCommand<CreateUserBody>,
) -> Result<Accepted, Problem> {
    actor.require(&[Role::Admin], "Only admins create accounts of this kind.")?;
    let body = command.body;
    let kind = match body.kind {
        KindBody::Instructor => CreatedKind::Instructor,
        KindBody::Admin => CreatedKind::Admin,
        KindBody::CorporateTrainee => CreatedKind::CorporateTrainee { company: body.company.unwrap_or_default() },
    };
    let sign_up = RegisterBody {
        email: body.email,
        username: body.username,
        password: body.password,
        name: body.name,
        country: body.country,
    }
    .validate()?;
    let user_id = Uuid::now_v7();
    let events = account::create(Account::Missing, user_id, &kind, &sign_up, Some(actor.user_id)).map_err(rejected)?;
    let metadata =
        Metadata { correlation_id: Some(headers.correlation_id), causation_id: None, actor: Some(actor.actor()) };
    let creation = Creation {
        scope: actor.user_id.to_string(),
        digest: &command.digest,
        user_id,
        sign_up: &sign_up,
        role: kind.role(),
        events: &events,
        metadata,
    };
    created(&state, &headers, creation).await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ProfileBody {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    country: Option<String>,
    #[serde(default)]
    biography: Option<String>,
    #[serde(default)]
    speciality: Option<String>,
    #[serde(default)]
    title: Option<String>,
}

/// `PATCH /api/v1/me`: the caller changes their own profile. Only the whitelisted fields exist; anything else
/// in the body (a balance, a role, a corporate flag) is refused as an unknown field.
pub(crate) async fn update_profile(
    State(state): State<CommandApiState>,
    actor: Authenticated,
    headers: CommandHeaders,
    command: JsonCommand<ProfileBody>,
) -> Result<Accepted, Problem> {
    let body = command.body;
    let patch = ProfilePatch {
        name: body.name,
        country: body.country,
        biography: body.biography,
        speciality: body.speciality,
        title: body.title,
    };
    let run = CommandRun {
        stream_id: events::stream::user_stream(actor.user_id),
        actor: actor.into(),
        headers,
        digest: command.digest,
        status: StatusCode::OK,
        data: serde_json::json!({ "id": actor.user_id }),
    };
    execute(&state, run, |account: &Account| account::update_profile(*account, actor.user_id, patch.clone())).await
}

/// `DELETE /api/v1/me`: a trainee deletes their own account.
pub(crate) async fn delete_me(
    State(state): State<CommandApiState>,
    actor: Authenticated,
    headers: CommandHeaders,
) -> Result<Accepted, Problem> {
    let trainees = [Role::IndividualTrainee, Role::CorporateTrainee];
    actor.require(&trainees, "Only trainees delete their own account; ask an admin.")?;
    deleted(&state, actor, actor.user_id, None, &headers).await
}

/// `DELETE /api/v1/admin/users/{id}`: an admin deletes a trainee's account.
pub(crate) async fn delete_user(
    State(state): State<CommandApiState>,
    actor: Authenticated,
    PathId(user_id): PathId,
    headers: CommandHeaders,
) -> Result<Accepted, Problem> {
    actor.require(&[Role::Admin], "Only admins delete other accounts.")?;
    deleted(&state, actor, user_id, Some(actor.user_id), &headers).await
}

async fn deleted(
    state: &CommandApiState,
    actor: Authenticated,
    user_id: Uuid,
    deleted_by: Option<Uuid>,
    headers: &CommandHeaders,
) -> Result<Accepted, Problem> {
    let metadata =
        Metadata { correlation_id: Some(headers.correlation_id), causation_id: None, actor: Some(actor.actor()) };
    let appended = accounts::delete_trainee(state.store.database(), user_id, deleted_by, metadata).await?;
    Ok(appended_answer(StatusCode::OK, serde_json::json!({ "id": user_id }), appended))
}
