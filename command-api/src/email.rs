//! Emails through a durable outbox (DOMAIN.md "Emails sent", saga 7): a command writes its email into
//! `email_outbox` in its own transaction; the `mailer` worker sends it. An email that carries a secret (a
//! code, a reset link) says when that secret expires: the mailer never sends it later, and the body is
//! dropped once the email is sent, given up or expired.

use time::OffsetDateTime;
use uuid::Uuid;

/// Adds an email to the outbox inside the caller's transaction. `expires_at`: when what the body carries is
/// no longer valid (`None`: the body holds no secret and never expires).
pub async fn enqueue(
    client: &impl tokio_postgres::GenericClient,
    recipient: &str,
    subject: &str,
    body: &str,
    expires_at: Option<OffsetDateTime>,
) -> Result<(), tokio_postgres::Error> {
    client
        .execute(
            "INSERT INTO email_outbox (id, recipient, subject, body, expires_at) VALUES ($1, $2, $3, $4, $5)",
            &[&Uuid::now_v7(), &recipient, &subject, &body, &expires_at],
        )
        .await
        .map(drop)
}
