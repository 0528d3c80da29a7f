//! The one configuration of the `learnlog` binary: defaults, then the environment.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use database::SecretUrl;
use secrecy::SecretString;

use crate::error::Error;

/// Every setting, documented in the README's configuration table.
#[derive(Debug, Clone)]
pub struct Config {
    /// The event store. `None`: `learnlog up` starts a local cluster in the data folder.
    pub database_url: Option<SecretUrl>,
    /// The read models; defaults to the event store's database.
    pub read_database_url: Option<SecretUrl>,
    /// Streaming replicas of the read models' database the query API reads from (`LEARNLOG_READ_REPLICA_URLS`,
    /// comma-separated), while they are up and current.
    pub read_replica_urls: Vec<SecretUrl>,
    /// How far behind its primary a replica may fall before reads leave it (`LEARNLOG_READ_REPLICA_MAX_LAG_MS`).
    pub read_replica_max_lag: Duration,
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    /// Where pictures are kept: an S3 bucket (`LEARNLOG_MEDIA_S3_BUCKET`, with `LEARNLOG_MEDIA_S3_ENDPOINT` for
    /// an S3-compatible store and the usual `AWS_*` credentials), else a folder (`LEARNLOG_MEDIA_DIR`,
    /// `<data folder>/media` by default).
    pub media_dir: Option<PathBuf>,
    /// Where the daily reference exchange rates are fetched from (`LEARNLOG_FX_URL`, the ECB's format); none:
    /// `up` serves them from its `fx-sandbox`, `serve` fetches none. How often (`LEARNLOG_FX_REFRESH_SECONDS`),
    /// and where the sandbox listens (`LEARNLOG_FX_SANDBOX_LISTEN`).
    pub fx_url: Option<String>,
    pub fx_every: Duration,
    pub fx_sandbox_listen: SocketAddr,
    /// YouTube's Data API key (`LEARNLOG_YOUTUBE_API_KEY`) and where the API is (`LEARNLOG_YOUTUBE_API_URL`,
    /// `https://www.googleapis.com` by default): lessons added without minutes take their video's length (R15).
    /// Without a key, `up` measures them with its sandbox; `serve` does not measure them.
    pub youtube_key: Option<SecretString>,
    pub youtube_url: String,
    pub media_bucket: Option<String>,
    pub media_endpoint: Option<String>,
    /// HS256 secret for access tokens; from the data folder when not set.
    pub jwt_secret: Option<SecretString>,
    /// The data key (verification-code HMACs, sealed bank accounts); from the data folder when not set.
    pub data_key: Option<SecretString>,
    pub consistency_wait: Duration,
    pub body_limit_bytes: usize,
    pub pool_size: usize,
    /// Kafka between the store and the projectors; `None`: embedded mode (the projector tails the feed).
    pub kafka: Option<KafkaConfig>,
    /// Where emails go: an SMTP server, or `None` for `.eml` files in `<data folder>/mailbox`.
    pub smtp_url: Option<SecretUrl>,
    pub mail_from: String,
    /// The web frontend, for links in emails.
    pub frontend_url: String,
    /// Whether the sagas' sweep fulfils paid orders whose `OrderPaid` was not handled in time
    /// (`LEARNLOG_PAID_ORDER_SWEEP=off` switches it off): an operator's safety net, counted when it repairs.
    pub paid_order_sweep: bool,
    /// Origins browsers may call the API from (`LEARNLOG_CORS_ORIGINS`, comma-separated; `*` for any);
    /// by default the frontend's.
    pub cors_origins: Vec<String>,
    /// Proxies whose `X-Forwarded-For` names the client (`LEARNLOG_TRUSTED_PROXIES`, comma-separated addresses
    /// and networks; none by default: the connection's peer is the client).
    pub trusted_proxies: api_contract::TrustedProxies,
    /// Sign-ups one client may make in an hour (`LEARNLOG_SIGN_UPS_PER_HOUR`, at least 1), counted by every
    /// command API together.
    pub sign_ups_per_hour: u32,
    /// Card payments: a Stripe-compatible provider, the built-in sandbox unless configured.
    pub payments: PaymentsConfig,
}

