//! Exchange rates from a provider (DOMAIN.md D8: "an `fx_rates` table refreshed on a schedule, a real
//! provider"): the European Central Bank's daily reference rates, in its published XML format, fetched on a
//! schedule and recorded through the one command pipeline as the provider's rates (an admin's override stays).
//! A provider that fails keeps the last rates: the failure is counted in `/metrics` and said in `/readyz`'s
//! details, and prices are never converted at a made-up rate (a currency without a rate shows USD, labelled).
//!
//! The `fx-sandbox` role serves the same format with fixed rates, so `learnlog up` needs no network.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use quick_xml::events::Event as Xml;
use time::OffsetDateTime;

/// The ECB's daily reference rates.
pub const ECB_DAILY_URL: &str = "https://www.ecb.europa.eu/stats/eurofxref/eurofxref-daily.xml";
/// How often the rates are fetched by default.
pub const DEFAULT_EVERY: Duration = Duration::from_secs(3600);

/// One day's reference rates: units of each currency per euro, as the ECB publishes them.
#[derive(Debug, Clone, PartialEq)]
pub struct DailyRates {
    pub date: String,
    pub per_euro: Vec<(String, f64)>,
}

impl DailyRates {
    /// Millionths of a unit of each currency per US dollar (the euro's too), from the euro rates; none without
    /// a dollar rate.
    pub fn per_dollar_ppm(&self) -> Vec<(String, i64)> {
        let Some(dollar) = self.per_euro.iter().find(|(code, _)| code == "USD").map(|(_, rate)| *rate) else {
            return Vec::new();
        };
        let mut rates: Vec<(String, i64)> = self
            .per_euro
            .iter()
            .filter(|(code, _)| code != "USD")
            .map(|(code, rate)| (code.clone(), (rate / dollar * 1_000_000.0).round() as i64))
            .collect();
        rates.push(("EUR".to_owned(), (1.0 / dollar * 1_000_000.0).round() as i64));
        rates
    }
}

/// Why the rates could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RatesError {
    #[error("the provider could not be reached: {0}")]
    Unreachable(String),
    #[error("the provider's answer is not the reference rates format: {0}")]
    Unreadable(String),
}

/// Reads the ECB's format: `<Cube time="2026-12-04"><Cube currency="USD" rate="1.0523"/>...</Cube>`.
pub fn parse(xml: &str) -> Result<DailyRates, RatesError> {
    let unreadable = |error: &dyn std::fmt::Display| RatesError::Unreadable(error.to_string());
    let mut reader = quick_xml::Reader::from_str(xml);
    let (mut date, mut per_euro) = (None, Vec::new());
    loop {
        match reader.read_event().map_err(|e| unreadable(&e))? {
            Xml::Start(cube) | Xml::Empty(cube) if cube.local_name().as_ref() == b"Cube" => {
                let (mut currency, mut rate) = (None, None);
                for attribute in cube.attributes() {
                    let attribute = attribute.map_err(|e| unreadable(&e))?;
                    let value = attribute.unescape_value().map_err(|e| unreadable(&e))?.into_owned();
                    match attribute.key.local_name().as_ref() {
                        b"time" => date = Some(value),
                        b"currency" => currency = Some(value),
                        b"rate" => rate = Some(value),
                        _ => {}
                    }
                }
                if let (Some(currency), Some(rate)) = (currency, rate) {
                    let rate: f64 = rate.trim().parse().map_err(|_| unreadable(&format!("a rate of {currency}")))?;
                    if !(rate.is_finite() && rate > 0.0) {
                        return Err(unreadable(&format!("the rate of {currency}")));
                    }
                    per_euro.push((currency, rate));
                }
            }
            Xml::Eof => break,
            _ => {}
        }
    }
    match (date, per_euro.is_empty()) {
        (Some(date), false) => Ok(DailyRates { date, per_euro }),
        _ => Err(unreadable(&"no dated rates")),
    }
}

/// How the provider fares, for `/readyz` and `/metrics`.
#[derive(Debug, Clone, Default)]
pub struct ProviderStatus(Arc<Mutex<Fared>>);

#[derive(Debug, Default)]
struct Fared {
    last_rates: Option<(String, OffsetDateTime)>,
    failing: Option<(OffsetDateTime, String)>,
}

