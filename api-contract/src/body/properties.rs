//! Properties of strict body parsing on generated input: no body makes the parser panic, every refusal is answered
//! as problem JSON, a document whose text passes the text rule is taken as it is, and the request digest tells
//! apart any two requests that differ.

use axum::response::IntoResponse;
use futures_util::FutureExt;
use http::{StatusCode, header};
use proptest::prelude::*;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{parse_json, request_digest};
use crate::problem::Problem;
use crate::text;

/// Enough cases to find a slip, few enough for the fast tier; no regression files are written.
fn config() -> ProptestConfig {
    ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() }
}

#[derive(Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct Body {
    title: String,
    price: Price,
}

#[derive(Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct Price {
    amount_cents: i64,
}

/// Plain words most of the time, any Unicode text (control characters included) otherwise.
fn text() -> BoxedStrategy<String> {
    prop_oneof!["[A-Za-z0-9 ._-]{0,12}", any::<String>()].boxed()
}

/// Any JSON document of a few levels, its numbers integers (so that it compares equal once read back).
fn json_document() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        text().prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::from),
            prop::collection::btree_map(text(), inner, 0..5)
                .prop_map(|fields| Value::Object(fields.into_iter().collect())),
        ]
    })
}

/// Bytes of any kind: random, text, JSON, JSON cut short, or nested deeper than any parser should follow.
fn any_body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..256),
        any::<String>().prop_map(String::into_bytes),
        json_document().prop_map(|value| value.to_string().into_bytes()),
        (json_document(), any::<prop::sample::Index>()).prop_map(|(value, at)| {
            let mut bytes = value.to_string().into_bytes();
            bytes.truncate(at.index(bytes.len() + 1));
            bytes
        }),
        (1_usize..5_000, prop_oneof![Just("["), Just("{\"a\":")])
            .prop_map(|(depth, open)| open.repeat(depth).into_bytes()),
    ]
}

/// Every string and every key of `value` passes the text rule.
fn passes_text_rule(value: &Value) -> bool {
    match value {
        Value::String(text) => text::check(text).is_ok(),
        Value::Array(items) => items.iter().all(passes_text_rule),
        Value::Object(fields) => fields.iter().all(|(key, item)| text::check(key).is_ok() && passes_text_rule(item)),
        Value::Null | Value::Bool(_) | Value::Number(_) => true,
    }
}

/// A refused body is `400 malformed_request` or `422 invalid_text`, answered as problem JSON that says so.
fn refused_as_problem_json(problem: Problem) -> Result<(), TestCaseError> {
    let (status, code) = (problem.status, problem.code);
    let expected = [(StatusCode::BAD_REQUEST, "malformed_request"), (StatusCode::UNPROCESSABLE_ENTITY, "invalid_text")];
    prop_assert!(expected.contains(&(status, code)), "refused as {} {}", status, code);
    let response = problem.into_response();
    prop_assert_eq!(response.status(), status);
    prop_assert_eq!(&response.headers()[header::CONTENT_TYPE], "application/problem+json");
    // The body of a problem is in memory: reading it never waits.
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .now_or_never()
        .expect("a problem's body is ready")
        .map_err(|error| TestCaseError::fail(error.to_string()))?;
    let body: Value = serde_json::from_slice(&bytes).map_err(|error| TestCaseError::fail(error.to_string()))?;
    prop_assert_eq!(&body["status"], &json!(status.as_u16()));
    prop_assert_eq!(&body["code"], &json!(code));
    prop_assert_eq!(&body["type"], &json!(format!("https://learnlog.dev/problems/{code}")));
    prop_assert!(body["detail"].is_string() && body["errors"].is_array(), "{}", body);
    Ok(())
}

/// The field a refusal names, and its code; `None` for a body that was taken.
fn refusal<T>(parsed: &Result<T, Problem>) -> Option<(&'static str, &str)> {
    let problem = parsed.as_ref().err()?;
    Some((problem.code, problem.errors.first().map_or("", |error| error.field.as_str())))
}

