//! Email verification and password reset (guest routes, 5 attempts a minute per client together, and mail to
//! one address 3 times an hour; [`super::limits`]). The
//! requests that mail something answer 202 alike whether or not the email has an account.

use std::net::IpAddr;

use api_contract::{JsonCommand, Problem};
use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use serde::Deserialize;
use time::OffsetDateTime;
use uuid::Uuid;

use super::CommandApiState;
use super::execute::{Accepted, Caller, CommandRun, Trust, execute, execute_loading};
use super::headers::CommandHeaders;
use super::limits::Counted;
use super::rejections::Refusal;
use super::sessions::{ClientIp, check_new_password};
use crate::credentials;
use crate::domain::account::{self, Account, AccountCommand, AccountRejection, PendingVerification, ResetLink};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct EmailBody {
    email: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct VerifyBody {
    email: String,
    code: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ResetBody {
    token: String,
    #[schema(schema_with = super::fields::password)]
    new_password: String,
}

/// A change of one account: 200 with the account's id, asked by a guest.
fn account_change(user_id: Uuid, ip: IpAddr, headers: CommandHeaders, digest: String) -> CommandRun {
    CommandRun::on_account(user_id, Caller::Guest(ip), headers, digest)
}

/// What a request that may mail something answers, as documented.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub(crate) struct MailNote {
    status: String,
}

/// The same answer whether or not an account has the email: no way to probe who is a user.
fn accepted() -> Response {
    let body = serde_json::json!({ "data": { "status": "If an account has this email, a message is on its way." } });
    (StatusCode::ACCEPTED, Json(body)).into_response()
}

/// What a request that mails something answers when it did not go through: the same `202` when the
/// account refused (no probing), the problem when the store is down.
fn quietly(outcome: Result<Accepted, Problem>) -> Result<Response, Problem> {
    match outcome {
        Err(problem) if problem.status == StatusCode::SERVICE_UNAVAILABLE => Err(problem),
        Err(problem) if problem.status == StatusCode::INTERNAL_SERVER_ERROR => Err(problem),
        _ => Ok(accepted()),
    }
}

/// `POST /api/v1/auth/password-reset`: mails a single-use link, valid 30 minutes; earlier links end.
pub(crate) async fn request_reset(
    State(state): State<CommandApiState>,
    ClientIp(ip): ClientIp,
    headers: CommandHeaders,
    command: JsonCommand<EmailBody>,
) -> Result<Response, Problem> {
    let limits = &state.limits;
    limits.take(&[limits.client(Counted::RecoveryFromClient, ip), limits.mail_to(&command.body.email)]).await?;
    let Some(found) = credentials::by_email(state.database(), &command.body.email).await? else {
        return Ok(accepted());
    };
    let user_id = found.user_id;
    let link = credentials::mailed_link(&state.frontend_url, &found.email);
    let run = account_change(user_id, ip, headers, command.digest);
    quietly(
        execute(&state, run, |account: &Account| {
            account::decide(account, AccountCommand::RequestPasswordReset { user_id, link: &link })
        })
        .await,
    )
}

/// `POST /api/v1/auth/password-reset/confirm`: the token from the link and a new password; every session
/// ends.
pub(crate) async fn confirm_reset(
    State(state): State<CommandApiState>,
    ClientIp(ip): ClientIp,
    headers: CommandHeaders,
    command: JsonCommand<ResetBody>,
) -> Result<Accepted, Problem> {
    state.limits.take(&[state.limits.client(Counted::RecoveryFromClient, ip)]).await?;
    let ResetBody { token, new_password } = command.body;
    check_new_password(&new_password)?;
    let database = state.database();
    let Some((user_id, _)) = credentials::reset_link(database, &token).await? else {
        return Err(AccountRejection::InvalidResetLink.problem());
    };
    let new_hash = credentials::hash_password(new_password).await?;
    let run = account_change(user_id, ip, headers, command.digest);
    let load = |_: Trust| credentials::reset_link(database, &token);
    let reset = execute_loading(&state, run, load, |account: &Account, link: &Option<(Uuid, ResetLink)>| {
        let link = link.filter(|(owner, _)| *owner == user_id).map(|(_, link)| link);
        let now = OffsetDateTime::now_utc();
        account::decide(account, AccountCommand::ResetPassword { user_id, link, now, password_hash: &new_hash })
    })
    .await;
    super::sessions::ending_sessions(&state, user_id, reset).await
}

/// `POST /api/v1/auth/verify-email`: the six-digit code from the welcome email. A wrong code counts against
/// the code's five tries.
pub(crate) async fn verify_email(
    State(state): State<CommandApiState>,
    ClientIp(ip): ClientIp,
    headers: CommandHeaders,
    command: JsonCommand<VerifyBody>,
) -> Result<Accepted, Problem> {
    state.limits.take(&[state.limits.client(Counted::RecoveryFromClient, ip)]).await?;
    let VerifyBody { email, code } = command.body;
    let database = state.database();
    let Some(found) = credentials::by_email(database, &email).await? else {
        return Err(AccountRejection::InvalidCode.problem());
    };
    let user_id = found.user_id;
    let submitted = state.data_key.code_digest(user_id, code.trim());
    // The try is counted before it is judged (throttling state, not an event): tries sent at once each get
    // a number of their own, and the sixth fails whatever its code.
    let attempt = credentials::count_attempt(database, user_id).await?;
    let run = account_change(user_id, ip, headers, command.digest);
    let load = |_: Trust| credentials::pending_verification(database, user_id);
    execute_loading(&state, run, load, |account: &Account, pending: &Option<PendingVerification>| {
        let now = OffsetDateTime::now_utc();
        let verify = AccountCommand::VerifyEmail {
            user_id,
            email: &found.email,
            pending: pending.as_ref(),
            submitted_digest: &submitted,
            attempt,
            now,
        };
        account::decide(account, verify)
    })
    .await
}

/// `POST /api/v1/auth/verify-email/resend`: a new code for an unverified account.
pub(crate) async fn resend_verification(
    State(state): State<CommandApiState>,
    ClientIp(ip): ClientIp,
    headers: CommandHeaders,
    command: JsonCommand<EmailBody>,
) -> Result<Response, Problem> {
    let limits = &state.limits;
    limits.take(&[limits.client(Counted::RecoveryFromClient, ip), limits.mail_to(&command.body.email)]).await?;
    let database = state.database();
    let Some(found) = credentials::by_email(database, &command.body.email).await? else {
        return Ok(accepted());
    };
    let user_id = found.user_id;
    let code = credentials::mailed_code(&state.data_key, user_id);
    let run = account_change(user_id, ip, headers, command.digest);
    let load = |_: Trust| credentials::pending_verification(database, user_id);
    quietly(
        execute_loading(&state, run, load, |account: &Account, pending: &Option<PendingVerification>| {
            let request = AccountCommand::RequestVerification {
                user_id,
                pending: pending.as_ref(),
                to: &found.email,
                code: &code,
            };
            account::decide(account, request)
        })
        .await,
    )
}
