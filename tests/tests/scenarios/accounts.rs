//! Sign-up of individual trainees through HTTP: uniqueness of email and username on the write side, no
//! password anywhere but as an argon2id hash in the credentials table, and the account read back as `/me`.

use events::Role;
use serde_json::{Value, json};
use tests::TestApp;
use tests::app::Answer;
use uuid::Uuid;

fn sign_up(email: &str, username: &str) -> Value {
    json!({ "email": email, "username": username, "password": "correct horse battery", "name": "Ada Lovelace", "country": "gb" })
}

async fn register(app: &TestApp, body: &Value) -> Answer {
    app.send(app.http.post(app.url("/api/v1/auth/register")), Some(body)).await
}

#[tokio::test]
async fn a_guest_signs_up_and_reads_the_account_back_without_any_secret_in_an_event() {
    let app = TestApp::start().await;
    let answer = register(&app, &sign_up(" Ada@Example.com ", "ada")).await;
    assert_eq!(answer.status, 201, "{:?}", answer.body);
    let user_id = answer.id();
    let token = app.keys.issue(user_id, Role::IndividualTrainee, std::time::Duration::from_secs(60)).expect("signs");

    let request = app.http.get(app.url("/api/v1/me")).bearer_auth(&token).header("x-consistency-token", answer.token());
    let me = app.send(request, None).await;
    assert_eq!(me.status, 200, "{:?}", me.body);
    assert_eq!(me.header("x-consistency"), Some("fresh"));
    assert_eq!(me.header("cache-control"), Some("private, no-cache"));
    let data = &me.body["data"];
    assert_eq!((data["email"].as_str(), data["username"].as_str()), (Some("ada@example.com"), Some("ada")));
    assert_eq!((data["role"].as_str(), data["country"].as_str()), (Some("individual_trainee"), Some("GB")));
    assert_eq!(data["email_verified"], false, "proven only by the mailed code");
    assert!(me.header("etag").is_some(), "per-user reads carry an ETag");

    let leaked = app
        .database
        .count(
            "SELECT count(*) FROM events WHERE payload::text LIKE '%correct horse%' OR payload::text LIKE '%argon2%'",
        )
        .await;
    assert_eq!(leaked, 0, "no password or hash in any event");
    let hashed =
        app.database.count("SELECT count(*) FROM user_credentials WHERE password_hash LIKE '$argon2id$%'").await;
    assert_eq!(hashed, 1);
}

#[tokio::test]
async fn a_taken_email_or_username_is_refused_whatever_its_case_and_appends_nothing() {
    let app = TestApp::start().await;
    assert_eq!(register(&app, &sign_up("ada@example.com", "ada")).await.status, 201);
    let before = app.event_count().await;
    for (body, field) in
        [(sign_up("ADA@example.com", "other"), "email"), (sign_up("grace@example.com", "ADA"), "username")]
    {
        let answer = register(&app, &body).await;
        assert_eq!((answer.status, answer.body["code"].as_str()), (409, Some("conflict")), "{:?}", answer.body);
        assert_eq!(answer.body["errors"][0]["field"], field);
    }
    assert_eq!(app.event_count().await, before);
    assert_eq!(app.database.count("SELECT count(*) FROM user_credentials").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_racing_sign_ups_for_one_email_create_one_account() {
    let app = TestApp::start().await;
    let bodies: Vec<Value> = (0..20).map(|n| sign_up("race@example.com", &format!("racer{n}"))).collect();
    let answers = futures_util::future::join_all(bodies.iter().map(|body| register(&app, body))).await;
    let statuses: Vec<u16> = answers.iter().map(|a| a.status).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 409).count(), 19, "{statuses:?}");
    let accounts = "SELECT count(*) FROM events WHERE event_type = 'IndividualTraineeRegistered'";
    assert_eq!(app.database.count(accounts).await, 1);
    assert_eq!(app.database.count("SELECT count(*) FROM email_outbox").await, 1, "one welcome email");
}

#[tokio::test]
async fn invalid_sign_ups_are_422_with_every_field_named_and_me_needs_a_known_account() {
    let app = TestApp::start().await;
    let bad = json!({ "email": "nope", "username": "a b", "password": "short", "name": "", "country": "GBR" });
    let answer = register(&app, &bad).await;
    assert_eq!((answer.status, answer.body["code"].as_str()), (422, Some("validation_failed")));
    let fields: Vec<&str> =
        answer.body["errors"].as_array().into_iter().flatten().filter_map(|e| e["field"].as_str()).collect();
    assert_eq!(fields, ["email", "username", "password", "name", "country"]);
    let smuggled = register(
        &app,
        &json!({ "email": "a@b.co", "username": "a", "password": "12345678", "name": "A", "role": "admin" }),
    )
    .await;
    assert_eq!(smuggled.status, 400, "unknown fields such as a role are refused");
    assert_eq!(app.event_count().await, 0);

    assert_eq!(app.get("/api/v1/me", None).await.status, 401);
    let stranger =
        app.keys.issue(Uuid::now_v7(), Role::IndividualTrainee, std::time::Duration::from_secs(60)).expect("signs");
    let unknown = app.send(app.http.get(app.url("/api/v1/me")).bearer_auth(&stranger), None).await;
    assert_eq!(unknown.status, 404);
}

