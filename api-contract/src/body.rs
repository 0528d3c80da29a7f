//! Parsing at the edge: strict JSON command bodies and path ids, each failure mapped to its problem.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use http::request::Parts;
use http::{StatusCode, header};
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::problem::{FieldError, Problem};

/// A JSON command body, parsed strictly, with the digest of the request for idempotency checks.
#[derive(Debug)]
pub struct JsonCommand<T> {
    pub body: T,
    /// Digest of method, path and body: the same Idempotency-Key with another request is detected by it.
    pub digest: String,
}

impl<S, T> FromRequest<S> for JsonCommand<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = Problem;

    async fn from_request(request: Request, state: &S) -> Result<Self, Problem> {
        if !is_json(request.headers()) {
            return Err(Problem::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "Send the body as application/json.",
            ));
        }
        let method = request.method().clone();
        let path = request.uri().path().to_owned();
        let bytes = Bytes::from_request(request, state).await.map_err(unread)?;
        let body = parse_json(&bytes)?;
        Ok(JsonCommand { body, digest: request_digest(method.as_str(), &path, &bytes) })
    }
}

/// A command whose body is bytes that the handler itself checks (a picture), with the digest of the request.
/// The declared content type is not trusted: what the bytes are decides.
#[derive(Debug)]
pub struct BytesCommand {
    pub bytes: Bytes,
    pub digest: String,
}

impl<S: Send + Sync> FromRequest<S> for BytesCommand {
    type Rejection = Problem;

    async fn from_request(request: Request, state: &S) -> Result<Self, Problem> {
        let method = request.method().clone();
        let path = request.uri().path().to_owned();
        let bytes = Bytes::from_request(request, state).await.map_err(unread)?;
        let digest = request_digest(method.as_str(), &path, &bytes);
        Ok(BytesCommand { bytes, digest })
    }
}

/// Why a body could not be read: too large, too slow, or broken off.
fn unread(rejection: axum::extract::rejection::BytesRejection) -> Problem {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        Problem::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", "The body is larger than allowed.")
    } else if timed_out(&rejection) {
        Problem::new(StatusCode::REQUEST_TIMEOUT, "request_timeout", "The body did not arrive in time.")
    } else {
        Problem::malformed("The body could not be read.")
    }
}

/// Parses `bytes` as `T`, naming the offending field when the shape is wrong, after every string in the body
/// passed the one text rule ([`crate::text`]) and no object named a key twice. A number with no fraction is a
/// whole number, as JSON Schema says: `2.0` is taken where an integer is meant.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Problem> {
    let mut value: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|error| Problem::malformed(format!("The body is not valid JSON: {error}.")))?;
    crate::text::check_json(&value)?;
    // The value keeps one of a key given twice: the bytes are checked for that first.
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize::<_, UniqueKeys>(&mut deserializer).map_err(shape_problem)?;
    whole_numbers(&mut value);
    serde_path_to_error::deserialize(value).map_err(shape_problem)
}

fn shape_problem<E: std::fmt::Display>(error: serde_path_to_error::Error<E>) -> Problem {
    let message = error.inner().to_string();
    let field = field_of(&error.path().to_string(), &message);
    Problem::malformed(format!("The body does not have the expected shape at `{field}`: {message}."))
        .with_errors(vec![FieldError::new(field, message)])
}

/// Every number with no fraction, within the range of a 64-bit integer, as that integer.
fn whole_numbers(value: &mut serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::Number(number) => {
            let whole = number.as_f64().filter(|n| number.is_f64() && n.fract() == 0.0 && n.abs() < 9.0e15);
            if let Some(whole) = whole {
                *number = serde_json::Number::from(whole as i64);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(whole_numbers),
        Value::Object(fields) => fields.values_mut().for_each(whole_numbers),
        _ => {}
    }
}

/// Any JSON, refused where an object names a key twice.
struct UniqueKeys;

impl<'de> serde::Deserialize<'de> for UniqueKeys {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(UniqueKeysVisitor)
    }
}

