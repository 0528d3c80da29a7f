//! One real Kafka-protocol broker per test run: nisshi, in memory, on a free loopback port, started from an
//! empty folder (it reads a `.env` from where it starts). Each test uses its own topic prefix and group. The
//! broker keeps Kafka's fetch and group contract (`scenarios/broker_conformance.rs` checks that it does).

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use rdkafka::ClientConfig;
use rdkafka::producer::{BaseProducer, Producer};
use tokio::sync::OnceCell;
use uuid::Uuid;

/// The running broker.
#[derive(Debug)]
pub struct Broker {
    /// `bootstrap.servers` for it.
    pub address: String,
    /// Its process id, for tests that pause it (SIGSTOP/SIGCONT).
    pub pid: u32,
}

static BROKER: OnceCell<Broker> = OnceCell::const_new();

/// Where `scripts/test` installs nisshi (with its PostgreSQL storage engine, which keeps SCRAM users).
pub const NISSHI_ROOT: &str = ".cache/learnlog-nisshi-0.8.1";

/// The broker binary: `LEARNLOG_TEST_BROKER`, the path of another broker with the same command line (tansu,
/// say, to see it fail the conformance scenarios), else the nisshi `scripts/test` installs, else nisshi on
/// the PATH or in Cargo's bin folder.
fn broker_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("LEARNLOG_TEST_BROKER") {
        return PathBuf::from(path);
    }
    let installed = std::env::var_os("HOME").map(|home| PathBuf::from(home).join(NISSHI_ROOT).join("bin/nisshi"));
    if let Some(installed) = installed.filter(|bin| bin.is_file()) {
        return installed;
    }
    let on_path = std::env::var_os("PATH")
        .and_then(|path| std::env::split_paths(&path).map(|dir| dir.join("nisshi")).find(|bin| bin.is_file()));
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo")));
    on_path
        .or_else(|| cargo_home.map(|home| home.join("bin/nisshi")).filter(|bin| bin.is_file()))
        .expect("nisshi is installed (scripts/test installs it)")
}

/// The broker of this test run, shared by every test, started on first use.
pub async fn broker() -> &'static Broker {
    BROKER.get_or_init(spawn_broker).await
}

/// A new group's first rebalance waits for no more members: each test's group has one or two, and a test
/// waits for its consumers to hold their partitions anyway.
const NO_REBALANCE_DELAY: [&str; 2] = ["--group-initial-rebalance-delay", "0s"];

/// A broker of one test's own, for tests that pause it; it is killed when the test run ends.
pub async fn spawn_broker() -> Broker {
    start(&NO_REBALANCE_DELAY, &[]).await
}

/// A broker of one test's own whose groups rebalance as Kafka's do by default: a new group's first
/// rebalance waits 3 s for more members (`group.initial.rebalance.delay.ms`).
pub async fn spawn_broker_with_rebalance_delay() -> Broker {
    start(&[], &[]).await
}

