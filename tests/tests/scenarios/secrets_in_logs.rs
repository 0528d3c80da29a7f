//! No secret reaches a log line or standard output, even at `RUST_LOG=debug`: a real `learnlog serve`
//! process (command API, query API and mailer, delivering over SMTP with a password) runs sign-up, email
//! verification, login, a password reset and a login with the new password, and every line it printed is
//! searched for every secret that went through it.

use std::time::Duration;

use serde_json::{Value, json};
use tests::process::LearnlogProcess;
use tests::smtp::SmtpServer;
use tests::test_database;

const JWT_SECRET: &str = "jwt-secret-that-must-never-be-printed-0001";
const DATA_KEY: &str = "data-key-that-must-never-be-printed-00000002";
const SMTP_PASSWORD: &str = "smtp-password-never-printed-3";
const FIRST_PASSWORD: &str = "first password never printed 4";
const SECOND_PASSWORD: &str = "second password never printed 5";

/// The characters of `data` right after `marker` that belong to a code or a URL-safe token.
fn after(data: &str, marker: &str) -> String {
    let data = data.replace("=\n", "").replace("=3D", "=");
    let start = data.find(marker).unwrap_or_else(|| panic!("{marker:?} not in {data}")) + marker.len();
    data[start..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect()
}

/// Whether `secret` occurs in `line` not as part of a longer run of letters and digits (a six-digit code
/// is not found inside a longer number).
fn contains_whole(line: &str, secret: &str) -> bool {
    line.match_indices(secret).any(|(at, _)| {
        let before = line[..at].chars().next_back();
        let after = line[at + secret.len()..].chars().next();
        !before.is_some_and(|c| c.is_ascii_alphanumeric()) && !after.is_some_and(|c| c.is_ascii_alphanumeric())
    })
}

async fn post(http: &reqwest::Client, url: String, body: Value, token: Option<&str>) -> (u16, Value) {
    let mut request = http.post(url).json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("the process answers");
    let status = response.status().as_u16();
    let bytes = response.bytes().await.expect("a body");
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_password_token_code_or_link_is_ever_logged_even_at_debug() {
    let database = test_database().await;
    let smtp = SmtpServer::start().await;
    let smtp_url = smtp.url.replace("smtp://", &format!("smtp://mailer:{SMTP_PASSWORD}@"));
    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port();
    let data_dir = std::env::temp_dir().join(format!("learnlog-secrets-{}", uuid::Uuid::now_v7().simple()));
    let environment = [
        ("DATABASE_URL", database.url.as_str()),
        ("LEARNLOG_SMTP_URL", smtp_url.as_str()),
        ("LEARNLOG_JWT_SECRET", JWT_SECRET),
        ("LEARNLOG_DATA_KEY", DATA_KEY),
        ("LEARNLOG_DATA_DIR", data_dir.to_str().expect("a UTF-8 path")),
        ("RUST_LOG", "debug"),
    ];
    let process =
        LearnlogProcess::serve_on(&["command-api", "query-api", "mailer"], &format!("127.0.0.1:{port}"), &environment);
    let base = format!("http://127.0.0.1:{port}/api/v1");
    let http = reqwest::Client::new();
    process.wait_ready(&format!("127.0.0.1:{port}"), Duration::from_secs(30)).await;

    let email = "secret.keeper@example.com";
    let sign_up = json!({ "email": email, "username": "keeper", "password": FIRST_PASSWORD, "name": "Keeper" });
    let (status, body) = post(&http, format!("{base}/auth/register"), sign_up, None).await;
    assert_eq!(status, 201, "{body}");
    let code = after(&smtp.wait_for(email, "verification code is").await.data, "verification code is ");
    assert_eq!(code.len(), 6);
    let (status, body) =
        post(&http, format!("{base}/auth/verify-email"), json!({ "email": email, "code": code }), None).await;
    assert_eq!(status, 200, "{body}");

    let (status, session) =
        post(&http, format!("{base}/auth/login"), json!({ "login": "keeper", "password": FIRST_PASSWORD }), None).await;
    assert_eq!(status, 200, "{session}");
    let access = session["data"]["access_token"].as_str().expect("an access token").to_owned();
    let refresh = session["data"]["refresh_token"].as_str().expect("a refresh token").to_owned();

    let (status, _) = post(&http, format!("{base}/auth/password-reset"), json!({ "email": email }), None).await;
    assert_eq!(status, 202);
    let link = smtp.wait_for(email, "reset-password?token").await.data;
    let reset_token = after(&link, "token=");
    assert_eq!(reset_token.len(), 43);
    let confirm = json!({ "token": reset_token, "new_password": SECOND_PASSWORD });
    let (status, body) = post(&http, format!("{base}/auth/password-reset/confirm"), confirm, None).await;
    assert_eq!(status, 200, "{body}");
    let (status, second) =
        post(&http, format!("{base}/auth/login"), json!({ "login": email, "password": SECOND_PASSWORD }), None).await;
    assert_eq!(status, 200, "{second}");
    let second_refresh = second["data"]["refresh_token"].as_str().expect("a refresh token").to_owned();
    let (status, _) = post(
        &http,
        format!("{base}/auth/logout"),
        json!({ "refresh_token": second_refresh }),
        Some(second["data"]["access_token"].as_str().expect("an access token")),
    )
    .await;
    assert_eq!(status, 204);

    // All it logs about these requests is printed once it has logged its answer to the last one (the only 204)
    // and its mailer has sent every email they queued.
    let answered = |line: &str| line.contains("finished processing request") && line.contains("status=204");
    process.wait_for_line("its answer to the logout", answered, Duration::from_secs(10)).await;
    database.wait_until_mailed().await;
    let output = process.output().join("\n");
    assert!(output.contains("DEBUG"), "the process logged at debug level: {output}");
    assert!(output.contains("mailer started"), "the mailer's start is logged: {output}");
    let database_password = database.url.split(':').nth(2).and_then(|rest| rest.split('@').next()).expect("a password");
    let secrets = [
        ("the database password", database_password),
        ("the SMTP password", SMTP_PASSWORD),
        ("the JWT secret", JWT_SECRET),
        ("the data key", DATA_KEY),
        ("the first password", FIRST_PASSWORD),
        ("the second password", SECOND_PASSWORD),
        ("the verification code", code.as_str()),
        ("the reset token", reset_token.as_str()),
        ("the access token", access.as_str()),
        ("the refresh token", refresh.as_str()),
        ("the second refresh token", second_refresh.as_str()),
    ];
    for (what, secret) in secrets {
        assert!(secret.len() >= 6, "{what} is long enough to search for");
        if let Some(line) = output.lines().find(|line| contains_whole(line, secret)) {
            panic!("{what} was printed: {line}");
        }
    }
    let _ = std::fs::remove_dir_all(&data_dir);
}