/// Where card payments go. Without `api_base`, the `payments-sandbox` role serves the provider on
/// `sandbox_listen`; pointing `api_base` and the two secrets at Stripe is all it takes to use Stripe.
#[derive(Debug, Clone)]
pub struct PaymentsConfig {
    pub api_base: Option<String>,
    pub secret_key: Option<SecretString>,
    pub webhook_secret: Option<SecretString>,
    pub sandbox_listen: SocketAddr,
    /// Where the sandbox delivers its webhooks; by default the command API of the same process.
    pub webhook_url: Option<String>,
    /// How long a checkout session takes payments.
    pub checkout_ttl: Duration,
}

impl PaymentsConfig {
    /// The provider's API: the configured one, or the sandbox's.
    pub fn api_base(&self) -> String {
        self.api_base.clone().unwrap_or_else(|| format!("http://{}", self.sandbox_listen))
    }
}

/// The distributed mode's settings (`KAFKA_BROKERS` and `LEARNLOG_KAFKA_*`).
#[derive(Debug, Clone)]
pub struct KafkaConfig {
    pub brokers: String,
    pub topic_prefix: String,
    pub partitions: i32,
    pub replication_factor: i32,
    pub group_id: String,
    pub session_timeout_ms: u32,
    /// librdkafka debug contexts for the consumer, e.g. `cgrp,fetch`.
    pub debug: Option<String>,
    /// TLS and SASL for every Kafka client (relay, projector, sagas, benchmarks), as librdkafka properties;
    /// the values stay out of any printout.
    pub security: Vec<(String, SecretString)>,
    /// The consumers' `fetch.wait.max.ms`.
    pub fetch_wait_ms: u32,
}

/// The settings that secure the connections to the brokers, each the librdkafka property it sets.
const KAFKA_SECURITY: [(&str, &str); 8] = [
    ("LEARNLOG_KAFKA_SECURITY_PROTOCOL", "security.protocol"),
    ("LEARNLOG_KAFKA_SASL_MECHANISM", "sasl.mechanism"),
    ("LEARNLOG_KAFKA_SASL_USERNAME", "sasl.username"),
    ("LEARNLOG_KAFKA_SASL_PASSWORD", "sasl.password"),
    ("LEARNLOG_KAFKA_SSL_CA_LOCATION", "ssl.ca.location"),
    ("LEARNLOG_KAFKA_SSL_CERTIFICATE_LOCATION", "ssl.certificate.location"),
    ("LEARNLOG_KAFKA_SSL_KEY_LOCATION", "ssl.key.location"),
    ("LEARNLOG_KAFKA_SSL_KEY_PASSWORD", "ssl.key.password"),
];

/// TLS and SASL from `LEARNLOG_KAFKA_SECURITY_PROTOCOL` (plaintext, ssl, sasl_plaintext or sasl_ssl),
/// `LEARNLOG_KAFKA_SASL_MECHANISM` (PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512) with `..._SASL_USERNAME` and
/// `..._SASL_PASSWORD`, and the TLS files `..._SSL_CA_LOCATION`, `..._SSL_CERTIFICATE_LOCATION`,
/// `..._SSL_KEY_LOCATION` (with `..._SSL_KEY_PASSWORD`). A protocol with SASL needs a mechanism, a user name
/// and a password.
fn kafka_security(lookup: &impl Fn(&str) -> Option<String>) -> Result<Vec<(String, SecretString)>, Error> {
    let mut security = Vec::new();
    for (variable, property) in KAFKA_SECURITY {
        if let Some(value) = lookup(variable).filter(|value| !value.trim().is_empty()) {
            security.push((property.to_owned(), value.trim().to_owned()));
        }
    }
    let value = |property: &str| security.iter().find(|(name, _)| name == property).map(|(_, value)| value.clone());
    let protocol = value("security.protocol").map(|protocol| protocol.to_ascii_lowercase());
    if let Some(protocol) = &protocol
        && !["plaintext", "ssl", "sasl_plaintext", "sasl_ssl"].contains(&protocol.as_str())
    {
        return Err(Error::Config(
            "LEARNLOG_KAFKA_SECURITY_PROTOCOL must be plaintext, ssl, sasl_plaintext or sasl_ssl".into(),
        ));
    }
    if protocol.as_deref().is_some_and(|protocol| protocol.starts_with("sasl")) {
        let mechanism = value("sasl.mechanism").unwrap_or_default().to_ascii_uppercase();
        if !["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"].contains(&mechanism.as_str()) {
            return Err(Error::Config(
                "LEARNLOG_KAFKA_SASL_MECHANISM must be PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 with SASL".into(),
            ));
        }
        if value("sasl.username").is_none() || value("sasl.password").is_none() {
            return Err(Error::Config(
                "SASL needs LEARNLOG_KAFKA_SASL_USERNAME and LEARNLOG_KAFKA_SASL_PASSWORD".into(),
            ));
        }
    }
    Ok(security.into_iter().map(|(property, value)| (property, SecretString::from(value))).collect())
}