struct UniqueKeysVisitor;

impl<'de> serde::de::Visitor<'de> for UniqueKeysVisitor {
    type Value = UniqueKeys;

    fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("any JSON value")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<UniqueKeys, A::Error> {
        let mut seen = std::collections::HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if seen.contains(&key) {
                return Err(serde::de::Error::custom(format!("duplicate field `{key}`")));
            }
            map.next_value::<UniqueKeys>()?;
            seen.insert(key);
        }
        Ok(UniqueKeys)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<UniqueKeys, A::Error> {
        while seq.next_element::<UniqueKeys>()?.is_some() {}
        Ok(UniqueKeys)
    }

    fn visit_bool<E>(self, _: bool) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }

    fn visit_i64<E>(self, _: i64) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }

    fn visit_u64<E>(self, _: u64) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }

    fn visit_f64<E>(self, _: f64) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }

    fn visit_str<E>(self, _: &str) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }

    fn visit_unit<E>(self) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }
}

/// The field a shape error is about: serde names a missing, unknown or repeated field in its message and points
/// at the object that should (not) hold it; anything wrong with the body as a whole is `body`.
fn field_of(path: &str, message: &str) -> String {
    let named = ["missing field `", "unknown field `", "duplicate field `"]
        .iter()
        .find_map(|start| message.strip_prefix(start))
        .and_then(|rest| rest.split_once('`'))
        .map(|(name, _)| name);
    match (path, named) {
        (".", Some(name)) => name.to_owned(),
        (".", None) => "body".to_owned(),
        // An unknown field's path already ends with it.
        (path, Some(name)) if path == name || path.ends_with(&format!(".{name}")) => path.to_owned(),
        (path, Some(name)) => format!("{path}.{name}"),
        (path, None) => path.to_owned(),
    }
}

/// Whether reading the body stopped at the edge's deadline for it ([`crate::Timeouts::body_read`]).
fn timed_out(rejection: &axum::extract::rejection::BytesRejection) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(rejection);
    while let Some(error) = cause {
        if error.is::<tower_http::timeout::TimeoutError>() {
            return true;
        }
        cause = error.source();
    }
    false
}

fn is_json(headers: &http::HeaderMap) -> bool {
    let Some(value) = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let essence = value.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// A command without a body (publish, delete, approve, …): the digest of its method and path, for the same
/// idempotency checks as a [`JsonCommand`].
#[derive(Debug, Clone)]
pub struct EmptyCommand {
    pub digest: String,
}

impl<S: Send + Sync> FromRequestParts<S> for EmptyCommand {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(EmptyCommand { digest: request_digest(parts.method.as_str(), parts.uri.path(), b"") })
    }
}

/// Digest of a request as hex SHA-256 over method, path and body.
pub fn request_digest(method: &str, path: &str, body: &[u8]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(method.as_bytes());
    hasher.update([0]);
    hasher.update(path.as_bytes());
    hasher.update([0]);
    hasher.update(body);
    hasher.finalize().iter().map(|byte| format!("{byte:02x}")).collect()
}

/// A UUID path parameter `{id}`; anything else is `400 malformed_request`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PathId(pub Uuid);

impl<S: Send + Sync> FromRequestParts<S> for PathId {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Problem> {
        let Path(raw) = Path::<Vec<(String, String)>>::from_request_parts(parts, state)
            .await
            .map_err(|_| Problem::malformed("The path is missing its id."))?;
        let Some((name, value)) = raw.first() else { return Err(Problem::malformed("The path is missing its id.")) };
        Uuid::parse_str(value).map(PathId).map_err(|_| not_an_id(name, value))
    }
}

/// Every id of a nested path such as `/courses/{id}/sections/{section_id}`, in order; each must be a UUID.
#[derive(Debug, Clone, Copy)]
pub struct PathIds<const N: usize>(pub [Uuid; N]);

