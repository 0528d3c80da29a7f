//! Emails through the durable outbox, received by a real SMTP server on loopback: email verification and
//! password reset by a single-use link.

use mailer::Delivery;
use serde_json::{Value, json};
use tests::TestApp;
use tests::app::Answer;
use tests::smtp::SmtpServer;

async fn guest(app: &TestApp, path: &str, body: Value) -> Answer {
    app.send(app.http.post(app.url(path)), Some(&body)).await
}

async fn sign_up(app: &TestApp, name: &str) -> String {
    let email = format!("{name}@example.com");
    let body = json!({ "email": email, "username": name, "password": "first password", "name": name });
    let answer = guest(app, "/api/v1/auth/register", body).await;
    assert_eq!(answer.status, 201, "{:?}", answer.body);
    email
}

async fn login(app: &TestApp, login: &str, password: &str) -> Answer {
    guest(app, "/api/v1/auth/login", json!({ "login": login, "password": password })).await
}

/// A quoted-printable body as text (RFC 2045: soft line breaks removed, `=XX` bytes decoded).
pub(crate) fn unquote(data: &str) -> String {
    let joined = data.replace("=\n", "");
    let mut bytes = Vec::new();
    let mut rest = joined.as_bytes();
    while let Some((&byte, tail)) = rest.split_first() {
        let hex = tail.get(..2).and_then(|h| std::str::from_utf8(h).ok()).and_then(|h| u8::from_str_radix(h, 16).ok());
        match (byte, hex) {
            (b'=', Some(decoded)) => {
                bytes.push(decoded);
                rest = &tail[2..];
            }
            _ => {
                bytes.push(byte);
                rest = tail;
            }
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// The characters of `data` (decoded) right after `marker` that belong to a URL-safe token.
fn after(data: &str, marker: &str) -> String {
    let data = &unquote(data);
    let start = data.find(marker).unwrap_or_else(|| panic!("{marker:?} not in {data}")) + marker.len();
    data[start..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect()
}

#[tokio::test]
async fn a_reset_link_arrives_by_smtp_works_once_and_ends_every_session() {
    let app = TestApp::start().await;
    let smtp = SmtpServer::start().await;
    let _mailer = app.start_mailer(Delivery::Smtp(smtp.url.as_str().into()));
    let email = sign_up(&app, "reset").await;
    let session = login(&app, "reset", "first password").await;
    let refresh = session.body["data"]["refresh_token"].as_str().expect("a refresh token").to_owned();

    let asked = guest(&app, "/api/v1/auth/password-reset", json!({ "email": "RESET@example.com" })).await;
    assert_eq!(asked.status, 202);
    let nobody = guest(&app, "/api/v1/auth/password-reset", json!({ "email": "nobody@example.com" })).await;
    assert_eq!((nobody.status, &nobody.body), (202, &asked.body), "an unknown email answers the same");

    let mail = smtp.wait_for(&email, "reset your password").await;
    assert!(mail.data.contains("Subject: Learnlog: reset your password"), "{}", mail.data);
    assert!(unquote(&mail.data).contains("http://localhost:8000/reset-password?token="));
    let token = after(&mail.data, "token=");
    assert_eq!(token.len(), 43, "256 random bits");

    let weak =
        guest(&app, "/api/v1/auth/password-reset/confirm", json!({ "token": token, "new_password": "short" })).await;
    assert_eq!((weak.status, weak.body["code"].as_str()), (422, Some("validation_failed")));
    let reset = guest(
        &app,
        "/api/v1/auth/password-reset/confirm",
        json!({ "token": token, "new_password": "second password" }),
    )
    .await;
    assert_eq!(reset.status, 200, "{:?}", reset.body);
    let again =
        guest(&app, "/api/v1/auth/password-reset/confirm", json!({ "token": token, "new_password": "third password" }))
            .await;
    assert_eq!((again.status, again.body["code"].as_str()), (422, Some("reset_token_invalid")));

    assert_eq!(login(&app, "reset", "first password").await.status, 401);
    assert_eq!(login(&app, "reset", "second password").await.status, 200);
    let old_session = guest(&app, "/api/v1/auth/refresh", json!({ "refresh_token": refresh })).await;
    assert_eq!(old_session.status, 401, "a reset ends every session");
    let recorded = app
        .database
        .count("SELECT count(*) FROM events WHERE event_type IN ('PasswordResetRequested', 'PasswordReset')")
        .await;
    assert_eq!(recorded, 2);
    let leaked = app.database.count(&format!("SELECT count(*) FROM events WHERE payload::text LIKE '%{token}%'")).await;
    assert_eq!(leaked, 0, "the token never enters an event");
    let kept = app.database.count(&format!("SELECT count(*) FROM email_outbox WHERE body LIKE '%{token}%'")).await;
    assert_eq!(kept, 0, "a sent email's body, and the link in it, is dropped");
    let sent = app.database.count("SELECT count(*) FROM email_outbox WHERE sent_at IS NOT NULL AND body IS NULL").await;
    assert!(sent >= 2, "the sign-up code and the reset link were sent and dropped: {sent}");
}

#[tokio::test]
async fn an_email_whose_secret_expired_is_never_sent_and_forgotten() {
    let app = TestApp::start().await;
    let smtp = SmtpServer::start().await;
    sign_up(&app, "late").await;
    // The code was mailed while no mailer ran; by the time one starts, the code has expired.
    app.database
        .client()
        .await
        .batch_execute("UPDATE email_outbox SET expires_at = now() - interval '1 second'")
        .await
        .expect("expired");
    let _mailer = app.start_mailer(Delivery::Smtp(smtp.url.as_str().into()));
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let forgotten = app
            .database
            .count("SELECT count(*) FROM email_outbox WHERE failed_at IS NOT NULL AND body IS NULL AND sent_at IS NULL")
            .await;
        if forgotten == 1 {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the expired email was not dropped");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(smtp.count().await, 0, "an expired code was mailed");
}

#[tokio::test]
async fn a_sign_up_mails_a_six_digit_code_that_verifies_the_email_once() {
    let app = TestApp::start().await;
    let smtp = SmtpServer::start().await;
    let _mailer = app.start_mailer(Delivery::Smtp(smtp.url.as_str().into()));
    let email = sign_up(&app, "verify").await;
    let mail = smtp.wait_for(&email, "verification code is").await;
    let code = after(&mail.data, "verification code is ");
    assert_eq!(code.len(), 6, "{}", mail.data);
    let wrong = if code == "123456" { "654321" } else { "123456" };
    // The code is kept as an HMAC under the server's data key, never in clear nor as a bare hash.
    let row = app
        .database
        .client()
        .await
        .query_one("SELECT user_id, code_hash FROM email_verifications", &[])
        .await
        .expect("a pending verification");
    let (user_id, stored): (uuid::Uuid, String) = (row.get(0), row.get(1));
    let key = event_store::keys::DataKey::from_secret(tests::app::DATA_KEY.as_bytes());
    assert_eq!(stored, key.code_digest(user_id, &code));
    assert_ne!(stored, event_store::keys::DataKey::random().code_digest(user_id, &code));

    let refused = guest(&app, "/api/v1/auth/verify-email", json!({ "email": email, "code": wrong })).await;
    assert_eq!((refused.status, refused.body["code"].as_str()), (422, Some("verification_code_invalid")));
    let tries = app.database.count("SELECT attempts::bigint FROM email_verifications").await;
    assert_eq!(tries, 1, "the wrong try is counted");
    let verified = guest(&app, "/api/v1/auth/verify-email", json!({ "email": email, "code": code })).await;
    assert_eq!(verified.status, 200, "{:?}", verified.body);
    let token = app.keys.issue(verified.id(), events::Role::IndividualTrainee, std::time::Duration::from_secs(60));
    let me = app
        .send(
            app.http
                .get(app.url("/api/v1/me"))
                .bearer_auth(token.expect("signs"))
                .header("x-consistency-token", verified.token()),
            None,
        )
        .await;
    assert_eq!(me.body["data"]["email_verified"], true, "{:?}", me.body);
    let twice = guest(&app, "/api/v1/auth/verify-email", json!({ "email": email, "code": code })).await;
    assert_eq!((twice.status, twice.body["code"].as_str()), (422, Some("email_already_verified")));
    assert_eq!(app.database.count("SELECT count(*) FROM events WHERE event_type = 'EmailVerified'").await, 1);
}

#[tokio::test]
async fn emails_wait_in_the_outbox_until_a_mailer_runs_and_the_reset_routes_are_rate_limited() {
    let app = TestApp::start().await;
    let email = sign_up(&app, "later").await;
    for _ in 0..3 {
        let asked = guest(&app, "/api/v1/auth/password-reset", json!({ "email": email })).await;
        assert_eq!(asked.status, 202);
    }
    let pending = app.database.count("SELECT count(*) FROM email_outbox WHERE sent_at IS NULL").await;
    assert_eq!(pending, 4, "the welcome code and three reset links wait for a mailer");

    let smtp = SmtpServer::start().await;
    let _mailer = app.start_mailer(Delivery::Smtp(smtp.url.as_str().into()));
    smtp.wait_for(&email, "verification code is").await;
    let newest = app.database.count("SELECT count(*) FROM password_reset_tokens WHERE used_at IS NULL").await;
    assert_eq!(newest, 1, "a new link ends the earlier ones");
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    while smtp.count().await < 4 {
        assert!(tokio::time::Instant::now() < deadline, "every email is sent");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }

    // Three links an hour to one address, whoever asks; a refused request takes nothing from the client.
    let again = guest(&app, "/api/v1/auth/password-reset", json!({ "email": email })).await;
    assert_eq!((again.status, again.body["code"].as_str()), (429, Some("rate_limited")), "{:?}", again.body);
    // One client asks five times a minute in all (R19): the three above and two here; the rest are refused.
    let mut statuses = Vec::new();
    for n in 0..3 {
        let other = json!({ "email": format!("other{n}@example.com") });
        statuses.push(guest(&app, "/api/v1/auth/password-reset", other).await.status);
    }
    assert_eq!(statuses, [202, 202, 429]);
}

#[tokio::test]
async fn without_smtp_emails_are_written_into_the_local_mailbox_for_its_owner_only() {
    let app = TestApp::start().await;
    let folder = std::env::temp_dir().join(format!("learnlog-mailbox-{}", uuid::Uuid::now_v7()));
    let _mailer = app.start_mailer(Delivery::Mailbox(folder.clone()));
    sign_up(&app, "boxed").await;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    let file = loop {
        let found = std::fs::read_dir(&folder).ok().and_then(|entries| entries.flatten().map(|e| e.path()).next());
        if let Some(file) = found {
            break file;
        }
        assert!(tokio::time::Instant::now() < deadline, "no email file in {}", folder.display());
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!(file.extension().and_then(|e| e.to_str()), Some("eml"));
    let text = std::fs::read_to_string(&file).expect("readable");
    assert!(text.contains("To: boxed@example.com") && text.contains("verification code is"), "{text}");
    // The code acts for the person: only the folder's owner may read it.
    use std::os::unix::fs::PermissionsExt;
    let mode = |path: &std::path::Path| std::fs::metadata(path).expect("there").permissions().mode() & 0o777;
    assert_eq!(mode(&folder), 0o700);
    while mode(&file) != 0o600 {
        assert!(tokio::time::Instant::now() < deadline, "the email stays readable by others: {:o}", mode(&file));
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let _ = std::fs::remove_dir_all(&folder);
}