/// A broker of one test's own that takes TLS connections only, with a certificate for 127.0.0.1 made for
/// it; clients trust it with `ssl.ca.location` = the returned certificate file.
pub async fn spawn_tls_broker() -> (Broker, PathBuf) {
    let folder = std::env::temp_dir().join(format!("learnlog-tls-{}", Uuid::now_v7().simple()));
    std::fs::create_dir_all(&folder).expect("certificate folder");
    let (cert, key) = (folder.join("broker.pem"), folder.join("broker.key"));
    let made = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1"])
        .args(["-addext", "subjectAltName=IP:127.0.0.1"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("openssl runs");
    assert!(made.success(), "openssl made a certificate");
    let cert_text = cert.to_str().expect("a UTF-8 path").to_owned();
    let key_text = key.to_str().expect("a UTF-8 path").to_owned();
    let ca = cert_text.clone();
    let broker = start(
        &[NO_REBALANCE_DELAY[0], NO_REBALANCE_DELAY[1], "--cert", &cert_text, "--key", &key_text],
        &[("security.protocol", "ssl"), ("ssl.ca.location", &ca)],
    )
    .await;
    (broker, cert)
}

/// A broker of one test's own that lets in only clients that log in with SCRAM-SHA-512, keeping its topics
/// and users in the PostgreSQL database at `storage` (nisshi's memory engine cannot keep users). Its one
/// user is [`SASL_USER`] with the returned password; clients log in with `sasl_plaintext`.
pub async fn spawn_sasl_broker(storage: &str) -> (Broker, String) {
    let password = format!("pw-{}", Uuid::now_v7().simple());
    // A user is created through a broker (AlterUserScramCredentials) that lets the command in: one on the
    // same storage without authentication, stopped once the user is kept.
    let open = launch(&[NO_REBALANCE_DELAY[0], NO_REBALANCE_DELAY[1], "--storage-engine", storage]);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let created = tokio::process::Command::new(broker_binary())
            .args(["user", "create", "--mechanism", "scram512", "--broker"])
            .arg(format!("tcp://{}", open.address))
            .args([SASL_USER, &password])
            .stdin(Stdio::null())
            .output()
            .await
            .expect("nisshi user create runs");
        if created.status.success() {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the broker never took its user: {}",
            String::from_utf8_lossy(&created.stderr)
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let killed = Command::new("kill").args(["-9", &open.pid.to_string()]).status().expect("kill runs");
    assert!(killed.success(), "the open broker stops");
    let broker =
        launch(&[NO_REBALANCE_DELAY[0], NO_REBALANCE_DELAY[1], "--storage-engine", storage, "--authentication"]);
    let login = [
        ("security.protocol", "sasl_plaintext"),
        ("sasl.mechanism", "SCRAM-SHA-512"),
        ("sasl.username", SASL_USER),
        ("sasl.password", password.as_str()),
    ];
    wait_until_ready(&broker.address, &login).await;
    (broker, password)
}

/// The user a SASL broker knows.
pub const SASL_USER: &str = "learnlog";

/// Starts the broker with `extra` arguments, ready once a client with `client` properties reads metadata.
async fn start(extra: &[&str], client: &[(&str, &str)]) -> Broker {
    let broker = launch(extra);
    wait_until_ready(&broker.address, client).await;
    broker
}

/// Starts the broker with `extra` arguments (in memory unless they name a `--storage-engine`), killed when
/// the test run ends. Arguments only nisshi takes (the rebalance delay) are left out for another broker.
fn launch(extra: &[&str]) -> Broker {
    let binary = broker_binary();
    let name = binary.file_stem().and_then(|stem| stem.to_str()).unwrap_or("broker").to_owned();
    let extra: Vec<&str> = match name.as_str() {
        "nisshi" => extra.to_vec(),
        _ => extra.iter().copied().filter(|arg| !NO_REBALANCE_DELAY.contains(arg)).collect(),
    };
    let folder = std::env::temp_dir().join(format!("learnlog-broker-{}", Uuid::now_v7().simple()));
    std::fs::create_dir_all(&folder).expect("broker folder");
    let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port();
    let url = format!("tcp://127.0.0.1:{port}");
    let log = std::fs::File::create(folder.join("broker.log")).expect("broker log");
    let memory = ["--storage-engine".to_owned(), format!("memory://{name}/")];
    let storage: &[String] = if extra.contains(&"--storage-engine") { &[] } else { &memory };
    let mut child = Command::new(&binary)
        .args(["broker", "--listener-url", &url, "--advertised-listener-url", &url])
        .args(storage)
        .args(&extra)
        .current_dir(&folder)
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("log handle"))
        .stderr(log)
        .spawn()
        .expect("the broker starts");
    let pid = child.id();
    // The broker must not outlive the test run, even if the run is killed.
    let watchdog = format!(
        "while kill -0 {} 2>/dev/null; do sleep 1; done; kill -CONT {pid}; kill -9 {pid}; rm -rf '{}'",
        std::process::id(),
        folder.display()
    );
    let mut watchdog = Command::new("sh")
        .arg("-c")
        .arg(watchdog)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("watchdog starts");
    // Reap both when they end, so neither lingers as a zombie.
    std::thread::spawn(move || child.wait());
    std::thread::spawn(move || watchdog.wait());
    Broker { address: format!("127.0.0.1:{port}"), pid }
}

impl Broker {
    /// Freezes the broker process (SIGSTOP): connections stay open, nothing answers.
    pub fn pause(&self) {
        self.signal("-STOP");
    }

    /// Thaws it (SIGCONT).
    pub fn resume(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, signal: &str) {
        let status = Command::new("kill").arg(signal).arg(self.pid.to_string()).status().expect("kill runs");
        assert!(status.success(), "kill {signal} {} failed", self.pid);
    }
}

async fn wait_until_ready(address: &str, client: &[(&str, &str)]) {
    let address = address.to_owned();
    let mut config = ClientConfig::new();
    config.set("bootstrap.servers", &address);
    for (property, value) in client {
        config.set(*property, *value);
    }
    tokio::task::spawn_blocking(move || {
        let producer: BaseProducer = config.create().expect("client");
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while producer.client().fetch_metadata(None, Duration::from_secs(2)).is_err() {
            assert!(std::time::Instant::now() < deadline, "the broker did not start on {address}");
            std::thread::sleep(Duration::from_millis(200));
        }
    })
    .await
    .expect("the readiness probe ends");
}

/// A topic prefix and consumer group of one test's own.
pub fn unique_names() -> (String, String) {
    let id = Uuid::now_v7().simple().to_string();
    (format!("t{id}."), format!("g{id}"))
}

/// The Python with confluent-kafka that `scripts/test` prepares, for consumers that are not Learnlog's.
pub fn python() -> std::path::PathBuf {
    let path = std::env::var_os("LEARNLOG_TEST_PYTHON").map(std::path::PathBuf::from).or_else(|| {
        std::env::var_os("HOME").map(|home| std::path::PathBuf::from(home).join(".cache/learnlog-venv/bin/python"))
    });
    path.filter(|p| p.is_file()).expect("a Python with confluent-kafka (scripts/test creates ~/.cache/learnlog-venv)")
}

/// Every record of the context topics under `topic_prefix`, read from offset 0 by a consumer that is not
/// Learnlog's (Python confluent-kafka), one JSON object per record: until `expected` records or 60 s.
pub async fn read_topics_foreign(brokers: &str, topic_prefix: &str, expected: i64) -> Vec<serde_json::Value> {
    let script = crate::package_dir().join("python/read_topics.py");
    let output = tokio::process::Command::new(python())
        .arg(script)
        .args([brokers, topic_prefix, &expected.to_string(), "60"])
        .output()
        .await
        .expect("the foreign consumer runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON line"))
        .collect()
}

/// Commits `offsets` (topic, partition, next offset) for consumer group `group`, as an operator's tool or a
/// group restored from elsewhere would, while no member of the group is running.
pub async fn commit_group_offsets(brokers: &str, group: &str, offsets: Vec<(String, i32, i64)>) {
    use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
    use rdkafka::{Offset, TopicPartitionList};

    let (brokers, group) = (brokers.to_owned(), group.to_owned());
    tokio::task::spawn_blocking(move || {
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", &brokers)
            .set("group.id", &group)
            .set("enable.auto.commit", "false")
            .create()
            .expect("a consumer");
        let mut position = TopicPartitionList::new();
        for (topic, partition, offset) in &offsets {
            position.add_partition_offset(topic, *partition, Offset::Offset(*offset)).expect("a position");
        }
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while let Err(error) = consumer.commit(&position, CommitMode::Sync) {
            assert!(std::time::Instant::now() < deadline, "the group's offsets never moved: {error}");
            std::thread::sleep(Duration::from_millis(200));
        }
    })
    .await
    .expect("the offsets are committed");
}

/// Per partition of `records` (as [`read_topics_foreign`] gives them), the offset after its last record.
pub fn ends_of(records: &[serde_json::Value]) -> Vec<(String, i32, i64)> {
    let mut ends: std::collections::BTreeMap<(String, i32), i64> = std::collections::BTreeMap::new();
    for record in records {
        let topic = record["topic"].as_str().expect("a topic").to_owned();
        let partition = i32::try_from(record["partition"].as_i64().expect("a partition")).expect("small");
        let end = ends.entry((topic, partition)).or_insert(0);
        *end = (*end).max(record["offset"].as_i64().expect("an offset") + 1);
    }
    ends.into_iter().map(|((topic, partition), end)| (topic, partition, end)).collect()
}
