//! What the write side records beside a decision's events, in the append's own transaction, so that a
//! credential, a session or an email exists exactly when its event does: each [`Effect`] a decider names,
//! as the statements that record it. Rules are not here: the deciders decide, this only records what was
//! decided. Uniqueness stays a database constraint (`user_credentials_email_unique`,
//! `user_credentials_username_unique`), which the pipeline reports as the claim it is.

use domain::effects::{Effect, Email};
use event_store::keys::KeyRing;
use event_store::{SideWrite, SqlValue};
use uuid::Uuid;

/// The channel on which an account's new session generation is announced (`<user id> <generation>`).
pub const SESSIONS_CHANNEL: &str = "learnlog_sessions";

/// The statements that record `effect`.
pub fn side_writes(effect: &Effect) -> Vec<SideWrite> {
    let one = |statement: &'static str, values: Vec<SqlValue>| vec![SideWrite::new(statement, values)];
    match effect {
        Effect::ClaimCredentials { user_id, email, username, password_hash, role } => one(
            "INSERT INTO user_credentials (user_id, email, username, password_hash, role) VALUES ($1, $2, $3, $4, $5)",
            vec![
                SqlValue::Uuid(*user_id),
                SqlValue::Text(email.clone()),
                SqlValue::Text(username.clone()),
                SqlValue::Text(password_hash.clone()),
                SqlValue::Text(role.as_str().to_owned()),
            ],
        ),
        Effect::SetPassword { user_id, password_hash } => one(
            "UPDATE user_credentials SET password_hash = $2 WHERE user_id = $1",
            vec![SqlValue::Uuid(*user_id), SqlValue::Text(password_hash.clone())],
        ),
        Effect::EndSessions { user_id } => vec![
            SideWrite::new(
                "UPDATE refresh_tokens SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL",
                vec![SqlValue::Uuid(*user_id)],
            ),
            end_access_tokens(*user_id),
        ],
        Effect::EndSessionFamily { user_id, family_id } => one(
            "UPDATE refresh_tokens SET revoked_at = now() WHERE user_id = $1 AND family_id = $2 AND revoked_at IS NULL",
            vec![SqlValue::Uuid(*user_id), SqlValue::Uuid(*family_id)],
        ),
        Effect::StartSession { user_id, token_digest, family_id, days } => one(
            "INSERT INTO refresh_tokens (token_hash, family_id, user_id, expires_at) \
             VALUES ($1, $2, $3, now() + make_interval(days => $4))",
            vec![
                SqlValue::Text(token_digest.clone()),
                SqlValue::Uuid(*family_id),
                SqlValue::Uuid(*user_id),
                SqlValue::Int(*days),
            ],
        ),
        Effect::RecordLogin { user_id } => {
            one("UPDATE user_credentials SET last_login_at = now() WHERE user_id = $1", vec![SqlValue::Uuid(*user_id)])
        }
        Effect::ForgetAccount { user_id } => forget_account(*user_id),
        Effect::VerificationCode { user_id, code_digest, expires_at } => one(
            "INSERT INTO email_verifications (user_id, code_hash, expires_at) VALUES ($1, $2, $3) \
             ON CONFLICT (user_id) DO UPDATE SET code_hash = $2, expires_at = $3, attempts = 0",
            vec![SqlValue::Uuid(*user_id), SqlValue::Text(code_digest.clone()), SqlValue::Time(*expires_at)],
        ),
        Effect::EmailVerified { user_id } => {
            one("UPDATE email_verifications SET verified_at = now() WHERE user_id = $1", vec![SqlValue::Uuid(*user_id)])
        }
        Effect::ResetLink { user_id, token_digest, expires_at } => vec![
            end_reset_links(*user_id),
            SideWrite::new(
                "INSERT INTO password_reset_tokens (token_hash, user_id, expires_at) VALUES ($1, $2, $3)",
                vec![SqlValue::Text(token_digest.clone()), SqlValue::Uuid(*user_id), SqlValue::Time(*expires_at)],
            ),
        ],
        Effect::EndResetLinks { user_id } => vec![end_reset_links(*user_id)],
        Effect::PayoutAccount {
            user_id,
            holder_name,
            sealed_number,
            bank_name,
            branch_name,
            branch_address,
            swift_code,
        } => one(
            "INSERT INTO instructor_bank_accounts (user_id, account_holder_name, account_number_sealed, bank_name, \
             branch_name, branch_address, swift_code) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (user_id) DO UPDATE SET account_holder_name = $2, account_number = NULL, \
             account_number_sealed = $3, bank_name = $4, branch_name = $5, branch_address = $6, swift_code = $7, \
             updated_at = now()",
            vec![
                SqlValue::Uuid(*user_id),
                SqlValue::Text(holder_name.clone()),
                SqlValue::Bytes(sealed_number.clone()),
                SqlValue::Text(bank_name.clone()),
                SqlValue::OptText(branch_name.clone()),
                SqlValue::OptText(branch_address.clone()),
                SqlValue::Text(swift_code.clone()),
            ],
        ),
        Effect::ForgetKey { owner } => vec![KeyRing::forget(*owner)],
        Effect::RefundRequest { refund_id, trainee_id, course_id } => one(
            "INSERT INTO refund_requests (refund_id, trainee_id, course_id) VALUES ($1, $2, $3)",
            vec![SqlValue::Uuid(*refund_id), SqlValue::Uuid(*trainee_id), SqlValue::Uuid(*course_id)],
        ),
        Effect::AccessRequest { request_id, trainee_id, course_id } => one(
            "INSERT INTO access_requests (request_id, trainee_id, course_id) VALUES ($1, $2, $3)",
            vec![SqlValue::Uuid(*request_id), SqlValue::Uuid(*trainee_id), SqlValue::Uuid(*course_id)],
        ),
        Effect::Email(email) => vec![outbox(email)],
        Effect::CampaignEmail { campaign_id, email_id, to, subject, text, html } => one(
            "INSERT INTO email_outbox (id, campaign_id, recipient, subject, body, html_body) \
             VALUES ($1, $2, $3, $4, $5, $6)",
            vec![
                SqlValue::Uuid(*email_id),
                SqlValue::Uuid(*campaign_id),
                SqlValue::Text(to.clone()),
                SqlValue::Text(subject.clone()),
                SqlValue::Text(text.clone()),
                SqlValue::Text(html.clone()),
            ],
        ),
    }
}

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

