//! Emails through a durable outbox (DOMAIN.md "Emails sent", saga 7): a command writes its email into
//! `email_outbox` in its own transaction; the mailer sends due rows over SMTP when `LEARNLOG_SMTP_URL` is
//! set, or writes them as `.eml` files into a local mailbox folder (embedded mode). A failed send is retried
//! with a growing delay and given up after `MAX_ATTEMPTS`, with the error kept on the row.

use std::path::PathBuf;
use std::time::Duration;

use event_store::Database;
use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use tokio::sync::watch;
use uuid::Uuid;

/// Attempts before an email is given up (about two hours of retries in all).
pub const MAX_ATTEMPTS: i32 = 8;
/// How often the mailer looks for due emails.
const POLL: Duration = Duration::from_millis(250);
/// Emails claimed per round.
const BATCH: i64 = 20;

/// Adds an email to the outbox inside the caller's transaction.
pub async fn enqueue(
    client: &impl tokio_postgres::GenericClient,
    recipient: &str,
    subject: &str,
    body: &str,
) -> Result<(), tokio_postgres::Error> {
    client
        .execute(
            "INSERT INTO email_outbox (id, recipient, subject, body) VALUES ($1, $2, $3, $4)",
            &[&Uuid::now_v7(), &recipient, &subject, &body],
        )
        .await
        .map(drop)
}

/// Where emails go.
#[derive(Debug, Clone)]
pub enum Delivery {
    /// An SMTP server, from an `smtp://`, `smtps://` or `smtp://...?tls=required` URL.
    Smtp(String),
    /// `.eml` files in a folder, for a machine without a mail server.
    Mailbox(PathBuf),
}

#[derive(Debug, thiserror::Error)]
pub enum MailerError {
    #[error("the SMTP URL is not valid: {0}")]
    Url(String),
    #[error("the sender address {0:?} is not valid")]
    From(String),
    #[error("the mailbox folder cannot be created: {0}")]
    Mailbox(std::io::Error),
}

enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    File(AsyncFileTransport<Tokio1Executor>),
}

impl Transport {
    async fn send(&self, message: Message) -> Result<(), String> {
        match self {
            Transport::Smtp(smtp) => smtp.send(message).await.map(drop).map_err(|e| e.to_string()),
            Transport::File(file) => file.send(message).await.map(drop).map_err(|e| e.to_string()),
        }
    }
}

/// Sends the outbox's due emails until `stop` turns true.
#[derive(Debug)]
pub struct Mailer {
    database: Database,
    delivery: Delivery,
    from: Mailbox,
}

impl Mailer {
    pub fn new(database: Database, delivery: Delivery, from: &str) -> Result<Mailer, MailerError> {
        let from = from.parse::<Mailbox>().map_err(|_| MailerError::From(from.to_owned()))?;
        if let Delivery::Smtp(url) = &delivery {
            // A wrong URL stops the process at start, not every send later.
            AsyncSmtpTransport::<Tokio1Executor>::from_url(url).map_err(|e| MailerError::Url(e.to_string()))?;
        }
        Ok(Mailer { database, delivery, from })
    }

    pub async fn run(self, mut stop: watch::Receiver<bool>) -> Result<(), MailerError> {
        let transport = match &self.delivery {
            Delivery::Smtp(url) => Transport::Smtp(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .map_err(|e| MailerError::Url(e.to_string()))?
                    .build(),
            ),
            Delivery::Mailbox(folder) => {
                std::fs::create_dir_all(folder).map_err(MailerError::Mailbox)?;
                Transport::File(AsyncFileTransport::<Tokio1Executor>::new(folder))
            }
        };
        tracing::info!(delivery = ?self.delivery, "mailer started");
        loop {
            let sent = match self.round(&transport).await {
                Ok(sent) => sent,
                Err(error) => {
                    tracing::warn!(%error, "the mailer could not read the outbox");
                    0
                }
            };
            if sent == 0 {
                tokio::select! {
                    changed = stop.changed() => if changed.is_err() { return Ok(()) },
                    () = tokio::time::sleep(POLL) => {}
                }
            }
            if *stop.borrow() {
                return Ok(());
            }
        }
    }

    /// Claims due emails, sends each and records the outcome, in one transaction whose row locks keep
    /// other mailers off the same emails. Returns how many were handled.
    async fn round(&self, transport: &Transport) -> Result<usize, tokio_postgres::Error> {
        let mut client = match self.database.pool().get().await {
            Ok(client) => client,
            Err(error) => {
                tracing::warn!(%error, "no database connection for the mailer");
                return Ok(0);
            }
        };
        let transaction = client.transaction().await?;
        let due = transaction
            .query(
                "SELECT id, recipient, subject, body, attempts FROM email_outbox \
                 WHERE sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= now() \
                 ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED",
                &[&BATCH],
            )
            .await?;
        for row in &due {
            let id: Uuid = row.try_get(0)?;
            let attempts: i32 = row.try_get(4)?;
            let outcome = match self.message(row.try_get(1)?, row.try_get(2)?, row.try_get(3)?) {
                Ok(message) => transport.send(message).await,
                Err(error) => Err(error),
            };
            match outcome {
                Ok(()) => {
                    transaction
                        .execute(
                            "UPDATE email_outbox SET sent_at = now(), attempts = attempts + 1 WHERE id = $1",
                            &[&id],
                        )
                        .await?;
                }
                Err(error) => {
                    let attempts = attempts + 1;
                    tracing::warn!(%id, attempts, %error, "sending an email failed");
                    let backoff = 2_f64.powi(attempts.min(12)) * 15.0;
                    transaction
                        .execute(
                            "UPDATE email_outbox SET attempts = $2, last_error = $3, \
                             next_attempt_at = now() + make_interval(secs => $4), \
                             failed_at = CASE WHEN $2 >= $5 THEN now() END WHERE id = $1",
                            &[&id, &attempts, &error, &backoff, &MAX_ATTEMPTS],
                        )
                        .await?;
                }
            }
        }
        transaction.commit().await?;
        Ok(due.len())
    }

    fn message(&self, recipient: String, subject: String, body: String) -> Result<Message, String> {
        let to = recipient.parse::<Mailbox>().map_err(|e| format!("recipient {recipient:?}: {e}"))?;
        Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .header(ContentType::TEXT_PLAIN)
            .body(body)
            .map_err(|e| e.to_string())
    }
}