impl<S: Send + Sync, const N: usize> FromRequestParts<S> for PathIds<N> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Problem> {
        let Path(raw) = Path::<Vec<(String, String)>>::from_request_parts(parts, state)
            .await
            .map_err(|_| Problem::malformed("The path is missing its ids."))?;
        let mut ids = [Uuid::nil(); N];
        if raw.len() != N {
            return Err(Problem::malformed("The path is missing its ids."));
        }
        for (slot, (name, value)) in ids.iter_mut().zip(&raw) {
            *slot = Uuid::parse_str(value).map_err(|_| not_an_id(name, value))?;
        }
        Ok(PathIds(ids))
    }
}

/// A path parameter that is not an id: 400 naming it.
fn not_an_id(name: &str, value: &str) -> Problem {
    Problem::invalid_param(name, format!("must be an id, not {value:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        title: String,
        price: Price,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Price {
        amount_cents: i64,
    }

    #[test]
    fn a_wrong_type_names_the_field() {
        let problem = parse_json::<Body>(br#"{"title":"t","price":{"amount_cents":"x"}}"#).unwrap_err();
        assert_eq!(problem.code, "malformed_request");
        assert_eq!(problem.errors[0].field, "price.amount_cents");
    }

    #[test]
    fn a_missing_unknown_or_repeated_field_is_named_and_a_wrong_body_is_body() {
        let field = |json: &[u8]| parse_json::<Body>(json).unwrap_err().errors[0].field.clone();
        assert_eq!(field(br#"{"price":{"amount_cents":1}}"#), "title");
        assert_eq!(field(br#"{"title":"t","price":{}}"#), "price.amount_cents");
        assert_eq!(field(br#"{"title":"t","price":{"amount_cents":1},"admin":true}"#), "admin");
        assert_eq!(field(br#"{"title":"t","price":{"amount_cents":1,"cents":2}}"#), "price.cents");
        assert_eq!(field(br#"{"title":"t","title":"u","price":{"amount_cents":1}}"#), "title");
        assert_eq!(field(br#""just text""#), "body");
    }

    #[test]
    fn unknown_fields_and_trailing_garbage_are_refused() {
        assert!(parse_json::<Body>(br#"{"title":"t","price":{"amount_cents":1},"admin":true}"#).is_err());
        assert!(parse_json::<Body>(br#"{"title":"t","price":{"amount_cents":1}} x"#).is_err());
        assert!(parse_json::<Body>(br#"{"title":"t","price":{"amount_cents":1}}"#).is_ok());
    }

    #[test]
    fn a_field_given_twice_is_refused() {
        let problem = parse_json::<Body>(br#"{"title":"t","title":"u","price":{"amount_cents":1}}"#).unwrap_err();
        assert_eq!(problem.code, "malformed_request");
        let nested = br#"{"title":"t","price":{"amount_cents":1,"amount_cents":2}}"#;
        assert_eq!(parse_json::<Body>(nested).unwrap_err().errors[0].field, "price.amount_cents");
        let free = br#"{"a":[{"b":1,"b":2}]}"#;
        assert!(parse_json::<serde_json::Value>(free).is_err(), "in free-form JSON too");
    }

    #[test]
    fn a_number_with_no_fraction_is_a_whole_number() {
        let body = parse_json::<Body>(br#"{"title":"t","price":{"amount_cents":1999.0}}"#).expect("whole");
        assert_eq!(body.price.amount_cents, 1999);
        let problem = parse_json::<Body>(br#"{"title":"t","price":{"amount_cents":19.5}}"#).unwrap_err();
        assert_eq!(problem.errors[0].field, "price.amount_cents");
        assert!(parse_json::<Body>(br#"{"title":"t","price":{"amount_cents":1e300}}"#).is_err());
    }

    #[test]
    fn the_digest_depends_on_path_and_body() {
        let a = request_digest("POST", "/a", b"{}");
        assert_eq!(a, request_digest("POST", "/a", b"{}"));
        assert_ne!(a, request_digest("POST", "/b", b"{}"));
        assert_ne!(a, request_digest("POST", "/a", b"{ }"));
    }
}

#[cfg(test)]
mod properties;
