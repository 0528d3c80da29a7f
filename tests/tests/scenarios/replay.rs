//! `learnlog replay`: the read models rebuilt into a fresh schema and switched to while the query API serves
//! reads and the command API takes writes, without one failed read; the projector goes on in the new schema;
//! the old one stays until dropped. And snapshots as of a position or a time, served read-only under
//! `/api/v1/as-of/{name}/`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use events::Role;
use learnlog::rebuild::{ReplayOptions, build};
use serde_json::json;
use tests::TestApp;

/// Reads completed after a switch before the readers stop. The switch is committed when the rebuild returns,
/// and the query API's pools learn of it by the notification sent with it: all but the first few of these reads
/// are served from the new schema, so that a read the switch breaks would be among them.
const READS_AFTER_SWITCH: u64 = 60;

async fn published(app: &TestApp, token: &str, title: &str) {
    let id = app.create_course(token, title).await.id();
    assert_eq!(app.publish(token, id).await.status, 200);
}

async fn catalogue_total(app: &TestApp, prefix: &str) -> i64 {
    let answer = app.get(&format!("{prefix}/courses?limit=1"), None).await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    answer.body["total_results"].as_i64().expect("a total")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rebuild_is_switched_to_while_serving_without_a_failed_read_and_snapshots_show_the_past() {
    let mut app = Arc::new(TestApp::start().await);
    let (_, teacher) = app.instructor("replayteacher", "Replay Teacher").await;
    for n in 0..30 {
        published(&app, &teacher, &format!("Course {n}")).await;
    }
    let person = json!({ "email": "snap.person@example.com", "username": "snapperson", "password": "a long password",
                         "name": "Snap Person" });
    assert_eq!(app.send(app.http.post(app.url("/api/v1/auth/register")), Some(&person)).await.status, 201);
    app.wait_until_projected().await;
    let snapshot_position = app.event_count().await;
    assert_eq!(catalogue_total(&app, "/api/v1").await, 30);

    // Readers and a writer keep going through the rebuild and the switch.
    let stop = Arc::new(AtomicBool::new(false));
    let (reads, failures) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let mut readers = Vec::new();
    for _ in 0..3 {
        let (app, stop, reads, failures) =
            (Arc::clone(&app), Arc::clone(&stop), Arc::clone(&reads), Arc::clone(&failures));
        readers.push(tokio::spawn(async move {
            while !stop.load(Ordering::SeqCst) {
                let answer = app.http.get(app.url("/api/v1/courses?limit=5")).send().await.expect("answers");
                let status = answer.status().as_u16();
                let body: serde_json::Value = answer.json().await.expect("JSON");
                // Never an error, never an empty catalogue: the old schema or the new one, whole.
                if status != 200 || body["total_results"].as_i64().unwrap_or(0) < 30 {
                    failures.fetch_add(1, Ordering::SeqCst);
                }
                reads.fetch_add(1, Ordering::SeqCst);
            }
        }));
    }
    let writer = {
        let (app, stop, teacher) = (Arc::clone(&app), Arc::clone(&stop), teacher.clone());
        tokio::spawn(async move {
            let mut written = 0;
            while !stop.load(Ordering::SeqCst) && written < 20 {
                published(&app, &teacher, &format!("Written during the rebuild {written}")).await;
                written += 1;
            }
            written
        })
    };
    let plain = app.database.connect(2);
    let keyring = app.keyring();
    let options = ReplayOptions { schema: Some("rm_blue".into()), ..ReplayOptions::default() };
    let report = build(&app.store, &plain, &keyring, &options).await.expect("the rebuild runs");
    assert!(report.contains("switched from public to rm_blue"), "{report}");
    let at_switch = reads.load(Ordering::SeqCst);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while reads.load(Ordering::SeqCst) < at_switch + READS_AFTER_SWITCH {
        assert!(tokio::time::Instant::now() < deadline, "the readers did not read after the switch");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.store(true, Ordering::SeqCst);
    for reader in readers {
        reader.await.expect("a reader");
    }
    let written = writer.await.expect("the writer");
    assert!(reads.load(Ordering::SeqCst) > 10, "the readers read");
    assert_eq!(failures.load(Ordering::SeqCst), 0, "no read failed or came back incomplete during the switch");

    // Served from the new schema, fed by the projector from there on.
    assert_eq!(app.served_schema().await, "rm_blue");
    published(&app, &teacher, "Written after the switch").await;
    app.wait_until_projected().await;
    let total = catalogue_total(&app, "/api/v1").await;
    assert_eq!(total, 30 + written + 1, "every course, those written during the rebuild too");
    let in_new = app.database.count("SELECT count(*) FROM rm_blue.catalog_course").await;
    assert_eq!(in_new, total);
    let in_old = app.database.count("SELECT count(*) FROM public.catalog_course").await;
    assert!(in_old < total, "the old schema stays, and is no longer fed");

    // A release with a new read migration (the latest one, as if not applied yet): `learnlog migrate` applies it
    // to the served schema and the kept one.
    let latest = app.database.count("SELECT max(version)::bigint FROM public.read_schema_history").await;
    let client = app.database.client().await;
    for schema in ["rm_blue", "public"] {
        let forget = format!("DELETE FROM {schema}.read_schema_history WHERE version = {latest}");
        client.execute(&forget, &[]).await.expect("ok");
    }
    let mut single = app.database.client().await;
    migrations::migrate(&mut single, migrations::Schema::Read).await.expect("migrates");
    for schema in ["rm_blue", "public"] {
        let applied = format!("SELECT count(*) FROM {schema}.read_schema_history WHERE version = {latest}");
        assert_eq!(app.database.count(&applied).await, 1, "migrated in {schema}");
    }
    // Readiness asks the read models' pool, which is in the served schema.
    let mut pooled = app.read.pool().get().await.expect("a connection");
    assert!(migrations::is_current(&mut pooled, migrations::Schema::Read).await.expect("checks"));
    drop(pooled);

    // A snapshot as of a position serves the catalogue as it was, read-only.
    let snapshot = ReplayOptions {
        schema: Some("asof_thirty".into()),
        position: Some(snapshot_position),
        ..ReplayOptions::default()
    };
    let report = build(&app.store, &plain, &keyring, &snapshot).await.expect("the snapshot is built");
    assert!(report.contains("/api/v1/as-of/asof_thirty/"), "{report}");
    assert_eq!(catalogue_total(&app, "/api/v1/as-of/asof_thirty").await, 30);
    assert_eq!(app.served_schema().await, "rm_blue", "a snapshot is not switched to");
    let (_, admin) = app.user(Role::Admin);
    let users = app.call(reqwest::Method::GET, "/api/v1/as-of/asof_thirty/admin/users", &admin, None).await;
    assert_eq!(users.status, 200, "{:?}", users.body);
    let anonymous = app.get("/api/v1/as-of/asof_thirty/admin/users", None).await;
    assert_eq!(anonymous.status, 401, "the same rules of who may read");
    let write = app.post("/api/v1/as-of/asof_thirty/courses", &teacher, Some(&json!({}))).await;
    assert_eq!(write.status, 405, "nothing is written through a snapshot");
    assert_eq!(app.get("/api/v1/as-of/asof_nothing/courses", None).await.status, 404);
    assert_eq!(app.get("/api/v1/as-of/rm_blue/courses", None).await.status, 404, "only snapshots are served");
    assert_eq!(app.get("/api/v1/as-of/asof_thirty/events", None).await.status, 404, "no history there");

    let found = |answer: tests::app::Answer| answer.body["data"].to_string().contains("Snap Person");
    let search = "/api/v1/as-of/asof_thirty/admin/users?search=snapperson";
    assert!(found(app.call(reqwest::Method::GET, search, &admin, None).await), "the snapshot knows them");

    // An erasure reaches the past: the snapshot and the schema served before forget the person too.
    let login = json!({ "login": "snapperson", "password": "a long password" });
    let session = app.send(app.http.post(app.url("/api/v1/auth/login")), Some(&login)).await;
    let token = session.body["data"]["access_token"].as_str().expect("a token").to_owned();
    assert_eq!(app.call(reqwest::Method::DELETE, "/api/v1/me", &token, None).await.status, 200);
    app.wait_until_projected().await;
    assert!(!found(app.call(reqwest::Method::GET, search, &admin, None).await), "erased from the snapshot");
    for schema in ["public", "asof_thirty", "rm_blue"] {
        let left = app
            .database
            .count(&format!("SELECT count(*) FROM {schema}.user_directory WHERE username = 'snapperson'"))
            .await;
        assert_eq!(left, 0, "erased from {schema}");
    }

    // As of a time: before anything happened, nothing.
    let long_ago = time::OffsetDateTime::now_utc() - time::Duration::days(1);
    let empty =
        ReplayOptions { schema: Some("asof_yesterday".into()), as_of: Some(long_ago), ..ReplayOptions::default() };
    build(&app.store, &plain, &keyring, &empty).await.expect("the snapshot is built");
    assert_eq!(catalogue_total(&app, "/api/v1/as-of/asof_yesterday").await, 0);

    // A dropped snapshot is no longer served, even from a router made before.
    let mut single = app.database.client().await;
    migrations::drop_read_schema(&mut single, "asof_yesterday").await.expect("dropped");
    assert_eq!(app.get("/api/v1/as-of/asof_yesterday/courses", None).await.status, 404);

    // Bad names and a second switch to the served schema are refused; a rebuild can be switched to again.
    let bad = ReplayOptions { schema: Some("Robert'); DROP TABLE".into()), ..ReplayOptions::default() };
    assert!(build(&app.store, &plain, &keyring, &bad).await.is_err());
    let taken = ReplayOptions { schema: Some("rm_blue".into()), ..ReplayOptions::default() };
    assert!(build(&app.store, &plain, &keyring, &taken).await.is_err(), "the schema exists");
    let green = ReplayOptions { schema: Some("rm_green".into()), ..ReplayOptions::default() };
    let report = build(&app.store, &plain, &keyring, &green).await.expect("the second rebuild runs");
    assert!(report.contains("switched from rm_blue to rm_green"), "{report}");
    assert_eq!(catalogue_total(&app, "/api/v1").await, total);

    // The catalogue alone: the other projections' tables come from the served schema, caught up with what the
    // projector had not applied yet (it is stopped while an account is made).
    let users = "/api/v1/admin/users?limit=1";
    let accounts = app.call(reqwest::Method::GET, users, &admin, None).await.body["total_results"].as_i64();
    let only = Arc::get_mut(&mut app).expect("the readers and the writer are done");
    only.stop_projector().await;
    let late = json!({ "email": "late.person@example.com", "username": "lateperson", "password": "a long password",
                       "name": "Late Person" });
    assert_eq!(only.send(only.http.post(only.url("/api/v1/auth/register")), Some(&late)).await.status, 201);
    let catalog = ReplayOptions {
        schema: Some("rm_catalog".into()),
        projections: vec!["catalog".into()],
        ..ReplayOptions::default()
    };
    let report = build(&app.store, &plain, &keyring, &catalog).await.expect("the catalogue is rebuilt");
    assert!(report.contains("switched from rm_green to rm_catalog"), "{report}");
    assert_eq!(catalogue_total(&app, "/api/v1").await, total);
    // The query API's pools learn of a switch by notification: a read may lag it briefly.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let now = loop {
        let now = app.call(reqwest::Method::GET, users, &admin, None).await.body["total_results"].as_i64();
        if now == accounts.map(|n| n + 1) || tokio::time::Instant::now() > deadline {
            break now;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(now, accounts.map(|n| n + 1), "the other projections' tables, with the account made meanwhile");
    Arc::get_mut(&mut app).expect("one owner").start_projector().await;
    let unknown = ReplayOptions { projections: vec!["catalogue".into()], ..ReplayOptions::default() };
    assert!(build(&app.store, &plain, &keyring, &unknown).await.is_err(), "no such projection");
    let partial_snapshot =
        ReplayOptions { position: Some(1), projections: vec!["users".into()], ..ReplayOptions::default() };
    assert!(build(&app.store, &plain, &keyring, &partial_snapshot).await.is_err(), "a snapshot holds them all");

    // Every read-model table belongs to one projection, or to the projector itself.
    let client = app.database.client().await;
    let rows = client
        .query("SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'rm_catalog'", &[])
        .await
        .expect("tables");
    let mut found: Vec<String> = rows.iter().map(|row| row.get(0)).collect();
    found.sort();
    let projector_own = [
        "projector_checkpoints",
        "projector_partition_checkpoints",
        "projected_stream_versions",
        "projector_dead_letters",
        "read_schema_history",
    ];
    let mut owned: Vec<String> = projector::PROJECTIONS
        .iter()
        .flat_map(|(_, tables)| tables.iter())
        .chain(&projector_own)
        .map(|t| t.to_string())
        .collect();
    owned.sort();
    assert_eq!(found, owned, "a table without an owning projection is neither rebuilt nor carried over");
}

/// A rebuild writes runs of course events many at a time: a run of creations, and a run of publications,
/// price changes and retirements with each course at most once (a course met twice in a row starts a new
/// run). The rows it builds equal those the projector made as the events came.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rebuild_writes_runs_of_course_events_many_at_a_time_as_the_projector_made_them() {
    let app = TestApp::start().await;
    let (_, teacher) = app.instructor("runteacher", "Run Teacher").await;
    let mut ids = Vec::new();
    for n in 0..6 {
        ids.push(app.create_course(&teacher, &format!("Run course {n}")).await.id());
    }
    for id in &ids {
        assert_eq!(app.post(&format!("/api/v1/courses/{id}/publish"), &teacher, None).await.status, 200);
    }
    for (id, cents) in [(ids[0], 2500), (ids[0], 3500), (ids[1], 4500), (ids[3], 999)] {
        let price = json!({ "price": { "amount_cents": cents, "currency": "USD" } });
        let answer = app.call(reqwest::Method::PATCH, &format!("/api/v1/courses/{id}"), &teacher, Some(&price)).await;
        assert_eq!(answer.status, 200, "{:?}", answer.body);
    }
    assert_eq!(app.post(&format!("/api/v1/courses/{}/retire", ids[2]), &teacher, None).await.status, 200);
    app.wait_until_projected().await;

    let rows = |schema: String| {
        let app = &app;
        async move {
            let sql = format!(
                "SELECT string_agg(concat_ws('|', id, title, status, base_price_cents, version, created_at, \
                 updated_at, published_at, instructor_name), ',' ORDER BY id) FROM {schema}.catalog_course"
            );
            let row = app.database.client().await.query_one(&sql, &[]).await.expect("the rows");
            row.get::<_, String>(0)
        }
    };
    let live = rows(app.served_schema().await).await;
    let options = ReplayOptions { schema: Some("rm_runs".into()), ..ReplayOptions::default() };
    build(&app.store, &app.database.connect(2), &app.keyring(), &options).await.expect("the rebuild runs");
    assert_eq!(rows("rm_runs".into()).await, live);
    for (id, status, cents) in [(ids[0], "published", 3500), (ids[1], "published", 4500), (ids[2], "retired", 1999)] {
        let row = live.split(',').find(|row| row.starts_with(&id.to_string())).expect("the course's row");
        let fields: Vec<&str> = row.split('|').collect();
        assert_eq!((fields[2], fields[3]), (status, cents.to_string().as_str()), "{row}");
    }
}

/// A rebuild writes runs of lesson views many at a time (each enrolment at most once per run): every
/// enrolment's progress and lessons seen, and each trainee's last viewed course, as the projector made them one
/// by one, a trainee's last view in a run being the one that stays.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rebuild_writes_runs_of_lesson_views_many_at_a_time_as_the_projector_made_them() {
    let app = TestApp::start().await;
    let (_, teacher) = app.instructor("viewteacher", "View Teacher").await;
    let (x, [x0, x1]) = super::learning::course_with_two_lessons(&app, &teacher).await;
    let (y, [y0, _]) = super::learning::course_with_two_lessons(&app, &teacher).await;
    let (ada, ada_token) = super::commerce::trainee(&app, "viewerada").await;
    let (bob, bob_token) = super::commerce::trainee(&app, "viewerbob").await;
    let (_, admin) = app.user(Role::Admin);
    for (trainee, course) in [(ada, x), (ada, y), (bob, x)] {
        let grant = json!({ "trainee_id": trainee, "course_id": course });
        let granted = app.post("/api/v1/admin/enrollments", &admin, Some(&grant)).await;
        assert_eq!(granted.status, 201, "{:?}", granted.body);
    }
    // A run of three views in the feed, Ada's two enrolments in it, then Bob's last view, which completes x.
    for (token, course, lesson) in [(&ada_token, x, x0), (&bob_token, x, x0), (&ada_token, y, y0), (&bob_token, x, x1)]
    {
        let viewed = app.post(&format!("/api/v1/enrollments/{course}/lessons/{lesson}/view"), token, None).await;
        assert_eq!(viewed.status, 200, "{:?}", viewed.body);
    }
    app.wait_until_projected().await;

    let rows = |schema: String| {
        let app = &app;
        async move {
            let sql = format!(
                "SELECT (SELECT string_agg(concat_ws('|', trainee_id, course_id, progress, visited_lessons, version), \
                 ',' ORDER BY trainee_id, course_id) FROM {schema}.enrollment_view) || ' / ' || \
                 (SELECT string_agg(concat_ws('|', trainee_id, course_id, at), ',' ORDER BY trainee_id) \
                 FROM {schema}.trainee_last_viewed)"
            );
            let row = app.database.client().await.query_one(&sql, &[]).await.expect("the rows");
            row.get::<_, String>(0)
        }
    };
    let live = rows(app.served_schema().await).await;
    let (enrolments, last_viewed) = live.split_once(" / ").expect("both tables have rows");
    for expected in
        [format!("{ada}|{x}|50|{{{x0}}}|"), format!("{ada}|{y}|50|{{{y0}}}|"), format!("{bob}|{x}|100|{{{x0},{x1}}}|")]
    {
        assert!(enrolments.contains(&expected), "{expected} in {enrolments}");
    }
    let last: Vec<&str> = last_viewed.split(',').map(|row| &row[..row.rfind('|').expect("three columns")]).collect();
    let mut expected = vec![format!("{ada}|{y}"), format!("{bob}|{x}")];
    expected.sort();
    assert_eq!(last, expected, "Ada's last view was in course y");
    let options = ReplayOptions { schema: Some("rm_views".into()), ..ReplayOptions::default() };
    let served = app.served_schema().await;
    build(&app.store, &app.database.connect(2), &app.keyring(), &options).await.expect("the rebuild runs");
    assert_eq!(rows("rm_views".into()).await, live);

    // Its GIN indexes, dropped for the fill, are built again before the switch: every index is there.
    let indexes = |schema: String| {
        let app = &app;
        async move {
            let sql = format!(
                "SELECT string_agg(replace(indexdef, '{schema}.', ''), ',' ORDER BY indexname) FROM pg_indexes \
                 WHERE schemaname = '{schema}' AND tablename IN (SELECT tablename FROM pg_tables \
                 WHERE schemaname = 'rm_views')"
            );
            let row = app.database.client().await.query_one(&sql, &[]).await.expect("the indexes");
            row.get::<_, String>(0)
        }
    };
    let built = indexes("rm_views".into()).await;
    assert!(built.contains("USING gin"), "{built}");
    assert_eq!(built, indexes(served).await);
}

/// An erasure that waited behind a parked event reaches the kept schemas when the dead letter is retried, as
/// it does when the projector applies it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_erasure_retried_from_the_dead_letters_reaches_the_kept_schemas_too() {
    let app = TestApp::start().await;
    let person = json!({ "email": "kept.person@example.com", "username": "keptperson", "password": "a long password",
                         "name": "Kept Person" });
    assert_eq!(app.send(app.http.post(app.url("/api/v1/auth/register")), Some(&person)).await.status, 201);
    app.wait_until_projected().await;
    let snapshot = ReplayOptions {
        schema: Some("asof_kept".into()),
        position: Some(app.event_count().await),
        ..Default::default()
    };
    build(&app.store, &app.database.connect(2), &app.keyring(), &snapshot).await.expect("the snapshot is built");
    let kept = "SELECT count(*) FROM asof_kept.user_directory WHERE username = 'keptperson'";
    assert_eq!(app.database.count(kept).await, 1);

    // A projection bug parks the person's stream at their next event; their deletion waits behind it.
    let served = app.served_schema().await;
    let poison =
        format!("ALTER TABLE {served}.user_directory ADD CONSTRAINT poison_name CHECK (name <> 'Poison Name')");
    app.database.client().await.batch_execute(&poison).await.expect("a constraint");
    let login = json!({ "login": "keptperson", "password": "a long password" });
    let session = app.send(app.http.post(app.url("/api/v1/auth/login")), Some(&login)).await;
    let token = session.body["data"]["access_token"].as_str().expect("a token").to_owned();
    let renamed = app.call(reqwest::Method::PATCH, "/api/v1/me", &token, Some(&json!({ "name": "Poison Name" }))).await;
    assert_eq!(renamed.status, 200, "{:?}", renamed.body);
    let admin = app.user(Role::Admin).1;
    // Parked first: once the account is deleted, its name no longer opens and would not trip the bug.
    let parked = |waiting: i64| {
        let (app, admin) = (&app, &admin);
        async move {
            let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
            loop {
                let listed = app.call(reqwest::Method::GET, "/api/v1/admin/dead-letters", admin, None).await;
                if listed.body["data"][0]["waiting"] == waiting {
                    return listed.body["data"][0]["id"].clone();
                }
                assert!(tokio::time::Instant::now() < deadline, "{waiting} waiting: {:?}", listed.body);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };
    parked(0).await;
    assert_eq!(app.call(reqwest::Method::DELETE, "/api/v1/me", &token, None).await.status, 200);
    let letter = parked(1).await;

    // The fix, then a retry: the deletion is applied to the served schema and to the snapshot.
    let fix = format!("ALTER TABLE {served}.user_directory DROP CONSTRAINT poison_name");
    app.database.client().await.batch_execute(&fix).await.expect("dropped");
    let retried = app.post(&format!("/api/v1/admin/dead-letters/{letter}/retry"), &admin, None).await;
    assert_eq!(retried.body["data"]["applied"], 2, "{:?}", retried.body);
    let served = format!("SELECT count(*) FROM {served}.user_directory WHERE username = 'keptperson'");
    assert_eq!(app.database.count(&served).await, 0);
    assert_eq!(app.database.count(kept).await, 0, "erased from the snapshot too");
}
