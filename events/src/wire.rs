//! The Kafka record of a stored event, a public contract for every consumer: key = stream id, value = the
//! stored payload JSON, and these headers (UTF-8 text). Pure functions; the relay and the Kafka source do
//! the IO.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::envelope::{Metadata, RecordedEvent};

pub const EVENT_ID: &str = "event_id";
pub const POSITION: &str = "position";
pub const EVENT_TYPE: &str = "event_type";
pub const SCHEMA_VERSION: &str = "schema_version";
pub const STREAM_VERSION: &str = "stream_version";
pub const CORRELATION_ID: &str = "correlation_id";
/// The event that caused the event's command, when a saga sent it.
pub const CAUSATION_ID: &str = "causation_id";
pub const OCCURRED_AT: &str = "occurred_at";
pub const RECORDED_AT: &str = "recorded_at";
/// The whole metadata object as JSON (correlation, causation, actor).
pub const METADATA: &str = "metadata";

#[derive(Debug, thiserror::Error)]
pub enum WireError {
    #[error("header {0:?} is missing")]
    Missing(&'static str),
    #[error("header {0:?} is not valid")]
    Invalid(&'static str),
}

/// The headers of `event`, in a fixed order.
pub fn headers(event: &RecordedEvent) -> Vec<(&'static str, String)> {
    let time = |at: OffsetDateTime| at.format(&Rfc3339).unwrap_or_default();
    let metadata = serde_json::to_string(&event.metadata).unwrap_or_else(|_| "{}".to_owned());
    let mut headers = vec![
        (EVENT_ID, event.event_id.to_string()),
        (POSITION, event.position.to_string()),
        (EVENT_TYPE, event.event_type.clone()),
        (SCHEMA_VERSION, event.schema_version.to_string()),
        (STREAM_VERSION, event.stream_version.to_string()),
        (OCCURRED_AT, time(event.occurred_at)),
        (RECORDED_AT, time(event.recorded_at)),
        (METADATA, metadata),
    ];
    if let Some(correlation) = event.metadata.correlation_id {
        headers.push((CORRELATION_ID, correlation.to_string()));
    }
    if let Some(causation) = event.metadata.causation_id {
        headers.push((CAUSATION_ID, causation.to_string()));
    }
    headers
}

/// Rebuilds the stored event from a record's key, value and headers.
pub fn from_record(
    key: &str,
    payload: &str,
    header: impl Fn(&str) -> Option<String>,
) -> Result<RecordedEvent, WireError> {
    let text = |name: &'static str| header(name).ok_or(WireError::Missing(name));
    let number =
        |name: &'static str| -> Result<i64, WireError> { text(name)?.parse().map_err(|_| WireError::Invalid(name)) };
    let time = |name: &'static str| -> Result<OffsetDateTime, WireError> {
        OffsetDateTime::parse(&text(name)?, &Rfc3339).map_err(|_| WireError::Invalid(name))
    };
    let metadata: Metadata = serde_json::from_str(&text(METADATA)?).map_err(|_| WireError::Invalid(METADATA))?;
    Ok(RecordedEvent {
        position: number(POSITION)?,
        stream_id: key.to_owned(),
        stream_version: number(STREAM_VERSION)?,
        event_id: text(EVENT_ID)?.parse().map_err(|_| WireError::Invalid(EVENT_ID))?,
        event_type: text(EVENT_TYPE)?,
        schema_version: i32::try_from(number(SCHEMA_VERSION)?).map_err(|_| WireError::Invalid(SCHEMA_VERSION))?,
        payload: payload.to_owned(),
        metadata,
        occurred_at: time(OCCURRED_AT)?,
        recorded_at: time(RECORDED_AT)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envelope::{Actor, Role};
    use std::collections::HashMap;
    use uuid::Uuid;

    fn event() -> RecordedEvent {
        RecordedEvent {
            position: 42,
            stream_id: "course-1".into(),
            stream_version: 3,
            event_id: Uuid::now_v7(),
            event_type: "CoursePublished".into(),
            schema_version: 1,
            payload: r#"{"course_id":"0193a5b0-7e1c-7cc0-8a3e-5f1a2b3c4d5e"}"#.into(),
            metadata: Metadata {
                correlation_id: Some(Uuid::now_v7()),
                causation_id: None,
                actor: Some(Actor { user_id: Uuid::now_v7(), role: Role::Instructor }),
            },
            occurred_at: OffsetDateTime::UNIX_EPOCH + time::Duration::milliseconds(1_234_567),
            recorded_at: OffsetDateTime::UNIX_EPOCH + time::Duration::milliseconds(1_234_999),
        }
    }

    #[test]
    fn an_event_survives_the_trip_through_a_record() {
        let original = event();
        let headers: HashMap<&str, String> = headers(&original).into_iter().collect();
        let back = from_record(&original.stream_id, &original.payload, |name| headers.get(name).cloned());
        assert_eq!(back.ok(), Some(original));
    }

    #[test]
    fn a_record_without_its_headers_is_refused_by_name() {
        let error = from_record("course-1", "{}", |_| None).expect_err("no headers");
        assert!(matches!(error, WireError::Missing(_)));
        let original = event();
        let mut headers: HashMap<&str, String> = headers(&original).into_iter().collect();
        headers.insert(POSITION, "forty-two".into());
        let error = from_record("course-1", "{}", |name| headers.get(name).cloned()).expect_err("bad position");
        assert!(matches!(error, WireError::Invalid(POSITION)));
    }
}
