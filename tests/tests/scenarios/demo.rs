//! `learnlog up --demo` seeds a believable catalogue through the command API, once.

use std::process::Stdio;
use std::time::Duration;

use events::taxonomy::CATEGORIES;
use serde_json::Value;
use tests::TestApp;
use tests::process::binary;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

/// Runs `learnlog up --demo` on the test's database until it reports the demo; returns its base URL and
/// the child, killed when dropped.
async fn up_with_demo(app: &TestApp, data_dir: &std::path::Path) -> (String, Option<String>, tokio::process::Child) {
    let mut child = Command::new(binary())
        .args(["up", "--demo", "--listen", "127.0.0.1:0"])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("RUST_LOG", "warn,learnlog=info")
        .env("LEARNLOG_DATA_DIR", data_dir)
        // Any free port for the payment sandbox: other runs may hold the default one.
        .env("LEARNLOG_PAYMENTS_SANDBOX_LISTEN", "127.0.0.1:0")
        .envs(app.process_environment())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("learnlog starts");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut stderr = BufReader::new(child.stderr.take().expect("stderr")).lines();
    let mut base = None;
    let read = async {
        loop {
            tokio::select! {
                line = stdout.next_line() => {
                    let line = line.expect("stdout readable")?;
                    if let Some(address) = line.strip_prefix("Learnlog is up on ") {
                        base = address.split_whitespace().next().map(str::to_owned);
                    }
                    if line.starts_with("Demo catalogue ready") {
                        return Some(line);
                    }
                }
                line = stderr.next_line() => {
                    let line = line.expect("stderr readable")?;
                    if line.contains("no demo data added") {
                        return None;
                    }
                    assert!(!line.contains("ERROR"), "learnlog failed: {line}");
                }
            }
        }
    };
    let report = tokio::time::timeout(Duration::from_secs(240), read).await.expect("the demo finishes in time");
    (base.expect("the address was printed"), report, child)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_seeds_instructors_and_courses_in_every_category_through_the_command_path_once() {
    let app = TestApp::start().await;
    let data_dir = std::env::temp_dir().join(format!("learnlog-demo-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&data_dir).expect("a data folder");
    let (base, report, mut first) = up_with_demo(&app, &data_dir).await;
    assert!(report.is_some(), "the demo ran");
    let http = reqwest::Client::new();
    let get = |path: String| {
        let http = http.clone();
        async move { http.get(path).send().await.expect("answers").json::<Value>().await.expect("JSON") }
    };
    let courses = get(format!("{base}/api/v1/courses?limit=1")).await;
    assert!(courses["total_results"].as_i64() >= Some(200), "{courses}");
    let instructors = get(format!("{base}/api/v1/instructors/top")).await;
    assert!(instructors["total_results"].as_i64() >= Some(20), "{instructors}");
    for (category, _) in CATEGORIES {
        let page =
            get(format!("{base}/api/v1/courses?limit=1&category={}", category.replace(' ', "%20").replace('/', "%2F")))
                .await;
        assert!(page["total_results"].as_i64() > Some(0), "{category}: {page}");
    }
    let discounted = get(format!("{base}/api/v1/courses?limit=100")).await;
    assert!(discounted["data"].as_array().expect("rows").iter().any(|c| !c["discount"].is_null()));
    // Every demo course has a thumbnail and every instructor a picture, generated here and served by the API.
    let rows = discounted["data"].as_array().expect("rows");
    assert!(
        rows.iter().all(|c| c["thumbnail"]["medium"].is_string() && c["instructor"]["picture"]["small"].is_string())
    );
    let thumbnail = rows[0]["thumbnail"]["medium"].as_str().expect("a URL");
    let served = http.get(format!("{base}{thumbnail}")).send().await.expect("answers");
    assert_eq!(served.status(), 200);
    let picture = image::load_from_memory(&served.bytes().await.expect("bytes")).expect("a picture");
    assert_eq!(picture.width(), 320);
    // The demo trainees' orders are fulfilled by the sagas of the same process.
    let fulfilled = "SELECT count(*) FROM events WHERE event_type = 'OrderFulfilled'";
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let trainees = i64::try_from(learnlog::demo::TRAINEES).expect("a small number");
    while app.database.count(fulfilled).await < trainees {
        assert!(tokio::time::Instant::now() < deadline, "the demo orders were not fulfilled");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let enrolled = app.database.count("SELECT count(*) FROM events WHERE event_type = 'TraineeEnrolled'").await;
    assert_eq!(enrolled, 2 * trainees, "two courses bought by each demo trainee");
    let certified = app.database.count("SELECT count(*) FROM events WHERE event_type = 'CertificateIssued'").await;
    assert_eq!(certified, trainees, "each demo trainee finished one course");
    let started =
        app.database.count("SELECT count(DISTINCT stream_id) FROM events WHERE event_type = 'LessonViewed'").await;
    assert_eq!(started, 2 * trainees, "and started the other");
    let messages = app.database.count("SELECT count(*) FROM events WHERE event_type = 'MessageSent'").await;
    assert_eq!(messages, 2 * trainees, "each asked their teacher, who answered");
    let events_before = app.event_count().await;
    first.kill().await.expect("stops");

    // A second start finds courses and adds nothing.
    let (_, report, mut second) = up_with_demo(&app, &data_dir).await;
    assert!(report.is_none());
    assert_eq!(app.event_count().await, events_before);
    second.kill().await.expect("stops");
    let _ = std::fs::remove_dir_all(&data_dir);
}
