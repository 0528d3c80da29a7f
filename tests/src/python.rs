//! Foreign readers: Python scripts in `tests/python`, run with the test venv's interpreter (prepared by
//! `scripts/test`), that read what Learnlog hands out as someone else's software would.

use std::process::Stdio;

use tokio::io::AsyncWriteExt;

/// Runs `tests/python/<script>` with `input` on its stdin, and returns its stdout, which must be JSON.
pub async fn json<T: serde::de::DeserializeOwned>(script: &str, args: &[&str], input: &[u8]) -> T {
    let path = crate::package_dir().join("python").join(script);
    let mut child = tokio::process::Command::new(crate::kafka::python())
        .arg(path)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|error| panic!("{script} runs: {error}"));
    let mut stdin = child.stdin.take().expect("a stdin");
    stdin.write_all(input).await.expect("the input is handed over");
    drop(stdin);
    let output = tokio::time::timeout(std::time::Duration::from_secs(120), child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("{script} ends within two minutes"))
        .expect("the script's output");
    assert!(output.status.success(), "{script}: {}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).unwrap_or_else(|error| panic!("{script} prints JSON: {error}"))
}