impl Config {
    /// The pictures' object storage this configuration names.
    pub fn pictures(&self) -> Result<media::Pictures, crate::Error> {
        let pictures = match &self.media_bucket {
            Some(bucket) => media::Pictures::in_bucket(bucket, self.media_endpoint.as_deref()),
            None => media::Pictures::in_folder(&self.media_dir.clone().unwrap_or_else(|| self.data_dir.join("media"))),
        };
        pictures.map_err(|error| crate::Error::Config(format!("pictures: {error}")))
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            database_url: None,
            read_database_url: None,
            read_replica_urls: Vec::new(),
            read_replica_max_lag: query_api::DEFAULT_MAX_LAG,
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from(".learnlog"),
            media_dir: None,
            fx_url: None,
            fx_every: crate::fx_rates::DEFAULT_EVERY,
            fx_sandbox_listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            youtube_key: None,
            youtube_url: "https://www.googleapis.com".to_owned(),
            media_bucket: None,
            media_endpoint: None,
            jwt_secret: None,
            data_key: None,
            consistency_wait: query_api::DEFAULT_CONSISTENCY_WAIT,
            body_limit_bytes: api_contract::DEFAULT_BODY_LIMIT,
            pool_size: 16,
            kafka: None,
            smtp_url: None,
            mail_from: "Learnlog <no-reply@learnlog.local>".to_owned(),
            frontend_url: command_api::DEFAULT_FRONTEND_URL.to_owned(),
            paid_order_sweep: true,
            cors_origins: vec![command_api::DEFAULT_FRONTEND_URL.to_owned()],
            trusted_proxies: api_contract::TrustedProxies::default(),
            sign_ups_per_hour: command_api::DEFAULT_SIGN_UPS_PER_HOUR,
            payments: PaymentsConfig {
                api_base: None,
                secret_key: None,
                webhook_secret: None,
                sandbox_listen: SocketAddr::from(([127, 0, 0, 1], 8090)),
                webhook_url: None,
                checkout_ttl: Duration::from_secs(30 * 60),
            },
        }
    }
}

/// An http(s) URL without a user name or password, which may then appear in logs; the value is not
/// repeated in the error, as it may be a mistyped secret.
fn plain_url(lookup: &impl Fn(&str) -> Option<String>, name: &str) -> Result<Option<String>, Error> {
    let Some(text) = lookup(name) else { return Ok(None) };
    let text = text.trim().to_owned();
    match reqwest::Url::parse(&text) {
        Ok(url)
            if matches!(url.scheme(), "http" | "https")
                && url.has_host()
                && url.username().is_empty()
                && url.password().is_none() =>
        {
            Ok(Some(text))
        }
        _ => Err(Error::Config(format!("{name} must be an http(s) URL without a user name or password"))),
    }
}

