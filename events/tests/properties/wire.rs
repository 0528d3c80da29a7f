//! The Kafka record of a stored event: its headers and key read back as the same event, whatever its text fields
//! hold; a record with a header missing or unreadable is refused naming that header; and no record, however
//! broken, makes the reader panic.

use std::collections::HashMap;

use events::RecordedEvent;
use events::wire::{self, WireError};
use proptest::prelude::*;
use proptest::sample::Index;

use crate::config;
use crate::generated::{id, metadata, moment};

/// A stored event with every field generated: its type, payload and stream id as any text, since the record
/// carries them whether this code can read them or not.
fn recorded_event() -> impl Strategy<Value = RecordedEvent> {
    let place = (any::<i64>(), any::<String>(), any::<i64>(), id());
    let body = (any::<String>(), any::<i32>(), any::<String>(), metadata());
    (place, body, moment(), moment()).prop_map(
        |(
            (position, stream_id, stream_version, event_id),
            (event_type, schema_version, payload, metadata),
            occurred_at,
            recorded_at,
        )| RecordedEvent {
            position,
            stream_id,
            stream_version,
            event_id,
            event_type,
            schema_version,
            payload,
            metadata,
            occurred_at,
            recorded_at,
        },
    )
}

/// The headers every record has; the correlation and causation ids are copies of the metadata's, there only
/// when it has them.
const REQUIRED: [&str; 8] = [
    wire::EVENT_ID,
    wire::POSITION,
    wire::EVENT_TYPE,
    wire::SCHEMA_VERSION,
    wire::STREAM_VERSION,
    wire::OCCURRED_AT,
    wire::RECORDED_AT,
    wire::METADATA,
];

/// The headers whose text must parse (a number, an id, a time, the metadata's JSON).
const PARSED: [&str; 7] = [
    wire::EVENT_ID,
    wire::POSITION,
    wire::SCHEMA_VERSION,
    wire::STREAM_VERSION,
    wire::OCCURRED_AT,
    wire::RECORDED_AT,
    wire::METADATA,
];

fn header_map(event: &RecordedEvent) -> HashMap<&'static str, String> {
    wire::headers(event).into_iter().collect()
}

fn read(event: &RecordedEvent, headers: &HashMap<&'static str, String>) -> Result<RecordedEvent, WireError> {
    wire::from_record(&event.stream_id, &event.payload, |name| headers.get(name).cloned())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn a_stored_event_survives_the_trip_through_a_record(event in recorded_event()) {
        let headers = wire::headers(&event);
        let names: std::collections::HashSet<&str> = headers.iter().map(|(name, _)| *name).collect();
        prop_assert_eq!(names.len(), headers.len(), "a header is written once");
        prop_assert_eq!(read(&event, &header_map(&event)).ok(), Some(event));
    }

    #[test]
    fn a_record_without_one_of_its_headers_is_refused_naming_it(event in recorded_event(), which in any::<Index>()) {
        let missing = *which.get(&REQUIRED);
        let mut headers = header_map(&event);
        headers.remove(missing);
        prop_assert!(matches!(read(&event, &headers), Err(WireError::Missing(name)) if name == missing));
    }

    #[test]
    fn a_record_with_an_unreadable_header_is_refused_naming_it(
        event in recorded_event(),
        which in any::<Index>(),
        junk in "[a-z]{1,4}",
    ) {
        let spoiled = *which.get(&PARSED);
        let mut headers = header_map(&event);
        let text = headers.get_mut(spoiled).expect("every parsed header is written");
        text.insert_str(0, &junk);
        prop_assert!(matches!(read(&event, &headers), Err(WireError::Invalid(name)) if name == spoiled));
    }

    #[test]
    fn any_headers_are_read_or_refused_and_what_is_read_writes_back_the_same(
        key in any::<String>(),
        payload in any::<String>(),
        values in prop::collection::vec(prop::option::of(any::<String>()), REQUIRED.len()),
        event in recorded_event(),
        keep in prop::collection::vec(any::<bool>(), REQUIRED.len()),
    ) {
        // Each header is a real one, any text, or missing.
        let real = header_map(&event);
        let headers: HashMap<&str, String> = REQUIRED
            .iter()
            .zip(values)
            .zip(keep)
            .filter_map(|((name, value), keep)| match keep {
                true => real.get(name).cloned().map(|text| (*name, text)),
                false => value.map(|text| (*name, text)),
            })
            .collect();
        if let Ok(read) = wire::from_record(&key, &payload, |name| headers.get(name).cloned()) {
            prop_assert_eq!((read.stream_id.as_str(), read.payload.as_str()), (key.as_str(), payload.as_str()));
            let again = header_map(&read);
            let back = wire::from_record(&key, &payload, |name| again.get(name).cloned());
            prop_assert_eq!(back.ok(), Some(read));
        }
    }
}
