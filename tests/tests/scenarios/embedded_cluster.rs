//! `learnlog up`'s own PostgreSQL outlives an owner killed outright, and is not left behind for ever: the next
//! `up` adopts it and stops it when it ends; a process that finds the owner alive uses the server and leaves it
//! running.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tests::process::binary;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// `learnlog up` on `data_dir` with its embedded PostgreSQL, in a process group of its own; returns once it
/// says it is up, with the lines it wrote to stderr so far.
async fn up(data_dir: &Path) -> (Child, Vec<String>) {
    let mut child = Command::new(binary())
        .args(["up", "--listen", "127.0.0.1:0"])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("RUST_LOG", "warn")
        .env("NO_COLOR", "1")
        .env("LEARNLOG_DATA_DIR", data_dir)
        .env("LEARNLOG_PAYMENTS_SANDBOX_LISTEN", "127.0.0.1:0")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
        .expect("learnlog starts");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut stderr = BufReader::new(child.stderr.take().expect("stderr")).lines();
    let mut logged = Vec::new();
    let ready = async {
        loop {
            tokio::select! {
                line = stdout.next_line() => {
                    let line = line.expect("stdout readable").expect("up runs until it is up");
                    if line.starts_with("Learnlog is up on ") {
                        return;
                    }
                }
                line = stderr.next_line() => {
                    if let Some(line) = line.expect("stderr readable") {
                        logged.push(line);
                    }
                }
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(120), ready).await.expect("up is up in time");
    // The rest of its output is drained, so that it never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = stdout.next_line().await {} });
    tokio::spawn(async move { while let Ok(Some(_)) = stderr.next_line().await {} });
    (child, logged)
}

/// The pid of the PostgreSQL server running on the data folder, if one is.
fn server_pid(data_dir: &Path) -> Option<u32> {
    let pid_file = std::fs::read_to_string(data_dir.join("postgres").join("postmaster.pid")).ok()?;
    let pid: u32 = pid_file.lines().next()?.trim().parse().ok()?;
    Path::new(&format!("/proc/{pid}")).exists().then_some(pid)
}

/// Whether the watchdog `stop_when_this_process_exits` left for the server of `owner` runs: the shell that stops
/// the server once `owner` is gone.
fn watchdog_of(owner: u32) -> bool {
    let watching = format!("while kill -0 {owner} ");
    let Ok(processes) = std::fs::read_dir("/proc") else { return false };
    processes.flatten().any(|process| {
        std::fs::read(process.path().join("cmdline"))
            .is_ok_and(|cmdline| String::from_utf8_lossy(&cmdline).contains(&watching))
    })
}

fn signal(signal: &str, target: &str) {
    let status = std::process::Command::new("kill").args([signal, "--", target]).status().expect("kill runs");
    assert!(status.success(), "kill {signal} {target}");
}

async fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(tokio::time::Instant::now() < deadline, "{what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

struct Folder(PathBuf);

impl Drop for Folder {
    fn drop(&mut self) {
        // Whatever happened, no server stays behind.
        if let Some(pid) = server_pid(&self.0) {
            let _ = std::process::Command::new("kill").args(["-KILL", &pid.to_string()]).status();
        }
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_whose_owner_was_killed_is_adopted_by_the_next_up_and_stopped_with_it() {
    let folder = Folder(std::env::temp_dir().join(format!("learnlog-embedded-{}", uuid::Uuid::now_v7())));
    let data_dir = folder.0.as_path();

    let (first, _) = up(data_dir).await;
    let server = server_pid(data_dir).expect("up started its PostgreSQL");
    let group = first.id().expect("a pid");
    assert!(watchdog_of(group), "up leaves a watchdog to stop its server should it be killed");
    signal("-KILL", &format!("-{group}"));
    let _ = tokio::time::timeout(Duration::from_secs(10), { first }.wait_with_output()).await;
    // Only the owner and its watchdog stop the server: once both are gone, nothing will.
    wait_until("the watchdog ends with its owner's process group", || !watchdog_of(group)).await;
    assert_eq!(server_pid(data_dir), Some(server), "PostgreSQL outlives its owner's whole process group");

    let (mut second, logged) = up(data_dir).await;
    assert_eq!(server_pid(data_dir), Some(server), "the next up uses the running server");
    assert!(logged.iter().any(|line| line.contains("adopted the local PostgreSQL server")), "{logged:?}");

    // Another command while the owner lives: it uses the server and leaves it running.
    let user = uuid::Uuid::now_v7().to_string();
    let token = std::process::Command::new(binary())
        .args(["admin", "token", "--role", "admin", "--user", &user])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("LEARNLOG_DATA_DIR", data_dir)
        .output()
        .expect("learnlog runs");
    assert!(token.status.success(), "{}", String::from_utf8_lossy(&token.stderr));
    assert_eq!(server_pid(data_dir), Some(server), "a process that is not the owner leaves the server running");

    // Ctrl-C on the adopter: it stops the server it adopted.
    signal("-INT", &second.id().expect("a pid").to_string());
    let ended = tokio::time::timeout(Duration::from_secs(30), second.wait()).await.expect("up ends on Ctrl-C");
    assert!(ended.expect("an exit status").success());
    wait_until("the adopted server stops with its new owner", || server_pid(data_dir).is_none()).await;
}
