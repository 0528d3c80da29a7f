//! What a PDF says, as a reader that is not Learnlog's sees it: Python's pypdf (prepared by `scripts/test`)
//! extracts the text and lists the fonts of a PDF, or of every PDF attached to an email.

use std::process::Stdio;

use serde::Deserialize;
use tokio::io::AsyncWriteExt;

#[derive(Debug, Clone, Deserialize)]
pub struct PdfText {
    /// The attachment's file name, for a PDF read out of an email.
    pub filename: Option<String>,
    pub pages: usize,
    pub text: String,
    /// Each font's PostScript name, and whether the PDF embeds it.
    pub fonts: std::collections::BTreeMap<String, bool>,
}

/// The PDFs in `data`: the PDF itself, or the PDF attachments of a raw email.
pub async fn read(data: &[u8]) -> Vec<PdfText> {
    let script = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("python/pdf_text.py");
    let mut child = tokio::process::Command::new(crate::kafka::python())
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("pypdf runs");
    let mut stdin = child.stdin.take().expect("a stdin");
    stdin.write_all(data).await.expect("the PDF is handed over");
    drop(stdin);
    let output = tokio::time::timeout(std::time::Duration::from_secs(60), child.wait_with_output())
        .await
        .expect("pypdf ends within a minute")
        .expect("pypdf's output");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).expect("pypdf's JSON")
}
