//! Log in, refresh rotation with reuse detection, log out, and the login rate limit (R19), through HTTP.

use serde_json::{Value, json};
use tests::TestApp;
use tests::app::Answer;

async fn post(app: &TestApp, path: &str, body: &Value) -> Answer {
    app.send(app.http.post(app.url(path)), Some(body)).await
}

async fn signed_up(app: &TestApp) {
    let body =
        json!({ "email": "ada@example.com", "username": "Ada", "password": "correct horse battery", "name": "Ada" });
    assert_eq!(post(app, "/api/v1/auth/register", &body).await.status, 201);
}

async fn login(app: &TestApp, login: &str, password: &str) -> Answer {
    post(app, "/api/v1/auth/login", &json!({ "login": login, "password": password })).await
}

fn tokens(answer: &Answer) -> (String, String) {
    let data = &answer.body["data"];
    (
        data["access_token"].as_str().expect("access").to_owned(),
        data["refresh_token"].as_str().expect("refresh").to_owned(),
    )
}

#[tokio::test]
async fn a_trainee_logs_in_by_email_or_username_and_refreshes_with_rotation() {
    let app = TestApp::start().await;
    signed_up(&app).await;
    let by_username = login(&app, "ADA", "correct horse battery").await;
    assert_eq!(by_username.status, 200, "{:?}", by_username.body);
    let by_email = login(&app, "Ada@Example.com", "correct horse battery").await;
    assert_eq!(by_email.status, 200);
    assert_eq!(
        (by_email.body["data"]["token_type"].as_str(), by_email.body["data"]["expires_in"].as_u64()),
        (Some("Bearer"), Some(900))
    );
    assert_eq!(by_email.header("cache-control"), Some("no-store"));

    let (access, refresh) = tokens(&by_email);
    app.wait_until_projected().await;
    let me = app.send(app.http.get(app.url("/api/v1/me")).bearer_auth(&access), None).await;
    assert_eq!((me.status, me.body["data"]["role"].as_str()), (200, Some("individual_trainee")));

    let rotated = post(&app, "/api/v1/auth/refresh", &json!({ "refresh_token": refresh })).await;
    assert_eq!(rotated.status, 200, "{:?}", rotated.body);
    let (_, next) = tokens(&rotated);
    assert_ne!(next, refresh);
    let again = post(&app, "/api/v1/auth/refresh", &json!({ "refresh_token": next })).await;
    assert_eq!(again.status, 200, "a current token keeps rotating");
}

