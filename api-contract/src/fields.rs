//! The schemas of request fields whose rule is narrower than the text rule ([`crate::text`]): a length, a
//! non-blank text, an email address, a code. A body type names them with `#[schema(schema_with = ...)]` in a
//! function of its own that passes the same constant its decider checks, so the document says exactly what the
//! server takes: a value the schema allows is accepted, one it does not is refused.
//!
//! Deciders trim what people type; the patterns allow the same surrounding white space.

use utoipa::openapi::schema::{Object, ObjectBuilder, SchemaType, Type};

use crate::text::MAX_TEXT_CHARS;

/// The control characters the text rule refuses, as a character-class body.
const CONTROL: &str = r"\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F";

/// White space a decider trims away, as a pattern may allow it around a value.
pub const SPACE: &str = r"[\t\n\r ]*";

/// Text within the text rule whose trimmed length is at most `max_chars` characters (blank included): deciders
/// trim what people type, then count, so the limit is written into the pattern around the trimmed part.
pub fn text(max_chars: usize) -> Object {
    string(format!("^{SPACE}({})?{SPACE}$", trimmed(max_chars)), 0, MAX_TEXT_CHARS).build()
}

/// [`text`], or `null`.
pub fn text_or_null(max_chars: usize) -> Object {
    nullable(string(format!("^{SPACE}({})?{SPACE}$", trimmed(max_chars)), 0, MAX_TEXT_CHARS))
}

/// Text with 1 to `max_chars` characters once trimmed.
pub fn filled(max_chars: usize) -> Object {
    string(format!("^{SPACE}{}{SPACE}$", trimmed(max_chars)), 1, MAX_TEXT_CHARS).build()
}

/// [`filled`], or `null`.
pub fn filled_or_null(max_chars: usize) -> Object {
    nullable(string(format!("^{SPACE}{}{SPACE}$", trimmed(max_chars)), 1, MAX_TEXT_CHARS))
}

/// Text with something besides white space in it and at most `max_chars` characters as sent (for deciders that
/// count before trimming).
pub fn filled_as_sent(max_chars: usize) -> Object {
    string(format!(r"^[^{CONTROL}]*[^{CONTROL}\s][^{CONTROL}]*$"), 1, max_chars).build()
}

/// 1 to `max_chars` characters that begin and end with something besides white space (what a decider's trim
/// leaves of a value).
fn trimmed(max_chars: usize) -> String {
    let inner = max_chars.saturating_sub(2);
    format!(r"[^{CONTROL}\s]([^{CONTROL}]{{0,{inner}}}[^{CONTROL}\s])?")
}

/// One of `values`.
pub fn one_of(values: &[&str]) -> Object {
    ObjectBuilder::new().schema_type(Type::String).enum_values(Some(values.to_vec())).build()
}

/// One of `values`, or `null`.
pub fn one_of_or_null(values: &[&str]) -> Object {
    let mut values: Vec<serde_json::Value> = values.iter().map(|value| serde_json::Value::from(*value)).collect();
    values.push(serde_json::Value::Null);
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
        .enum_values(Some(values))
        .build()
}

/// A list of some of `values`.
pub fn list_of(values: &[&str]) -> utoipa::openapi::schema::Array {
    utoipa::openapi::schema::ArrayBuilder::new().items(one_of(values)).build()
}

/// A list of some of `values`, or `null`.
pub fn list_of_or_null(values: &[&str]) -> utoipa::openapi::schema::Array {
    utoipa::openapi::schema::ArrayBuilder::new()
        .schema_type(SchemaType::from_iter([Type::Array, Type::Null]))
        .items(one_of(values))
        .build()
}

/// A secret of `min_chars` to `max_chars` characters, taken as typed (a password).
pub fn secret(min_chars: usize, max_chars: usize) -> Object {
    string(format!("^[^{CONTROL}]*$"), min_chars, max_chars).build()
}

/// Text matching `pattern` (which says where white space may go), of at most `max_chars` characters.
pub fn matching(pattern: &str, max_chars: usize) -> Object {
    string(pattern.to_owned(), 0, max_chars).build()
}

/// [`matching`], or `null`.
pub fn matching_or_null(pattern: &str, max_chars: usize) -> Object {
    nullable(string(pattern.to_owned(), 0, max_chars))
}

/// `name@host.tld` as the deciders check it: a local part, `@`, and a domain with a dot before its last part,
/// no white space inside; at most `max_chars` characters.
pub fn email(max_chars: usize) -> Object {
    let visible = format!(r"[^{CONTROL}\s");
    let pattern = format!(r"^{SPACE}{visible}@]+@{visible}]+\.{visible}.]+{SPACE}$");
    string(pattern, 3, max_chars).build()
}

/// An ISO 3166 alpha-2 country code (any case), or blank or `null` for none.
pub fn country_or_blank() -> Object {
    nullable(string(format!("^{SPACE}([A-Za-z]{{2}}{SPACE})?$"), 0, MAX_TEXT_CHARS))
}

/// An ISO 3166 alpha-2 country code (any case), or `null` for no change.
pub fn country_or_null() -> Object {
    nullable(string(format!("^{SPACE}[A-Za-z]{{2}}{SPACE}$"), 2, MAX_TEXT_CHARS))
}

/// A list of `min_items` to `max_items` ids.
pub fn ids(min_items: usize, max_items: usize) -> utoipa::openapi::schema::Array {
    let id = ObjectBuilder::new()
        .schema_type(Type::String)
        .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(utoipa::openapi::KnownFormat::Uuid)));
    utoipa::openapi::schema::ArrayBuilder::new().items(id).min_items(Some(min_items)).max_items(Some(max_items)).build()
}

fn string(pattern: String, min_chars: usize, max_chars: usize) -> ObjectBuilder {
    let builder = ObjectBuilder::new().schema_type(Type::String).pattern(Some(pattern)).max_length(Some(max_chars));
    if min_chars > 0 { builder.min_length(Some(min_chars)) } else { builder }
}

fn nullable(builder: ObjectBuilder) -> Object {
    builder.schema_type(SchemaType::from_iter([Type::String, Type::Null])).build()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(object: &Object) -> String {
        serde_json::to_value(object).expect("serialises")["pattern"].as_str().expect("a pattern").to_owned()
    }

    #[test]
    fn the_patterns_are_ecma_regular_expressions_with_the_control_class() {
        let filled = pattern(&filled(10));
        assert!(filled.contains("[^\\u0000-") && filled.contains("{0,8}"), "{filled}");
        let email = pattern(&email(254));
        assert!(email.contains("@]+@") && email.ends_with(&format!(".]+{SPACE}$")), "{email}");
        let nullable = serde_json::to_value(filled_or_null(5)).expect("serialises");
        assert_eq!(nullable["type"], serde_json::json!(["string", "null"]));
    }
}
