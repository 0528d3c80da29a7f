//! Accounts that admins create, and the first admin from `learnlog admin create-admin`.

use std::process::Stdio;

use events::Role;
use serde_json::{Value, json};
use tests::TestApp;
use tests::app::Answer;
use tokio::io::AsyncWriteExt;

fn user(kind: &str, name: &str) -> Value {
    json!({ "kind": kind, "email": format!("{name}@example.com"), "username": name, "password": "a long password", "name": name })
}

async fn create_user(app: &TestApp, token: &str, body: &Value) -> Answer {
    app.post("/api/v1/admin/users", token, Some(body)).await
}

async fn login(app: &TestApp, login: &str, password: &str) -> Answer {
    app.send(app.http.post(app.url("/api/v1/auth/login")), Some(&json!({ "login": login, "password": password }))).await
}

fn access_token(answer: &Answer) -> String {
    answer.body["data"]["access_token"].as_str().expect("an access token").to_owned()
}

#[tokio::test]
async fn an_instructor_an_admin_creates_logs_in_and_authors_a_course() {
    let app = TestApp::start().await;
    let (_, admin) = app.user(Role::Admin);
    let created = create_user(&app, &admin, &user("instructor", "grace")).await;
    assert_eq!(created.status, 201, "{:?}", created.body);

    let session = login(&app, "grace", "a long password").await;
    assert_eq!(session.status, 200);
    let token = access_token(&session);
    let course = app.create_course(&token, "COBOL for today").await;
    let me = app
        .send(
            app.http.get(app.url("/api/v1/me")).bearer_auth(&token).header("x-consistency-token", course.token()),
            None,
        )
        .await;
    assert_eq!(
        (me.body["data"]["kind"].as_str(), me.body["data"]["role"].as_str()),
        (Some("instructor"), Some("instructor"))
    );
}

#[tokio::test]
async fn only_admins_create_accounts_and_a_corporate_trainee_needs_a_company() {
    let app = TestApp::start().await;
    let before = app.event_count().await;
    for role in [Role::Instructor, Role::IndividualTrainee, Role::CorporateTrainee] {
        let (_, token) = app.user(role);
        let answer = create_user(&app, &token, &user("admin", "mallory")).await;
        assert_eq!((answer.status, answer.body["code"].as_str()), (403, Some("forbidden")), "{role:?}");
    }
    let anonymous = app.send(app.http.post(app.url("/api/v1/admin/users")), Some(&user("admin", "eve"))).await;
    assert_eq!(anonymous.status, 401);

    let (_, admin) = app.user(Role::Admin);
    let no_company = create_user(&app, &admin, &user("corporate_trainee", "lin")).await;
    assert_eq!((no_company.status, no_company.body["errors"][0]["field"].as_str()), (422, Some("company")));
    let self_sign_up_kind = create_user(&app, &admin, &user("individual_trainee", "ivy")).await;
    assert_eq!(self_sign_up_kind.status, 400, "individual trainees sign up themselves");
    assert_eq!(app.event_count().await, before);

    let mut corporate = user("corporate_trainee", "lin");
    corporate["company"] = json!("Acme");
    let created = create_user(&app, &admin, &corporate).await;
    assert_eq!(created.status, 201);
    let token = access_token(&login(&app, "lin", "a long password").await);
    let me = app
        .send(
            app.http.get(app.url("/api/v1/me")).bearer_auth(&token).header("x-consistency-token", created.token()),
            None,
        )
        .await;
    assert_eq!(
        (me.body["data"]["role"].as_str(), me.body["data"]["company"].as_str()),
        (Some("corporate_trainee"), Some("Acme"))
    );
    let taken = create_user(&app, &admin, &user("instructor", "lin")).await;
    assert_eq!((taken.status, taken.body["errors"][0]["field"].as_str()), (409, Some("email")));
}

async fn create_admin(app: &TestApp, password: &str) -> std::process::Output {
    let mut child = tokio::process::Command::new(tests::process::binary())
        .args(["admin", "create-admin", "--email", "root@example.com", "--username", "root", "--name", "Root"])
        .env("DATABASE_URL", &app.database.url)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("learnlog runs");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(format!("{password}\n").as_bytes()).await.expect("password written");
    drop(stdin);
    child.wait_with_output().await.expect("learnlog ends")
}

#[tokio::test]
async fn the_first_admin_comes_from_the_command_line_with_a_password_of_its_own() {
    let app = TestApp::start().await;
    let refused = create_admin(&app, "short").await;
    assert!(!refused.status.success(), "a weak password is refused");
    assert!(String::from_utf8_lossy(&refused.stderr).contains("password"));

    let created = create_admin(&app, "a proper admin password").await;
    assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));
    assert!(String::from_utf8_lossy(&created.stdout).starts_with("admin created: "));
    let session = login(&app, "root", "a proper admin password").await;
    assert_eq!(session.status, 200);
    let created_user = create_user(&app, &access_token(&session), &user("instructor", "grace")).await;
    assert_eq!(created_user.status, 201, "the admin's real token works for admin routes");
}