#[tokio::test]
async fn reusing_a_rotated_refresh_token_revokes_the_whole_family() {
    let app = TestApp::start().await;
    signed_up(&app).await;
    let (_, first) = tokens(&login(&app, "ada", "correct horse battery").await);
    let (_, second) = tokens(&post(&app, "/api/v1/auth/refresh", &json!({ "refresh_token": first })).await);
    let reuse = post(&app, "/api/v1/auth/refresh", &json!({ "refresh_token": first })).await;
    assert_eq!((reuse.status, reuse.body["code"].as_str()), (401, Some("unauthenticated")));
    let thief_or_owner = post(&app, "/api/v1/auth/refresh", &json!({ "refresh_token": second })).await;
    assert_eq!(thief_or_owner.status, 401, "the newest token of the family is revoked too");
    // Another login starts a new, healthy family.
    let (_, fresh) = tokens(&login(&app, "ada", "correct horse battery").await);
    assert_eq!(post(&app, "/api/v1/auth/refresh", &json!({ "refresh_token": fresh })).await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_refreshes_with_one_token_let_one_win_and_revoke_the_family() {
    let app = TestApp::start().await;
    signed_up(&app).await;
    let (_, token) = tokens(&login(&app, "ada", "correct horse battery").await);
    let body = json!({ "refresh_token": token });
    let answers = futures_util::future::join_all((0..5).map(|_| post(&app, "/api/v1/auth/refresh", &body))).await;
    let won: Vec<&Answer> = answers.iter().filter(|a| a.status == 200).collect();
    assert_eq!(won.len(), 1, "{:?}", answers.iter().map(|a| a.status).collect::<Vec<_>>());
    assert_eq!(answers.iter().filter(|a| a.status == 401).count(), 4);
    let (_, winner) = tokens(won[0]);
    assert_eq!(post(&app, "/api/v1/auth/refresh", &json!({ "refresh_token": winner })).await.status, 401);
}

#[tokio::test]
async fn logging_out_revokes_the_session_and_needs_a_token() {
    let app = TestApp::start().await;
    signed_up(&app).await;
    let (access, refresh) = tokens(&login(&app, "ada", "correct horse battery").await);
    let anonymous = post(&app, "/api/v1/auth/logout", &json!({ "refresh_token": refresh })).await;
    assert_eq!(anonymous.status, 401);
    let request = app.http.post(app.url("/api/v1/auth/logout")).bearer_auth(&access);
    assert_eq!(app.send(request, Some(&json!({ "refresh_token": refresh }))).await.status, 204);
    assert_eq!(post(&app, "/api/v1/auth/refresh", &json!({ "refresh_token": refresh })).await.status, 401);
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_user_answer_alike_and_the_sixth_attempt_is_limited() {
    let app = TestApp::start().await;
    signed_up(&app).await;
    let wrong = login(&app, "ada", "not the password").await;
    let unknown = login(&app, "grace", "not the password").await;
    assert_eq!((wrong.status, unknown.status), (401, 401));
    assert_eq!(wrong.body, unknown.body, "nothing tells an unknown user from a wrong password");
    for _ in 0..3 {
        assert_eq!(login(&app, "ada", "not the password").await.status, 401);
    }
    let limited = login(&app, "ada", "correct horse battery").await;
    assert_eq!((limited.status, limited.body["code"].as_str()), (429, Some("rate_limited")));
    let retry_after: u64 = limited.header("retry-after").and_then(|v| v.parse().ok()).expect("Retry-After");
    assert!((1..=60).contains(&retry_after), "{retry_after}");
}

/// Only failures count (R19): someone who switches between two accounts from one address is never held back;
/// guessing one account's password from many addresses is held back for every address, and one address's
/// guessing for every account.
#[tokio::test]
async fn switching_accounts_is_never_limited_and_guessing_is_per_account_and_per_address() {
    let app = TestApp::start().await;
    signed_up(&app).await;
    let body = json!({ "email": "grace@example.com", "username": "Grace", "password": "another good one",
                       "name": "Grace" });
    assert_eq!(post(&app, "/api/v1/auth/register", &body).await.status, 201);
    for round in 0..8 {
        assert_eq!(login(&app, "ada", "correct horse battery").await.status, 200, "round {round}");
        assert_eq!(login(&app, "grace@example.com", "another good one").await.status, 200, "round {round}");
    }

    // Ada's password guessed from thirty addresses: a thirty-first is held back for Ada, not for Grace. (One
    // address alone, at its own limit, cannot fill an account's bucket: see `attempts.rs`.)
    let from = |n: u8| {
        let address = std::net::IpAddr::from([127, 0, 0, 20 + n]);
        reqwest::Client::builder().local_address(address).build().expect("a client")
    };
    let attempt = |client: reqwest::Client, login: &str, password: &str| {
        let request = client.post(app.url("/api/v1/auth/login")).json(&json!({ "login": login, "password": password }));
        app.send(request, None)
    };
    for n in 0..30 {
        assert_eq!(attempt(from(n), "ada", "a guess").await.status, 401, "address {n}");
    }
    let held = attempt(from(31), "ada", "correct horse battery").await;
    assert_eq!((held.status, held.body["code"].as_str()), (429, Some("rate_limited")), "{:?}", held.body);
    assert_eq!(attempt(from(31), "grace", "another good one").await.status, 200);

    // One address guessing names that do not exist is held back for every account, as for a known one.
    for n in 0..5 {
        assert_eq!(attempt(from(32), &format!("nobody{n}"), "a guess").await.status, 401);
    }
    let held = attempt(from(32), "grace", "another good one").await;
    assert_eq!(held.status, 429, "{:?}", held.body);
}

/// A login attempt that arrives with `X-Forwarded-For: forwarded`.
async fn attempt(app: &TestApp, forwarded: &str, login: &str, password: &str) -> Answer {
    let body = json!({ "login": login, "password": password });
    app.send(app.http.post(app.url("/api/v1/auth/login")).header("x-forwarded-for", forwarded).json(&body), None).await
}

/// Behind a proxy Learnlog trusts, the address it forwards is the client: one client's failed logins hold that
/// client back, not everyone behind the proxy, and a client's own `X-Forwarded-For` entry is not believed. From
/// anywhere else the header changes nothing.
#[tokio::test]
async fn limits_count_the_client_a_trusted_proxy_forwards_and_nobody_else_s_claim() {
    let app = TestApp::start_behind_proxy("127.0.0.1").await;
    signed_up(&app).await;
    for n in 0..5 {
        assert_eq!(attempt(&app, "203.0.113.7", &format!("nobody{n}"), "a guess").await.status, 401);
    }
    let held = attempt(&app, "203.0.113.7", "ada", "correct horse battery").await;
    assert_eq!(held.status, 429, "the guessing client is held back: {:?}", held.body);
    let forged = attempt(&app, "198.51.100.1, 203.0.113.7", "ada", "correct horse battery").await;
    assert_eq!(forged.status, 429, "a claim behind the proxy's entry is not believed: {:?}", forged.body);
    let other = attempt(&app, "203.0.113.8", "ada", "correct horse battery").await;
    assert_eq!(other.status, 200, "another client behind the same proxy is not: {:?}", other.body);

    // Not behind a trusted proxy: the header is the client's to write, so it is ignored.
    let direct = TestApp::start().await;
    signed_up(&direct).await;
    for n in 0..5 {
        let forwarded = format!("203.0.113.{n}");
        assert_eq!(attempt(&direct, &forwarded, &format!("nobody{n}"), "a guess").await.status, 401);
    }
    let held = attempt(&direct, "203.0.113.99", "ada", "correct horse battery").await;
    assert_eq!(held.status, 429, "{:?}", held.body);
}

async fn change_password(app: &TestApp, access: &str, current: &str, new: &str) -> Answer {
    let request = app.http.post(app.url("/api/v1/auth/password")).bearer_auth(access);
    app.send(request, Some(&json!({ "current_password": current, "new_password": new }))).await
}

#[tokio::test]
async fn changing_the_password_ends_every_session_and_records_no_secret() {
    let app = TestApp::start().await;
    signed_up(&app).await;
    let (access, refresh) = tokens(&login(&app, "ada", "correct horse battery").await);
    let changed = change_password(&app, &access, "correct horse battery", "a brand new secret").await;
    assert_eq!(changed.status, 200, "{:?}", changed.body);
    assert_eq!(login(&app, "ada", "correct horse battery").await.status, 401);
    assert_eq!(login(&app, "ada", "a brand new secret").await.status, 200);
    assert_eq!(post(&app, "/api/v1/auth/refresh", &json!({ "refresh_token": refresh })).await.status, 401);
    assert_eq!(app.database.count("SELECT count(*) FROM events WHERE event_type = 'PasswordChanged'").await, 1);
    let leaked = app.database.count("SELECT count(*) FROM events WHERE payload::text LIKE '%secret%'").await;
    assert_eq!(leaked, 0);
}

#[tokio::test]
async fn a_wrong_current_password_a_weak_new_one_or_no_token_change_nothing() {
    let app = TestApp::start().await;
    signed_up(&app).await;
    let (access, _) = tokens(&login(&app, "ada", "correct horse battery").await);
    let before = app.event_count().await;
    let wrong = change_password(&app, &access, "not it", "a brand new secret").await;
    assert_eq!((wrong.status, wrong.body["code"].as_str()), (422, Some("wrong_password")));
    let weak = change_password(&app, &access, "correct horse battery", "short").await;
    assert_eq!((weak.status, weak.body["errors"][0]["field"].as_str()), (422, Some("new_password")));
    let anonymous = app
        .send(
            app.http.post(app.url("/api/v1/auth/password")),
            Some(&json!({ "current_password": "a", "new_password": "b" })),
        )
        .await;
    assert_eq!(anonymous.status, 401);
    assert_eq!(app.event_count().await, before);
    // The weak new password was refused before the current one was tried: four more wrong ones make five.
    for _ in 0..4 {
        change_password(&app, &access, "not it", "a brand new secret").await;
    }
    let limited = change_password(&app, &access, "correct horse battery", "a brand new secret").await;
    assert_eq!((limited.status, limited.body["code"].as_str()), (429, Some("rate_limited")));
    // Guessing through the password change counts for the account's logins too.
    assert_eq!(login(&app, "ada", "correct horse battery").await.status, 429);
    let changed = app.database.count("SELECT count(*) FROM events WHERE event_type = 'PasswordChanged'").await;
    assert_eq!(changed, 0, "the password did not change");
}

/// An access token ends with its account's sessions, in this process at once and in another API process as soon
/// as it hears of it: after a password change, a deletion, and an erasure (an erased admin keeps no rights).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_access_token_ends_with_its_password_or_its_account_in_every_process() {
    let app = TestApp::start().await;
    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a port").port();
    let environment = app.process_environment();
    let pairs: Vec<(&str, &str)> = environment.iter().map(|(name, value)| (*name, value.as_str())).collect();
    let _other =
        tests::process::LearnlogProcess::serve_on(&["command-api", "query-api"], &format!("127.0.0.1:{port}"), &pairs);
    let other = format!("http://127.0.0.1:{port}");
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    while app.http.get(format!("{other}/readyz")).send().await.map_or(true, |r| r.status() != 200) {
        assert!(tokio::time::Instant::now() < deadline, "the other API process did not get ready");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    // Any route behind a token answers 401 for a refused one before it reads anything.
    let status = |base: String, token: String| {
        let request = app.http.get(format!("{base}/api/v1/me/orders")).bearer_auth(token);
        async move { request.send().await.expect("an answer").status().as_u16() }
    };
    let refused_everywhere = |token: String| {
        let (here, there) = (app.url(""), other.clone());
        async move {
            assert_eq!(status(here, token.clone()).await, 401, "this process refuses it at once");
            let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(3);
            while status(there.clone(), token.clone()).await != 401 {
                assert!(tokio::time::Instant::now() < deadline, "the other process still takes the token");
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
        }
    };

    signed_up(&app).await;
    let (first, _) = tokens(&login(&app, "ada", "correct horse battery").await);
    assert_eq!((status(app.url(""), first.clone()).await, status(other.clone(), first.clone()).await), (200, 200));
    let changed = change_password(&app, &first, "correct horse battery", "a brand new secret").await;
    assert_eq!(changed.status, 200, "{:?}", changed.body);
    refused_everywhere(first).await;

    let (second, _) = tokens(&login(&app, "ada", "a brand new secret").await);
    assert_eq!(status(other.clone(), second.clone()).await, 200, "a token of the new generation is good");
    let deleted = app.call(reqwest::Method::DELETE, "/api/v1/me", &second, None).await;
    assert_eq!(deleted.status, 200, "{:?}", deleted.body);
    refused_everywhere(second.clone()).await;
    let listed = app.post("/api/v1/cart/items", &second, Some(&json!({ "course_id": uuid::Uuid::now_v7() }))).await;
    assert_eq!(listed.status, 401, "{:?}", listed.body);

    let (_, admin) = app.user(events::Role::Admin);
    let body = json!({ "kind": "admin", "email": "second.admin@example.com", "username": "secondadmin",
                       "password": "a long password", "name": "Second Admin" });
    let created = app.post("/api/v1/admin/users", &admin, Some(&body)).await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let (second_admin, _) = tokens(&login(&app, "secondadmin", "a long password").await);
    let users = |token: &str| app.send(app.http.get(app.url("/api/v1/admin/users")).bearer_auth(token), None);
    assert_eq!(users(&second_admin).await.status, 200);
    let erased = app.post(&format!("/api/v1/admin/users/{}/erase", created.id()), &admin, None).await;
    assert_eq!(erased.status, 200, "{:?}", erased.body);
    refused_everywhere(second_admin.clone()).await;
    assert_eq!(users(&second_admin).await.status, 401, "an erased admin keeps no rights");
    assert_eq!(users(&admin).await.status, 200);
}
