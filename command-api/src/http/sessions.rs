//! Sessions: log in, refresh with rotation and reuse detection, log out. Refresh tokens are opaque random
//! strings stored only as SHA-256 hashes; sessions are write-side state, not events (DOMAIN.md).

use std::net::{IpAddr, SocketAddr};
use std::sync::OnceLock;
use std::time::Duration;

use api_contract::{Authenticated, JsonCommand, Problem};
use axum::Json;
use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::response::{IntoResponse, Response};
use events::Role;
use http::StatusCode;
use http::request::Parts;
use serde::Deserialize;
use uuid::Uuid;

use super::CommandApiState;
use super::execute::{Accepted, Caller, CommandRun, execute};
use super::headers::CommandHeaders;
use super::limits::Counted;
use crate::credentials::{self, digest as token_digest, password_matches, secret_token as new_refresh_token};
use crate::domain::account::{self, Account, AccountCommand, SessionCommand, Sessions, check_password};

/// Access tokens are short-lived; refresh tokens carry the session.
pub const ACCESS_TTL: Duration = Duration::from_secs(15 * 60);
pub const REFRESH_TTL_DAYS: i64 = 30;
/// The client's address: the edge's [`api_contract::ClientAddress`] (the peer, or behind trusted proxies the
/// address they forwarded), else the connection's peer.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ClientIp(pub IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Problem> {
        if let Some(api_contract::ClientAddress(address)) = parts.extensions.get::<api_contract::ClientAddress>() {
            return Ok(ClientIp(*address));
        }
        parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|info| ClientIp(info.0.ip())).ok_or_else(|| {
            tracing::error!("the server runs without connection info; cannot rate-limit");
            Problem::internal()
        })
    }
}

/// R18's password rule for a `new_password` field, as a 422 naming the field.
pub(crate) fn check_new_password(password: &str) -> Result<(), Problem> {
    check_password(password).map_err(|message| {
        Problem::rule("validation_failed", "The new password is not valid.")
            .with_errors(vec![api_contract::FieldError::new("new_password", message)])
    })
}

pub(crate) fn rate_limited(seconds: u32) -> Problem {
    let mut problem = Problem::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", "Too many attempts; wait and retry.");
    problem.retry_after_seconds = Some(seconds);
    problem
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct LoginBody {
    /// Email or username.
    login: String,
    password: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PasswordBody {
    current_password: String,
    #[schema(schema_with = super::fields::password)]
    new_password: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RefreshBody {
    refresh_token: String,
}

fn unavailable(error: impl std::fmt::Display) -> Problem {
    Problem::unavailable().because(format!("session store failed: {error}"))
}

fn wrong_credentials() -> Problem {
    Problem::unauthenticated("The login or the password is wrong.")
}

/// A hash to verify against when the login names nobody, so both cases take the same time.
fn decoy_hash() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| {
        let mut memory = vec![argon2::Block::default(); argon2::Params::DEFAULT.block_count()];
        credentials::hashing::hash(b"decoy password", &mut memory).unwrap_or_default()
    })
}

/// A login's or a refresh's tokens, as documented.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub(crate) struct Tokens {
    access_token: String,
    /// Opaque; rotated by every refresh.
    refresh_token: String,
    token_type: String,
    /// Seconds the access token is valid.
    expires_in: u64,
}

/// The answer of a login or a refresh: a new access token, and the refresh token of the session.
/// The answer of a login or a refresh: an access token for the account's current session generation.
fn tokens(
    state: &CommandApiState,
    (user_id, role, generation): (Uuid, Role, u32),
    refresh: &str,
) -> Result<Response, Problem> {
    let access = state
        .keys
        .issue_for(user_id, role, generation, ACCESS_TTL)
        .map_err(|error| Problem::internal().because(format!("signing an access token failed: {error}")))?;
    let body = serde_json::json!({ "data": {
        "access_token": access,
        "refresh_token": refresh,
        "token_type": "Bearer",
        "expires_in": ACCESS_TTL.as_secs(),
    }});
    let mut response = Json(body).into_response();
    response.headers_mut().insert(http::header::CACHE_CONTROL, http::HeaderValue::from_static("no-store"));
    Ok(response)
}

fn refresh_days() -> i32 {
    i32::try_from(REFRESH_TTL_DAYS).unwrap_or(30)
}

