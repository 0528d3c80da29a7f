//! Connection URLs that carry passwords (`postgres://user:password@host/db`, `smtps://user:password@host`):
//! kept as secrets, so that a `Debug` or `Display` of a configuration, a log line or an error never shows the
//! password. Only [`SecretUrl::expose`] gives the URL itself, to the one call that connects.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};

/// A URL whose password is hidden whenever it is shown.
#[derive(Clone)]
pub struct SecretUrl(SecretString);

impl SecretUrl {
    pub fn new(url: impl Into<String>) -> Self {
        SecretUrl(SecretString::from(url.into()))
    }

    /// The URL with its password, for the call that connects. Never log it.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    /// The URL as it may be shown: the password (in the user part or as a `password` query parameter)
    /// replaced by `***`. A connection string that is not a URL (`host=… password=…`) is shown as `(hidden)`.
    pub fn redacted(&self) -> String {
        let Ok(mut url) = url::Url::parse(self.expose()) else {
            return "(a connection string, hidden)".to_owned();
        };
        if url.password().is_some() && url.set_password(Some("***")).is_err() {
            return "(a connection string, hidden)".to_owned();
        }
        if url.query_pairs().any(|(name, _)| name.eq_ignore_ascii_case("password")) {
            let pairs: Vec<(String, String)> = url
                .query_pairs()
                .map(|(name, value)| {
                    let value = if name.eq_ignore_ascii_case("password") { "***".to_owned() } else { value.into() };
                    (name.into_owned(), value)
                })
                .collect();
            url.query_pairs_mut().clear().extend_pairs(pairs);
        }
        url.to_string()
    }
}

impl From<String> for SecretUrl {
    fn from(url: String) -> Self {
        SecretUrl::new(url)
    }
}

impl From<&str> for SecretUrl {
    fn from(url: &str) -> Self {
        SecretUrl::new(url)
    }
}

impl fmt::Debug for SecretUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretUrl({})", self.redacted())
    }
}

impl fmt::Display for SecretUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl PartialEq for SecretUrl {
    fn eq(&self, other: &Self) -> bool {
        self.expose() == other.expose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_never_shows() {
        let url = SecretUrl::new("postgres://learnlog:s3cr%40t@127.0.0.1:5432/learnlog");
        for shown in [url.to_string(), format!("{url:?}"), url.redacted()] {
            assert!(!shown.contains("s3cr"), "{shown}");
            assert!(shown.contains("learnlog:***@127.0.0.1:5432/learnlog"), "{shown}");
        }
        assert_eq!(url.expose(), "postgres://learnlog:s3cr%40t@127.0.0.1:5432/learnlog");
    }

    #[test]
    fn smtp_urls_and_query_passwords_are_hidden_too() {
        let smtp = SecretUrl::new("smtps://mailer:hunter2@mail.example.com:465");
        assert_eq!(smtp.to_string(), "smtps://mailer:***@mail.example.com:465");
        let query = SecretUrl::new("postgresql://db.local/learnlog?user=app&password=hunter2&sslmode=require");
        assert!(!query.to_string().contains("hunter2"), "{query}");
        assert!(query.to_string().contains("sslmode=require"), "{query}");
    }

    #[test]
    fn a_connection_string_that_is_no_url_is_hidden_whole() {
        let keywords = SecretUrl::new("host=localhost user=app password=hunter2");
        assert!(!format!("{keywords} {keywords:?}").contains("hunter2"));
    }

    #[test]
    fn urls_without_a_password_show_as_they_are() {
        assert_eq!(SecretUrl::new("smtp://127.0.0.1:2525").to_string(), "smtp://127.0.0.1:2525");
    }
}
