//! The stored event codec and its envelope: reading stored text never panics, whatever the type, version and
//! payload say, and what this code writes reads back as the same event, both for generated events and for the
//! golden fixtures with one part of them changed. The fixtures are read once.

use std::sync::OnceLock;

use events::{DecodeError, Event, Metadata, RecordedEvent};
use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::Value;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::config;
use crate::generated::{event, json, order_paid_in_dollars};

/// Every golden fixture: type, schema version and payload.
fn fixtures() -> &'static [(String, i32, String)] {
    static FIXTURES: OnceLock<Vec<(String, i32, String)>> = OnceLock::new();
    FIXTURES.get_or_init(|| {
        let dir = crate::package_dir().join("tests/fixtures");
        let mut found: Vec<_> = std::fs::read_dir(dir)
            .expect("fixtures folder")
            .map(|entry| {
                let path = entry.expect("fixture entry").path();
                let name = path.file_name().and_then(|n| n.to_str()).expect("utf-8 name").to_owned();
                let (event_type, rest) = name.split_once(".v").expect("name is <Type>.v<N>.json");
                let version = rest.trim_end_matches(".json").parse().expect("numeric version");
                let payload = std::fs::read_to_string(&path).expect("fixture text").trim().to_owned();
                (event_type.to_owned(), version, payload)
            })
            .collect();
        // The same order on every machine, so that a failing case names the same fixture.
        found.sort();
        found
    })
}

fn recorded(event_type: &str, schema_version: i32, payload: &str) -> RecordedEvent {
    RecordedEvent {
        position: 7,
        stream_id: "order-1".to_owned(),
        stream_version: 1,
        event_id: Uuid::from_u128(1),
        event_type: event_type.to_owned(),
        schema_version,
        payload: payload.to_owned(),
        metadata: Metadata::default(),
        occurred_at: OffsetDateTime::UNIX_EPOCH,
        recorded_at: OffsetDateTime::UNIX_EPOCH,
    }
}

/// What this code writes of `event` reads back as `event`, and its payload value is the text it writes.
fn reads_back(event: &Event) -> Result<(), TestCaseError> {
    let text = event.encode();
    let again = Event::decode(event.event_type(), event.schema_version(), &text).ok();
    prop_assert_eq!(again.as_ref(), Some(event), "{} does not read back from {}", event.event_type(), text);
    let value: Value = serde_json::from_str(&text).map_err(|error| TestCaseError::fail(error.to_string()))?;
    prop_assert_eq!(value, event.payload());
    Ok(())
}

/// A refusal names what is wrong: the type when it is unknown, the version when the type has no such one, and
/// the payload otherwise; an event that decodes is of the type asked for, at the current version, and reads back.
fn decoded_as_told(event_type: &str, version: i32, decoded: &Result<Event, DecodeError>) -> Result<(), TestCaseError> {
    let known = Event::versions(event_type);
    let readable = known.is_some_and(|(oldest, current)| (oldest..=current).contains(&version));
    match decoded {
        Err(DecodeError::UnknownType(named)) => prop_assert!(known.is_none() && named == event_type),
        Err(DecodeError::UnknownVersion { schema_version, .. }) => {
            prop_assert!(known.is_some() && !readable && *schema_version == version)
        }
        Err(DecodeError::Payload { event_type: named, .. }) => prop_assert!(readable && named == event_type),
        Ok(event) => {
            prop_assert!(readable);
            prop_assert_eq!(event.event_type(), event_type);
            prop_assert_eq!(Some(event.schema_version()), known.map(|(_, current)| current));
            reads_back(event)?;
        }
    }
    Ok(())
}

