//! `GET /metrics`, read by the Prometheus project's own text parser: HTTP timings by route template and
//! status, appended events by type, group-commit sizes, how far the projector and the sagas are behind (on
//! the feed, and per partition on Kafka), dead letters, the email outbox, and the connection pools.

use events::Role;
use serde_json::json;
use tests::TestApp;
use tests::app::Mode;
use tests::prometheus::{Family, parse, samples};

/// The test process has one metrics recorder, and a scrape sets its gauges from the scraped app's database:
/// two apps scraped at once would overwrite each other's gauges. The scenarios here take turns.
static ONE_SCRAPER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn scrape(app: &TestApp) -> Vec<Family> {
    let response = app.http.get(app.url("/metrics")).send().await.expect("answers");
    assert_eq!(response.status().as_u16(), 200);
    let content_type = response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    assert!(content_type.starts_with("text/plain; version=0.0.4"), "{content_type}");
    parse(&response.text().await.expect("a body")).await
}

fn value(families: &[Family], name: &str, labels: &[(&str, &str)]) -> f64 {
    let found = samples(families, name, labels);
    assert_eq!(found.len(), 1, "one {name} {labels:?}: {found:?}");
    found[0].value
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_show_requests_appends_lags_backlogs_and_pools() {
    let _turn = ONE_SCRAPER.lock().await;
    let app = TestApp::start().await;
    let _sagas = app.start_sagas();
    let (_, teacher) = app.instructor("metricsteacher", "Metrics Teacher").await;
    let course = app.create_course(&teacher, "Counting things").await.id();
    let page = app.get(&format!("/api/v1/me/instructor/courses/{course}"), None).await;
    assert_eq!(page.status, 401);
    assert_eq!(app.get("/api/v1/no/such/route", None).await.status, 404);
    // A sign-up's verification email waits in the outbox: no mailer runs here.
    let sign_up = json!({ "email": "metrics.trainee@example.com", "username": "metricstrainee",
                          "password": "a long password", "name": "Metrics Trainee" });
    assert_eq!(app.send(app.http.post(app.url("/api/v1/auth/register")), Some(&sign_up)).await.status, 201);
    app.wait_until_projected().await;
    // A public read: the first answer shows the route public, the next is kept, one after it is answered from
    // memory once no projector batch comes in between.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let catalogue = app.get("/api/v1/courses", None).await;
        assert_eq!(catalogue.status, 200, "{:?}", catalogue.body);
        if catalogue.header("age").is_some() {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "no catalogue read was answered from memory");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    // The sagas have handled a batch of the feed: they stand somewhere.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    while app.database.count("SELECT count(*) FROM saga_checkpoints").await == 0 {
        assert!(tokio::time::Instant::now() < deadline, "the sagas never stored a checkpoint");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }

    let families = scrape(&app).await;
    let kind = |name: &str| families.iter().find(|family| family.name == name).map(|family| family.kind.clone());

    // Requests, by route template (never the path with its ids) and status.
    assert_eq!(kind("learnlog_http_request_duration_seconds").as_deref(), Some("histogram"));
    let created = [("method", "POST"), ("route", "/api/v1/courses"), ("status", "201")];
    assert!(value(&families, "learnlog_http_request_duration_seconds_count", &created) >= 1.0);
    let buckets = samples(&families, "learnlog_http_request_duration_seconds_bucket", &created);
    assert!(buckets.iter().any(|bucket| bucket.labels["le"] == "+Inf"), "{buckets:?}");
    let refused = [("method", "GET"), ("route", "/api/v1/me/instructor/courses/{id}"), ("status", "401")];
    assert!(value(&families, "learnlog_http_request_duration_seconds_count", &refused) >= 1.0);
    let unknown = [("route", "unmatched"), ("status", "404")];
    assert!(!samples(&families, "learnlog_http_request_duration_seconds_count", &unknown).is_empty());
    let with_ids = samples(&families, "learnlog_http_request_duration_seconds_count", &[])
        .into_iter()
        .filter(|sample| sample.labels["route"].contains(&course.to_string()))
        .count();
    assert_eq!(with_ids, 0, "no series per id");

    // Appends, by event type, and the group commits they went in.
    assert_eq!(kind("learnlog_events_appended").as_deref(), Some("counter"));
    assert!(value(&families, "learnlog_events_appended_total", &[("event_type", "CourseCreated")]) >= 1.0);
    assert!(value(&families, "learnlog_events_appended_total", &[("event_type", "InstructorCreated")]) >= 1.0);
    assert_eq!(kind("learnlog_group_commit_batch_size").as_deref(), Some("histogram"));
    assert!(value(&families, "learnlog_group_commit_batch_size_count", &[]) >= 3.0);

    // Lags on the feed: the projector has caught up; each saga reports where it stands.
    let projector = [("consumer", "projector"), ("topic", "feed")];
    assert_eq!(value(&families, "learnlog_lag_events", &projector), 0.0);
    assert_eq!(value(&families, "learnlog_lag_seconds", &projector), 0.0);
    let sagas = samples(&families, "learnlog_lag_events", &[("topic", "feed")])
        .into_iter()
        .filter(|sample| sample.labels["consumer"].starts_with("saga:"))
        .count();
    assert!(sagas >= 1, "the sagas report their lag");

    // Public reads, by where they were answered from: some were read, and the last ones kept.
    let public = |answer: &str| samples(&families, "learnlog_public_reads_total", &[("answer", answer)]);
    assert!(!public("statements").is_empty(), "a public read of a kept route read afresh is counted");
    assert!(!public("memory").is_empty(), "a public read answered from memory is counted");

    // Dead letters, the outbox, the pools.
    for component in ["projector", "relay", "sagas"] {
        assert_eq!(value(&families, "learnlog_dead_letters", &[("component", component), ("status", "parked")]), 0.0);
    }
    assert!(value(&families, "learnlog_outbox_emails", &[("status", "waiting")]) >= 1.0);
    assert!(value(&families, "learnlog_outbox_oldest_seconds", &[]) >= 0.0);
    assert_eq!(value(&families, "learnlog_db_pool_connections", &[("database", "store"), ("state", "max")]), 16.0);

    // The dashboard under deploy/ asks only for metrics that exist.
    let dashboard =
        std::fs::read_to_string(tests::package_dir().join("../deploy/grafana/learnlog.json")).expect("the dashboard");
    let served: Vec<&str> = families.iter().flat_map(|family| &family.samples).map(|s| s.name.as_str()).collect();
    let mut asked: Vec<&str> = dashboard
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|word| word.starts_with("learnlog_"))
        .collect();
    asked.sort_unstable();
    asked.dedup();
    assert!(asked.len() >= 10, "{asked:?}");
    for name in asked {
        // A sampler failure is counted only once one happens.
        let known = served.contains(&name) || name == "learnlog_metrics_sample_failures_total";
        assert!(known, "the dashboard asks for {name}, which /metrics does not serve");
    }

    // A projector that falls behind shows it, in events and in seconds.
    let rewound = app
        .database
        .client()
        .await
        .execute("UPDATE projector_checkpoints SET position = position - 3 WHERE projector = 'read_models'", &[])
        .await
        .expect("the checkpoint moves back");
    assert_eq!(rewound, 1);
    // The lag in seconds is the age of the first event not applied, recorded before the rewind: over a second
    // once this much more time has passed, however slow the machine.
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    let behind = scrape(&app).await;
    let lag = value(&behind, "learnlog_lag_events", &projector);
    assert!(lag >= 3.0, "{lag}");
    assert!(value(&behind, "learnlog_lag_seconds", &projector) >= 1.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kafka_consumers_report_their_lag_per_partition() {
    let _turn = ONE_SCRAPER.lock().await;
    let app = TestApp::start_kafka().await;
    let Mode::Kafka { group_id, .. } = &app.mode else { unreachable!("started on Kafka") };
    let (_, admin) = app.user(Role::Admin);
    for n in 0..5 {
        let body = json!({ "kind": "instructor", "email": format!("lag{n}@example.com"), "username": format!("lag{n}"),
                           "password": "a long password", "name": "Lag" });
        assert_eq!(app.post("/api/v1/admin/users", &admin, Some(&body)).await.status, 201);
    }
    app.wait_until_projected().await;
    // librdkafka reports its statistics every 5 seconds.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let families = scrape(&app).await;
        let partitions = samples(&families, "learnlog_lag_events", &[("consumer", group_id.as_str())]);
        if !partitions.is_empty() {
            assert!(partitions.iter().all(|sample| sample.labels.contains_key("partition")), "{partitions:?}");
            let identity: Vec<_> =
                partitions.iter().filter(|sample| sample.labels["topic"].contains(".identity.")).collect();
            // librdkafka reports a partition's lag once it knows the partition's committed offset: an empty
            // partition may never show, so the test asks for those it reports, all caught up.
            if !identity.is_empty() && identity.iter().all(|sample| sample.value == 0.0) {
                let seconds = samples(&families, "learnlog_lag_seconds", &[("consumer", group_id.as_str())]);
                assert!(!seconds.is_empty(), "the age of the last record per partition");
                return;
            }
        }
        assert!(tokio::time::Instant::now() < deadline, "no lag per partition: {partitions:?}");
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
}
