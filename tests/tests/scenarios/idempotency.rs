//! Idempotency-Key: a retried command appends nothing new and gets the first answer again.

use events::Role;
use tests::TestApp;

async fn create_with_key(app: &TestApp, token: &str, key: &str, title: &str) -> tests::app::Answer {
    let request = app.http.post(app.url("/api/v1/courses")).bearer_auth(token).header("idempotency-key", key);
    app.send(request, Some(&TestApp::course_body(title))).await
}

#[tokio::test]
async fn the_same_key_and_body_return_the_first_answer_and_append_nothing() {
    let app = TestApp::start().await;
    let (_, token) = app.user(Role::Instructor);
    let first = create_with_key(&app, &token, "key-1", "Once only").await;
    assert_eq!(first.status, 201);
    let count = app.event_count().await;
    let again = create_with_key(&app, &token, "key-1", "Once only").await;
    assert_eq!(again.status, 201);
    assert_eq!(again.body, first.body);
    assert_eq!(app.event_count().await, count);
}

#[tokio::test]
async fn the_same_key_with_another_body_is_422() {
    let app = TestApp::start().await;
    let (_, token) = app.user(Role::Instructor);
    assert_eq!(create_with_key(&app, &token, "key-2", "First").await.status, 201);
    let count = app.event_count().await;
    let other = create_with_key(&app, &token, "key-2", "Second").await;
    assert_eq!(other.status, 422);
    assert_eq!(other.body["code"], "idempotency_key_reused");
    assert_eq!(app.event_count().await, count);
}

#[tokio::test]
async fn keys_belong_to_their_user() {
    let app = TestApp::start().await;
    let (_, alice) = app.user(Role::Instructor);
    let (_, bob) = app.user(Role::Instructor);
    let first = create_with_key(&app, &alice, "shared", "Alice's").await;
    let second = create_with_key(&app, &bob, "shared", "Alice's").await;
    assert_eq!((first.status, second.status), (201, 201));
    assert_ne!(first.id(), second.id());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_retries_with_one_key_create_one_course() {
    let app = TestApp::start().await;
    let (_, token) = app.user(Role::Instructor);
    let before = app.event_count().await;
    let answers = futures_util::future::join_all((0..20).map(|_| create_with_key(&app, &token, "race", "Raced"))).await;
    let ids: std::collections::HashSet<_> = answers.iter().map(|answer| (answer.status, answer.id())).collect();
    assert_eq!(ids.len(), 1, "every retry gets the same answer: {ids:?}");
    assert_eq!(app.event_count().await, before + 1);
}

#[tokio::test]
async fn a_replayed_publish_answers_200_again_instead_of_already_published() {
    let app = TestApp::start().await;
    let (_, token) = app.user(Role::Instructor);
    let course = app.create_course(&token, "Publish once").await.id();
    let publish = || {
        let request = app
            .http
            .post(app.url(&format!("/api/v1/courses/{course}/publish")))
            .bearer_auth(&token)
            .header("idempotency-key", "publish-1");
        app.send(request, None)
    };
    let first = publish().await;
    let again = publish().await;
    assert_eq!((first.status, again.status), (200, 200));
    assert_eq!(first.body, again.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_sign_up_or_account_creation_answers_the_first_answer_even_when_racing() {
    let app = TestApp::start().await;
    let body =
        serde_json::json!({ "email": "once@example.com", "username": "once", "password": "long enough", "name": "O" });
    let sign_up = || {
        let request = app.http.post(app.url("/api/v1/auth/register")).header("idempotency-key", "signup-1");
        app.send(request, Some(&body))
    };
    // Three copies at once, as a client retrying over a flaky network would send them.
    let answers = futures_util::future::join3(sign_up(), sign_up(), sign_up()).await;
    for answer in [&answers.0, &answers.1, &answers.2] {
        assert_eq!(
            (answer.status, &answer.body["data"]["id"]),
            (201, &answers.0.body["data"]["id"]),
            "{:?}",
            answer.body
        );
    }
    let accounts = "SELECT count(*) FROM events WHERE event_type = 'IndividualTraineeRegistered'";
    assert_eq!(app.database.count(accounts).await, 1);
    let other = serde_json::json!({ "email": "twice@example.com", "username": "twice", "password": "long enough", "name": "T" });
    let reused = app
        .send(app.http.post(app.url("/api/v1/auth/register")).header("idempotency-key", "signup-1"), Some(&other))
        .await;
    assert_eq!((reused.status, reused.body["code"].as_str()), (422, Some("idempotency_key_reused")));

    let (_, admin) = app.user(Role::Admin);
    let instructor = serde_json::json!({ "kind": "instructor", "email": "i@example.com", "username": "ins",
                                         "password": "long enough", "name": "I" });
    let create = || {
        let request =
            app.http.post(app.url("/api/v1/admin/users")).bearer_auth(&admin).header("idempotency-key", "create-1");
        app.send(request, Some(&instructor))
    };
    let first = create().await;
    let again = create().await;
    assert_eq!((first.status, again.status, &first.body), (201, 201, &again.body));
    assert_eq!(app.database.count("SELECT count(*) FROM user_credentials").await, 2);
}

/// An order is several steps (placing it, then paying from the wallet or opening the card checkout); a retry
/// with its Idempotency-Key answers the whole first answer byte for byte and appends nothing.
#[tokio::test]
async fn a_replayed_order_answers_its_first_answer_byte_for_byte() {
    use crate::commerce;
    let app = TestApp::start().await;
    for (n, method) in ["wallet", "card"].into_iter().enumerate() {
        let (trainee_id, trainee) = commerce::trainee(&app, &format!("replaybuyer{n}")).await;
        commerce::credit(&app, trainee_id, 10_000).await;
        let (course, _) = commerce::published_course(&app, &format!("replayteacher{n}"), 2_000).await;
        assert_eq!(commerce::add_to_cart(&app, &trainee, course).await.status, 201);
        let body = serde_json::json!({ "method": method, "country": "US" });
        let place = || app.http.post(app.url("/api/v1/orders")).bearer_auth(&trainee).header("idempotency-key", method);
        let first = app.send(place(), Some(&body)).await;
        assert_eq!(first.status, 201, "{method}: {:?}", first.body);
        let stored = app.event_count().await;
        let again = app.send(place(), Some(&body)).await;
        assert_eq!(
            (again.status, String::from_utf8_lossy(&again.bytes), again.header("x-consistency-token")),
            (first.status, String::from_utf8_lossy(&first.bytes), first.header("x-consistency-token")),
            "{method}"
        );
        assert_eq!(app.event_count().await, stored, "{method}: a replay appends nothing");
    }
}