/// What a request digest is given, and one way to change it.
#[derive(Debug, Clone)]
enum Change {
    None,
    Method,
    /// A character added to the path.
    Path,
    /// One byte of the body flipped, or one added to an empty body.
    BodyByte(prop::sample::Index),
    /// The path's last character moved to the front of the body: the same bytes, split elsewhere.
    Split,
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_body_is_parsed_or_refused_as_problem_json(bytes in any_body()) {
        if let Err(problem) = parse_json::<Value>(&bytes) {
            refused_as_problem_json(problem)?;
        }
        if let Err(problem) = parse_json::<Body>(&bytes) {
            refused_as_problem_json(problem)?;
        }
    }

    #[test]
    fn a_json_document_is_taken_as_it_is_exactly_when_its_text_passes_the_rule(value in json_document()) {
        let parsed = parse_json::<Value>(value.to_string().as_bytes());
        if passes_text_rule(&value) {
            prop_assert_eq!(parsed, Ok(value));
        } else {
            match parsed {
                Err(problem) if problem.code == "invalid_text" => refused_as_problem_json(problem)?,
                other => prop_assert!(false, "text the rule refuses was not refused for it: {:?}", other),
            }
        }
    }

    #[test]
    fn a_typed_body_takes_its_own_fields_and_names_any_other(
        title in text(),
        amount_cents in any::<i64>(),
        extra in prop::option::of("[a-z]{1,8}"),
    ) {
        let mut body = json!({ "title": title, "price": { "amount_cents": amount_cents } });
        if let Some(name) = &extra {
            body["price"][name] = json!(1);
        }
        let parsed = parse_json::<Body>(body.to_string().as_bytes());
        // The text rule is checked before the shape.
        match (text::check(&title), extra) {
            (Err(_), _) => prop_assert_eq!(refusal(&parsed), Some(("invalid_text", "title"))),
            (Ok(()), Some(name)) => {
                let field = format!("price.{name}");
                prop_assert_eq!(refusal(&parsed), Some(("malformed_request", field.as_str())));
            }
            (Ok(()), None) => prop_assert_eq!(parsed, Ok(Body { title, price: Price { amount_cents } })),
        }
    }

    #[test]
    fn a_number_written_with_a_zero_fraction_is_that_whole_number_and_a_half_is_refused(
        // Below 2^52, where every half is a double.
        whole in -(1_i64 << 52) + 1..(1_i64 << 52),
    ) {
        let body = |number: String| format!(r#"{{"title":"t","price":{{"amount_cents":{number}}}}}"#);
        let parsed = parse_json::<Body>(body(format!("{whole}.0")).as_bytes());
        prop_assert_eq!(parsed.map(|body| body.price.amount_cents), Ok(whole));
        let half = if whole < 0 { format!("-{}.5", whole.unsigned_abs()) } else { format!("{whole}.5") };
        let refused = parse_json::<Body>(body(half).as_bytes());
        prop_assert_eq!(refusal(&refused), Some(("malformed_request", "price.amount_cents")), "{:?}", refused);
    }

    #[test]
    fn the_digest_is_hex_sha256_and_changes_with_any_part_of_the_request(
        method in "[A-Z]{1,7}",
        path in "/[a-z0-9/%._-]{0,24}",
        body in prop::collection::vec(any::<u8>(), 0..64),
        change in prop_oneof![
            Just(Change::None),
            Just(Change::Method),
            Just(Change::Path),
            any::<prop::sample::Index>().prop_map(Change::BodyByte),
            Just(Change::Split),
        ],
    ) {
        let digest = request_digest(&method, &path, &body);
        prop_assert!(digest.len() == 64 && digest.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        let (mut other_method, mut other_path, mut other_body) = (method.clone(), path.clone(), body.clone());
        match &change {
            Change::None => {}
            Change::Method => other_method.push('X'),
            Change::Path => other_path.push('x'),
            Change::BodyByte(_) if other_body.is_empty() => other_body.push(0),
            Change::BodyByte(at) => {
                let at = at.index(other_body.len());
                other_body[at] ^= 0x01;
            }
            Change::Split => {
                let moved = other_path.pop().expect("a path starts with a slash");
                other_body.splice(0..0, moved.to_string().into_bytes());
            }
        }
        let other = request_digest(&other_method, &other_path, &other_body);
        prop_assert_eq!(digest == other, matches!(change, Change::None), "{:?}", change);
    }
}
