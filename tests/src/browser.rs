//! A real headless Chromium, driven over the W3C WebDriver protocol through Debian's `chromedriver`: the
//! payment sandbox's checkout page is tested the way a buyer uses it. `scripts/test` installs `chromium` and
//! `chromium-driver` when they are missing; a test that needs the browser fails, never skips, without them.

use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::process::{Child, Command};

/// The key under which WebDriver answers an element's reference.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

#[derive(Debug)]
pub struct Browser {
    driver: Child,
    base: String,
    http: reqwest::Client,
}

impl Browser {
    /// Starts `chromedriver` on a free port and a headless Chromium session in it.
    pub async fn start() -> Browser {
        let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port();
        let driver =
            Command::new(std::env::var("LEARNLOG_TEST_CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into()))
                .arg(format!("--port={port}"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .kill_on_drop(true)
                .spawn()
                .expect("chromedriver runs (scripts/test installs Debian's chromium-driver)");
        let http = reqwest::Client::builder().timeout(Duration::from_secs(60)).build().expect("a client");
        let root = format!("http://127.0.0.1:{port}");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while http.get(format!("{root}/status")).send().await.is_err() {
            assert!(tokio::time::Instant::now() < deadline, "chromedriver did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let binary = std::env::var("LEARNLOG_TEST_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
        let capabilities = json!({ "capabilities": { "alwaysMatch": { "browserName": "chrome",
            "goog:chromeOptions": { "binary": binary,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"] } } } });
        let session: Value = http
            .post(format!("{root}/session"))
            .json(&capabilities)
            .send()
            .await
            .expect("a WebDriver session")
            .json()
            .await
            .expect("a WebDriver answer");
        let id = session["value"]["sessionId"].as_str().unwrap_or_else(|| panic!("no session: {session}")).to_owned();
        Browser { driver, base: format!("{root}/session/{id}"), http }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let answer: Value = request.send().await.expect("WebDriver answers").json().await.expect("WebDriver JSON");
        answer["value"].clone()
    }

    /// Opens `url` and waits for the page to load.
    pub async fn open(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", Some(json!({ "url": url }))).await;
    }

    /// The page's URL once `done` holds for it (bounded at 20 s): a form's submission navigates after the
    /// click has returned.
    pub async fn url_when(&self, done: impl Fn(&str) -> bool) -> String {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let url = self.current_url().await;
            if done(&url) || tokio::time::Instant::now() >= deadline {
                return url;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn current_url(&self) -> String {
        self.call(reqwest::Method::GET, "/url", None).await.as_str().unwrap_or_default().to_owned()
    }

    /// The element matching `css`, if the page has one.
    async fn element(&self, css: &str) -> Option<String> {
        let found =
            self.call(reqwest::Method::POST, "/element", Some(json!({ "using": "css selector", "value": css }))).await;
        found[ELEMENT].as_str().map(str::to_owned)
    }

    /// Types `text` into the field matching `css`.
    pub async fn fill(&self, css: &str, text: &str) {
        let element = self.element(css).await.unwrap_or_else(|| panic!("no {css} on the page"));
        self.call(reqwest::Method::POST, &format!("/element/{element}/value"), Some(json!({ "text": text }))).await;
    }

    pub async fn click(&self, css: &str) {
        let element = self.element(css).await.unwrap_or_else(|| panic!("no {css} on the page"));
        self.call(reqwest::Method::POST, &format!("/element/{element}/click"), Some(json!({}))).await;
    }

    /// The visible text of the element matching `css`, if there is one.
    pub async fn text(&self, css: &str) -> Option<String> {
        let element = self.element(css).await?;
        self.call(reqwest::Method::GET, &format!("/element/{element}/text"), None).await.as_str().map(str::to_owned)
    }

    /// Pays on the checkout page open in the browser with `card`.
    pub async fn pay(&self, card: &str) {
        self.fill("#card-number", card).await;
        self.fill("#expiry", "12 / 34").await;
        self.fill("#cvc", "123").await;
        self.fill("#cardholder", "Ada Lovelace").await;
        self.click("#pay").await;
    }

    /// Runs `script` in the open page as an async function of `args` and `done` (WebDriver's asynchronous
    /// execution: the script calls the last argument with its result), and returns that result.
    pub async fn run_async(&self, script: &str, args: Value) -> Value {
        self.call(reqwest::Method::POST, "/execute/async", Some(json!({ "script": script, "args": args }))).await
    }

    /// Ends the session and the driver.
    pub async fn close(mut self) {
        let _ = self.http.delete(&self.base).send().await;
        let _ = self.driver.kill().await;
    }
}
