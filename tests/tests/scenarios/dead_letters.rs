//! An event the projector cannot apply parks its own stream and nothing else: every other stream is applied,
//! later events of the parked stream wait behind it in order, and after a fix a retry catches the stream up,
//! leaving exactly the read model a clean rebuild builds. Embedded and through Kafka.
//!
//! The poison is a read-model table that refuses one course's title, as a projection bug or a migration
//! mistake would; dropping the constraint is the fix.

use std::time::Duration;

use event_store::{AppendRequest, ExpectedVersion, PgEventStore};
use events::{CoursePublished, Event, Metadata, NewEvent, Role};
use futures_util::StreamExt;
use projector::dead_letters;
use tests::TestApp;
use uuid::Uuid;

/// Good courses, each created and published: 1,000 events of other streams.
const GOOD_COURSES: usize = 500;
const POISON_TITLE: &str = "A title the read model refuses";

async fn parked_stream_waits_while_the_rest_goes_on(app: TestApp) {
    let (_, instructor) = app.user(Role::Instructor);
    app.database
        .client()
        .await
        .batch_execute(&format!(
            "ALTER TABLE catalog_course ADD CONSTRAINT poison_title CHECK (title <> '{POISON_TITLE}')"
        ))
        .await
        .expect("the constraint is added");

    // A stream of no bounded context has no Kafka topic: the relay parks it and goes on with the rest.
    append_to(&app, "mystery-1", ExpectedVersion::NoStream).await;

    let poison = app.create_course(&instructor, POISON_TITLE).await.id();
    let published = app.post(&format!("/api/v1/courses/{poison}/publish"), &instructor, None).await;
    assert_eq!(published.status, 200, "{:?}", published.body);

    // 1,000 good events of other streams, eight requests at a time.
    futures_util::stream::iter(0..GOOD_COURSES)
        .for_each_concurrent(8, |n| {
            let app = &app;
            let instructor = &instructor;
            async move {
                let id = app.create_course(instructor, &format!("Good course {n}")).await.id();
                let published = app.post(&format!("/api/v1/courses/{id}/publish"), instructor, None).await;
                assert_eq!(published.status, 200, "{:?}", published.body);
            }
        })
        .await;

    // Every good stream is applied, whatever the poison did.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    loop {
        let published = app.database.count("SELECT count(*) FROM catalog_course WHERE status = 'published'").await;
        let parked = app.database.count("SELECT count(*) FROM projector_dead_letters WHERE state = 'parked'").await;
        if published == GOOD_COURSES as i64 && parked == 1 {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{published} good courses applied, {parked} parked");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // The poison's stream is parked on its first event, with its publication waiting behind it.
    let letters = dead_letters::list(&app.store).await.expect("dead letters listed");
    assert_eq!(letters.len(), 1, "{letters:?}");
    let letter = &letters[0];
    assert_eq!(letter.stream_id, format!("course-{poison}"));
    assert_eq!((letter.stream_version, letter.event_type.as_str()), (1, "CourseCreated"));
    assert_eq!(letter.waiting, 1);
    let error = letter.error.as_deref().unwrap_or_default();
    assert!(error.contains("23514") && error.contains("poison_title"), "{error}");
    assert!(!error.contains(POISON_TITLE), "the stored error quotes the row: {error}");
    assert_eq!(app.database.count(&format!("SELECT count(*) FROM catalog_course WHERE id = '{poison}'")).await, 0);
    let admin = app.user(Role::Admin).1;
    let listed = app.call(reqwest::Method::GET, "/api/v1/admin/dead-letters", &admin, None).await;
    assert_eq!(listed.status, 200, "{:?}", listed.body);
    assert_eq!(listed.body["data"][0]["id"], letter.id);
    assert_eq!(listed.body["data"][0]["waiting"], 1);

    // Retrying before the fix fails again and keeps the order.
    let retried = app.post(&format!("/api/v1/admin/dead-letters/{}/retry", letter.id), &admin, None).await;
    assert_eq!(retried.status, 200, "{:?}", retried.body);
    assert_eq!(retried.body["data"]["applied"], 0);
    assert_eq!(retried.body["data"]["parked_again"], letter.id);
    let again = dead_letters::list(&app.store).await.expect("dead letters listed");
    assert_eq!((again.len(), again[0].attempts), (1, 2));

    // The fix, then a retry: the stream catches up, in order, once.
    app.database
        .client()
        .await
        .batch_execute("ALTER TABLE catalog_course DROP CONSTRAINT poison_title")
        .await
        .expect("the constraint is dropped");
    let retried = app.post(&format!("/api/v1/admin/dead-letters/{}/retry", letter.id), &admin, None).await;
    assert_eq!(retried.status, 200, "{:?}", retried.body);
    assert_eq!(retried.body["data"]["applied"], 2);
    assert!(retried.body["data"]["parked_again"].is_null());
    let again = app.post(&format!("/api/v1/admin/dead-letters/{}/retry", letter.id), &admin, None).await;
    assert_eq!(again.status, 404, "a resolved dead letter is not retried twice: {:?}", again.body);
    assert!(dead_letters::list(&app.store).await.expect("listed").is_empty());
    let course = app.get(&format!("/api/v1/courses/{poison}"), Some(&published.token())).await;
    assert_eq!(course.status, 200, "{:?}", course.body);
    assert_eq!(course.body["data"]["title"], POISON_TITLE);

    // Later events of the stream flow again, and the whole read model is what a clean rebuild builds.
    let renamed = app
        .call(
            reqwest::Method::PATCH,
            &format!("/api/v1/courses/{poison}"),
            &instructor,
            Some(&serde_json::json!({"title": "Renamed after the fix"})),
        )
        .await;
    assert_eq!(renamed.status, 200, "{:?}", renamed.body);
    app.wait_until_projected().await;
    let rebuilt = app.rebuild().await;
    assert_eq!(TestApp::catalogue(&app.database).await, TestApp::catalogue(&rebuilt).await);
    let unrouted = subscriptions::dead_letters::list(&app.store, Some(relay::SUBSCRIBER))
        .await
        .expect("relay dead letters listed");
    if matches!(app.mode, tests::app::Mode::Kafka { .. }) {
        assert_eq!(unrouted.len(), 1, "{unrouted:?}");
        assert_eq!((unrouted[0].stream_id.as_str(), unrouted[0].event_type.as_str()), ("mystery-1", "CoursePublished"));
        assert_eq!(unrouted[0].state, "parked");
    } else {
        assert!(unrouted.is_empty(), "no relay runs in embedded mode");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poison_event_parks_its_stream_in_embedded_mode() {
    parked_stream_waits_while_the_rest_goes_on(TestApp::start().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poison_event_parks_its_stream_through_kafka() {
    parked_stream_waits_while_the_rest_goes_on(TestApp::start_kafka().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_skipped_dead_letter_is_recorded_with_who_and_why_and_its_stream_goes_on() {
    let app = TestApp::start().await;
    let (_, instructor) = app.user(Role::Instructor);
    app.database
        .client()
        .await
        .batch_execute("ALTER TABLE catalog_course ADD CONSTRAINT poison_title CHECK (title <> 'Skip me')")
        .await
        .expect("the constraint is added");
    let poison = app.create_course(&instructor, "Skip me").await.id();
    let good = app.create_course(&instructor, "Fine").await;
    app.get(&format!("/api/v1/me/instructor/courses/{}", good.id()), Some(&good.token())).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let letter = loop {
        if let Some(letter) = dead_letters::list(&app.store).await.expect("listed").pop() {
            break letter;
        }
        assert!(tokio::time::Instant::now() < deadline, "nothing was parked");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(letter.stream_id, format!("course-{poison}"));

    let admin = app.user(Role::Admin).1;
    let path = format!("/api/v1/admin/dead-letters/{}/skip", letter.id);
    let no_reason = app.post(&path, &admin, Some(&serde_json::json!({}))).await;
    assert_eq!(no_reason.status, 400, "{:?}", no_reason.body);
    let (_, trainee) = app.user(Role::IndividualTrainee);
    let forbidden = app.post(&path, &trainee, Some(&serde_json::json!({"reason": "no"}))).await;
    assert_eq!(forbidden.status, 403, "{:?}", forbidden.body);
    let skipped = app.post(&path, &admin, Some(&serde_json::json!({"reason": "a known bad title"}))).await;
    assert_eq!(skipped.status, 200, "{:?}", skipped.body);
    assert!(dead_letters::list(&app.store).await.expect("listed").is_empty());
    let row = app
        .database
        .client()
        .await
        .query_one("SELECT state, resolved_by, skip_reason FROM projector_dead_letters WHERE id = $1", &[&letter.id])
        .await
        .expect("the skip is kept");
    let (state, by, reason): (String, String, String) = (row.get(0), row.get(1), row.get(2));
    assert_eq!((state.as_str(), reason.as_str()), ("skipped", "a known bad title"));
    assert!(by.starts_with("admin:"), "{by}");

    // The stream is no longer parked: its next event is applied (an update of a row that was never made).
    let publish = app.post(&format!("/api/v1/courses/{poison}/publish"), &instructor, None).await;
    assert_eq!(publish.status, 200, "{:?}", publish.body);
    app.wait_until_projected().await;
    assert!(dead_letters::list(&app.store).await.expect("listed").is_empty());
}

/// Appends one `CoursePublished` to `stream_id` at `expected`.
async fn append_to(app: &TestApp, stream_id: &str, expected: ExpectedVersion) {
    let event = Event::CoursePublished(CoursePublished { course_id: Uuid::now_v7() });
    let appended = PgEventStore::start(app.store.clone())
        .append(AppendRequest {
            stream_id: stream_id.to_owned(),
            expected,
            events: vec![NewEvent::new(&event, Metadata::default(), time::OffsetDateTime::now_utc())],
            idempotency: None,
            side_writes: Vec::new(),
            guards: Vec::new(),
        })
        .await;
    assert!(appended.is_ok(), "{appended:?}");
}

/// Polls (bounded) until `done` holds for the relay's dead letters.
async fn relay_letters(
    app: &TestApp,
    what: &str,
    done: impl Fn(&[subscriptions::dead_letters::DeadLetter]) -> bool,
) -> Vec<subscriptions::dead_letters::DeadLetter> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let letters = subscriptions::dead_letters::list(&app.store, Some(relay::SUBSCRIBER)).await.expect("listed");
        if done(&letters) {
            return letters;
        }
        assert!(tokio::time::Instant::now() < deadline, "{what}: {letters:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The relay's dead letters take the operators' vocabulary: a stream with no topic is parked, its later events
/// wait behind it, a retry (from the command line) publishes what can be published and parks the rest again,
/// and a skip gives up on the head with who and why and retries the events behind it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_relays_dead_letters_are_retried_and_skipped_like_every_subscribers() {
    let app = TestApp::start_kafka().await;
    append_to(&app, "mystery-7", ExpectedVersion::NoStream).await;
    let letters = relay_letters(&app, "the stream is parked", |letters| letters.len() == 1).await;
    let head = letters[0].clone();
    assert_eq!((head.stream_id.as_str(), head.state.as_str(), head.attempts), ("mystery-7", "parked", 1));
    append_to(&app, "mystery-7", ExpectedVersion::Exact(1)).await;
    relay_letters(&app, "the next event waits behind the head", |letters| letters[0].waiting == 1).await;

    let cli = |args: Vec<String>| {
        let environment = app.process_environment();
        async move {
            let output = tokio::process::Command::new(tests::process::binary())
                .args(&args)
                .envs(environment)
                .output()
                .await
                .expect("the command runs");
            assert!(output.status.success(), "{args:?}: {}", String::from_utf8_lossy(&output.stderr));
            String::from_utf8_lossy(&output.stdout).into_owned()
        }
    };
    let listed = cli(vec!["dead-letters".into(), "list".into()]).await;
    assert!(listed.contains(&format!("relay\t{}\tmystery-7\t", head.id)), "{listed}");
    let retried =
        cli(vec!["dead-letters".into(), "retry".into(), "--subscriber".into(), "relay".into(), head.id.to_string()])
            .await;
    assert!(retried.contains("will handle 2 event(s) again"), "{retried}");
    let letters = relay_letters(&app, "the retry parks the stream again", |letters| {
        letters.len() == 1 && letters[0].attempts == 2 && letters[0].state == "parked"
    })
    .await;
    assert_eq!((letters[0].id, letters[0].waiting), (head.id, 1), "still no topic: parked again, in order");

    // The admin routes speak for every subscriber.
    let (_, admin) = app.user(Role::Admin);
    let listed = app.call(reqwest::Method::GET, "/api/v1/admin/dead-letters?subscriber=relay", &admin, None).await;
    assert_eq!(listed.status, 200, "{:?}", listed.body);
    assert_eq!(listed.body["data"][0]["id"], head.id);
    assert_eq!(listed.body["data"][0]["subscriber"], "relay");
    let nobody = app.call(reqwest::Method::GET, "/api/v1/admin/dead-letters?subscriber=nobody", &admin, None).await;
    assert_eq!(nobody.status, 400, "{:?}", nobody.body);
    let projector = app.call(reqwest::Method::GET, "/api/v1/admin/dead-letters", &admin, None).await;
    assert_eq!(projector.body["data"], serde_json::json!([]), "the projector parked nothing");
    let skip = serde_json::json!({ "reason": "a test stream" });
    let path = format!("/api/v1/admin/dead-letters/{}/skip?subscriber=relay", head.id);
    let skipped = app.post(&path, &admin, Some(&skip)).await;
    assert_eq!(skipped.status, 200, "{:?}", skipped.body);
    assert_eq!(skipped.body["data"], serde_json::json!({ "applied": 0, "parked_again": null, "retrying": 1 }));
    assert_eq!(app.post(&path, &admin, Some(&skip)).await.status, 404, "skipped once");
    let letters = relay_letters(&app, "the event behind the skipped head is tried", |letters| {
        letters.len() == 1 && letters[0].id != head.id && letters[0].state == "parked"
    })
    .await;
    assert_eq!((letters[0].stream_version, letters[0].state.as_str(), letters[0].waiting), (2, "parked", 0));
    let recorded = app
        .database
        .count(&format!(
            "SELECT count(*) FROM dead_letters WHERE id = {} AND state = 'skipped' AND resolved_by LIKE 'admin:%' \
             AND skip_reason = 'a test stream'",
            head.id
        ))
        .await;
    assert_eq!(recorded, 1);
    app.wait_until_projected().await;
}
