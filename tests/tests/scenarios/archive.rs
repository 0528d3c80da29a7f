//! The partitioned history and `learnlog archive`: appends make the partitions they need as they go; archiving
//! moves the oldest full ones out of the hot `events` table, with a Parquet copy DuckDB reads; and afterwards
//! every reader still gets the archived range (the analysts' feed, a rebuild), while the write side goes on
//! with streams whose first events, or all of them, are archived: versions continue, none is written twice.

use std::time::Duration;

use events::Role;
use serde::Deserialize;
use serde_json::json;
use tests::TestApp;

use super::certificates::trainee_named;
use super::commerce::{add_to_cart, credit, eventually, order, published_course};

/// Positions per partition in this test.
const WIDTH: i64 = 25;

#[derive(Debug, Deserialize)]
struct ParquetPositions {
    rows: i64,
    first: i64,
    last: i64,
    positions: i64,
}

async fn feed(app: &TestApp, token: &str) -> String {
    let response = app
        .http
        .get(app.url("/api/v1/events?after=0&limit=10000"))
        .bearer_auth(token)
        .send()
        .await
        .expect("the server answers");
    assert_eq!(response.status(), 200);
    response.text().await.expect("a body")
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    app.database.count(sql).await
}

#[tokio::test]
async fn archived_history_stays_readable_and_its_streams_go_on() {
    let app = TestApp::start().await;
    let _sagas = app.start_sagas();
    let partitions = "SELECT count(*) FROM event_partitions";
    assert_eq!(count(&app, partitions).await, 0, "no append has made a partition yet");
    app.database.client().await.batch_execute(&format!("UPDATE event_partitioning SET width = {WIDTH}")).await.unwrap();
    let (_, admin) = app.user(Role::Admin);

    // Early history: a course, a trainee with a wallet who buys it, and a second course nobody touches again.
    let (course, _) = published_course(&app, "archiveteacher", 1200).await;
    let (trainee, token) = trainee_named(&app, "archivetrainee", "Ada Archive").await;
    credit(&app, trainee, 5000).await;
    assert_eq!(add_to_cart(&app, &token, course).await.status, 201);
    assert_eq!(order(&app, &token).await.status, 201);
    eventually(&app, "/api/v1/me/enrollments", &token, |body| body["total_results"] == 1).await;
    let (quiet_course, quiet_teacher) = published_course(&app, "quietteacher", 900).await;
    let quiet_stream = format!("course-{quiet_course}");
    let quiet_version =
        count(&app, &format!("SELECT max(stream_version) FROM events WHERE stream_id = '{quiet_stream}'")).await;
    // More history than two partitions hold, so that both are full with the head past them.
    let mut n = 0;
    while count(&app, "SELECT COALESCE(max(position), 0) FROM events").await < 2 * WIDTH + 5 {
        let (id, _) = trainee_named(&app, &format!("filler{n}"), "Fill Er").await;
        credit(&app, id, 100).await;
        n += 1;
    }
    assert!(count(&app, partitions).await >= 3, "appends made the partitions they needed, and one ahead");
    app.wait_until_projected().await;
    let before = feed(&app, &admin).await;
    let live = TestApp::read_models(&app.database).await;

    // Nothing moves when no whole partition ends by the position given.
    let out = std::env::temp_dir().join(format!("learnlog-archive-{}", uuid::Uuid::now_v7()));
    let refused = learnlog::archive::archive_before(&app.store, WIDTH, &out).await.expect_err("nothing to archive");
    assert!(refused.to_string().contains("nothing to archive before position 25"), "{refused}");
    assert_eq!(count(&app, "SELECT count(*) FROM events WHERE position <= 25").await, WIDTH);

    // One archive runs at a time.
    let other = app.database.client().await;
    other.execute("SELECT pg_advisory_lock($1)", &[&learnlog::archive::ARCHIVE_LOCK_KEY]).await.expect("locks");
    let busy = learnlog::archive::archive_before(&app.store, 2 * WIDTH + 1, &out).await.expect_err("one at a time");
    assert!(busy.to_string().contains("another `learnlog archive` is running"), "{busy}");
    other.execute("SELECT pg_advisory_unlock($1)", &[&learnlog::archive::ARCHIVE_LOCK_KEY]).await.expect("unlocks");

    let archived = learnlog::archive::archive_before(&app.store, 2 * WIDTH + 1, &out).await.expect("archives");
    assert_eq!(archived.events, 2 * WIDTH);
    assert_eq!(archived.partitions.len(), 2);
    assert!(archived.partitions.iter().all(|partition| partition.archived.is_some()));
    assert_eq!(count(&app, "SELECT count(*) FROM events WHERE position <= 50").await, 0, "the hot table let them go");
    assert_eq!(count(&app, "SELECT count(*) FROM archived_events").await, 2 * WIDTH);
    assert_eq!(count(&app, "SELECT count(*) FROM event_partitions WHERE archived_at IS NOT NULL").await, 2);

    // The Parquet copy, as DuckDB reads it: every archived position once.
    let copy: ParquetPositions =
        tests::python::json("parquet_positions.py", &[out.to_str().expect("a UTF-8 path")], b"").await;
    assert_eq!((copy.rows, copy.first, copy.last, copy.positions), (2 * WIDTH, 1, 2 * WIDTH, 2 * WIDTH));

    // Readers of position ranges see the archived range as before: the analysts' feed, byte for byte, and a
    // rebuild from the first event equal to the live read models.
    assert_eq!(feed(&app, &admin).await, before);
    assert_eq!(TestApp::read_models(&app.rebuild().await).await, live);

    // A stream reads whole, its archived events first.
    let quiet = event_store::read_stream(&app.store, &quiet_stream).await.expect("reads");
    let versions: Vec<i64> = quiet.iter().map(|event| event.stream_version).collect();
    assert_eq!(versions, (1..=quiet_version).collect::<Vec<_>>());
    let rest = event_store::read_stream_after(&app.store, &quiet_stream, 1).await.expect("reads");
    assert_eq!(rest.len() as i64, quiet_version - 1);

    // An append in a caller's transaction must come first in it, so that it sees every partition (ADR 0013).
    let mut client = app.database.client().await;
    let transaction = client.transaction().await.expect("begins");
    transaction.execute("SELECT count(*) FROM events", &[]).await.expect("reads");
    let late = event_store::writer::append_in_transaction(&transaction, &[]).await;
    assert!(late.is_err(), "an append after a read in the same transaction is refused");
    drop(transaction);

    // The write side goes on: the trainee (whose account and wallet began in the archive) buys again, and the
    // quiet course, every event of which is archived, changes its price at the version after its last one.
    let (second, _) = published_course(&app, "archiveteacher2", 700).await;
    assert_eq!(add_to_cart(&app, &token, second).await.status, 201);
    assert_eq!(order(&app, &token).await.status, 201);
    eventually(&app, "/api/v1/me/enrollments", &token, |body| body["total_results"] == 2).await;
    eventually(&app, "/api/v1/me/wallet", &token, |body| body["balance"]["amount_cents"] == 5000 - 1200 - 700).await;
    let quiet_token = app.keys.issue(quiet_teacher, Role::Instructor, Duration::from_secs(600)).expect("signs");
    let price = json!({ "price": { "amount_cents": 950, "currency": "USD" } });
    let path = format!("/api/v1/courses/{quiet_course}");
    let changed = app.call(reqwest::Method::PATCH, &path, &quiet_token, Some(&price)).await;
    assert_eq!(changed.status, 200, "{:?}", changed.body);
    let now = count(&app, &format!("SELECT max(stream_version) FROM events WHERE stream_id = '{quiet_stream}'")).await;
    assert_eq!(now, quiet_version + 1, "the version went on from the archived head");
    let twice = "SELECT count(*) FROM (SELECT stream_id, stream_version FROM all_events \
                 GROUP BY stream_id, stream_version HAVING count(*) > 1) t";
    assert_eq!(count(&app, twice).await, 0, "no stream version was written twice");

    // And the whole history still rebuilds to what is served.
    app.wait_until_projected().await;
    assert_eq!(TestApp::read_models(&app.rebuild().await).await, TestApp::read_models(&app.database).await);
    let _ = std::fs::remove_dir_all(&out);
}
