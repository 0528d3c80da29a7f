//! Identity commands: sign-up of individual trainees, accounts that admins create (and the first admin,
//! from the command line), profiles and deletion. Each goes through the one pipeline: its decider decides,
//! and the credentials, codes and emails it implies are side writes of its append.

use api_contract::{Authenticated, FieldError, JsonCommand, PathId, Problem};
use axum::extract::State;
use events::stream::user_stream;
use serde::Deserialize;
use uuid::Uuid;

use super::CommandApiState;
use super::execute::{Accepted, Caller, CommandRun, execute, replayed};
use super::headers::CommandHeaders;
use super::limits::Counted;
use super::sessions::ClientIp;
use crate::credentials::{self, CredentialsError};
use crate::domain::Violation;
use crate::domain::account::{self, Account, AccountCommand, CreatedKind, ProfilePatch, SignUp, ValidSignUp};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RegisterBody {
    #[schema(schema_with = super::fields::email)]
    email: String,
    #[schema(schema_with = super::fields::username)]
    username: String,
    #[schema(schema_with = super::fields::password)]
    password: String,
    #[schema(schema_with = super::fields::person_name)]
    name: String,
    #[serde(default)]
    #[schema(schema_with = super::fields::country_or_blank)]
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

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum KindBody {
    Instructor,
    CorporateTrainee,
    Admin,
    Analyst,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateUserBody {
    kind: KindBody,
    #[schema(schema_with = super::fields::email)]
    email: String,
    #[schema(schema_with = super::fields::username)]
    username: String,
    #[schema(schema_with = super::fields::password)]
    password: String,
    #[schema(schema_with = super::fields::person_name)]
    name: String,
    #[serde(default)]
    #[schema(schema_with = super::fields::country_or_blank)]
    country: Option<String>,
    /// Required for corporate trainees.
    #[serde(default)]
    #[schema(schema_with = super::fields::company_or_null)]
    company: Option<String>,
}

/// `422` listing every violation: `validation_failed` when a field is out of its published shape, else the code of
/// the rule that relates the fields.
pub(crate) fn invalid(violations: Vec<Violation>) -> Problem {
    let shape = violations.iter().any(|violation| violation.rule.is_none());
    let (code, detail) = match violations.iter().find_map(|violation| violation.rule) {
        Some(rule) if !shape => (rule, "The fields do not go together."),
        _ => ("validation_failed", "Some fields are not valid."),
    };
    Problem::rule(code, detail)
        .with_errors(violations.into_iter().map(|v| FieldError::new(v.field, v.message)).collect())
}

impl From<CredentialsError> for Problem {
    fn from(error: CredentialsError) -> Self {
        match error {
            CredentialsError::Unavailable(cause) => {
                Problem::unavailable().because(format!("the credentials store failed: {cause}"))
            }
            CredentialsError::Hashing(cause) => {
                Problem::internal().because(format!("password hashing failed: {cause}"))
            }
            CredentialsError::Busy => {
                let mut problem = Problem::unavailable().because("every password hashing thread is busy");
                problem.retry_after_seconds = Some(1);
                problem
            }
        }
    }
}

/// A new account: its stream, and the answer `201 {id}`.
fn new_account(user_id: Uuid, actor: Caller, headers: CommandHeaders, digest: String) -> CommandRun {
    CommandRun::new(user_stream(user_id), actor, headers, digest).created().with_id(user_id)
}

/// `POST /api/v1/auth/register`: a guest signs up as an individual trainee; a verification code is mailed
/// with the first event; one client may sign up [`super::limits::Limits`]' sign-ups an hour
/// (`LEARNLOG_SIGN_UPS_PER_HOUR`). An Idempotency-Key is scoped to the client's address, as a guest has no other
/// identity.
pub(crate) async fn register(
    State(state): State<CommandApiState>,
    ClientIp(ip): ClientIp,
    headers: CommandHeaders,
    command: JsonCommand<RegisterBody>,
) -> Result<Accepted, Problem> {
    let sign_up = command.body.validate()?;
    // A retry of a sign-up that went through is answered as it was, and counts for nothing.
    if let Some(answer) = replayed(&state, &Caller::Guest(ip), &headers, &command.digest).await? {
        return Ok(answer);
    }
    state.limits.take(&[state.limits.client(Counted::SignUpFromClient, ip)]).await?;
    let user_id = Uuid::now_v7();
    let password_hash = credentials::hash_password(sign_up.password.clone()).await?;
    let code = credentials::mailed_code(&state.data_key, user_id);
    let run = new_account(user_id, Caller::Guest(ip), headers, command.digest);
    execute(&state, run, |account: &Account| {
        let register =
            AccountCommand::Register { user_id, sign_up: &sign_up, password_hash: &password_hash, code: &code };
        account::decide(account, register)
    })
    .await
}

/// `POST /api/v1/admin/users`: an admin creates an instructor, a corporate trainee or another admin.
pub(crate) async fn create_user(
    State(state): State<CommandApiState>,
    actor: Authenticated,
    headers: CommandHeaders,
    command: JsonCommand<CreateUserBody>,
) -> Result<Accepted, Problem> {
    let body = command.body;
    let kind = match body.kind {
        KindBody::Instructor => CreatedKind::Instructor,
        KindBody::Admin => CreatedKind::Admin,
        KindBody::Analyst => CreatedKind::Analyst,
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
    let run = new_account(user_id, actor.into(), headers, command.digest);
    create_account(&state, run, user_id, kind, sign_up, Some(actor.user_id)).await
}

/// Creates the first admin, from the command line (there is no one to create it otherwise). Returns the
/// new admin's id.
pub async fn create_first_admin(state: &CommandApiState, sign_up: ValidSignUp) -> Result<Uuid, Problem> {
    let user_id = Uuid::now_v7();
    let headers =
        CommandHeaders { idempotency_key: None, if_match: None, correlation_id: Uuid::now_v7(), causation_id: None };
    let run = new_account(user_id, Caller::Operator, headers, String::new());
    create_account(state, run, user_id, CreatedKind::Admin, sign_up, None).await?;
    Ok(user_id)
}

/// An account an admin (or the operator) vouches for: no verification code.
async fn create_account(
    state: &CommandApiState,
    run: CommandRun,
    user_id: Uuid,
    kind: CreatedKind,
    sign_up: ValidSignUp,
    created_by: Option<Uuid>,
) -> Result<Accepted, Problem> {
    let password_hash = credentials::hash_password(sign_up.password.clone()).await?;
    execute(state, run, |account: &Account| {
        let create = AccountCommand::Create {
            user_id,
            kind: &kind,
            sign_up: &sign_up,
            password_hash: &password_hash,
            created_by,
        };
        account::decide(account, create)
    })
    .await
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ProfileBody {
    #[serde(default)]
    #[schema(schema_with = super::fields::person_name_or_null)]
    name: Option<String>,
    #[serde(default)]
    #[schema(schema_with = super::fields::country_or_null)]
    country: Option<String>,
    #[serde(default)]
    #[schema(schema_with = super::fields::biography_or_null)]
    biography: Option<String>,
    #[serde(default)]
    #[schema(schema_with = super::fields::short_text_or_null)]
    speciality: Option<String>,
    #[serde(default)]
    #[schema(schema_with = super::fields::short_text_or_null)]
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
    let run = CommandRun::on_account(actor.user_id, actor.into(), headers, command.digest);
    execute(&state, run, |account: &Account| {
        account::decide(account, AccountCommand::UpdateProfile { user_id: actor.user_id, patch: patch.clone() })
    })
    .await
}

/// `DELETE /api/v1/me`: a trainee deletes their own account.
pub(crate) async fn delete_me(
    State(state): State<CommandApiState>,
    actor: Authenticated,
    headers: CommandHeaders,
) -> Result<Accepted, Problem> {
    deleted(&state, actor, actor.user_id, None, headers).await
}

/// `DELETE /api/v1/admin/users/{id}`: an admin deletes a trainee's account.
pub(crate) async fn delete_user(
    State(state): State<CommandApiState>,
    actor: Authenticated,
    PathId(user_id): PathId,
    headers: CommandHeaders,
) -> Result<Accepted, Problem> {
    deleted(&state, actor, user_id, Some(actor.user_id), headers).await
}

/// `POST /api/v1/admin/users/{id}/erase`: an admin erases an account of any kind on the person's request.
pub(crate) async fn erase_user(
    State(state): State<CommandApiState>,
    actor: Authenticated,
    PathId(user_id): PathId,
    headers: CommandHeaders,
) -> Result<Accepted, Problem> {
    let run = CommandRun::on_account(user_id, actor.into(), headers, format!("POST erase user {user_id}"));
    let erased = execute(&state, run, |account: &Account| {
        account::decide(account, AccountCommand::Erase { user_id, erased_by: actor.user_id })
    })
    .await;
    super::sessions::ending_sessions(&state, user_id, erased).await
}

async fn deleted(
    state: &CommandApiState,
    actor: Authenticated,
    user_id: Uuid,
    deleted_by: Option<Uuid>,
    headers: CommandHeaders,
) -> Result<Accepted, Problem> {
    let run = CommandRun::on_account(user_id, actor.into(), headers, format!("DELETE user {user_id}"));
    let deleted = execute(state, run, |account: &Account| {
        account::decide(account, AccountCommand::DeleteTrainee { user_id, deleted_by })
    })
    .await;
    super::sessions::ending_sessions(state, user_id, deleted).await
}
