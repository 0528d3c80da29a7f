//! The mailer worker (DOMAIN.md "Emails sent", saga 7): a command writes its email into `email_outbox` in
//! its own transaction (`command_api::email::enqueue`); the mailer sends due rows over SMTP when
//! `LEARNLOG_SMTP_URL` is set, or writes them as `.eml` files into a local mailbox folder (embedded mode). A
//! failed send is retried with a growing delay and given up after `MAX_ATTEMPTS`, with the error kept on the
//! row. A body can carry a secret (a code, a reset link): it is dropped once the email is sent, given up, or
//! past its `expires_at`, and an expired email is never sent. The SMTP URL is a [`SecretUrl`]: no log line
//! shows its password.

use std::path::PathBuf;
use std::time::Duration;

use database::{Database, SecretUrl};
use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart};
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use tokio::sync::watch;
use uuid::Uuid;

/// Attempts before an email is given up (about two hours of retries in all).
pub const MAX_ATTEMPTS: i32 = 8;
/// How often the mailer looks for due emails.
const POLL: Duration = Duration::from_millis(250);
/// Emails claimed per round.
const BATCH: i64 = 20;

/// Where emails go.
#[derive(Debug, Clone)]
pub enum Delivery {
    /// An SMTP server, from an `smtp://`, `smtps://` or `smtp://...?tls=required` URL.
    Smtp(SecretUrl),
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
    File(PathBuf, AsyncFileTransport<Tokio1Executor>),
}

impl Transport {
    async fn send(&self, message: Message) -> Result<(), String> {
        match self {
            Transport::Smtp(smtp) => smtp.send(message).await.map(drop).map_err(|e| e.to_string()),
            Transport::File(folder, file) => {
                let id = file.send(message).await.map_err(|e| e.to_string())?;
                // Readable by its owner only: an email holds codes and links that act for the person.
                private(&folder.join(format!("{id}.eml"))).map_err(|e| e.to_string())
            }
        }
    }
}

/// The development mailbox keeps a week of emails, and at most this many.
const MAILBOX_KEPT: usize = 1_000;
const MAILBOX_DAYS: u64 = 7;
/// How often the mailbox is pruned.
const PRUNE_EVERY: Duration = Duration::from_secs(600);

#[cfg(unix)]
fn private(path: &std::path::Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
}

#[cfg(not(unix))]
fn private(_path: &std::path::Path) -> std::io::Result<()> {
    Ok(())
}

/// Opens the development mailbox: a folder only its owner may enter, its emails `0600`.
fn open_mailbox(folder: &std::path::Path) -> std::io::Result<()> {
    std::fs::create_dir_all(folder)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(folder, std::fs::Permissions::from_mode(0o700))?;
    }
    for entry in std::fs::read_dir(folder)?.flatten() {
        if entry.path().extension().is_some_and(|extension| extension == "eml") {
            private(&entry.path())?;
        }
    }
    Ok(())
}