/// Upcast for other readers (Kafka), a stored event that this code decodes becomes that event at its current
/// version; one of a type or version this code does not know goes as it is stored, for its readers to park; and a
/// payload this code cannot read does not become readable on the way.
fn upcast_as_told(stored: &RecordedEvent, decoded: Result<Event, DecodeError>) -> Result<(), TestCaseError> {
    let upcast = stored.upcast();
    match decoded {
        Ok(event) => {
            prop_assert_eq!(upcast.schema_version, event.schema_version());
            prop_assert_eq!(upcast.decode().ok(), Some(event));
        }
        Err(DecodeError::Payload { .. }) => prop_assert!(upcast.decode().is_err()),
        Err(DecodeError::UnknownType(_) | DecodeError::UnknownVersion { .. }) => {
            prop_assert_eq!(upcast.as_ref(), stored)
        }
    }
    Ok(())
}

/// A type this code knows, or any text.
fn event_type() -> impl Strategy<Value = String> {
    prop_oneof![3 => prop::sample::select(Event::TYPES).prop_map(str::to_owned), 1 => any::<String>()]
}

/// Versions near the released ones, or any.
fn version() -> impl Strategy<Value = i32> {
    prop_oneof![3 => -1..4_i32, 1 => any::<i32>()]
}

/// One change to a golden fixture.
#[derive(Debug, Clone)]
enum Change {
    Unchanged,
    /// The value at one place (a field or an item, at any depth) becomes another of its kind: an id another id,
    /// text other text, a number another number.
    Alike(Index, Alike),
    /// The value at one place becomes any JSON.
    Replaced(Index, Value),
    /// One field is left out.
    Dropped(Index),
    /// A field is added at the top.
    Added(String, Value),
    /// The text is cut short (at a character boundary; elsewhere it is left whole).
    Cut(Index),
}

#[derive(Debug, Clone)]
struct Alike {
    id: Uuid,
    text: String,
    number: i64,
    small: u8,
    flag: bool,
}

fn change() -> impl Strategy<Value = Change> {
    let alike = (any::<u128>(), any::<String>(), any::<i64>(), any::<u8>(), any::<bool>())
        .prop_map(|(id, text, number, small, flag)| Alike { id: Uuid::from_u128(id), text, number, small, flag });
    prop_oneof![
        1 => Just(Change::Unchanged),
        6 => (any::<Index>(), alike).prop_map(|(at, alike)| Change::Alike(at, alike)),
        2 => (any::<Index>(), json()).prop_map(|(at, value)| Change::Replaced(at, value)),
        2 => any::<Index>().prop_map(Change::Dropped),
        1 => ("[a-z_]{1,12}", json()).prop_map(|(key, value)| Change::Added(key, value)),
        1 => any::<Index>().prop_map(Change::Cut),
    ]
}

/// The JSON pointer of every value inside `value` (not `value` itself), and whether each is an object's field.
fn places(value: &Value, at: &str, found: &mut Vec<(String, bool)>) {
    let children: Vec<(String, &Value, bool)> = match value {
        Value::Object(fields) => {
            fields.iter().map(|(key, item)| (key.replace('~', "~0").replace('/', "~1"), item, true)).collect()
        }
        Value::Array(items) => items.iter().enumerate().map(|(index, item)| (index.to_string(), item, false)).collect(),
        _ => Vec::new(),
    };
    for (step, item, is_field) in children {
        let pointer = format!("{at}/{step}");
        found.push((pointer.clone(), is_field));
        places(item, &pointer, found);
    }
}

