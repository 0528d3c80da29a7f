//! The one rule for text the API accepts, wherever it arrives (a JSON body, a path, a query string), kept in one
//! place so that no handler has to remember it:
//!
//! - no control characters but tab, line feed and carriage return: U+0000 cannot be stored in PostgreSQL's
//!   `text` at all (so it must never reach an event a projection will store), and the others have no place in a
//!   name, a title or a search;
//! - no string longer than [`MAX_TEXT_CHARS`] characters; fields with a tighter limit state it in their decider.
//!
//! Refusals are `422 invalid_text` naming the field (`title`, `sections[2].title`, `query.search`, `path`).

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use crate::problem::{FieldError, Problem};

/// The longest string any field takes, in characters (a course description or a note fits; a megabyte does not).
pub const MAX_TEXT_CHARS: usize = 100 * 1024;

/// Why a piece of text is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextFault {
    /// A control character other than tab, line feed and carriage return (U+0000 included).
    ControlCharacter(char),
    TooLong,
}

impl TextFault {
    fn message(self) -> String {
        match self {
            TextFault::ControlCharacter(c) => {
                format!("must not contain the control character U+{:04X}", u32::from(c))
            }
            TextFault::TooLong => format!("must be at most {MAX_TEXT_CHARS} characters long"),
        }
    }
}

/// Checks one piece of text against the rule.
pub fn check(text: &str) -> Result<(), TextFault> {
    if let Some(c) = text.chars().find(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r')) {
        return Err(TextFault::ControlCharacter(c));
    }
    // Byte length bounds character length from above: only count when it could matter.
    if text.len() > MAX_TEXT_CHARS && text.chars().count() > MAX_TEXT_CHARS {
        return Err(TextFault::TooLong);
    }
    Ok(())
}

/// The refusal of `field` for `fault`.
pub fn problem(field: impl Into<String>, fault: TextFault) -> Problem {
    let field = field.into();
    let message = fault.message();
    Problem::rule("invalid_text", format!("{field} {message}.")).with_errors(vec![FieldError::new(field, message)])
}

/// Checks every string and every key of a parsed JSON body; the path of the first offender is named as
/// `a.b[2].c`, the way parse errors name fields.
pub fn check_json(value: &Value) -> Result<(), Problem> {
    let mut path = Vec::new();
    walk(value, &mut path)
}

enum Step<'a> {
    Key(&'a str),
    Index(usize),
}

fn walk<'a>(value: &'a Value, path: &mut Vec<Step<'a>>) -> Result<(), Problem> {
    match value {
        Value::String(text) => check(text).map_err(|fault| problem(render(path), fault)),
        Value::Array(items) => items.iter().enumerate().try_for_each(|(index, item)| {
            path.push(Step::Index(index));
            let result = walk(item, path);
            path.pop();
            result
        }),
        Value::Object(fields) => fields.iter().try_for_each(|(key, item)| {
            path.push(Step::Key(key));
            let result = check(key).map_err(|fault| problem(render(path), fault)).and_then(|()| walk(item, path));
            path.pop();
            result
        }),
        Value::Null | Value::Bool(_) | Value::Number(_) => Ok(()),
    }
}

fn render(path: &[Step<'_>]) -> String {
    let mut out = String::new();
    for step in path {
        match step {
            Step::Key(key) => {
                if !out.is_empty() {
                    out.push('.');
                }
                // A key is named as sent, minus what the rule refuses, so the answer never echoes it.
                out.extend(key.chars().filter(|c| !c.is_control()));
            }
            Step::Index(index) => out.push_str(&format!("[{index}]")),
        }
    }
    out
}

/// Middleware for every listener: the request's path and query string, percent-decoded, follow the rule
/// (`path`, `query.NAME`). Text that is not UTF-8 at all is refused the same way.
pub async fn guard_uri(request: Request, next: Next) -> Response {
    if let Err(problem) = check_uri(request.uri()) {
        return problem.into_response();
    }
    next.run(request).await
}

fn check_uri(uri: &http::Uri) -> Result<(), Problem> {
    let path = percent_encoding::percent_decode_str(uri.path()).decode_utf8().map_err(|_| {
        Problem::rule("invalid_text", "The path is not valid UTF-8.")
            .with_errors(vec![FieldError::new("path", "must be valid UTF-8")])
    })?;
    check(&path).map_err(|fault| problem("path", fault))?;
    if let Some(query) = uri.query() {
        for (name, value) in form_urlencoded::parse(query.as_bytes()) {
            let field = format!("query.{}", name.chars().filter(|c| !c.is_control()).collect::<String>());
            if name.contains('\u{FFFD}') || value.contains('\u{FFFD}') {
                // form_urlencoded replaces bytes that are not UTF-8; a real U+FFFD is refused too, which costs
                // no real user anything.
                return Err(Problem::rule("invalid_text", format!("{field} is not valid UTF-8."))
                    .with_errors(vec![FieldError::new(field, "must be valid UTF-8")]));
            }
            check(&name).map_err(|fault| problem(field.clone(), fault))?;
            check(&value).map_err(|fault| problem(field, fault))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ordinary_text_passes_whatever_its_script() {
        assert_eq!(check("Rust für Anfänger — 入门 — مقدمة\n\tline two\r\n"), Ok(()));
        assert_eq!(check(""), Ok(()));
    }

    #[test]
    fn nul_and_other_control_characters_are_refused() {
        assert_eq!(check("a\0b"), Err(TextFault::ControlCharacter('\0')));
        assert_eq!(check("bell\u{7}"), Err(TextFault::ControlCharacter('\u{7}')));
        assert_eq!(check("del\u{7f}"), Err(TextFault::ControlCharacter('\u{7f}')));
        assert_eq!(check("c1\u{85}"), Err(TextFault::ControlCharacter('\u{85}')));
    }

    #[test]
    fn length_counts_characters_not_bytes() {
        assert_eq!(check(&"é".repeat(MAX_TEXT_CHARS)), Ok(()));
        assert_eq!(check(&"a".repeat(MAX_TEXT_CHARS + 1)), Err(TextFault::TooLong));
    }

    #[test]
    fn the_offending_field_is_named_by_its_path() {
        let body = json!({"title": "ok", "sections": [{"title": "fine"}, {"title": "bad\u{0}"}]});
        let problem = check_json(&body).unwrap_err();
        assert_eq!(problem.code, "invalid_text");
        assert_eq!(problem.status, http::StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(problem.errors[0].field, "sections[1].title");
        let key = check_json(&json!({"a\u{0}": 1})).unwrap_err();
        assert_eq!(key.errors[0].field, "a");
        assert!(check_json(&json!({"n": 1, "b": true, "z": null, "list": ["x", "y"]})).is_ok());
    }

    #[test]
    fn paths_and_query_strings_are_decoded_before_the_check() {
        let uri: http::Uri = "/api/v1/courses?search=a%00b&page=1".parse().unwrap();
        assert_eq!(check_uri(&uri).unwrap_err().errors[0].field, "query.search");
        let uri: http::Uri = "/api/v1/courses/%00".parse().unwrap();
        assert_eq!(check_uri(&uri).unwrap_err().errors[0].field, "path");
        let uri: http::Uri = "/api/v1/courses?search=%FF".parse().unwrap();
        assert_eq!(check_uri(&uri).unwrap_err().errors[0].field, "query.search");
        let uri: http::Uri = "/api/v1/courses?search=caf%C3%A9+au+lait&sort=price".parse().unwrap();
        assert!(check_uri(&uri).is_ok());
    }
}
