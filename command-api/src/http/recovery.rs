//! Email verification and password reset (guest routes, 5 attempts a minute per client IP together). The
//! requests that mail something answer 202 alike whether or not the email has an account.

use api_contract::{JsonCommand, Problem};
use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use event_store::Appended;
use events::Metadata;
use http::StatusCode;
use serde::Deserialize;

use super::CommandApiState;
use super::execute::{Accepted, appended_answer};
use super::headers::CommandHeaders;
use super::sessions::{ClientIp, check_new_password, rate_limited};
use crate::recovery;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct EmailBody {
    email: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct VerifyBody {
    email: String,
    code: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ResetBody {
    token: String,
    new_password: String,
}

fn guest(headers: &CommandHeaders) -> Metadata {
    Metadata { correlation_id: Some(headers.correlation_id), causation_id: None, actor: None }
}

/// A change of one account: 200 with the account's id.
fn account_answer(appended: Appended) -> Accepted {
    let user_id = appended.stream_id.trim_start_matches("user-").to_owned();
    appended_answer(StatusCode::OK, serde_json::json!({ "id": user_id }), appended)
}

/// The same answer whether or not an account has the email: no way to probe who is a user.
fn accepted() -> Response {
    let body = serde_json::json!({ "data": { "status": "If an account has this email, a message is on its way." } });
    (StatusCode::ACCEPTED, Json(body)).into_response()
}

/// `POST /api/v1/auth/password-reset`: mails a single-use link, valid 30 minutes.
pub(crate) async fn request_reset(
    State(state): State<CommandApiState>,
    ClientIp(ip): ClientIp,
    headers: CommandHeaders,
    command: JsonCommand<EmailBody>,
) -> Result<Response, Problem> {
    state.recovery_limiter.check(ip).map_err(rate_limited)?;
    recovery::request_password_reset(state.store.database(), &command.body.email, &state.frontend_url, guest(&headers))
        .await?;
    Ok(accepted())
}

/// `POST /api/v1/auth/password-reset/confirm`: the token from the link and a new password.
pub(crate) async fn confirm_reset(
    State(state): State<CommandApiState>,
    ClientIp(ip): ClientIp,
    headers: CommandHeaders,
    command: JsonCommand<ResetBody>,
) -> Result<Accepted, Problem> {
    state.recovery_limiter.check(ip).map_err(rate_limited)?;
    let ResetBody { token, new_password } = command.body;
    check_new_password(&new_password)?;
    let appended = recovery::reset_password(state.store.database(), &token, new_password, guest(&headers)).await?;
    Ok(account_answer(appended))
}

/// `POST /api/v1/auth/verify-email`: the six-digit code from the welcome email.
pub(crate) async fn verify_email(
    State(state): State<CommandApiState>,
    ClientIp(ip): ClientIp,
    headers: CommandHeaders,
    command: JsonCommand<VerifyBody>,
) -> Result<Accepted, Problem> {
    state.recovery_limiter.check(ip).map_err(rate_limited)?;
    let VerifyBody { email, code } = command.body;
    let appended =
        recovery::verify_email(state.store.database(), &state.data_key, &email, &code, guest(&headers)).await?;
    Ok(account_answer(appended))
}

/// `POST /api/v1/auth/verify-email/resend`: a new code for an unverified account.
pub(crate) async fn resend_verification(
    State(state): State<CommandApiState>,
    ClientIp(ip): ClientIp,
    headers: CommandHeaders,
    command: JsonCommand<EmailBody>,
) -> Result<Response, Problem> {
    state.recovery_limiter.check(ip).map_err(rate_limited)?;
    recovery::resend_verification(state.store.database(), &state.data_key, &command.body.email, guest(&headers))
        .await?;
    Ok(accepted())
}
