//! Kafka mode with the relay and projectors as real processes, killed with SIGKILL mid-stream.

use std::time::Duration;

use events::Role;
use tests::TestApp;
use tests::process::LearnlogProcess;

async fn author(app: &TestApp, count: usize, parallel: usize) {
    let tokens: Vec<String> = (0..8).map(|_| app.user(Role::Instructor).1).collect();
    let titles: Vec<String> = (0..count).map(|n| format!("Course {n}")).collect();
    for chunk in titles.chunks(parallel) {
        let creates = chunk.iter().enumerate().map(|(n, title)| app.create_course(&tokens[n % tokens.len()], title));
        futures_util::future::join_all(creates).await;
    }
}

async fn wait_for_events(app: &TestApp, at_least: i64) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    while app.event_count().await < at_least {
        assert!(tokio::time::Instant::now() < deadline, "commands stalled");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Polls `condition` (bounded) until it holds.
async fn wait_until<F, Fut>(condition: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while !condition().await {
        assert!(tokio::time::Instant::now() < deadline, "condition not reached in time");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn environment(app: &TestApp) -> Vec<(&'static str, String)> {
    app.process_environment()
}

fn pairs<'a>(environment: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    environment.iter().map(|(name, value)| (*name, value.as_str())).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_process_killed_while_5000_commands_are_accepted_loses_and_doubles_nothing() {
    let app = TestApp::start_kafka().await;
    app.kill_relay().await;
    let environment = environment(&app);
    let mut relay = LearnlogProcess::serve(&["relay"], &pairs(&environment));
    let load = author(&app, 5000, 16);
    let chaos = async {
        wait_for_events(&app, 1500).await;
        wait_until(|| async {
            app.database.count("SELECT COALESCE(max(position), 0) FROM relay_checkpoints").await > 0
        })
        .await;
        relay.kill().await;
        wait_for_events(&app, 3000).await;
        LearnlogProcess::serve(&["relay"], &pairs(&environment))
    };
    let ((), _restarted) = tokio::join!(load, chaos);
    app.wait_until_projected().await;
    assert_eq!(app.database.count("SELECT count(*) FROM catalog_course").await, 5000);
    let rebuilt = app.rebuild().await;
    assert_eq!(TestApp::catalogue(&app.database).await, TestApp::catalogue(&rebuilt).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_one_of_two_projector_processes_dies_the_other_takes_over_its_partitions() {
    let mut app = TestApp::start_kafka().await;
    app.stop_projector().await;
    let environment = environment(&app);
    let mut first = LearnlogProcess::serve(&["projector"], &pairs(&environment));
    let second = LearnlogProcess::serve(&["projector"], &pairs(&environment));
    let load = author(&app, 2000, 16);
    // Both must hold partitions (so that the one killed had some) before the load begins.
    let started = tokio::time::Instant::now();
    while !(first.holds_partitions() && second.holds_partitions()) {
        assert!(started.elapsed() < Duration::from_secs(60), "the two projectors never shared the partitions");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let chaos = async {
        wait_for_events(&app, 800).await;
        first.kill().await;
    };
    tokio::join!(load, chaos);
    app.wait_until_projected().await;
    assert_eq!(app.database.count("SELECT count(*) FROM catalog_course").await, 2000);
    let rebuilt = app.rebuild().await;
    assert_eq!(TestApp::catalogue(&app.database).await, TestApp::catalogue(&rebuilt).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_process_that_says_it_is_ready_reads_its_own_writes_at_once() {
    // Groups rebalance as on a deployed broker: a new group's first rebalance waits 3 s for more members.
    let broker = tests::kafka::spawn_broker_with_rebalance_delay().await;
    let mut app = TestApp::start_kafka_on(&broker.address, 10_000).await;
    app.stop_projector().await;
    let mut environment = environment(&app);
    // A short consistency wait: a read right after readiness must not need the consumer to join first.
    environment.push(("LEARNLOG_CONSISTENCY_WAIT_MS", "1000".to_owned()));
    let data_dir = std::env::temp_dir().join(format!("learnlog-ready-{}", uuid::Uuid::now_v7().simple()));
    environment.push(("LEARNLOG_DATA_DIR", data_dir.display().to_string()));
    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port();
    let listen = format!("127.0.0.1:{port}");
    let _process = LearnlogProcess::serve_on(&["command-api", "query-api", "projector"], &listen, &pairs(&environment));
    let http = reqwest::Client::new();
    let started = tokio::time::Instant::now();
    loop {
        let ready = http.get(format!("http://{listen}/readyz")).send().await;
        if ready.is_ok_and(|answer| answer.status() == 200) {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "the process never became ready");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (_, token) = app.user(Role::Instructor);
    let writes = (0..20).map(|n| {
        let (http, token, listen) = (&http, &token, &listen);
        async move {
            let created = http
                .post(format!("http://{listen}/api/v1/courses"))
                .bearer_auth(token)
                .json(&TestApp::course_body(&format!("Right after readiness {n}")))
                .send()
                .await
                .expect("the command answers");
            assert_eq!(created.status(), 201);
            let consistency = created.headers()["x-consistency-token"].to_str().expect("a token").to_owned();
            let read = http
                .get(format!("http://{listen}/api/v1/courses?limit=1"))
                .header("x-consistency-token", consistency)
                .send()
                .await
                .expect("the read answers");
            read.headers().get("x-consistency").and_then(|v| v.to_str().ok()).map(str::to_owned)
        }
    });
    let answers = futures_util::future::join_all(writes).await;
    let fresh = answers.iter().filter(|answer| answer.as_deref() == Some("fresh")).count();
    assert_eq!(fresh, 20, "every write made right after readiness is read back: {answers:?}");
    let _ = std::fs::remove_dir_all(&data_dir);
}
