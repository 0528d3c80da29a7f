//! The write-side rows that identity commands write beside their events, each a typed [`SideWrite`] run in
//! the append's transaction (so a credential, a session or an email exists exactly when its event does).
//! Rules are not here: the deciders decide, these only record what was decided. Uniqueness stays a database
//! constraint (`user_credentials_email_unique`, `user_credentials_username_unique`), which the pipeline
//! maps to 409 by name.

use event_store::{SideWrite, SqlValue};
use events::Role;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::domain::instructor::BankAccount;
use event_store::keys::{DataKey, KeyRing};

/// Claims the email and username for a new account and keeps its password hash.
pub fn credentials(user_id: Uuid, email: &str, username: &str, password_hash: &str, role: Role) -> SideWrite {
    SideWrite::new(
        "INSERT INTO user_credentials (user_id, email, username, password_hash, role) VALUES ($1, $2, $3, $4, $5)",
        vec![
            SqlValue::Uuid(user_id),
            SqlValue::Text(email.to_owned()),
            SqlValue::Text(username.to_owned()),
            SqlValue::Text(password_hash.to_owned()),
            SqlValue::Text(role.as_str().to_owned()),
        ],
    )
}

pub fn set_password(user_id: Uuid, password_hash: &str) -> SideWrite {
    SideWrite::new(
        "UPDATE user_credentials SET password_hash = $2 WHERE user_id = $1",
        vec![SqlValue::Uuid(user_id), SqlValue::Text(password_hash.to_owned())],
    )
}

/// Ends every session of the user: their refresh tokens, and (with [`end_access_tokens`]) their access tokens.
pub fn revoke_sessions(user_id: Uuid) -> Vec<SideWrite> {
    vec![
        SideWrite::new(
            "UPDATE refresh_tokens SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL",
            vec![SqlValue::Uuid(user_id)],
        ),
        end_access_tokens(user_id),
    ]
}

/// The channel on which an account's new session generation is announced (`<user id> <generation>`).
pub const SESSIONS_CHANNEL: &str = "learnlog_sessions";

/// Moves the account's session generation on, so that every access token signed before is refused at once
/// by every API process (told on [`SESSIONS_CHANNEL`] when the append commits).
fn end_access_tokens(user_id: Uuid) -> SideWrite {
    SideWrite::new(
        "WITH ended AS (INSERT INTO session_revocations (user_id, generation) VALUES ($1, 1) \
         ON CONFLICT (user_id) DO UPDATE SET generation = session_revocations.generation + 1, changed_at = now() \
         RETURNING user_id, generation) \
         SELECT pg_notify('learnlog_sessions', user_id::text || ' ' || generation) FROM ended",
        vec![SqlValue::Uuid(user_id)],
    )
}

/// Ends the session family of one refresh token of the user.
pub fn revoke_family(user_id: Uuid, family_id: Uuid) -> SideWrite {
    SideWrite::new(
        "UPDATE refresh_tokens SET revoked_at = now() WHERE user_id = $1 AND family_id = $2 AND revoked_at IS NULL",
        vec![SqlValue::Uuid(user_id), SqlValue::Uuid(family_id)],
    )
}

/// A new session: the refresh token's digest, in a new family.
pub fn refresh_token(user_id: Uuid, token_digest: &str, family_id: Uuid, days: i32) -> SideWrite {
    SideWrite::new(
        "INSERT INTO refresh_tokens (token_hash, family_id, user_id, expires_at) \
         VALUES ($1, $2, $3, now() + make_interval(days => $4))",
        vec![
            SqlValue::Text(token_digest.to_owned()),
            SqlValue::Uuid(family_id),
            SqlValue::Uuid(user_id),
            SqlValue::Int(days),
        ],
    )
}

pub fn record_login(user_id: Uuid) -> SideWrite {
    SideWrite::new(
        "UPDATE user_credentials SET last_login_at = now() WHERE user_id = $1",
        vec![SqlValue::Uuid(user_id)],
    )
}

/// Forgets every credential of a deleted or erased account: its email and username are free again, no
/// session, link or code of it works any more, and its key is gone, so its personal data in every event,
/// topic and export is unreadable (crypto-shredding).
pub fn forget_account(user_id: Uuid) -> Vec<SideWrite> {
    [
        // First, while the credentials still say which address is the person's: no email of theirs waits.
        "DELETE FROM email_outbox WHERE recipient = (SELECT email FROM user_credentials WHERE user_id = $1)",
        "DELETE FROM user_credentials WHERE user_id = $1",
        "UPDATE refresh_tokens SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL",
        "DELETE FROM password_reset_tokens WHERE user_id = $1",
        "DELETE FROM email_verifications WHERE user_id = $1",
        "DELETE FROM instructor_bank_accounts WHERE user_id = $1",
    ]
    .into_iter()
    .map(|statement| SideWrite::new(statement, vec![SqlValue::Uuid(user_id)]))
    .chain([end_access_tokens(user_id), KeyRing::forget(user_id)])
    .collect()
}