/// Deletes the mailbox's emails older than a week, and the oldest beyond the newest [`MAILBOX_KEPT`].
pub fn prune_mailbox(folder: &std::path::Path) -> std::io::Result<usize> {
    let week = Duration::from_secs(MAILBOX_DAYS * 24 * 60 * 60);
    let mut emails: Vec<(std::time::SystemTime, PathBuf)> = std::fs::read_dir(folder)?
        .flatten()
        .filter(|entry| entry.path().extension().is_some_and(|extension| extension == "eml"))
        .filter_map(|entry| Some((entry.metadata().ok()?.modified().ok()?, entry.path())))
        .collect();
    emails.sort_by_key(|(modified, _)| std::cmp::Reverse(*modified));
    let now = std::time::SystemTime::now();
    let mut pruned = 0;
    for (index, (modified, path)) in emails.iter().enumerate() {
        let old = now.duration_since(*modified).is_ok_and(|age| age > week);
        if (old || index >= MAILBOX_KEPT) && std::fs::remove_file(path).is_ok() {
            pruned += 1;
        }
    }
    Ok(pruned)
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
            smtp_transport(url)?;
        }
        Ok(Mailer { database, delivery, from })
    }

    pub async fn run(self, mut stop: watch::Receiver<bool>) -> Result<(), MailerError> {
        let transport = match &self.delivery {
            Delivery::Smtp(url) => Transport::Smtp(smtp_transport(url)?.build()),
            Delivery::Mailbox(folder) => {
                open_mailbox(folder).map_err(MailerError::Mailbox)?;
                Transport::File(folder.clone(), AsyncFileTransport::<Tokio1Executor>::new(folder))
            }
        };
        let mut pruned_at: Option<tokio::time::Instant> = None;
        // `Delivery`'s Debug shows the SMTP URL without its password.
        tracing::info!(delivery = ?self.delivery, "mailer started");
        loop {
            if let Delivery::Mailbox(folder) = &self.delivery
                && pruned_at.is_none_or(|at| at.elapsed() >= PRUNE_EVERY)
            {
                pruned_at = Some(tokio::time::Instant::now());
                match prune_mailbox(folder) {
                    Ok(0) => {}
                    Ok(pruned) => tracing::info!(pruned, "old emails removed from the mailbox folder"),
                    Err(error) => tracing::warn!(%error, "the mailbox folder could not be pruned"),
                }
            }
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
    #[tracing::instrument(level = "debug", skip_all)]
    async fn round(&self, transport: &Transport) -> Result<usize, tokio_postgres::Error> {
        let mut client = match self.database.pool().get().await {
            Ok(client) => client,
            Err(error) => {
                tracing::warn!(%error, "no database connection for the mailer");
                return Ok(0);
            }
        };
        let transaction = client.transaction().await?;
        // What a late email would carry is no longer valid: never send it, and forget it.
        transaction
            .execute(
                "UPDATE email_outbox SET body = NULL, attachment = NULL, html_body = NULL, failed_at = now(), \
                 last_error = 'expired before it was sent' \
                 WHERE sent_at IS NULL AND failed_at IS NULL AND expires_at <= now()",
                &[],
            )
            .await?;
        let due = transaction
            .query(
                "SELECT id, recipient, subject, body, attempts, attachment_name, attachment_type, attachment, \
                 html_body FROM email_outbox \
                 WHERE sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= now() \
                 AND (expires_at IS NULL OR expires_at > now()) \
                 ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED",
                &[&BATCH],
            )
            .await?;
        for row in &due {
            let id: Uuid = row.try_get(0)?;
            let attempts: i32 = row.try_get(4)?;
            let body: Option<String> = row.try_get(3)?;
            let attachment = match (row.try_get(5)?, row.try_get(6)?, row.try_get(7)?) {
                (Some(name), Some(content_type), Some(bytes)) => Some(Attached { name, content_type, bytes }),
                _ => None,
            };
            let html: Option<String> = row.try_get(8)?;
            let content = Content { text: body.unwrap_or_default(), html, attachment };
            let outcome = match self.message(row.try_get(1)?, row.try_get(2)?, content) {
                Ok(message) => transport.send(message).await,
                Err(error) => Err(error),
            };
            match outcome {
                Ok(()) => {
                    transaction
                        .execute(
                            "UPDATE email_outbox SET sent_at = now(), attempts = attempts + 1, body = NULL, attachment = NULL, \
                             html_body = NULL \
                             WHERE id = $1",
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
                             failed_at = CASE WHEN $2 >= $5 THEN now() END, \
                             body = CASE WHEN $2 >= $5 THEN NULL ELSE body END, \
                             attachment = CASE WHEN $2 >= $5 THEN NULL ELSE attachment END, \
                             html_body = CASE WHEN $2 >= $5 THEN NULL ELSE html_body END WHERE id = $1",
                            &[&id, &attempts, &error, &backoff, &MAX_ATTEMPTS],
                        )
                        .await?;
                }
            }
        }
        transaction.commit().await?;
        Ok(due.len())
    }

    /// The email: a plain-text part and an HTML part (the sender's, or one made from the text), and the
    /// attachment if there is one.
    fn message(&self, recipient: String, subject: String, content: Content) -> Result<Message, String> {
        // The address is personal data: an error names the email's row, never the address.
        let to = recipient.parse::<Mailbox>().map_err(|e| format!("the recipient is not an address: {e}"))?;
        let builder = Message::builder().from(self.from.clone()).to(to).subject(subject);
        let html = content.html.unwrap_or_else(|| html_of_text(&content.text));
        let parts = MultiPart::alternative_plain_html(content.text, html);
        let Some(attached) = content.attachment else {
            return builder.multipart(parts).map_err(|e| e.to_string());
        };
        let content_type = ContentType::parse(&attached.content_type).map_err(|e| e.to_string())?;
        let file = Attachment::new(attached.name).body(attached.bytes, content_type);
        builder.multipart(MultiPart::mixed().multipart(parts).singlepart(file)).map_err(|e| e.to_string())
    }
}

/// What an email says.
struct Content {
    text: String,
    html: Option<String>,
    attachment: Option<Attached>,
}

/// An HTML part for an email written as text: escaped, a paragraph per blank-line block, links clickable.
pub fn html_of_text(text: &str) -> String {
    let paragraphs: Vec<String> = text
        .split("\n\n")
        .map(str::trim)
        .filter(|paragraph| !paragraph.is_empty())
        .map(|paragraph| {
            let lines: Vec<String> = paragraph.lines().map(linked).collect();
            format!("<p>{}</p>", lines.join("<br>"))
        })
        .collect();
    format!(
        "<!DOCTYPE html><html><body style=\"font-family: sans-serif; line-height: 1.5\">{}</body></html>",
        paragraphs.join("")
    )
}

/// One line, escaped, with its http(s) links made clickable.
fn linked(line: &str) -> String {
    line.split(' ')
        .map(|word| {
            let escaped = escape(word);
            if word.starts_with("https://") || word.starts_with("http://") {
                format!("<a href=\"{escaped}\">{escaped}</a>")
            } else {
                escaped
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// `text` safe inside HTML text and attribute values.
fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            _ => escaped.push(c),
        }
    }
    escaped
}

/// A file sent with an email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attached {
    pub name: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// An email a process writes into the outbox on its own (a saga answering an event), not beside a command's
/// events: `id` is derived from the causing event, so a redelivered event finds its email there already.
#[derive(Debug, Clone)]
pub struct OutboxEmail {
    pub id: Uuid,
    pub recipient: String,
    pub subject: String,
    pub body: String,
    /// The HTML part, when the sender wrote one; else it is made from `body`.
    pub html: Option<String>,
    pub attachment: Option<Attached>,
}

/// Writes `email` into the outbox unless an email with its id is there (or was sent) already. Returns
/// whether it was written.
pub async fn enqueue_once(database: &Database, email: &OutboxEmail) -> Result<bool, OutboxError> {
    let client = database.pool().get().await.map_err(|error| OutboxError(error.to_string()))?;
    let (name, content_type, bytes) = match &email.attachment {
        Some(attached) => (Some(&attached.name), Some(&attached.content_type), Some(&attached.bytes)),
        None => (None, None, None),
    };
    let written = client
        .execute(
            "INSERT INTO email_outbox (id, recipient, subject, body, attachment_name, attachment_type, attachment, \
             html_body) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (id) DO NOTHING",
            &[&email.id, &email.recipient, &email.subject, &email.body, &name, &content_type, &bytes, &email.html],
        )
        .await
        .map_err(|error| OutboxError(error.to_string()))?;
    Ok(written == 1)
}

/// The outbox could not be written (no connection, a database error).
#[derive(Debug, thiserror::Error)]
#[error("writing to the email outbox failed: {0}")]
pub struct OutboxError(String);

/// The SMTP transport of `url`. lettre's error may quote the URL, so it is not passed on: the redacted URL is.
fn smtp_transport(url: &SecretUrl) -> Result<lettre::transport::smtp::AsyncSmtpTransportBuilder, MailerError> {
    AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose())
        .map_err(|_| MailerError::Url(format!("{url} is not a valid smtp://, smtps:// or smtp://…?tls=required URL")))
}

#[cfg(test)]
mod tests {
    use super::{MAILBOX_KEPT, html_of_text, prune_mailbox};

    #[test]
    fn the_mailbox_keeps_a_week_and_at_most_a_thousand_emails() {
        let folder = std::env::temp_dir().join(format!("learnlog-prune-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&folder).expect("a folder");
        let now = std::time::SystemTime::now();
        let day = std::time::Duration::from_secs(24 * 60 * 60);
        let write = |name: &str, age: std::time::Duration| {
            let path = folder.join(name);
            std::fs::write(&path, "email").expect("written");
            std::fs::File::options().write(true).open(&path).expect("open").set_modified(now - age).expect("aged");
        };
        write("old.eml", day * 8);
        write("recent.eml", day * 6);
        write("notes.txt", day * 30);
        for n in 0..MAILBOX_KEPT {
            write(&format!("{n}.eml"), std::time::Duration::from_secs(n as u64));
        }
        assert_eq!(prune_mailbox(&folder).expect("pruned"), 2, "the week-old one and the oldest beyond the limit");
        assert!(!folder.join("old.eml").exists() && !folder.join("recent.eml").exists());
        assert!(folder.join("notes.txt").exists(), "only emails are pruned");
        assert_eq!(std::fs::read_dir(&folder).expect("a folder").count(), MAILBOX_KEPT + 1);
        std::fs::remove_dir_all(&folder).expect("removed");
    }

    #[test]
    fn a_text_email_becomes_escaped_paragraphs_with_clickable_links() {
        let html = html_of_text("Hello <Ada> & co,\n\nReset here:\nhttps://learn.example/reset?token=a&b=1\n");
        assert!(html.contains("<p>Hello &lt;Ada&gt; &amp; co,</p>"), "{html}");
        assert!(html.contains(r#"<p>Reset here:<br><a href="https://learn.example/reset?token=a&amp;b=1">"#), "{html}");
    }
}