impl ProviderStatus {
    fn fared(&self) -> std::sync::MutexGuard<'_, Fared> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn succeeded(&self, date: &str) {
        let mut fared = self.fared();
        fared.last_rates = Some((date.to_owned(), OffsetDateTime::now_utc()));
        fared.failing = None;
        metrics::gauge!("learnlog_fx_provider_up").set(1.0);
        metrics::gauge!("learnlog_fx_rates_refreshed_seconds").set(OffsetDateTime::now_utc().unix_timestamp() as f64);
    }

    fn failed(&self, error: &RatesError) {
        let mut fared = self.fared();
        let since = fared.failing.as_ref().map_or_else(OffsetDateTime::now_utc, |(since, _)| *since);
        fared.failing = Some((since, error.to_string()));
        metrics::gauge!("learnlog_fx_provider_up").set(0.0);
        metrics::counter!("learnlog_fx_provider_failures_total").increment(1);
    }

    /// What `/readyz` says of the rates: nothing while the provider answers.
    pub fn notes(&self) -> Vec<String> {
        let fared = self.fared();
        let Some((since, error)) = &fared.failing else { return Vec::new() };
        let kept = match &fared.last_rates {
            Some((date, _)) => format!("the rates of {date} are kept"),
            None => "no provider rate is known yet (prices show USD where no admin set a rate)".to_owned(),
        };
        vec![format!("exchange rates: the provider fails since {since}: {error}; {kept}")]
    }
}

/// Fetches the reference rates every `every` from `url` and records them through `feed`.
#[derive(Debug, Clone)]
pub struct RatesRefresher {
    pub url: String,
    pub every: Duration,
    pub feed: command_api::FxFeed,
    pub status: ProviderStatus,
    http: reqwest::Client,
}

impl RatesRefresher {
    pub fn new(url: String, every: Duration, feed: command_api::FxFeed, status: ProviderStatus) -> Self {
        let http = reqwest::Client::builder().timeout(Duration::from_secs(20)).build().unwrap_or_default();
        RatesRefresher { url, every, feed, status, http }
    }

    /// Refreshes now, then every `every`, until `shutdown`.
    pub async fn run(self, shutdown: impl std::future::Future<Output = ()>) {
        tokio::pin!(shutdown);
        loop {
            self.refresh().await;
            tokio::select! {
                () = &mut shutdown => return,
                () = tokio::time::sleep(self.every) => {}
            }
        }
    }

    /// Fetches and records the rates once; a failure keeps the last rates and is reported.
    pub async fn refresh(&self) {
        match self.fetch().await {
            Ok(rates) => {
                let mut recorded = 0;
                for (currency, rate_ppm) in rates.per_dollar_ppm() {
                    // A currency this version does not know is left out, not refused.
                    if !events::currency::is_circulating(&currency) {
                        continue;
                    }
                    match self.feed.provider_rate(&currency, rate_ppm).await {
                        Ok(()) => recorded += 1,
                        Err(error) => tracing::warn!(%currency, ?error, "a provider rate was not recorded"),
                    }
                }
                tracing::info!(date = %rates.date, recorded, "exchange rates refreshed");
                self.status.succeeded(&rates.date);
            }
            Err(error) => {
                tracing::warn!(%error, "exchange rates could not be refreshed; the last rates are kept");
                self.status.failed(&error);
            }
        }
    }

    async fn fetch(&self) -> Result<DailyRates, RatesError> {
        let unreachable = |error: &dyn std::fmt::Display| RatesError::Unreachable(error.to_string());
        let response = self.http.get(&self.url).send().await.map_err(|e| unreachable(&e))?;
        if !response.status().is_success() {
            return Err(RatesError::Unreachable(format!("it answered {}", response.status())));
        }
        parse(&response.text().await.map_err(|e| unreachable(&e))?)
    }
}

/// The rates the sandbox publishes: units per euro, as the ECB gives them, for the demo's currencies.
pub const SANDBOX_RATES: [(&str, f64); 8] = [
    ("USD", 1.0800),
    ("GBP", 0.8400),
    ("JPY", 162.50),
    ("CHF", 0.9500),
    ("INR", 90.10),
    ("EGP", 53.40),
    ("CAD", 1.4700),
    ("AUD", 1.6500),
];

/// The sandbox's answer: today's rates in the ECB's format.
pub fn sandbox_document(today: time::Date) -> String {
    let cubes: String =
        SANDBOX_RATES.iter().map(|(code, rate)| format!("<Cube currency='{code}' rate='{rate:.4}'/>")).collect();
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<gesmes:Envelope xmlns:gesmes=\"http://www.gesmes.org/xml/2002-08-01\" \
         xmlns=\"http://www.ecb.int/vocabulary/2002-08-01/eurofxref\"><gesmes:subject>Reference rates</gesmes:subject>\
         <Cube><Cube time='{today}'>{cubes}</Cube></Cube></gesmes:Envelope>\n"
    )
}

/// The sandbox's key for YouTube's Data API (it takes any, and says which it was given by taking this one only).
pub const SANDBOX_YOUTUBE_KEY: &str = "sandbox-youtube-key";

