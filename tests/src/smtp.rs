//! A small but real SMTP server on loopback, for the email scenarios: it speaks the protocol over TCP
//! (greeting, EHLO, MAIL, RCPT, DATA with dot-unstuffing, RSET, NOOP, QUIT) and keeps what it receives.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Mutex;

/// One received message: its envelope recipients and its raw data (headers and body).
#[derive(Debug, Clone)]
pub struct Received {
    pub recipients: Vec<String>,
    pub data: String,
}

#[derive(Debug, Clone)]
pub struct SmtpServer {
    pub url: String,
    received: Arc<Mutex<Vec<Received>>>,
}

impl SmtpServer {
    pub async fn start() -> SmtpServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
        let url = format!("smtp://{}", listener.local_addr().expect("an address"));
        let received = Arc::new(Mutex::new(Vec::new()));
        let store = Arc::clone(&received);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(session(stream, Arc::clone(&store)));
            }
        });
        SmtpServer { url, received }
    }

    /// The first message to `recipient` whose data contains `needle`, waiting at most 30 s.
    pub async fn wait_for(&self, recipient: &str, needle: &str) -> Received {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let found = self
                .received
                .lock()
                .await
                .iter()
                .find(|m| m.recipients.iter().any(|r| r == recipient) && m.data.contains(needle))
                .cloned();
            if let Some(message) = found {
                return message;
            }
            assert!(tokio::time::Instant::now() < deadline, "no message to {recipient} containing {needle:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Every message received so far.
    pub async fn received(&self) -> Vec<Received> {
        self.received.lock().await.clone()
    }

    pub async fn count(&self) -> usize {
        self.received.lock().await.len()
    }
}

async fn session(stream: TcpStream, store: Arc<Mutex<Vec<Received>>>) {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    let mut recipients = Vec::new();
    if write.write_all(b"220 localhost test SMTP\r\n").await.is_err() {
        return;
    }
    while let Ok(Some(line)) = lines.next_line().await {
        let verb = line.split_whitespace().next().unwrap_or_default().to_ascii_uppercase();
        let reply: &[u8] = match verb.as_str() {
            "EHLO" | "HELO" => b"250-localhost\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n",
            // Any credentials are accepted: the scenarios check that the mailer sends them, not what they are.
            "AUTH" => {
                if line.split_whitespace().count() < 3 {
                    // PLAIN without an initial response, or LOGIN: answer each challenge with an empty one.
                    let steps = if line.to_ascii_uppercase().contains("LOGIN") { 2 } else { 1 };
                    for _ in 0..steps {
                        if write.write_all(b"334 \r\n").await.is_err() {
                            return;
                        }
                        if !matches!(lines.next_line().await, Ok(Some(_))) {
                            return;
                        }
                    }
                }
                b"235 2.7.0 Authentication successful\r\n"
            }
            "MAIL" => {
                recipients.clear();
                b"250 OK\r\n"
            }
            "RCPT" => {
                let address = line.split(['<', '>']).nth(1).unwrap_or_default().to_owned();
                recipients.push(address);
                b"250 OK\r\n"
            }
            "DATA" => {
                if write.write_all(b"354 end with <CRLF>.<CRLF>\r\n").await.is_err() {
                    return;
                }
                let mut data = String::new();
                while let Ok(Some(line)) = lines.next_line().await {
                    if line == "." {
                        break;
                    }
                    data.push_str(line.strip_prefix('.').unwrap_or(&line));
                    data.push('\n');
                }
                store.lock().await.push(Received { recipients: std::mem::take(&mut recipients), data });
                b"250 queued\r\n"
            }
            "RSET" | "NOOP" => b"250 OK\r\n",
            "QUIT" => {
                let _ = write.write_all(b"221 bye\r\n").await;
                return;
            }
            _ => b"502 not implemented\r\n",
        };
        if write.write_all(reply).await.is_err() {
            return;
        }
    }
}
