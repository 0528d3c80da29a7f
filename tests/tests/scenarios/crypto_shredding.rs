//! Erasable personal data: names and emails are sealed with each person's own key before any event is
//! stored, so neither the store nor Kafka ever holds them in clear. Erasing an account (a trainee deleting
//! their own, an admin erasing an instructor) deletes the key: a rebuild of the read models from the first
//! event shows "Deleted user", and a foreign consumer reading every topic from offset 0 finds the name and
//! the email nowhere.

use reqwest::Method;
use serde_json::json;
use tests::TestApp;
use tests::app::Mode;

const TRAINEE_NAME: &str = "Shredded Trainee Zyx";
const TRAINEE_EMAIL: &str = "shredded.trainee.zyx@example.com";
const INSTRUCTOR_NAME: &str = "Shredded Instructor Qwv";
const INSTRUCTOR_EMAIL: &str = "shredded.instructor.qwv@example.com";

/// Every table of `database` as text, for searching.
async fn everything(database: &tests::TestDatabase, tables: &[&str]) -> String {
    let client = database.client().await;
    let mut text = String::new();
    for table in tables {
        let row = client
            .query_one(&format!("SELECT COALESCE(string_agg(row_to_json(t)::text, E'\\n'), '') FROM {table} t"), &[])
            .await
            .expect("readable");
        text.push_str(row.get::<_, &str>(0));
        text.push('\n');
    }
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_erased_person_is_unreadable_in_the_store_in_a_rebuild_and_on_every_topic() {
    let app = TestApp::start_kafka().await;
    let (_, admin) = app.user(events::Role::Admin);

    let sign_up = json!({ "email": TRAINEE_EMAIL, "username": "shreddedtrainee", "password": "a long password",
                          "name": TRAINEE_NAME });
    let registered = app.send(app.http.post(app.url("/api/v1/auth/register")), Some(&sign_up)).await;
    assert_eq!(registered.status, 201, "{:?}", registered.body);
    let instructor = json!({ "kind": "instructor", "email": INSTRUCTOR_EMAIL, "username": "shreddedteacher",
                             "password": "a long password", "name": INSTRUCTOR_NAME });
    let created = app.post("/api/v1/admin/users", &admin, Some(&instructor)).await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let instructor_id = created.id();
    let login = json!({ "login": "shreddedteacher", "password": "a long password" });
    let session = app.send(app.http.post(app.url("/api/v1/auth/login")), Some(&login)).await;
    let teacher = session.body["data"]["access_token"].as_str().expect("a token").to_owned();
    let course = app.create_course(&teacher, "A course that outlives its author").await.id();
    let published = app.post(&format!("/api/v1/courses/{course}/publish"), &teacher, None).await;
    assert_eq!(published.status, 200, "{:?}", published.body);

    // While they exist, the read models show them, but no stored event holds them in clear.
    let page = app.get(&format!("/api/v1/courses/{course}"), Some(&published.token())).await;
    assert_eq!(page.body["data"]["instructor"]["name"], INSTRUCTOR_NAME, "{:?}", page.body);
    let stored = everything(&app.database, &["events"]).await;
    for secret in [TRAINEE_NAME, TRAINEE_EMAIL, INSTRUCTOR_NAME, INSTRUCTOR_EMAIL, "shreddedtrainee"] {
        assert!(!stored.contains(secret), "{secret} is stored in clear");
    }
    assert_eq!(app.database.count("SELECT count(*) FROM user_keys").await, 2);

    // The trainee deletes their own account; an admin erases the instructor's on request.
    let trainee_login = json!({ "login": TRAINEE_EMAIL, "password": "a long password" });
    let trainee_session = app.send(app.http.post(app.url("/api/v1/auth/login")), Some(&trainee_login)).await;
    let trainee = trainee_session.body["data"]["access_token"].as_str().expect("a token").to_owned();
    let deleted = app.call(Method::DELETE, "/api/v1/me", &trainee, None).await;
    assert_eq!(deleted.status, 200, "{:?}", deleted.body);
    let erased = app.post(&format!("/api/v1/admin/users/{instructor_id}/erase"), &admin, None).await;
    assert_eq!(erased.status, 200, "{:?}", erased.body);
    let again = app.post(&format!("/api/v1/admin/users/{instructor_id}/erase"), &admin, None).await;
    assert_eq!(again.status, 404, "an erased account is gone: {:?}", again.body);
    assert_eq!(app.database.count("SELECT count(*) FROM user_keys").await, 0, "both keys are gone");
    let waiting = app
        .database
        .count(&format!(
            "SELECT count(*) FROM email_outbox WHERE recipient IN ('{TRAINEE_EMAIL}', '{INSTRUCTOR_EMAIL}')"
        ))
        .await;
    assert_eq!(waiting, 0, "no email to an erased person waits in the outbox");

    // The live read models follow, and a rebuild from the first event shows "Deleted user".
    let page = app.get(&format!("/api/v1/courses/{course}"), Some(&erased.token())).await;
    assert_eq!(page.body["data"]["instructor"]["name"], "Deleted user", "{:?}", page.body);
    app.wait_until_projected().await;
    let rebuilt = app.rebuild().await;
    let read_models = ["user_directory", "catalog_course", "catalog_instructor", "course_document"];
    let text = everything(&rebuilt, &read_models).await + &everything(&app.database, &read_models).await;
    for secret in [TRAINEE_NAME, TRAINEE_EMAIL, INSTRUCTOR_NAME, INSTRUCTOR_EMAIL] {
        assert!(!text.contains(secret), "{secret} is still readable in the read models");
    }
    assert!(text.contains("Deleted user"), "the course still names its (erased) instructor: {text}");

    // A consumer that is not ours reads every topic from offset 0: the name and the email are nowhere.
    let events = app.event_count().await;
    let Mode::Kafka { brokers, topic_prefix, .. } = &app.mode else { unreachable!("started in Kafka mode") };
    let records: Vec<String> = tests::kafka::read_topics_foreign(brokers, topic_prefix, events)
        .await
        .iter()
        .map(serde_json::Value::to_string)
        .collect();
    let records = records.join("\n");
    assert_eq!(records.lines().count() as i64, events, "the consumer read every event");
    assert!(records.contains("IndividualTraineeRegistered"), "the sign-up is on its topic");
    for secret in [TRAINEE_NAME, TRAINEE_EMAIL, INSTRUCTOR_NAME, INSTRUCTOR_EMAIL] {
        assert!(!records.contains(secret), "{secret} is readable on a topic");
    }

    // The erased person's email and username are free again (DOMAIN.md: released on delete).
    let again = json!({ "email": INSTRUCTOR_EMAIL, "username": "shreddedteacher", "password": "a long password",
                        "name": "Someone new" });
    let reused = app.send(app.http.post(app.url("/api/v1/auth/register")), Some(&again)).await;
    assert_eq!(reused.status, 201, "{:?}", reused.body);
}
