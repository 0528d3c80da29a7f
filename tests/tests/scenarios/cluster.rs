//! `learnlog cluster` under faults: a steady mix of clients (reads, sign-ups, wallet orders, lesson views; every
//! command with an Idempotency-Key and sent again until it is answered) drives the cluster through HAProxy while
//! one command API, one query API, the projector and the read replica are killed (SIGKILL), the broker is paused
//! for 10 s, and the replica stops replaying for a while; the cluster starts each again. Then: no read failed at
//! the client, no acknowledged write is lost, nothing happened twice, and the read models catch up to what a
//! rebuild makes of the history. The figures are printed.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use database::Database;
use serde_json::Value;
use tests::TestApp;
use tests::process::binary;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// How long the clients drive the cluster.
const LOAD: Duration = Duration::from_secs(50);

/// A `learnlog cluster` of the test's own, in a data folder of its own.
struct Cluster {
    child: Option<Child>,
    data_dir: PathBuf,
    base: String,
    /// Left as it is when dropped: its folder and whatever runs on it are another cluster's now.
    handed_over: bool,
}

impl Cluster {
    async fn start() -> Cluster {
        Cluster::start_in(std::env::temp_dir().join(format!("learnlog-cluster-{}", uuid::Uuid::now_v7()))).await
    }

    async fn start_in(data_dir: PathBuf) -> Cluster {
        let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a port").port();
        let listen = format!("127.0.0.1:{port}");
        let mut child = Command::new(binary())
            .args(["cluster", "--listen", &listen])
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", std::env::var_os("HOME").unwrap_or_default())
            .env("RUST_LOG", "info,tokio_postgres=warn,tower_http=warn")
            .env("NO_COLOR", "1")
            .env("LEARNLOG_DATA_DIR", &data_dir)
            // A replica more than a second behind is left; the clients sign up from one address.
            .env("LEARNLOG_READ_REPLICA_MAX_LAG_MS", "1000")
            .env("LEARNLOG_SIGN_UPS_PER_HOUR", "100000")
            // A consumer killed is noticed in 6 s, as in the other Kafka scenarios.
            .env("LEARNLOG_KAFKA_SESSION_TIMEOUT_MS", "6000")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .expect("learnlog cluster starts");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let up = async {
            while let Some(line) = lines.next_line().await.expect("stdout readable") {
                if line.starts_with("Learnlog cluster is up on ") {
                    return true;
                }
            }
            false
        };
        let up = tokio::time::timeout(Duration::from_secs(240), up).await.expect("the cluster is up in time");
        assert!(up, "the cluster stopped before it was up; see {}/cluster-logs", data_dir.display());
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Cluster { child: Some(child), data_dir, base: format!("http://{listen}"), handed_over: false }
    }

    /// SIGKILLs the cluster's own process alone, as an out-of-memory killer would, leaving its parts running;
    /// returns its data folder.
    async fn kill_alone(mut self) -> PathBuf {
        if let Some(mut child) = self.child.take() {
            signal("-KILL", child.id().expect("a pid"));
            let _ = child.wait().await;
        }
        self.handed_over = true;
        self.data_dir.clone()
    }

    fn layout(&self) -> Value {
        serde_json::from_slice(&std::fs::read(self.data_dir.join("cluster.json")).expect("cluster.json"))
            .expect("cluster.json is JSON")
    }

    fn pid(&self, part: &str) -> u32 {
        let layout = self.layout();
        let pid = match part {
            "replica" => &layout["replica_pid"],
            _ => &layout["processes"][part]["pid"],
        };
        u32::try_from(pid.as_u64().unwrap_or_else(|| panic!("a pid for {part}: {layout}"))).expect("a pid")
    }

    fn log(&self, part: &str) -> String {
        std::fs::read_to_string(self.data_dir.join("cluster-logs").join(format!("{part}.log"))).unwrap_or_default()
    }

    /// The primary's `learnlog` database, with the superuser's password from the data folder.
    fn store_url(&self) -> String {
        let password = std::fs::read_to_string(self.data_dir.join("postgres/learnlog.password")).expect("password");
        let port = self.layout()["primary_port"].as_u64().expect("a port");
        format!("postgres://postgres:{}@127.0.0.1:{port}/learnlog", password.trim())
    }