async fn patch_me(app: &TestApp, token: &str, body: &Value) -> Answer {
    app.send(app.http.patch(app.url("/api/v1/me")).bearer_auth(token), Some(body)).await
}

#[tokio::test]
async fn a_user_changes_whitelisted_profile_fields_and_nothing_else() {
    let app = TestApp::start().await;
    let user_id = register(&app, &sign_up("ada@example.com", "ada")).await.id();
    let token = app.keys.issue(user_id, Role::IndividualTrainee, std::time::Duration::from_secs(60)).expect("signs");
    let changed = patch_me(&app, &token, &json!({ "name": "Ada King", "country": "fr" })).await;
    // Version 1 is the sign-up, 2 the verification code sent with it.
    assert_eq!((changed.status, changed.body["data"]["version"].as_i64()), (200, Some(3)), "{:?}", changed.body);
    let request =
        app.http.get(app.url("/api/v1/me")).bearer_auth(&token).header("x-consistency-token", changed.token());
    let me = app.send(request, None).await;
    assert_eq!((me.body["data"]["name"].as_str(), me.body["data"]["country"].as_str()), (Some("Ada King"), Some("FR")));

    let before = app.event_count().await;
    for smuggled in [
        json!({ "balance": 100000 }),
        json!({ "role": "admin" }),
        json!({ "is_corporate": true }),
        json!({ "email": "x@y.z" }),
    ] {
        let answer = patch_me(&app, &token, &smuggled).await;
        assert_eq!((answer.status, answer.body["code"].as_str()), (400, Some("malformed_request")), "{smuggled}");
    }
    let instructor_only = patch_me(&app, &token, &json!({ "biography": "I teach" })).await;
    assert_eq!((instructor_only.status, instructor_only.body["code"].as_str()), (403, Some("forbidden")));
    assert_eq!(patch_me(&app, &token, &json!({})).await.status, 422, "an empty change is refused");
    assert_eq!(app.event_count().await, before);

    let stranger =
        app.keys.issue(uuid::Uuid::now_v7(), Role::Instructor, std::time::Duration::from_secs(60)).expect("signs");
    assert_eq!(patch_me(&app, &stranger, &json!({ "name": "Nobody" })).await.status, 404);
}

#[tokio::test]
async fn a_deleted_trainee_account_frees_its_email_ends_its_sessions_and_leaves_the_directory() {
    let app = TestApp::start().await;
    let user_id = register(&app, &sign_up("gone@example.com", "gone")).await.id();
    let login = json!({ "login": "gone", "password": "correct horse battery" });
    let session = app.send(app.http.post(app.url("/api/v1/auth/login")), Some(&login)).await;
    assert_eq!(session.status, 200, "{:?}", session.body);
    let token = app.keys.issue(user_id, Role::IndividualTrainee, std::time::Duration::from_secs(60)).expect("signs");
    let deleted = app.send(app.http.delete(app.url("/api/v1/me")).bearer_auth(&token), None).await;
    assert_eq!(deleted.status, 200, "{:?}", deleted.body);

    let refresh = json!({ "refresh_token": session.body["data"]["refresh_token"] });
    assert_eq!(app.send(app.http.post(app.url("/api/v1/auth/refresh")), Some(&refresh)).await.status, 401);
    assert_eq!(app.send(app.http.post(app.url("/api/v1/auth/login")), Some(&login)).await.status, 401);
    let me = app
        .send(
            app.http.get(app.url("/api/v1/me")).bearer_auth(&token).header("x-consistency-token", deleted.token()),
            None,
        )
        .await;
    assert_eq!(me.status, 401, "the account's tokens ended with it");
    let again = app.send(app.http.delete(app.url("/api/v1/me")).bearer_auth(&token), None).await;
    assert_eq!(again.status, 401);
    assert_eq!(register(&app, &sign_up("gone@example.com", "gone")).await.status, 201, "the email is free again");

    let (_, admin) = app.user(Role::Admin);
    let body = json!({ "kind": "instructor", "email": "teach@example.com", "username": "teach",
                       "password": "long enough", "name": "T" });
    let instructor = app.post("/api/v1/admin/users", &admin, Some(&body)).await.id();
    let refused = app
        .send(app.http.delete(app.url(&format!("/api/v1/admin/users/{instructor}"))).bearer_auth(&admin), None)
        .await;
    assert_eq!((refused.status, refused.body["code"].as_str()), (422, Some("not_a_trainee")));
}
