//! Kafka over TLS, configured the way an operator configures it (`LEARNLOG_KAFKA_SECURITY_PROTOCOL=ssl` and
//! the CA that signed the broker's certificate): `learnlog migrate` creates the topics, and one process relays
//! a command's events and projects them back, every client speaking TLS to a broker that takes nothing else.

use std::time::Duration;

use api_contract::TokenKeys;
use events::Role;
use secrecy::SecretString;
use tests::TestApp;
use tests::process::LearnlogProcess;
use uuid::Uuid;

const JWT_SECRET: &str = "kafka-tls-secret-kafka-tls-secret-0123456";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_travels_through_a_broker_that_takes_tls_only() {
    let (broker, certificate) = tests::kafka::spawn_tls_broker().await;
    let database = tests::test_database().await;
    let (topic_prefix, group_id) = tests::kafka::unique_names();
    let data_dir = std::env::temp_dir().join(format!("learnlog-kafka-tls-{}", Uuid::now_v7().simple()));
    let environment = [
        ("DATABASE_URL", database.url.clone()),
        ("KAFKA_BROKERS", broker.address.clone()),
        ("LEARNLOG_KAFKA_TOPIC_PREFIX", topic_prefix),
        ("LEARNLOG_KAFKA_GROUP", group_id),
        ("LEARNLOG_KAFKA_PARTITIONS", "3".to_owned()),
        ("LEARNLOG_KAFKA_SECURITY_PROTOCOL", "ssl".to_owned()),
        ("LEARNLOG_KAFKA_SSL_CA_LOCATION", certificate.display().to_string()),
        ("LEARNLOG_JWT_SECRET", JWT_SECRET.to_owned()),
        ("LEARNLOG_DATA_DIR", data_dir.display().to_string()),
    ];
    let pairs: Vec<(&str, &str)> = environment.iter().map(|(name, value)| (*name, value.as_str())).collect();

    let migrated = tokio::process::Command::new(tests::process::binary())
        .arg("migrate")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .envs(pairs.iter().copied())
        .output()
        .await
        .expect("learnlog migrate runs");
    assert!(
        migrated.status.success(),
        "the topics are created over TLS: {}",
        String::from_utf8_lossy(&migrated.stderr)
    );

    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port();
    let listen = format!("127.0.0.1:{port}");
    let process = LearnlogProcess::serve_on(&["command-api", "query-api", "projector", "relay"], &listen, &pairs);
    let http = reqwest::Client::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while http.get(format!("http://{listen}/readyz")).send().await.map(|r| r.status().as_u16()).ok() != Some(200) {
        assert!(tokio::time::Instant::now() < deadline, "never ready: {:?}", process.output());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let keys = TokenKeys::new(&SecretString::from(JWT_SECRET.to_owned())).expect("a token key");
    let token = keys.issue(Uuid::now_v7(), Role::Instructor, Duration::from_secs(600)).expect("a token");
    let created = http
        .post(format!("http://{listen}/api/v1/courses"))
        .bearer_auth(&token)
        .json(&TestApp::course_body("Over TLS"))
        .send()
        .await
        .expect("the command answers");
    assert_eq!(created.status(), 201);
    let consistency = created.headers()["x-consistency-token"].to_str().expect("a token").to_owned();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let read = http
            .get(format!("http://{listen}/api/v1/me/instructor/courses"))
            .bearer_auth(&token)
            .header("x-consistency-token", &consistency)
            .send()
            .await
            .expect("the read answers");
        if read.headers().get("x-consistency").is_some_and(|v| v == "fresh") {
            let body: serde_json::Value = read.json().await.expect("JSON");
            assert_eq!(body["data"][0]["title"], "Over TLS", "{body}");
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "never projected through TLS: {:?}", process.output());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let _ = std::fs::remove_dir_all(&data_dir);
}