/// After a command that ends `user_id`'s sessions: once it succeeded, this process refuses their earlier access
/// tokens at once (the other processes learn it from the notification its append sent).
pub(crate) async fn ending_sessions(
    state: &CommandApiState,
    user_id: Uuid,
    ended: Result<Accepted, Problem>,
) -> Result<Accepted, Problem> {
    let accepted = ended?;
    match credentials::session_generation(state.database(), user_id).await {
        Ok(generation) => state.keys.sessions().learn(user_id, generation),
        Err(error) => {
            tracing::warn!(%error, %user_id, "the new session generation was not read; it comes with the notification")
        }
    }
    Ok(accepted)
}

/// A command on the user's own stream that no client retries by key (logins, audit records).
fn on_user(user_id: Uuid, actor: Caller, correlation_id: Uuid, digest: String) -> CommandRun {
    let headers = CommandHeaders { idempotency_key: None, if_match: None, correlation_id, causation_id: None };
    CommandRun::on_account(user_id, actor, headers, digest)
}

/// `POST /api/v1/auth/login`: by email or username. An unknown login and a wrong password answer alike.
/// The login is a command on the account (`UserLoggedIn`, its first time or not, decided from the
/// account's events) whose session row is a side write of its append; the access token is signed after
/// the append, outside any lock.
pub(crate) async fn login(
    State(state): State<CommandApiState>,
    ClientIp(ip): ClientIp,
    headers: CommandHeaders,
    command: JsonCommand<LoginBody>,
) -> Result<Response, Problem> {
    let limits = &state.limits;
    let client = limits.client(Counted::FailedPasswordFromClient, ip);
    let Some(found) = credentials::by_login(state.database(), &command.body.login).await? else {
        // Counted as failed before the (decoy) hash is checked: parallel guesses cannot all pass.
        let keys = [client, limits.unknown_login(&command.body.login)];
        limits.take(&keys).await?;
        if let Err(busy) = password_matches(command.body.password, decoy_hash().to_owned()).await {
            limits.give_back(&keys).await;
            return Err(busy.into());
        }
        return Err(wrong_credentials());
    };
    let user_id = found.user_id;
    let keys = [client, limits.account(user_id)];
    limits.take(&keys).await?;
    // Busy checked nothing: the reserved failure is given back.
    let matched = match password_matches(command.body.password, found.password_hash).await {
        Ok(matched) => matched,
        Err(busy) => {
            limits.give_back(&keys).await;
            return Err(busy.into());
        }
    };
    if matched {
        limits.give_back(&keys).await;
    } else {
        // Recorded off the request, so a known login takes no longer to refuse than an unknown one.
        let state = state.clone();
        let run = on_user(user_id, Caller::Guest(ip), headers.correlation_id, "login failed".to_owned());
        tokio::spawn(async move {
            let recorded = execute(&state, run, |account: &Account| {
                account::decide(account, AccountCommand::FailLogin { user_id })
            })
            .await;
            if let Err(problem) = recorded {
                tracing::warn!(code = problem.code, %user_id, "a failed login was not recorded");
            }
        });
        return Err(wrong_credentials());
    }
    let refresh = new_refresh_token();
    let refresh_digest = token_digest(&refresh);
    let family = Uuid::now_v7();
    let run = on_user(user_id, Caller::Guest(ip), headers.correlation_id, format!("login {family}"));
    execute(&state, run, |sessions: &Sessions| {
        let log_in = SessionCommand::LogIn {
            user_id,
            token_digest: refresh_digest.clone(),
            family_id: family,
            days: refresh_days(),
        };
        account::decide_session(sessions, log_in)
    })
    .await
    .map_err(|problem| if problem.status == StatusCode::NOT_FOUND { wrong_credentials() } else { problem })?;
    tokens(&state, (user_id, found.role, found.session_generation), &refresh)
}