    fn replica_url(&self) -> String {
        let password = std::fs::read_to_string(self.data_dir.join("postgres/learnlog.password")).expect("password");
        let port = self.layout()["replica_port"].as_u64().expect("a port");
        format!("postgres://postgres:{}@127.0.0.1:{port}/learnlog", password.trim())
    }

    /// SIGKILLs `part` and waits until the cluster has started it again.
    async fn kill_and_wait(&self, part: &str) {
        let before = self.pid(part);
        signal("-KILL", before);
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let layout = self.layout();
            let now = match part {
                "replica" => layout["replica_pid"].as_u64(),
                _ => layout["processes"][part]["pid"].as_u64(),
            };
            if now.is_some_and(|pid| pid != u64::from(before)) {
                break;
            }
            assert!(Instant::now() < deadline, "{part} was not started again");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    async fn stop(mut self) {
        if let Some(mut child) = self.child.take() {
            signal("-INT", child.id().expect("a pid"));
            let stopped = tokio::time::timeout(Duration::from_secs(60), child.wait()).await;
            assert!(stopped.is_ok_and(|status| status.is_ok_and(|status| status.success())), "the cluster stops");
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if self.handed_over {
            return;
        }
        if let Some(child) = &self.child
            && let Some(pid) = child.id()
        {
            let _ = std::process::Command::new("kill").args(["-KILL", "--", &format!("-{pid}")]).status();
        }
        for server in ["postgres", "replica"] {
            if let Some(pid) = postmaster(&self.data_dir.join(server)) {
                let _ = std::process::Command::new("kill").args(["-KILL", &pid.to_string()]).status();
            }
        }
        match std::thread::panicking() {
            // Kept for a look at what went wrong: the parts' logs are in it.
            true => eprintln!("the cluster's data folder is kept: {}", self.data_dir.display()),
            false => {
                let _ = std::fs::remove_dir_all(&self.data_dir);
            }
        }
    }
}

fn postmaster(folder: &Path) -> Option<u32> {
    let pid = std::fs::read_to_string(folder.join("postmaster.pid")).ok()?;
    pid.lines().next()?.trim().parse().ok()
}

/// Whether process `pid` runs (a zombie, ended but not reaped, does not).
fn alive(pid: u32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { return false };
    stat.rfind(')').and_then(|end| stat[end + 1..].split_whitespace().next()).is_some_and(|state| state != "Z")
}

fn signal(signal: &str, pid: u32) {
    let status = std::process::Command::new("kill").args([signal, &pid.to_string()]).status().expect("kill runs");
    assert!(status.success(), "kill {signal} {pid}");
}

async fn client(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await.expect("connects");
    tokio::spawn(connection);
    client
}

async fn count(client: &tokio_postgres::Client, sql: &str, ids: &[String]) -> i64 {
    client.query_one(sql, &[&ids]).await.expect("a count").get(0)
}

/// Where the projector stands when the read models did not catch up: the streams it is behind on, with the
/// offsets it holds of their partitions and the relay's place, and what its log and the sagas' say about
/// the group and its failures.
async fn projector_standing(cluster: &Cluster, store: &tokio_postgres::Client) -> String {
    let served: String =
        store.query_one("SELECT name FROM learnlog_meta.read_schema", &[]).await.expect("served").get(0);
    let behind = format!(
        "SELECT e.stream_id, e.version, p.version, e.position FROM (SELECT stream_id, max(stream_version) AS version, \
         max(position) AS position FROM events GROUP BY stream_id) e \
         LEFT JOIN \"{served}\".projected_stream_versions p USING (stream_id) \
         WHERE p.version IS DISTINCT FROM e.version ORDER BY e.position LIMIT 20"
    );
    let mut report = vec![format!("the projector is behind the store (served schema {served}):")];
    for row in store.query(&behind, &[]).await.expect("the streams behind") {
        let (stream, version, projected, position): (String, i64, Option<i64>, i64) =
            (row.get(0), row.get(1), row.get(2), row.get(3));
        report.push(format!("  {stream}: version {version} at position {position}, projected {projected:?}"));
    }
    let places = format!(
        "SELECT (SELECT COALESCE(max(position), 0) FROM events), (SELECT COALESCE(max(position), 0) FROM \
         relay_checkpoints), (SELECT count(*) FROM \"{served}\".projector_partition_checkpoints), (SELECT \
         COALESCE(max(updated_at)::text, '') FROM \"{served}\".projector_partition_checkpoints)"
    );
    match store.query_one(&places, &[]).await {
        Ok(row) => report.push(format!(
            "  store head {}, relay at {}, {} partition checkpoints, the last moved at {}",
            row.get::<_, i64>(0),
            row.get::<_, i64>(1),
            row.get::<_, i64>(2),
            row.get::<_, String>(3)
        )),
        Err(error) => report.push(format!("  places unreadable: {error}")),
    }
    for part in ["projector", "sagas", "relay"] {
        let log = cluster.log(part);
        let telling: Vec<&str> = log
            .lines()
            .filter(|line| !line.contains("request{"))
            .filter(|line| ["WARN", "ERROR", "partitions", "rebalance", "handed over"].iter().any(|w| line.contains(w)))
            .collect();
        report.push(format!("  {part}.log, {} lines; the telling ones, last 25:", log.lines().count()));
        report.extend(telling.iter().rev().take(25).rev().map(|line| format!("    {line}")));
    }
    report.join("\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cluster_keeps_serving_through_faults_under_load() {
    let cluster = Cluster::start().await;
    let secret = learnlog::secret::token_secret(None, &cluster.data_dir).expect("the cluster's token secret");
    let keys = api_contract::TokenKeys::new(&secret).expect("keys");
    let mix = learnlog::bench::mix::Mix::prepare(&cluster.base, &keys, 6, 40).await.expect("the clients' world");
    for api in ["query-api-1", "query-api-2"] {
        assert!(cluster.log(api).contains("reads moved"), "{api} reads from the replica:\n{}", cluster.log(api));
    }

    let started = Instant::now();
    let (report, (left_before, left_after)) = tokio::join!(mix.drive(LOAD), async {
        tokio::time::sleep(Duration::from_secs(3)).await;
        let at = || format!("{:>5.1} s", started.elapsed().as_secs_f64());
        for part in ["command-api-1", "query-api-1", "projector", "replica"] {
            cluster.kill_and_wait(part).await;
            eprintln!("{}: {part} killed and started again", at());
            tokio::time::sleep(Duration::from_secs(3)).await;
        }
        // query-api-2 (never killed) reads from the replica again, then the replica stops replaying while
        // the clients write: reads must leave it, and come back once it has caught up.
        let current = || cluster.log("query-api-2").matches("the replica is current").count();
        let deadline = Instant::now() + Duration::from_secs(30);
        while current() < 2 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let left = || cluster.log("query-api-2").matches("reads leave it").count();
        let left_before = left();
        let replica = client(&cluster.replica_url()).await;
        replica.batch_execute("SELECT pg_wal_replay_pause()").await.expect("replay pauses");
        tokio::time::sleep(Duration::from_secs(4)).await;
        let left_after = left();
        replica.batch_execute("SELECT pg_wal_replay_resume()").await.expect("replay resumes");
        eprintln!("{}: the replica's replay held for 4 s", at());
        let broker = cluster.pid("broker");
        signal("-STOP", broker);
        tokio::time::sleep(Duration::from_secs(10)).await;
        signal("-CONT", broker);
        eprintln!("{}: broker paused for 10 s", at());
        (left_before, left_after)
    });
    eprintln!("{}", report.summary());
    for failure in &report.failures {
        eprintln!("failure: {failure}");
    }
    let load_ended = Instant::now();

    // The history settles (the sagas have handled every event, those they appended too, so the last orders are
    // finished), then the read models catch up with a rebuild.
    let store = client(&cluster.store_url()).await;
    loop {
        let behind = tests::app::sagas_behind(&store).await;
        if behind == 0 {
            break;
        }
        assert!(load_ended.elapsed() < Duration::from_secs(120), "the sagas are {behind} streams behind the history");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let data_key = learnlog::secret::data_key(None, &cluster.data_dir).expect("the cluster's data key");
    let store_pool = Database::connect(&cluster.store_url(), 4).expect("a pool");
    let keyring = event_store::keys::KeyRing::new(store_pool.clone(), Arc::new(data_key));
    let rebuilt = TestApp::read_models(&tests::app::rebuild_from(&store_pool, keyring).await).await;
    let mut live = TestApp::read_models_in(&store).await;
    while live != rebuilt && load_ended.elapsed() < Duration::from_secs(120) {
        tokio::time::sleep(Duration::from_millis(500)).await;
        live = TestApp::read_models_in(&store).await;
    }
    let caught_up = load_ended.elapsed();

    let orders: Vec<String> = report.orders.iter().map(|id| format!("order-{id}")).collect();
    let accounts: Vec<String> = report.signed_up.iter().map(|id| format!("user-{id}")).collect();
    let placed = count(&store, "SELECT count(DISTINCT stream_id) FROM events WHERE stream_id = ANY($1)", &orders).await;
    let registered =
        count(&store, "SELECT count(DISTINCT stream_id) FROM events WHERE stream_id = ANY($1)", &accounts).await;
    let lost = (orders.len() as i64 - placed) + (accounts.len() as i64 - registered);
    let doubled_debits = count(
        &store,
        "SELECT count(*) FROM (SELECT payload->>'order_id' FROM events WHERE event_type = 'WalletDebited' \
         AND $1::text[] IS NOT NULL GROUP BY 1 HAVING count(*) > 1) d",
        &orders,
    )
    .await;
    let doubled_enrolments = count(
        &store,
        "SELECT count(*) FROM (SELECT stream_id FROM events WHERE event_type = 'TraineeEnrolled' \
         AND $1::text[] IS NOT NULL GROUP BY 1 HAVING count(*) > 1) d",
        &orders,
    )
    .await;
    let debits = count(
        &store,
        "SELECT count(DISTINCT payload->>'order_id') FROM events WHERE event_type = 'WalletDebited' \
         AND 'order-' || (payload->>'order_id') = ANY($1)",
        &orders,
    )
    .await;
    eprintln!(
        "faults under load: {} reads failed at the client of {}; {} acknowledged writes lost; {} orders debited twice, \
         {} enrolments made twice; {debits} of {} acknowledged orders debited; read models equal to a rebuild {:.1} s \
         after the load ended",
        report.failed_reads,
        report.reads,
        lost,
        doubled_debits,
        doubled_enrolments,
        orders.len(),
        caught_up.as_secs_f64()
    );
    assert!(report.reads > 100 && !report.orders.is_empty() && !report.signed_up.is_empty() && report.views > 0);
    assert_eq!(report.failed_reads, 0, "reads failed at the client: {:?}", report.failures);
    assert_eq!(report.failed_commands, 0, "commands failed for good: {:?}", report.failures);
    assert_eq!(lost, 0, "acknowledged writes are in the history");
    assert_eq!((doubled_debits, doubled_enrolments), (0, 0), "nothing happened twice");
    assert_eq!(debits, orders.len() as i64, "every acknowledged order was paid once");
    if live != rebuilt {
        eprintln!("{}", projector_standing(&cluster, &store).await);
        let (live, rebuilt): (Vec<&str>, Vec<&str>) = (live.lines().collect(), rebuilt.lines().collect());
        let only_live: Vec<&&str> = live.iter().filter(|line| !rebuilt.contains(line)).take(10).collect();
        let only_rebuilt: Vec<&&str> = rebuilt.iter().filter(|line| !live.contains(line)).take(10).collect();
        panic!("the read models differ from a rebuild:\nlive only: {only_live:#?}\nrebuild only: {only_rebuilt:#?}");
    }
    assert!(left_after > left_before, "reads left the replica while it fell behind");
    let back = cluster.log("query-api-2").matches("the replica is current").count();
    assert!(back >= 3, "and came back to it: {}", cluster.log("query-api-2"));

    // Its own process killed alone, the cluster's parts run on; the next cluster on the folder stops them first.
    let orphans: Vec<u32> = ["query-api-2", "relay", "haproxy"].iter().map(|part| cluster.pid(part)).collect();
    let data_dir = cluster.kill_alone().await;
    // The last thing its death sets off: its watchdogs stop its PostgreSQL servers once it is gone.
    let deadline = Instant::now() + Duration::from_secs(30);
    while ["postgres", "replica"].iter().any(|server| postmaster(&data_dir.join(server)).is_some_and(alive)) {
        assert!(Instant::now() < deadline, "the watchdogs did not stop the PostgreSQL servers of the killed cluster");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(orphans.iter().all(|pid| alive(*pid)), "the parts outlive their owner");
    let next = Cluster::start_in(data_dir).await;
    let left: Vec<&u32> = orphans.iter().filter(|pid| alive(**pid)).collect();
    assert!(left.is_empty(), "the next cluster stopped what the first left running: {left:?}");
    let answer = reqwest::get(format!("{}/api/v1/courses", next.base)).await.expect("the next cluster answers");
    assert_eq!(answer.status().as_u16(), 200);
    next.stop().await;
}
