//! The local PostgreSQL of `learnlog up` trusts no connection: a new cluster asks for a random password kept
//! `0600` in its data folder, and a data folder made before that rule (`trust` for every local TCP
//! connection) is upgraded the next time it is started.

use std::os::unix::fs::PermissionsExt;

use dev_cluster::{ClusterOptions, LocalCluster};
use tokio_postgres::NoTls;

async fn connects(url: &str) -> bool {
    match tokio_postgres::connect(url, NoTls).await {
        Ok((client, connection)) => {
            tokio::spawn(connection);
            client.simple_query("SELECT 1").await.is_ok()
        }
        Err(_) => false,
    }
}

#[tokio::test]
async fn a_trusting_data_folder_is_upgraded_to_password_authentication_on_its_next_start() {
    let folder = std::env::temp_dir().join(format!("learnlog-cluster-{}", uuid::Uuid::now_v7().simple()));
    let options = ClusterOptions { durable: false, max_connections: 20, ..ClusterOptions::default() };
    let cluster = LocalCluster::start(&folder, &options).await.expect("a new cluster starts");
    let password_file = folder.join("learnlog.password");
    let mode = std::fs::metadata(&password_file).expect("a password file").permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "the password is for its owner only");
    let with_password = cluster.url("postgres");
    let without = format!("postgres://postgres@127.0.0.1:{}/postgres", cluster.port());
    assert!(connects(&with_password).await, "the URL with the password connects");
    assert!(!connects(&without).await, "no connection is trusted");
    cluster.stop().await.expect("stops");

    // As an older version left it: every loopback connection trusted, no password file.
    std::fs::remove_file(&password_file).expect("the password file goes");
    std::fs::write(folder.join("pg_hba.conf"), "host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust\n")
        .expect("a trusting pg_hba.conf");
    let upgraded = LocalCluster::start(&folder, &options).await.expect("the old folder starts");
    let old_style = format!("postgres://postgres@127.0.0.1:{}/postgres", upgraded.port());
    assert!(connects(&upgraded.url("postgres")).await, "the new password connects");
    assert!(!connects(&old_style).await, "trust is gone after the upgrade");
    let hba = std::fs::read_to_string(folder.join("pg_hba.conf")).expect("pg_hba.conf");
    assert!(!hba.lines().any(|line| !line.starts_with('#') && line.contains("trust")), "{hba}");
    upgraded.stop().await.expect("stops");
    let _ = std::fs::remove_dir_all(&folder);
}

/// Only `learnlog up` makes a data folder: every other command run from a folder without one says where it
/// looked and how to point at one, and leaves nothing behind (no empty cluster, no new key).
#[tokio::test]
async fn a_command_run_from_the_wrong_folder_refuses_and_creates_nothing() {
    let folder = std::env::temp_dir().join(format!("learnlog-wrong-folder-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&folder).expect("a folder");
    let user = uuid::Uuid::now_v7().to_string();
    let out = folder.join("export").display().to_string();
    let commands: [&[&str]; 5] = [
        &["dead-letters", "list"],
        &["export", "--format", "ndjson", "--out", &out],
        &["replay"],
        &["admin", "token", "--role", "admin", "--user", &user],
        &["admin", "create-admin", "--email", "a@example.com", "--username", "a", "--name", "A"],
    ];
    for arguments in commands {
        let mut child = tokio::process::Command::new(tests::process::binary())
            .args(arguments)
            .current_dir(&folder)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("learnlog runs");
        // The admin's password, for the command that reads one.
        let mut stdin = child.stdin.take().expect("a stdin");
        tokio::io::AsyncWriteExt::write_all(&mut stdin, b"a long enough password\n").await.expect("written");
        drop(stdin);
        let output = child.wait_with_output().await.expect("learnlog ends");
        let said = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{arguments:?} succeeded");
        assert!(said.contains("there is no Learnlog data folder at"), "{arguments:?}: {said}");
        assert!(said.contains("LEARNLOG_DATA_DIR") && said.contains("DATABASE_URL"), "{arguments:?}: {said}");
        let left: Vec<_> = std::fs::read_dir(&folder).expect("readable").flatten().map(|e| e.file_name()).collect();
        assert!(left.is_empty(), "{arguments:?} left {left:?} behind");
    }
    std::fs::remove_dir_all(&folder).expect("removed");
}