/// The current verification code of an account, as its HMAC, replacing any earlier one.
pub fn verification(user_id: Uuid, code_digest: &str, expires_at: OffsetDateTime) -> SideWrite {
    SideWrite::new(
        "INSERT INTO email_verifications (user_id, code_hash, expires_at) VALUES ($1, $2, $3) \
         ON CONFLICT (user_id) DO UPDATE SET code_hash = $2, expires_at = $3, attempts = 0",
        vec![SqlValue::Uuid(user_id), SqlValue::Text(code_digest.to_owned()), SqlValue::Time(expires_at)],
    )
}

pub fn verified(user_id: Uuid) -> SideWrite {
    SideWrite::new(
        "UPDATE email_verifications SET verified_at = now() WHERE user_id = $1",
        vec![SqlValue::Uuid(user_id)],
    )
}

/// A single-use reset link's token digest; earlier links of the user end.
pub fn reset_token(user_id: Uuid, token_digest: &str, expires_at: OffsetDateTime) -> Vec<SideWrite> {
    vec![
        end_reset_links(user_id),
        SideWrite::new(
            "INSERT INTO password_reset_tokens (token_hash, user_id, expires_at) VALUES ($1, $2, $3)",
            vec![SqlValue::Text(token_digest.to_owned()), SqlValue::Uuid(user_id), SqlValue::Time(expires_at)],
        ),
    ]
}

/// Every open reset link of the user is used up.
pub fn end_reset_links(user_id: Uuid) -> SideWrite {
    SideWrite::new(
        "UPDATE password_reset_tokens SET used_at = now() WHERE user_id = $1 AND used_at IS NULL",
        vec![SqlValue::Uuid(user_id)],
    )
}

/// An email to send, in the outbox. `expires_at`: when what it carries stops being valid.
pub fn email(recipient: &str, subject: &str, body: &str, expires_at: Option<OffsetDateTime>) -> SideWrite {
    let values = vec![
        SqlValue::Uuid(Uuid::now_v7()),
        SqlValue::Text(recipient.to_owned()),
        SqlValue::Text(subject.to_owned()),
        SqlValue::Text(body.to_owned()),
    ];
    match expires_at {
        Some(expires_at) => SideWrite::new(
            "INSERT INTO email_outbox (id, recipient, subject, body, expires_at) VALUES ($1, $2, $3, $4, $5)",
            [values, vec![SqlValue::Time(expires_at)]].concat(),
        ),
        None => {
            SideWrite::new("INSERT INTO email_outbox (id, recipient, subject, body) VALUES ($1, $2, $3, $4)", values)
        }
    }
}

/// A campaign's copy for one subscriber, with the HTML part its sender wrote, in the outbox under `id`.
pub fn campaign_email(
    campaign_id: Uuid,
    id: Uuid,
    recipient: &str,
    subject: &str,
    text: &str,
    html: &str,
) -> SideWrite {
    SideWrite::new(
        "INSERT INTO email_outbox (id, campaign_id, recipient, subject, body, html_body) \
         VALUES ($1, $2, $3, $4, $5, $6)",
        vec![
            SqlValue::Uuid(id),
            SqlValue::Uuid(campaign_id),
            SqlValue::Text(recipient.to_owned()),
            SqlValue::Text(subject.to_owned()),
            SqlValue::Text(text.to_owned()),
            SqlValue::Text(html.to_owned()),
        ],
    )
}

/// An instructor's payout account, the number sealed with the data key.
pub fn bank_account(user_id: Uuid, account: &BankAccount, key: &DataKey) -> SideWrite {
    SideWrite::new(
        "INSERT INTO instructor_bank_accounts (user_id, account_holder_name, account_number_sealed, bank_name, \
         branch_name, branch_address, swift_code) VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (user_id) DO UPDATE SET account_holder_name = $2, account_number = NULL, \
         account_number_sealed = $3, bank_name = $4, branch_name = $5, branch_address = $6, swift_code = $7, \
         updated_at = now()",
        vec![
            SqlValue::Uuid(user_id),
            SqlValue::Text(account.account_holder_name.clone()),
            SqlValue::Bytes(key.seal(&account.account_number, user_id)),
            SqlValue::Text(account.bank_name.clone()),
            SqlValue::OptText(account.branch_name.clone()),
            SqlValue::OptText(account.branch_address.clone()),
            SqlValue::Text(account.swift_code.clone()),
        ],
    )
}

/// Which enrolment a refund request belongs to, for admins acting on it by its id.
pub fn refund_request(refund_id: Uuid, trainee_id: Uuid, course_id: Uuid) -> SideWrite {
    SideWrite::new(
        "INSERT INTO refund_requests (refund_id, trainee_id, course_id) VALUES ($1, $2, $3)",
        vec![SqlValue::Uuid(refund_id), SqlValue::Uuid(trainee_id), SqlValue::Uuid(course_id)],
    )
}

/// Which trainee and course a corporate access request is for, for admins acting on it by its id.
pub fn access_request(request_id: Uuid, trainee_id: Uuid, course_id: Uuid) -> SideWrite {
    SideWrite::new(
        "INSERT INTO access_requests (request_id, trainee_id, course_id) VALUES ($1, $2, $3)",
        vec![SqlValue::Uuid(request_id), SqlValue::Uuid(trainee_id), SqlValue::Uuid(course_id)],
    )
}