#[tokio::test]
async fn an_instructor_shows_links_publicly_and_a_bank_account_only_by_its_last_four_characters() {
    let app = TestApp::start().await;
    let (instructor_id, token) = app.instructor("linus", "Linus").await;
    let links = json!({ "github": "https://github.com/linus", "personal_website": "https://linus.example.com" });
    let set = app.call(reqwest::Method::PUT, "/api/v1/me/social-links", &token, Some(&links)).await;
    assert_eq!(set.status, 200, "{:?}", set.body);
    let bank = json!({ "account_holder_name": "Linus", "account_number": "DE89 3704 0044 0532 0130 00",
                       "bank_name": "First Bank", "swift_code": "COBADEFFXXX" });
    let banked = app.call(reqwest::Method::PUT, "/api/v1/me/bank-account", &token, Some(&bank)).await;
    assert_eq!(banked.status, 200, "{:?}", banked.body);
    let bad = json!({ "account_holder_name": "Linus", "account_number": "1", "bank_name": "B", "swift_code": "X" });
    let refused = app.call(reqwest::Method::PUT, "/api/v1/me/bank-account", &token, Some(&bad)).await;
    assert_eq!((refused.status, refused.body["errors"].as_array().map(Vec::len)), (422, Some(2)));

    let profile = app.get(&format!("/api/v1/instructors/{instructor_id}"), Some(&banked.token())).await;
    assert_eq!(profile.body["data"]["social_links"]["github"], "https://github.com/linus");
    assert!(!profile.body.to_string().contains("First Bank"), "the bank is never public");
    let me = app
        .send(
            app.http.get(app.url("/api/v1/me")).bearer_auth(&token).header("x-consistency-token", banked.token()),
            None,
        )
        .await;
    assert_eq!(me.body["data"]["bank_account"], json!({ "bank_name": "First Bank", "account_last4": "3000" }));
    let leaked = app.database.count("SELECT count(*) FROM events WHERE payload::text LIKE '%0532%'").await;
    assert_eq!(leaked, 0, "no account number in any event");
    let row = app
        .database
        .client()
        .await
        .query_one(
            "SELECT account_number, account_number_sealed FROM instructor_bank_accounts WHERE user_id = $1",
            &[&instructor_id],
        )
        .await
        .expect("the account is kept on the write side");
    let (plain, sealed): (Option<String>, Vec<u8>) = (row.get(0), row.get(1));
    assert_eq!(plain, None, "no account number in clear");
    assert!(!sealed.windows(4).any(|w| w == b"0532"), "the sealed number shows through");
    let key = event_store::keys::DataKey::from_secret(tests::app::DATA_KEY.as_bytes());
    let opened = key.open(&sealed, instructor_id).expect("the server's data key opens it");
    assert!(opened.replace(' ', "").contains("DE89370400440532013000"), "{opened}");
}

#[tokio::test]
async fn logins_and_logouts_are_recorded_and_admins_list_accounts_with_their_activity() {
    let app = TestApp::start().await;
    let (_, admin) = app.user(Role::Admin);
    assert_eq!(create_user(&app, &admin, &user("instructor", "grace")).await.status, 201);
    assert_eq!(create_user(&app, &admin, &user("instructor", "alan")).await.status, 201);
    assert_eq!(login(&app, "grace", "not the password").await.status, 401);
    let first = login(&app, "grace", "a long password").await;
    let second = login(&app, "grace", "a long password").await;
    assert_eq!((first.status, second.status), (200, 200));
    let flags = app
        .database
        .count("SELECT count(*) FROM events WHERE event_type = 'UserLoggedIn' AND payload::text LIKE '%\"first_login\":true%'")
        .await;
    assert_eq!(flags, 1, "only the first login is a first login");
    let refresh = second.body["data"]["refresh_token"].as_str().expect("a refresh token");
    let logout = app
        .send(
            app.http.post(app.url("/api/v1/auth/logout")).bearer_auth(access_token(&first)),
            Some(&json!({ "refresh_token": refresh })),
        )
        .await;
    assert_eq!(logout.status, 204);
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while app.database.count("SELECT count(*) FROM events WHERE event_type = 'LoginFailed'").await == 0 {
        assert!(tokio::time::Instant::now() < deadline, "the failed login is recorded");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(login(&app, "grace", "a long password").await.status, 200, "logged in again");
    app.wait_until_projected().await;

    let list = app
        .send(app.http.get(app.url("/api/v1/admin/users?role=instructor&search=GRA")).bearer_auth(&admin), None)
        .await;
    assert_eq!(list.status, 200, "{:?}", list.body);
    assert_eq!(list.body["total_results"], 1);
    let grace = &list.body["data"][0];
    assert_eq!((grace["username"].as_str(), grace["logged_in"].as_bool()), (Some("grace"), Some(true)));
    assert!(grace["last_login_at"].is_string());
    let activity = app.send(app.http.get(app.url("/api/v1/admin/users/activity")).bearer_auth(&admin), None).await;
    assert_eq!(activity.body["data"]["instructor"], json!({ "active": 1, "inactive": 1 }));
    let bad = app.send(app.http.get(app.url("/api/v1/admin/users?role=king")).bearer_auth(&admin), None).await;
    assert_eq!(bad.status, 400);
}
