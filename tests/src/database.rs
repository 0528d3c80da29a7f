//! One PostgreSQL cluster per test run; one database per test.

use std::time::Duration;

use database::Database;
use dev_cluster::{ClusterOptions, LocalCluster};
use tokio::sync::{Mutex, OnceCell};
use tokio_postgres::NoTls;
use uuid::Uuid;

const TEMPLATE: &str = "learnlog_template";

static CLUSTER: OnceCell<LocalCluster> = OnceCell::const_new();
static CREATING: Mutex<()> = Mutex::const_new(());

async fn cluster() -> &'static LocalCluster {
    CLUSTER
        .get_or_init(|| async {
            let folder = std::env::temp_dir().join(format!("learnlog-test-{}", Uuid::now_v7().simple()));
            let options = ClusterOptions { durable: false, max_connections: 400, ..ClusterOptions::default() };
            let cluster = LocalCluster::start(&folder, &options).await.expect("a throwaway PostgreSQL cluster starts");
            cluster.stop_when_this_process_exits(true).expect("the cluster watchdog starts");
            let admin = connect(&cluster.url("postgres")).await;
            admin.batch_execute(&format!("CREATE DATABASE {TEMPLATE}")).await.expect("template database");
            let mut template = connect(&cluster.url(TEMPLATE)).await;
            migrations::migrate(&mut template, migrations::Schema::Store).await.expect("store migrations apply");
            migrations::migrate(&mut template, migrations::Schema::Read).await.expect("read migrations apply");
            cluster
        })
        .await
}

async fn connect(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, NoTls).await.expect("connects to the test cluster");
    tokio::spawn(connection);
    client
}

/// A fresh, fully migrated database of its own, dropped when this value is.
#[derive(Debug)]
pub struct TestDatabase {
    pub name: String,
    pub url: String,
    admin_url: String,
}

/// Creates a database for one test.
pub async fn test_database() -> TestDatabase {
    let cluster = cluster().await;
    let name = format!("test_{}", Uuid::now_v7().simple());
    {
        // Cloning a template needs it to be idle, so clones are made one at a time.
        let _one_at_a_time = CREATING.lock().await;
        let admin = connect(&cluster.url("postgres")).await;
        admin.batch_execute(&format!("CREATE DATABASE {name} TEMPLATE {TEMPLATE}")).await.expect("test database");
    }
    TestDatabase { url: cluster.url(&name), admin_url: cluster.url("postgres"), name }
}

impl TestDatabase {
    /// A pool on this database.
    pub fn connect(&self, size: usize) -> Database {
        Database::connect(&self.url, size).expect("valid test URL")
    }

    /// A plain client on this database.
    pub async fn client(&self) -> tokio_postgres::Client {
        connect(&self.url).await
    }

    /// Runs a query that returns one bigint.
    pub async fn count(&self, sql: &str) -> i64 {
        self.client().await.query_one(sql, &[]).await.expect("count query").get(0)
    }

    /// Waits (bounded) until the email outbox holds nothing left to send: every email queued so far was sent
    /// (marked so once the mail server took it) or given up on, so a mail server has all it will ever get of them.
    pub async fn wait_until_mailed(&self) {
        let unsent = "SELECT count(*) FROM email_outbox WHERE sent_at IS NULL AND failed_at IS NULL";
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let waiting = self.count(unsent).await;
            if waiting == 0 {
                return;
            }
            assert!(tokio::time::Instant::now() < deadline, "the mailer did not send {waiting} emails of the outbox");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let admin_url = self.admin_url.clone();
        let name = self.name.clone();
        // Drop cannot await; a thread with its own runtime removes the database.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
            runtime.block_on(async {
                let (client, connection) = tokio_postgres::connect(&admin_url, NoTls).await.ok()?;
                tokio::spawn(connection);
                client.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await.ok()
            })
        })
        .join();
        if !matches!(dropped, Ok(Some(()))) {
            eprintln!("could not drop test database {}", self.name);
        }
    }
}