/// The sandbox's answer to `videos?part=contentDetails&id=<id>`: a length made from the id (2 to 61 minutes and
/// some seconds), as YouTube writes it; an id that is no YouTube id, or a wrong key, as YouTube answers.
pub fn sandbox_video(id: &str, key: &str) -> (http::StatusCode, serde_json::Value) {
    if key != SANDBOX_YOUTUBE_KEY {
        return (
            http::StatusCode::BAD_REQUEST,
            serde_json::json!({ "error": { "code": 400, "message": "API key not valid." } }),
        );
    }
    let valid = id.len() == 11 && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !valid {
        return (http::StatusCode::OK, serde_json::json!({ "kind": "youtube#videoListResponse", "items": [] }));
    }
    let sum: u32 = id.bytes().map(u32::from).sum();
    let (minutes, seconds) = (2 + sum % 60, sum % 60);
    let item = serde_json::json!({ "kind": "youtube#video", "id": id,
        "contentDetails": { "duration": format!("PT{minutes}M{seconds}S") } });
    (http::StatusCode::OK, serde_json::json!({ "kind": "youtube#videoListResponse", "items": [item] }))
}

/// The `fx-sandbox` role, the outside providers' formats: `GET /eurofxref-daily.xml` answers
/// [`sandbox_document`] and `GET /youtube/v3/videos` [`sandbox_video`], on `listener`, until `shutdown`.
pub async fn serve_sandbox(
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) {
    let routes = axum::Router::new()
        .route(
            "/eurofxref-daily.xml",
            axum::routing::get(|| async {
                let body = sandbox_document(OffsetDateTime::now_utc().date());
                ([(http::header::CONTENT_TYPE, "text/xml; charset=utf-8")], body)
            }),
        )
        .route(
            "/youtube/v3/videos",
            axum::routing::get(|query: axum::extract::Query<std::collections::HashMap<String, String>>| async move {
                let field = |name: &str| query.get(name).map_or("", String::as_str);
                let (status, body) = sandbox_video(field("id"), field("key"));
                (status, axum::Json(body))
            }),
        );
    if let Err(error) = axum::serve(listener, routes).with_graceful_shutdown(shutdown).await {
        tracing::error!(%error, "the exchange rates sandbox stopped");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The ECB's document as it publishes it (abridged).
    const ECB: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<gesmes:Envelope xmlns:gesmes="http://www.gesmes.org/xml/2002-08-01" xmlns="http://www.ecb.int/vocabulary/2002-08-01/eurofxref">
	<gesmes:subject>Reference rates</gesmes:subject>
	<gesmes:Sender><gesmes:name>European Central Bank</gesmes:name></gesmes:Sender>
	<Cube>
		<Cube time='2026-12-04'>
			<Cube currency='USD' rate='1.0500'/>
			<Cube currency='JPY' rate='157.50'/>
			<Cube currency='GBP' rate='0.8400'/>
		</Cube>
	</Cube>
</gesmes:Envelope>"#;

    #[test]
    fn the_ecb_document_gives_rates_per_dollar_with_the_euro_s_own() {
        let rates = parse(ECB).expect("the ECB's format");
        assert_eq!(rates.date, "2026-12-04");
        let per_dollar = rates.per_dollar_ppm();
        assert_eq!(
            per_dollar,
            [("JPY".to_owned(), 150_000_000), ("GBP".to_owned(), 800_000), ("EUR".to_owned(), 952_381)]
        );
    }

    #[test]
    fn anything_else_is_unreadable_and_keeps_nothing() {
        for text in [
            "",
            "<html>maintenance</html>",
            "<Cube time='2026-12-04'><Cube currency='USD' rate='-1'/></Cube>",
            "not xml <",
        ] {
            assert!(matches!(parse(text), Err(RatesError::Unreadable(_))), "{text}");
        }
        let no_dollar = parse("<Cube time='2026-12-04'><Cube currency='GBP' rate='0.84'/></Cube>").expect("rates");
        assert!(no_dollar.per_dollar_ppm().is_empty(), "without the dollar's rate nothing is converted");
    }

    #[test]
    fn the_sandbox_speaks_the_ecb_s_format() {
        let today = time::macros::date!(2026 - 12 - 07);
        let rates = parse(&sandbox_document(today)).expect("the sandbox's document");
        assert_eq!((rates.date.as_str(), rates.per_euro.len()), ("2026-12-07", SANDBOX_RATES.len()));
    }

    #[test]
    fn a_failing_provider_is_noted_until_it_answers_again() {
        let status = ProviderStatus::default();
        assert!(status.notes().is_empty());
        status.succeeded("2026-12-04");
        status.failed(&RatesError::Unreachable("timed out".into()));
        let notes = status.notes();
        assert!(notes[0].contains("the rates of 2026-12-04 are kept") && notes[0].contains("timed out"), "{notes:?}");
        status.succeeded("2026-12-05");
        assert!(status.notes().is_empty());
    }
}