/// Forgets every credential of a deleted or erased account: its email and username are free again, no
/// session, link or code of it works any more, and its key is gone, so its personal data in every event,
/// topic and export is unreadable (crypto-shredding).
fn forget_account(user_id: Uuid) -> Vec<SideWrite> {
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

/// Every open reset link of the user is used up.
fn end_reset_links(user_id: Uuid) -> SideWrite {
    SideWrite::new(
        "UPDATE password_reset_tokens SET used_at = now() WHERE user_id = $1 AND used_at IS NULL",
        vec![SqlValue::Uuid(user_id)],
    )
}

/// An email in the outbox; one that carries something with an end is not sent after it.
fn outbox(email: &Email) -> SideWrite {
    let values = vec![
        SqlValue::Uuid(Uuid::now_v7()),
        SqlValue::Text(email.to.clone()),
        SqlValue::Text(email.subject.clone()),
        SqlValue::Text(email.body.clone()),
    ];
    match email.expires_at {
        Some(expires_at) => SideWrite::new(
            "INSERT INTO email_outbox (id, recipient, subject, body, expires_at) VALUES ($1, $2, $3, $4, $5)",
            [values, vec![SqlValue::Time(expires_at)]].concat(),
        ),
        None => {
            SideWrite::new("INSERT INTO email_outbox (id, recipient, subject, body) VALUES ($1, $2, $3, $4)", values)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forgetting_an_account_ends_its_sessions_and_forgets_its_key_last() {
        let user_id = Uuid::from_u128(1);
        let statements: Vec<String> =
            side_writes(&Effect::ForgetAccount { user_id }).iter().map(|write| format!("{write:?}")).collect();
        assert!(statements[0].contains("DELETE FROM email_outbox"), "no email of theirs waits: {statements:?}");
        assert!(statements.iter().any(|statement| statement.contains("session_revocations")), "{statements:?}");
        assert_eq!(statements.last(), Some(&format!("{:?}", KeyRing::forget(user_id))), "its key goes last");
    }

    #[test]
    fn a_reset_link_ends_the_earlier_ones_before_it_is_kept() {
        let link = Effect::ResetLink {
            user_id: Uuid::from_u128(1),
            token_digest: "d".to_owned(),
            expires_at: time::OffsetDateTime::UNIX_EPOCH,
        };
        let statements: Vec<String> = side_writes(&link).iter().map(|write| format!("{write:?}")).collect();
        assert!(statements[0].contains("SET used_at") && statements[1].contains("INSERT INTO password_reset_tokens"));
    }
}