/// `POST /api/v1/auth/refresh`: rotates the refresh token. A token that was already rotated or revoked is
/// a sign of theft: the whole family is revoked and the answer is 401.
pub(crate) async fn refresh(
    State(state): State<CommandApiState>,
    command: JsonCommand<RefreshBody>,
) -> Result<Response, Problem> {
    let digest = token_digest(command.body.refresh_token.trim());
    let mut client = state.database().pool().get().await.map_err(unavailable)?;
    let transaction = client.transaction().await.map_err(unavailable)?;
    // Only one request can rotate a given token: the update is conditional on it being current.
    let rotated = transaction
        .query_opt(
            "UPDATE refresh_tokens SET rotated_at = now() \
             WHERE token_hash = $1 AND rotated_at IS NULL AND revoked_at IS NULL AND expires_at > now() \
             RETURNING family_id, user_id",
            &[&digest],
        )
        .await
        .map_err(unavailable)?;
    let Some(rotated) = rotated else {
        let reused = transaction
            .execute(
                "UPDATE refresh_tokens SET revoked_at = now() WHERE revoked_at IS NULL AND family_id = \
                 (SELECT family_id FROM refresh_tokens WHERE token_hash = $1)",
                &[&digest],
            )
            .await
            .map_err(unavailable)?;
        transaction.commit().await.map_err(unavailable)?;
        if reused > 0 {
            tracing::warn!("a rotated refresh token was presented again; its family is revoked");
        }
        return Err(Problem::unauthenticated("The refresh token is invalid, expired or already used."));
    };
    let family: Uuid = rotated.try_get(0).map_err(unavailable)?;
    let user_id: Uuid = rotated.try_get(1).map_err(unavailable)?;
    let account = transaction
        .query_one(
            "SELECT role, COALESCE(generation, 0) FROM user_credentials LEFT JOIN session_revocations \
             USING (user_id) WHERE user_id = $1",
            &[&user_id],
        )
        .await
        .map_err(unavailable)?;
    let role: String = account.try_get(0).map_err(unavailable)?;
    let role = Role::parse(&role).ok_or_else(Problem::internal)?;
    let generation = u32::try_from(account.try_get::<_, i32>(1).map_err(unavailable)?).unwrap_or_default();
    let refresh = new_refresh_token();
    transaction
        .execute(
            "INSERT INTO refresh_tokens (token_hash, family_id, user_id, expires_at) \
             VALUES ($1, $2, $3, now() + make_interval(days => $4))",
            &[&token_digest(&refresh), &family, &user_id, &refresh_days()],
        )
        .await
        .map_err(unavailable)?;
    transaction.commit().await.map_err(unavailable)?;
    tokens(&state, (user_id, role, generation), &refresh)
}

/// `POST /api/v1/auth/logout`: ends the session of the caller's refresh token (its whole family). A token
/// that is not the caller's, or no longer active, ends nothing and is answered the same.
pub(crate) async fn logout(
    State(state): State<CommandApiState>,
    actor: Authenticated,
    headers: CommandHeaders,
    command: JsonCommand<RefreshBody>,
) -> Result<Response, Problem> {
    let user_id = actor.user_id;
    let family = credentials::active_family(state.database(), user_id, &command.body.refresh_token).await?;
    if let Some(family) = family {
        let run = CommandRun::on_account(user_id, actor.into(), headers, command.digest);
        execute(&state, run, |account: &Account| {
            account::decide(account, AccountCommand::LogOut { user_id, family_id: family })
        })
        .await?;
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /api/v1/auth/password`: the caller proves the current password and sets a new one; every session
/// of the caller ends (log in again).
pub(crate) async fn change_password(
    State(state): State<CommandApiState>,
    ClientIp(ip): ClientIp,
    actor: Authenticated,
    headers: CommandHeaders,
    command: JsonCommand<PasswordBody>,
) -> Result<Accepted, Problem> {
    let body = command.body;
    check_new_password(&body.new_password)?;
    let limits = &state.limits;
    let keys = [limits.client(Counted::FailedPasswordFromClient, ip), limits.account(actor.user_id)];
    limits.take(&keys).await?;
    let user_id = actor.user_id;
    let proven = match credentials::by_id(state.database(), user_id).await? {
        Some(found) => match password_matches(body.current_password, found.password_hash).await {
            Ok(matched) => matched,
            Err(busy) => {
                limits.give_back(&keys).await;
                return Err(busy.into());
            }
        },
        None => false,
    };
    if proven {
        limits.give_back(&keys).await;
    }
    let new_hash = if proven { credentials::hash_password(body.new_password).await? } else { String::new() };
    let run = CommandRun::on_account(user_id, actor.into(), headers, command.digest);
    let changed = execute(&state, run, |account: &Account| {
        account::decide(account, AccountCommand::ChangePassword { user_id, proven, password_hash: &new_hash })
    })
    .await;
    ending_sessions(&state, user_id, changed).await
}
