//! The columns of an event type's table: the envelope's, then the payload's, flattened from the JSON Schema of
//! the type's current version ([`events::Event::schema`]). A nested object becomes one column per field
//! (`parent_child`); arrays, personal fields (sealed or erased, never clear) and anything else that is not a
//! scalar become JSON text.

use serde_json::Value;

/// How a payload value is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Int64,
    Float64,
    Boolean,
    Text,
    /// An RFC 3339 time, stored as a UTC timestamp in microseconds.
    Timestamp,
    /// A calendar date (`2026-11-30`).
    Date,
    /// Anything else, as JSON text.
    Json,
}

/// One payload column: its name, where its value is in the payload, its kind, and whether it may be empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    pub path: Vec<String>,
    pub kind: Kind,
    pub nullable: bool,
}

/// The names of the envelope's columns, which come first in every table.
pub const ENVELOPE: &[&str] = &[
    "position",
    "stream_id",
    "stream_version",
    "event_id",
    "event_type",
    "schema_version",
    "occurred_at",
    "recorded_at",
    "correlation_id",
    "causation_id",
    "actor_id",
    "actor_role",
];

/// The payload columns of `event_type`; `None` for a type this code does not know.
pub fn payload_columns(event_type: &str) -> Option<Vec<Column>> {
    let schema = events::Event::schema(event_type)?;
    let components = schema.get("components").cloned().unwrap_or(Value::Null);
    let mut columns = Vec::new();
    flatten(&schema["schema"], &components, &[], false, &mut columns);
    // A payload field named like an envelope column keeps its data under `payload_<name>`.
    for column in &mut columns {
        if ENVELOPE.contains(&column.name.as_str()) {
            column.name = format!("payload_{}", column.name);
        }
    }
    Some(columns)
}

/// The schema `schema` stands for, following a `$ref` into `components`.
fn resolve<'a>(schema: &'a Value, components: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(reference) => {
            let name = reference.rsplit('/').next().unwrap_or_default();
            components.get(name).unwrap_or(&Value::Null)
        }
        None => schema,
    }
}

/// The schema's type and whether it admits null (`"type": ["string", "null"]`).
fn type_of(schema: &Value) -> (Option<&str>, bool) {
    match schema.get("type") {
        Some(Value::String(kind)) => (Some(kind.as_str()), false),
        Some(Value::Array(kinds)) => {
            let null = kinds.iter().any(|kind| kind == "null");
            (kinds.iter().filter_map(Value::as_str).find(|kind| *kind != "null"), null)
        }
        _ => (None, false),
    }
}

fn flatten(schema: &Value, components: &Value, path: &[String], optional: bool, columns: &mut Vec<Column>) {
    let schema = resolve(schema, components);
    let (kind, null) = type_of(schema);
    let nullable = optional || null;
    let properties = schema.get("properties").and_then(Value::as_object);
    match (kind, properties) {
        (Some("object"), Some(properties)) if !path.is_empty() || schema.get("oneOf").is_none() => {
            let required: Vec<&str> = schema
                .get("required")
                .and_then(Value::as_array)
                .map(|names| names.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            for (name, property) in properties {
                let mut inner = path.to_vec();
                inner.push(name.clone());
                flatten(property, components, &inner, nullable || !required.contains(&name.as_str()), columns);
            }
        }
        _ if path.is_empty() => {}
        _ => {
            let format = schema.get("format").and_then(Value::as_str);
            let kind = match (kind, format) {
                (Some("integer"), _) => Kind::Int64,
                (Some("number"), _) => Kind::Float64,
                (Some("boolean"), _) => Kind::Boolean,
                (Some("string"), Some("date-time")) => Kind::Timestamp,
                (Some("string"), Some("date")) => Kind::Date,
                (Some("string"), _) => Kind::Text,
                _ => Kind::Json,
            };
            columns.push(Column { name: path.join("_"), path: path.to_vec(), kind, nullable });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column<'a>(columns: &'a [Column], name: &str) -> &'a Column {
        columns.iter().find(|column| column.name == name).unwrap_or_else(|| panic!("{name} in {columns:?}"))
    }

    #[test]
    fn scalars_get_their_types_and_optional_fields_may_be_empty() {
        let columns = payload_columns("OrderPaid").expect("known");
        assert_eq!(column(&columns, "amount_cents").kind, Kind::Int64);
        assert!(!column(&columns, "amount_cents").nullable);
        assert_eq!(column(&columns, "currency").kind, Kind::Text);
        assert_eq!(column(&columns, "method").kind, Kind::Text, "an enum is its text");
        let reference = column(&columns, "payment_reference");
        assert!(reference.nullable && reference.kind == Kind::Text);
    }

    #[test]
    fn personal_fields_and_lists_are_json_and_times_are_timestamps() {
        let registered = payload_columns("IndividualTraineeRegistered").expect("known");
        assert_eq!(column(&registered, "email").kind, Kind::Json);
        let placed = payload_columns("OrderPlaced").expect("known");
        assert_eq!(column(&placed, "lines").kind, Kind::Json);
        let every_type_has_columns = events::Event::TYPES.iter().all(|t| payload_columns(t).is_some());
        assert!(every_type_has_columns);
        let times = events::Event::TYPES
            .iter()
            .flat_map(|t| payload_columns(t).unwrap_or_default())
            .filter(|c| c.kind == Kind::Timestamp)
            .count();
        assert!(times > 0, "some payloads carry times");
        assert!(payload_columns("NoSuchEvent").is_none());
    }
}