/// `payload` with `change` made.
fn changed(payload: &str, change: &Change) -> String {
    if let Change::Cut(at) = change {
        let cut = at.index(payload.len() + 1);
        return payload.get(..cut).unwrap_or(payload).to_owned();
    }
    let mut value: Value = serde_json::from_str(payload).expect("a fixture is JSON");
    let mut found = Vec::new();
    places(&value, "", &mut found);
    match change {
        Change::Unchanged | Change::Cut(_) => {}
        Change::Alike(at, alike) if !found.is_empty() => {
            let place = value.pointer_mut(&at.get(&found).0).expect("a place found");
            let other = match place {
                Value::String(text) if Uuid::parse_str(text).is_ok() => Value::from(alike.id.to_string()),
                Value::String(_) => Value::from(alike.text.clone()),
                Value::Number(number) if number.as_u64().is_some_and(|n| n <= 255) => Value::from(alike.small),
                Value::Number(_) => Value::from(alike.number),
                Value::Bool(_) => Value::from(alike.flag),
                // Null stays null; a list or an object is changed through its items.
                _ => place.clone(),
            };
            *place = other;
        }
        Change::Replaced(at, replacement) if !found.is_empty() => {
            *value.pointer_mut(&at.get(&found).0).expect("a place found") = replacement.clone();
        }
        Change::Dropped(at) => {
            let fields: Vec<&String> = found.iter().filter(|(_, is_field)| *is_field).map(|(place, _)| place).collect();
            if !fields.is_empty() {
                let place = at.get(&fields);
                let (parent, key) = place.rsplit_once('/').expect("a pointer has a slash");
                let key = key.replace("~1", "/").replace("~0", "~");
                value.pointer_mut(parent).and_then(Value::as_object_mut).expect("a field's parent").remove(&key);
            }
        }
        Change::Added(key, added) => {
            value.as_object_mut().expect("a payload is an object").insert(key.clone(), added.clone());
        }
        Change::Alike(..) | Change::Replaced(..) => {}
    }
    value.to_string()
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_type_version_and_text_decodes_or_is_refused_for_what_is_wrong(
        event_type in event_type(),
        version in version(),
        payload in prop_oneof![any::<String>(), json().prop_map(|value| value.to_string())],
    ) {
        decoded_as_told(&event_type, version, &Event::decode(&event_type, version, &payload))?;
        let _ = events::upcast(&event_type, version, &payload);
    }

    #[test]
    fn any_bytes_as_a_stored_event_decode_or_are_refused_and_leave_as_they_are(
        event_type in event_type(),
        version in version(),
        bytes in prop::collection::vec(any::<u8>(), 0..512),
    ) {
        let stored = recorded(&event_type, version, &String::from_utf8_lossy(&bytes));
        let decoded = stored.decode();
        decoded_as_told(&event_type, version, &decoded)?;
        upcast_as_told(&stored, decoded)?;
    }

    #[test]
    fn a_golden_fixture_with_one_part_changed_decodes_or_is_refused_and_what_decodes_reads_back(
        fixture in any::<Index>(),
        change in change(),
    ) {
        let (event_type, version, payload) = fixture.get(fixtures());
        let payload = changed(payload, &change);
        let stored = recorded(event_type, *version, &payload);
        let decoded = stored.decode();
        decoded_as_told(event_type, *version, &decoded)?;
        if matches!(change, Change::Unchanged) {
            prop_assert!(decoded.is_ok(), "{} v{} no longer decodes", event_type, version);
        }
        upcast_as_told(&stored, decoded)?;
    }

    #[test]
    fn a_generated_event_reads_back_as_it_was_written_and_leaves_unchanged(event in event()) {
        reads_back(&event)?;
        let stored = recorded(event.event_type(), event.schema_version(), &event.encode());
        let decoded = stored.decode().ok();
        prop_assert_eq!(decoded.as_ref(), Some(&event));
        prop_assert!(matches!(stored.upcast(), std::borrow::Cow::Borrowed(_)), "a current payload is not rewritten");
    }

    #[test]
    fn an_order_paid_of_version_one_reads_as_version_two_in_dollars(paid in order_paid_in_dollars()) {
        let mut v1 = paid.payload();
        v1.as_object_mut().expect("an object").remove("currency");
        let stored = recorded("OrderPaid", 1, &v1.to_string());
        let decoded = stored.decode().ok();
        prop_assert_eq!(decoded.as_ref(), Some(&paid));
        let upcast = stored.upcast();
        prop_assert_eq!(upcast.schema_version, 2);
        prop_assert_eq!(upcast.decode().ok(), Some(paid));
    }
}
