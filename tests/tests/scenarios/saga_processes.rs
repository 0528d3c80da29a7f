//! The sagas as a real process (`learnlog serve --role sagas`), killed with SIGKILL in the middle of
//! fulfilling paid orders and started again: every paid order is fulfilled exactly once, on the store's
//! feed and through Kafka. The sweep that fulfils paid orders whose event was not handled is switched off:
//! delivery alone must fulfil every one.

use std::time::Duration;

use tests::TestApp;
use tests::process::LearnlogProcess;
use uuid::Uuid;

use super::commerce::{add_to_cart, credit, order, published_course, trainee};

const ORDERS: usize = 60;
const LINES: usize = 3;

/// `ORDERS` trainees, each paying a wallet order of `LINES` courses.
async fn paid_orders(app: &TestApp) {
    let mut courses = Vec::new();
    for n in 0..LINES {
        courses.push(published_course(app, &format!("teacher{n}"), 1000 + 1 + i64::try_from(n).unwrap_or(0)).await.0);
    }
    for n in 0..ORDERS {
        let (trainee_id, token) = trainee(app, &format!("buyer{n}")).await;
        credit(app, trainee_id, 10_000).await;
        for course in &courses {
            assert_eq!(add_to_cart(app, &token, *course).await.status, 201);
        }
        let placed = order(app, &token).await;
        assert_eq!(placed.status, 201, "{:?}", placed.body);
    }
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    app.database.count(sql).await
}

async fn wait_for(app: &TestApp, sql: &str, at_least: i64, seconds: u64) {
    assert!(reached(app, sql, at_least, seconds).await, "{sql}: fewer than {at_least}");
}

/// Whether `sql` counts at least `at_least` within `seconds`.
async fn reached(app: &TestApp, sql: &str, at_least: i64, seconds: u64) -> bool {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(seconds);
    loop {
        if count(app, sql).await >= at_least {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn sagas_process(app: &TestApp, data_dir: &std::path::Path) -> LearnlogProcess {
    let mut environment = app.process_environment();
    environment.extend([
        ("LEARNLOG_DATA_DIR", data_dir.display().to_string()),
        ("LEARNLOG_STRIPE_API_BASE", app.sandbox_url.clone()),
        ("LEARNLOG_STRIPE_SECRET_KEY", tests::app::SANDBOX_SECRET_KEY.to_owned()),
        ("LEARNLOG_STRIPE_WEBHOOK_SECRET", tests::app::SANDBOX_WEBHOOK_SECRET.to_owned()),
        ("LEARNLOG_PAID_ORDER_SWEEP", "off".to_owned()),
    ]);
    let pairs: Vec<(&str, &str)> = environment.iter().map(|(name, value)| (*name, value.as_str())).collect();
    LearnlogProcess::serve(&["sagas"], &pairs)
}

async fn killed_mid_fulfilment_and_restarted(app: &TestApp) {
    let data_dir = std::env::temp_dir().join(format!("learnlog-sagas-{}", Uuid::now_v7()));
    paid_orders(app).await;
    let fulfilled = "SELECT count(*) FROM events WHERE event_type = 'OrderFulfilled'";
    let mut sagas = sagas_process(app, &data_dir);
    wait_for(app, fulfilled, 1, 120).await;
    sagas.kill().await;
    let at_kill = count(app, fulfilled).await;
    assert!(at_kill < i64::try_from(ORDERS).unwrap_or(0), "the kill came too late to prove anything: {at_kill}");

    let restarted = sagas_process(app, &data_dir);
    let orders = i64::try_from(ORDERS).unwrap_or(0);
    let lines = orders * i64::try_from(LINES).unwrap_or(0);
    if !reached(app, fulfilled, orders, 180).await {
        let unfulfilled = count(app, "SELECT count(*) FROM order_view WHERE status <> 'fulfilled'").await;
        let parked = count(app, "SELECT count(*) FROM dead_letters WHERE subscriber = 'sagas'").await;
        let output = restarted.output();
        let tail = output.iter().rev().take(40).rev().cloned().collect::<Vec<_>>().join("\n");
        panic!(
            "{} of {orders} fulfilled; {unfulfilled} orders unfulfilled in the read model, {parked} dead letters; the sagas said:\n{tail}",
            count(app, fulfilled).await
        );
    }
    let rescued = restarted.output().iter().filter(|line| line.contains("was not fulfilled by its event")).count();
    assert_eq!(rescued, 0, "the paid-order sweep is off: delivery fulfilled every order");
    // Late duplicates are in the store once the sagas have handled every event, those they appended too.
    app.wait_until_sagas_caught_up().await;
    assert_eq!(count(app, fulfilled).await, orders);
    let twice = |event_type: &str| {
        format!(
            "SELECT count(*) FROM (SELECT stream_id, payload::json->>'course_id' FROM events WHERE event_type = \
             '{event_type}' GROUP BY 1, 2 HAVING count(*) > 1) doubled"
        )
    };
    for event_type in ["TraineeEnrolled", "InstructorEarningRecorded", "OrderFulfilled"] {
        assert_eq!(count(app, &twice(event_type)).await, 0, "{event_type} twice");
    }
    assert_eq!(count(app, "SELECT count(*) FROM events WHERE event_type = 'TraineeEnrolled'").await, lines);
    assert_eq!(count(app, "SELECT count(*) FROM events WHERE event_type = 'InstructorEarningRecorded'").await, lines);
    assert_eq!(count(app, "SELECT count(*) FROM events WHERE event_type = 'OrderLineRefunded'").await, 0);
    let _ = std::fs::remove_dir_all(&data_dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sagas_process_killed_mid_fulfilment_fulfils_every_order_once_after_a_restart() {
    let app = TestApp::start().await;
    killed_mid_fulfilment_and_restarted(&app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sagas_process_on_kafka_killed_mid_fulfilment_fulfils_every_order_once_after_a_restart() {
    let app = TestApp::start_kafka().await;
    killed_mid_fulfilment_and_restarted(&app).await;
}
