//! Kafka over TLS and with SASL, configured the way an operator configures it (`LEARNLOG_KAFKA_SECURITY_PROTOCOL`
//! with the CA that signed the broker's certificate, or a SCRAM-SHA-512 user and password): `learnlog migrate`
//! creates the topics, and one process relays a command's events, projects them back and runs the sagas on
//! them, every client speaking to a broker that takes nothing else. A wrong password gets nothing in.

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
    let security = [
        ("LEARNLOG_KAFKA_SECURITY_PROTOCOL", "ssl".to_owned()),
        ("LEARNLOG_KAFKA_SSL_CA_LOCATION", certificate.display().to_string()),
    ];
    a_write_travels(&broker.address, tests::test_database().await, &security, "Over TLS").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_travels_through_a_broker_that_takes_scram_logins_only_and_a_wrong_password_gets_nothing_in() {
    let storage = tests::test_database().await;
    let (broker, password) = tests::kafka::spawn_sasl_broker(&storage.url).await;
    let login = |password: &str| {
        [
            ("LEARNLOG_KAFKA_SECURITY_PROTOCOL", "sasl_plaintext".to_owned()),
            ("LEARNLOG_KAFKA_SASL_MECHANISM", "SCRAM-SHA-512".to_owned()),
            ("LEARNLOG_KAFKA_SASL_USERNAME", tests::kafka::SASL_USER.to_owned()),
            ("LEARNLOG_KAFKA_SASL_PASSWORD", password.to_owned()),
        ]
    };
    let database = tests::test_database().await;
    let data_dir = std::env::temp_dir().join(format!("learnlog-kafka-security-{}", Uuid::now_v7().simple()));
    let intruder = environment(&broker.address, &database, &login("not the password"), &data_dir);
    let started = std::time::Instant::now();
    let refused = migrate(&intruder).await;
    assert!(!refused.status.success(), "a wrong password is refused");
    let said = String::from_utf8_lossy(&refused.stderr).into_owned();
    assert!(said.contains("the Kafka brokers cannot be reached"), "it says so: {said}");
    assert!(started.elapsed() < Duration::from_secs(30), "and soon: {:?}", started.elapsed());
    assert!(!said.contains("not the password"), "the password is never printed: {said}");
    let prefix = intruder.iter().find(|(name, _)| *name == "LEARNLOG_KAFKA_TOPIC_PREFIX").expect("a prefix").1.clone();
    let topics = topics_of(&broker.address, &password).await;
    assert!(topics.iter().all(|topic| !topic.starts_with(&prefix)), "no topic of the refused client: {topics:?}");
    a_write_travels(&broker.address, database, &login(&password), "With a login").await;
}

/// The topics the SASL broker at `brokers` holds, read with the right login.
async fn topics_of(brokers: &str, password: &str) -> Vec<String> {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    let consumer: BaseConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("security.protocol", "sasl_plaintext")
        .set("sasl.mechanism", "SCRAM-SHA-512")
        .set("sasl.username", tests::kafka::SASL_USER)
        .set("sasl.password", password)
        .create()
        .expect("a client");
    tokio::task::spawn_blocking(move || {
        let metadata = consumer.fetch_metadata(None, Duration::from_secs(10)).expect("the right login reads metadata");
        metadata.topics().iter().map(|topic| topic.name().to_owned()).collect()
    })
    .await
    .expect("metadata read")
}

/// The environment of a Learnlog process on `brokers` with `security`, over `database`.
fn environment(
    brokers: &str,
    database: &tests::TestDatabase,
    security: &[(&'static str, String)],
    data_dir: &std::path::Path,
) -> Vec<(&'static str, String)> {
    let (topic_prefix, group_id) = tests::kafka::unique_names();
    let mut environment = vec![
        ("DATABASE_URL", database.url.clone()),
        ("KAFKA_BROKERS", brokers.to_owned()),
        ("LEARNLOG_KAFKA_TOPIC_PREFIX", topic_prefix),
        ("LEARNLOG_KAFKA_GROUP", group_id),
        ("LEARNLOG_KAFKA_PARTITIONS", "3".to_owned()),
        ("LEARNLOG_JWT_SECRET", JWT_SECRET.to_owned()),
        ("LEARNLOG_DATA_DIR", data_dir.display().to_string()),
    ];
    environment.extend(security.iter().cloned());
    environment
}

/// `learnlog migrate` in `environment`: it creates the tables and the topics.
async fn migrate(environment: &[(&'static str, String)]) -> std::process::Output {
    tokio::process::Command::new(tests::process::binary())
        .arg("migrate")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .envs(environment.iter().map(|(name, value)| (*name, value.as_str())))
        .output()
        .await
        .expect("learnlog migrate runs")
}

/// Creates the topics, then has one process (command and query APIs, projector, relay, sagas) take a course
/// named `title` and read it back through the broker.
async fn a_write_travels(
    brokers: &str,
    database: tests::TestDatabase,
    security: &[(&'static str, String)],
    title: &str,
) {
    let data_dir = std::env::temp_dir().join(format!("learnlog-kafka-security-{}", Uuid::now_v7().simple()));
    let environment = environment(brokers, &database, security, &data_dir);
    let pairs: Vec<(&str, &str)> = environment.iter().map(|(name, value)| (*name, value.as_str())).collect();
    let migrated = migrate(&environment).await;
    assert!(migrated.status.success(), "the topics are created: {}", String::from_utf8_lossy(&migrated.stderr));

    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port();
    let listen = format!("127.0.0.1:{port}");
    let process =
        LearnlogProcess::serve_on(&["command-api", "query-api", "projector", "relay", "sagas"], &listen, &pairs);
    let http = reqwest::Client::new();
    process.wait_ready(&listen, Duration::from_secs(60)).await;

    let keys = TokenKeys::new(&SecretString::from(JWT_SECRET.to_owned())).expect("a token key");
    let token = keys.issue(Uuid::now_v7(), Role::Instructor, Duration::from_secs(600)).expect("a token");
    let created = http
        .post(format!("http://{listen}/api/v1/courses"))
        .bearer_auth(&token)
        .json(&TestApp::course_body(title))
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
            assert_eq!(body["data"][0]["title"], title, "{body}");
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "never projected: {:?}", process.output());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let _ = std::fs::remove_dir_all(&data_dir);
}
