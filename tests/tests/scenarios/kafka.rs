//! Distributed mode against a real Kafka-protocol broker: the relay publishes the feed, the projector
//! consumes it in a consumer group, and the read models end up exactly as a rebuild from the store.

use std::time::Duration;

use events::Role;
use tests::TestApp;

/// Creates `count` courses through HTTP, `parallel` at a time, publishing every other one.
async fn author(app: &TestApp, count: usize, parallel: usize) -> String {
    let tokens: Vec<String> = (0..4).map(|_| app.user(Role::Instructor).1).collect();
    let mut last_token = String::new();
    for chunk in (0..count).collect::<Vec<_>>().chunks(parallel) {
        let answers = futures_util::future::join_all(chunk.iter().map(|&n| {
            let token = tokens[n % tokens.len()].clone();
            async move {
                let created = app.create_course(&token, &format!("Course {n}")).await;
                if n % 2 == 0 {
                    let published = app.post(&format!("/api/v1/courses/{}/publish", created.id()), &token, None).await;
                    assert_eq!(published.status, 200);
                    return published.token();
                }
                created.token()
            }
        }))
        .await;
        last_token = answers.last().cloned().unwrap_or_default();
    }
    last_token
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_slice_through_kafka_builds_the_read_model_a_rebuild_builds() {
    let app = TestApp::start_kafka().await;
    let (_, token) = app.user(Role::Instructor);
    let created = app.create_course(&token, "Through Kafka").await;
    let published = app.post(&format!("/api/v1/courses/{}/publish", created.id()), &token, None).await;
    let course = app.get(&format!("/api/v1/courses/{}", created.id()), Some(&published.token())).await;
    assert_eq!(course.status, 200);
    assert_eq!(course.header("x-consistency"), Some("fresh"));
    assert_eq!(course.body["data"]["status"], "published");

    author(&app, 60, 8).await;
    app.wait_until_projected().await;
    let rebuilt = app.rebuild().await;
    let live = TestApp::catalogue(&app.database).await;
    assert_eq!(live.lines().count(), 61);
    assert_eq!(live, TestApp::catalogue(&rebuilt).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_killed_while_commands_pour_in_still_delivers_every_event_exactly_once() {
    let app = TestApp::start_kafka().await;
    let load = author(&app, 2000, 16);
    let chaos = async {
        // Kill it twice mid-stream, each time with batches in flight.
        for _ in 0..2 {
            tokio::time::sleep(Duration::from_millis(700)).await;
            app.kill_relay().await;
            tokio::time::sleep(Duration::from_millis(300)).await;
            app.start_relay();
        }
    };
    tokio::join!(load, chaos);
    app.wait_until_projected().await;
    let records = app.database.count("SELECT sum(kafka_offset + 1)::bigint FROM projector_partition_checkpoints").await;
    eprintln!("records on the topics: {records}, events in the store: {}", app.event_count().await);
    assert_eq!(app.database.count("SELECT count(*) FROM catalog_course").await, 2000);
    let rebuilt = app.rebuild().await;
    assert_eq!(TestApp::catalogue(&app.database).await, TestApp::catalogue(&rebuilt).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_are_accepted_while_the_broker_is_down_and_the_read_models_catch_up_after() {
    let broker = tests::kafka::spawn_broker().await;
    // The consumer's session outlasts the outage: this is about the broker being down, not about a consumer
    // being declared dead (tansu 0.6.0 never completes the rebalance after a member expires while it is
    // frozen; the failover test covers a lost consumer).
    let app = TestApp::start_kafka_on(&broker.address, 30_000).await;
    let (_, token) = app.user(Role::Instructor);
    let first = app.create_course(&token, "Before the outage").await;
    assert_eq!(app.get("/api/v1/courses", Some(&first.token())).await.header("x-consistency"), Some("fresh"));

    broker.pause();
    let outage = tokio::time::Instant::now();
    let mut accepted = 0;
    while outage.elapsed() < Duration::from_secs(10) {
        let created = app.create_course(&token, &format!("During the outage {accepted}")).await;
        assert_eq!(created.status, 201);
        accepted += 1;
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    broker.resume();

    app.wait_until_projected().await;
    assert_eq!(app.database.count("SELECT count(*) FROM catalog_course").await, accepted + 1);
    let rebuilt = app.rebuild().await;
    assert_eq!(TestApp::catalogue(&app.database).await, TestApp::catalogue(&rebuilt).await);
}