impl Config {
    /// Defaults overridden by `DATABASE_URL` and the `LEARNLOG_*` variables; a malformed value is an error.
    pub fn from_env() -> Result<Self, Error> {
        Self::from_lookup(|name| std::env::var(name).ok().filter(|value| !value.trim().is_empty()))
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, Error> {
        let defaults = Config::default();
        let parse = |name: &str, what: &str| -> Result<Option<u64>, Error> {
            lookup(name)
                .map(|text| text.trim().parse::<u64>().map_err(|_| Error::Config(format!("{name} must be {what}"))))
                .transpose()
        };
        let listen = match lookup("LEARNLOG_LISTEN") {
            Some(text) => text
                .trim()
                .parse()
                .map_err(|_| Error::Config("LEARNLOG_LISTEN must be an address like 127.0.0.1:8080".into()))?,
            None => defaults.listen,
        };
        let consistency_wait = parse("LEARNLOG_CONSISTENCY_WAIT_MS", "a number of milliseconds")?
            .map_or(defaults.consistency_wait, Duration::from_millis);
        let body_limit_bytes = parse("LEARNLOG_BODY_LIMIT_BYTES", "a number of bytes")?
            .map_or(Ok(defaults.body_limit_bytes), usize::try_from)
            .map_err(|_| Error::Config("LEARNLOG_BODY_LIMIT_BYTES is too large".into()))?;
        let pool_size = parse("LEARNLOG_DB_POOL_SIZE", "a whole number")?
            .map_or(Ok(defaults.pool_size), usize::try_from)
            .map_err(|_| Error::Config("LEARNLOG_DB_POOL_SIZE is too large".into()))?;
        if pool_size == 0 {
            return Err(Error::Config("LEARNLOG_DB_POOL_SIZE must be at least 1".into()));
        }
        let kafka = match lookup("KAFKA_BROKERS") {
            None => None,
            Some(brokers) => Some(KafkaConfig {
                brokers,
                topic_prefix: lookup("LEARNLOG_KAFKA_TOPIC_PREFIX").unwrap_or_default(),
                partitions: positive(&lookup, "LEARNLOG_KAFKA_PARTITIONS", 12)?,
                replication_factor: positive(&lookup, "LEARNLOG_KAFKA_REPLICATION_FACTOR", 1)?,
                group_id: lookup("LEARNLOG_KAFKA_GROUP").unwrap_or_else(|| "learnlog-projector".to_owned()),
                session_timeout_ms: positive(&lookup, "LEARNLOG_KAFKA_SESSION_TIMEOUT_MS", 45_000)?,
                debug: lookup("LEARNLOG_KAFKA_DEBUG"),
                security: kafka_security(&lookup)?,
                fetch_wait_ms: positive(
                    &lookup,
                    "LEARNLOG_KAFKA_FETCH_WAIT_MS",
                    subscriptions::kafka::DEFAULT_FETCH_WAIT_MS,
                )?,
            }),
        };
        let frontend_url = lookup("LEARNLOG_FRONTEND_URL").unwrap_or(defaults.frontend_url);
        let paid_order_sweep = match lookup("LEARNLOG_PAID_ORDER_SWEEP").map(|v| v.trim().to_ascii_lowercase()) {
            None => defaults.paid_order_sweep,
            Some(on) if on == "on" => true,
            Some(off) if off == "off" => false,
            Some(_) => return Err(Error::Config("LEARNLOG_PAID_ORDER_SWEEP must be on or off".into())),
        };
        let cors_origins = match lookup("LEARNLOG_CORS_ORIGINS") {
            Some(list) => list.split(',').map(|origin| origin.trim().to_owned()).filter(|o| !o.is_empty()).collect(),
            None => vec![origin_of(&frontend_url)],
        };
        let trusted_proxies = match lookup("LEARNLOG_TRUSTED_PROXIES") {
            Some(list) => api_contract::TrustedProxies::parse(&list)
                .map_err(|problem| Error::Config(format!("LEARNLOG_TRUSTED_PROXIES: {problem}")))?,
            None => defaults.trusted_proxies,
        };
        let sign_ups_per_hour = match parse("LEARNLOG_SIGN_UPS_PER_HOUR", "a whole number")? {
            Some(0) => return Err(Error::Config("LEARNLOG_SIGN_UPS_PER_HOUR must be at least 1".into())),
            Some(number) => {
                u32::try_from(number).map_err(|_| Error::Config("LEARNLOG_SIGN_UPS_PER_HOUR is too large".into()))?
            }
            None => defaults.sign_ups_per_hour,
        };
        let payments = PaymentsConfig {
            api_base: plain_url(&lookup, "LEARNLOG_STRIPE_API_BASE")?.map(|base| base.trim_end_matches('/').to_owned()),
            secret_key: lookup("LEARNLOG_STRIPE_SECRET_KEY").map(SecretString::from),
            webhook_secret: lookup("LEARNLOG_STRIPE_WEBHOOK_SECRET").map(SecretString::from),
            sandbox_listen: match lookup("LEARNLOG_PAYMENTS_SANDBOX_LISTEN") {
                Some(text) => text.trim().parse().map_err(|_| {
                    Error::Config("LEARNLOG_PAYMENTS_SANDBOX_LISTEN must be an address like 127.0.0.1:8090".into())
                })?,
                None => defaults.payments.sandbox_listen,
            },
            webhook_url: plain_url(&lookup, "LEARNLOG_PAYMENTS_WEBHOOK_URL")?,
            checkout_ttl: parse("LEARNLOG_CHECKOUT_TTL_SECONDS", "a number of seconds")?
                .map_or(defaults.payments.checkout_ttl, Duration::from_secs),
        };
        Ok(Config {
            payments,
            kafka,
            database_url: lookup("DATABASE_URL").map(SecretUrl::new),
            read_database_url: lookup("LEARNLOG_READ_DATABASE_URL").map(SecretUrl::new),
            read_replica_urls: lookup("LEARNLOG_READ_REPLICA_URLS")
                .map(|list| list.split(',').map(str::trim).filter(|url| !url.is_empty()).map(SecretUrl::new).collect())
                .unwrap_or_default(),
            read_replica_max_lag: parse("LEARNLOG_READ_REPLICA_MAX_LAG_MS", "a number of milliseconds")?
                .map_or(defaults.read_replica_max_lag, Duration::from_millis),
            listen,
            data_dir: lookup("LEARNLOG_DATA_DIR").map_or(defaults.data_dir, PathBuf::from),
            media_dir: lookup("LEARNLOG_MEDIA_DIR").map(PathBuf::from),
            fx_url: lookup("LEARNLOG_FX_URL"),
            fx_every: parse("LEARNLOG_FX_REFRESH_SECONDS", "a number of seconds")?
                .filter(|seconds| *seconds > 0)
                .map_or(defaults.fx_every, Duration::from_secs),
            fx_sandbox_listen: match lookup("LEARNLOG_FX_SANDBOX_LISTEN") {
                Some(address) => address
                    .parse()
                    .map_err(|_| Error::Config(format!("LEARNLOG_FX_SANDBOX_LISTEN is not an address: {address}")))?,
                None => defaults.fx_sandbox_listen,
            },
            youtube_key: lookup("LEARNLOG_YOUTUBE_API_KEY").filter(|key| !key.is_empty()).map(SecretString::from),
            youtube_url: lookup("LEARNLOG_YOUTUBE_API_URL").unwrap_or(defaults.youtube_url),
            media_bucket: lookup("LEARNLOG_MEDIA_S3_BUCKET"),
            media_endpoint: lookup("LEARNLOG_MEDIA_S3_ENDPOINT"),
            jwt_secret: lookup("LEARNLOG_JWT_SECRET").map(SecretString::from),
            data_key: lookup("LEARNLOG_DATA_KEY").map(SecretString::from),
            consistency_wait,
            body_limit_bytes,
            pool_size,
            smtp_url: lookup("LEARNLOG_SMTP_URL").map(SecretUrl::new),
            mail_from: lookup("LEARNLOG_MAIL_FROM").unwrap_or(defaults.mail_from),
            frontend_url,
            paid_order_sweep,
            cors_origins,
            trusted_proxies,
            sign_ups_per_hour,
        })
    }
}

/// The origin (scheme, host and port) of a URL such as `https://app.example.com/learn`.
fn origin_of(url: &str) -> String {
    let after_scheme = url.find("://").map_or(0, |at| at + 3);
    let end = url[after_scheme..].find('/').map_or(url.len(), |at| after_scheme + at);
    url[..end].to_owned()
}

/// Variable `name` as a positive whole number, or `default` when unset.
fn positive<T: TryFrom<u64>>(lookup: &impl Fn(&str) -> Option<String>, name: &str, default: T) -> Result<T, Error> {
    let Some(text) = lookup(name) else { return Ok(default) };
    match text.trim().parse::<u64>() {
        Ok(0) | Err(_) => Err(Error::Config(format!("{name} must be a positive whole number"))),
        Ok(value) => T::try_from(value).map_err(|_| Error::Config(format!("{name} is too large"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;
    use std::collections::HashMap;

    fn config(pairs: &[(&str, &str)]) -> Result<Config, Error> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn defaults_hold_without_any_variable() {
        let config = config(&[]).expect("defaults are valid");
        assert_eq!(config.listen.to_string(), "127.0.0.1:8080");
        assert!(config.database_url.is_none());
        assert_eq!(config.consistency_wait, Duration::from_secs(2));
    }

    #[test]
    fn payment_urls_carry_no_credentials_and_a_refusal_does_not_repeat_them() {
        let stripe = config(&[("LEARNLOG_STRIPE_API_BASE", "https://api.stripe.com/")]).expect("valid");
        assert_eq!(stripe.payments.api_base.as_deref(), Some("https://api.stripe.com"));
        for (name, value) in [
            ("LEARNLOG_STRIPE_API_BASE", "https://sk_live_hunter2@api.stripe.com"),
            ("LEARNLOG_PAYMENTS_WEBHOOK_URL", "http://hooks:hunter2@127.0.0.1:8080/api/v1/payments/webhook"),
            ("LEARNLOG_STRIPE_API_BASE", "hunter2"),
        ] {
            let error = config(&[(name, value)]).expect_err("refused").to_string();
            assert!(error.contains(name) && !error.contains("hunter2"), "{error}");
        }
    }

    #[test]
    fn variables_override_defaults_and_bad_values_are_named() {
        let config =
            config(&[("LEARNLOG_LISTEN", "127.0.0.1:9000"), ("LEARNLOG_CONSISTENCY_WAIT_MS", "500")]).expect("valid");
        assert_eq!(config.listen.port(), 9000);
        assert_eq!(config.consistency_wait, Duration::from_millis(500));
        let error = super::tests::config(&[("LEARNLOG_DB_POOL_SIZE", "many")]).expect_err("invalid");
        assert!(error.to_string().contains("LEARNLOG_DB_POOL_SIZE"));
    }

    #[test]
    fn kafka_is_configured_only_with_brokers() {
        assert!(config(&[("LEARNLOG_KAFKA_PARTITIONS", "6")]).expect("valid").kafka.is_none());
        let kafka = config(&[("KAFKA_BROKERS", "k1:9092"), ("LEARNLOG_KAFKA_PARTITIONS", "6")]).expect("valid").kafka;
        let kafka = kafka.expect("configured");
        assert_eq!(
            (kafka.brokers.as_str(), kafka.partitions, kafka.group_id.as_str()),
            ("k1:9092", 6, "learnlog-projector")
        );
        assert!(config(&[("KAFKA_BROKERS", "k1:9092"), ("LEARNLOG_KAFKA_PARTITIONS", "0")]).is_err());
    }

    #[test]
    fn kafka_takes_tls_and_sasl_settings_and_refuses_half_of_them() {
        let properties = |pairs: &[(&str, &str)]| -> Result<Vec<(String, String)>, Error> {
            let mut all = vec![("KAFKA_BROKERS", "k1:9093")];
            all.extend_from_slice(pairs);
            let kafka = config(&all)?.kafka.expect("configured");
            Ok(kafka.security.iter().map(|(name, value)| (name.clone(), value.expose_secret().to_owned())).collect())
        };
        assert_eq!(properties(&[]).expect("valid"), []);
        let scram = properties(&[
            ("LEARNLOG_KAFKA_SECURITY_PROTOCOL", "SASL_SSL"),
            ("LEARNLOG_KAFKA_SASL_MECHANISM", "SCRAM-SHA-512"),
            ("LEARNLOG_KAFKA_SASL_USERNAME", "learnlog-relay"),
            ("LEARNLOG_KAFKA_SASL_PASSWORD", "kafka-pass-6"),
            ("LEARNLOG_KAFKA_SSL_CA_LOCATION", "/etc/learnlog/kafka-ca.pem"),
        ])
        .expect("valid");
        let names: Vec<&str> = scram.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(names, ["security.protocol", "sasl.mechanism", "sasl.username", "sasl.password", "ssl.ca.location"]);
        let tls = properties(&[("LEARNLOG_KAFKA_SECURITY_PROTOCOL", "ssl")]).expect("valid");
        assert_eq!(tls, [("security.protocol".to_owned(), "ssl".to_owned())]);
        for invalid in [
            vec![("LEARNLOG_KAFKA_SECURITY_PROTOCOL", "tls")],
            vec![("LEARNLOG_KAFKA_SECURITY_PROTOCOL", "sasl_ssl")],
            vec![("LEARNLOG_KAFKA_SECURITY_PROTOCOL", "sasl_plaintext"), ("LEARNLOG_KAFKA_SASL_MECHANISM", "GSSAPI")],
            vec![
                ("LEARNLOG_KAFKA_SECURITY_PROTOCOL", "sasl_ssl"),
                ("LEARNLOG_KAFKA_SASL_MECHANISM", "PLAIN"),
                ("LEARNLOG_KAFKA_SASL_USERNAME", "relay"),
            ],
        ] {
            assert!(properties(&invalid).is_err(), "{invalid:?} is refused");
        }
    }

    #[test]
    fn browsers_are_allowed_from_the_frontend_unless_told_otherwise() {
        assert_eq!(config(&[]).expect("valid").cors_origins, ["http://localhost:8000"]);
        let frontend = config(&[("LEARNLOG_FRONTEND_URL", "https://learn.example.com/app/")]).expect("valid");
        assert_eq!(frontend.cors_origins, ["https://learn.example.com"]);
        let listed = config(&[("LEARNLOG_CORS_ORIGINS", "https://a.example, https://b.example:8443")]).expect("valid");
        assert_eq!(listed.cors_origins, ["https://a.example", "https://b.example:8443"]);
    }

    #[test]
    fn forwarded_addresses_are_believed_only_from_the_proxies_named() {
        assert_eq!(config(&[]).expect("valid").trusted_proxies, api_contract::TrustedProxies::default());
        assert!(config(&[("LEARNLOG_TRUSTED_PROXIES", "127.0.0.1, 10.0.0.0/8")]).is_ok());
        assert_eq!(config(&[]).expect("valid").sign_ups_per_hour, command_api::DEFAULT_SIGN_UPS_PER_HOUR);
        assert_eq!(config(&[("LEARNLOG_SIGN_UPS_PER_HOUR", "500")]).expect("valid").sign_ups_per_hour, 500);
        assert!(config(&[("LEARNLOG_SIGN_UPS_PER_HOUR", "0")]).is_err());
        let refused = config(&[("LEARNLOG_TRUSTED_PROXIES", "balancer")]).map(|_| ()).expect_err("a name");
        assert!(refused.to_string().contains("LEARNLOG_TRUSTED_PROXIES"), "{refused}");
    }

    #[test]
    fn a_printed_configuration_shows_no_password() {
        let config = config(&[
            ("DATABASE_URL", "postgres://app:db-pass-1@db:5432/learnlog"),
            ("LEARNLOG_READ_DATABASE_URL", "postgres://reader:db-pass-2@replica/learnlog"),
            ("LEARNLOG_READ_REPLICA_URLS", "postgres://reader:db-pass-7@r1/learnlog, postgres://reader:db-pass-8@r2/l"),
            ("LEARNLOG_SMTP_URL", "smtps://mailer:smtp-pass-3@mail.example.com"),
            ("LEARNLOG_JWT_SECRET", "jwt-secret-4-jwt-secret-4-jwt-secret-4"),
            ("LEARNLOG_DATA_KEY", "data-key-5-data-key-5-data-key-5-data-key-5"),
            ("KAFKA_BROKERS", "k1:9093"),
            ("LEARNLOG_KAFKA_SECURITY_PROTOCOL", "sasl_ssl"),
            ("LEARNLOG_KAFKA_SASL_MECHANISM", "PLAIN"),
            ("LEARNLOG_KAFKA_SASL_USERNAME", "relay"),
            ("LEARNLOG_KAFKA_SASL_PASSWORD", "kafka-pass-6"),
        ])
        .expect("valid");
        let printed = format!("{config:?}");
        assert_eq!(config.read_replica_urls.len(), 2);
        let secrets =
            ["db-pass-1", "db-pass-2", "smtp-pass-3", "jwt-secret-4", "data-key-5", "kafka-pass-6", "db-pass-7"];
        for secret in secrets {
            assert!(!printed.contains(secret), "{secret} in {printed}");
        }
        assert_eq!(config.database_url.expect("set").expose(), "postgres://app:db-pass-1@db:5432/learnlog");
    }
}
