//! The event history as analysts get it, through the feed API and the exports: in global order, every payload
//! upcast to its type's current schema version, and personal data never in clear. A sealed field stays sealed
//! while its owner's key exists and reads `{"erased": true}` once the key is gone; clear text (identity
//! events of schema version 1, written before sealing existed) never leaves and reads as erased too.

use std::collections::HashSet;

use database::Database;
use events::{Event, Metadata, Personal, RecordedEvent};
use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::ReadError;
use crate::feed::{EVENT_COLUMNS, recorded_event};

/// Which part of the history to read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HistoryQuery {
    /// Events after this global position (0: from the beginning).
    pub after: i64,
    /// At most this many events.
    pub limit: i64,
    /// Only these event types; every type when empty.
    pub types: Vec<String>,
    /// Only streams whose id starts with this.
    pub stream_prefix: Option<String>,
    /// Only events before this position.
    pub before: Option<i64>,
}

/// One event of the history, ready to leave the system.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryEvent {
    pub position: i64,
    pub stream_id: String,
    pub stream_version: i64,
    pub event_id: Uuid,
    pub event_type: String,
    /// The schema version of `event` (the current one), or the stored one when it does not decode.
    pub schema_version: i32,
    pub metadata: Metadata,
    pub occurred_at: OffsetDateTime,
    pub recorded_at: OffsetDateTime,
    /// The decoded event; why it does not decode otherwise (a type or version of a newer release).
    pub event: Result<Event, String>,
}

/// The envelope of an NDJSON line; the payload is spliced in after it.
#[derive(Serialize)]
struct Envelope<'a> {
    position: i64,
    stream_id: &'a str,
    stream_version: i64,
    event_id: Uuid,
    event_type: &'a str,
    schema_version: i32,
    #[serde(with = "time::serde::rfc3339")]
    occurred_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    recorded_at: OffsetDateTime,
    metadata: &'a Metadata,
    #[serde(skip_serializing_if = "Option::is_none")]
    undecodable: Option<&'a str>,
}

impl HistoryEvent {
    /// The event as one line of NDJSON (with its newline): the envelope's fields, then `payload` (`null` for an
    /// event that does not decode, with `undecodable` saying why).
    pub fn ndjson_line(&self) -> String {
        let envelope = Envelope {
            position: self.position,
            stream_id: &self.stream_id,
            stream_version: self.stream_version,
            event_id: self.event_id,
            event_type: &self.event_type,
            schema_version: self.schema_version,
            occurred_at: self.occurred_at,
            recorded_at: self.recorded_at,
            metadata: &self.metadata,
            undecodable: self.event.as_ref().err().map(String::as_str),
        };
        let mut line = serde_json::to_string(&envelope)
            .unwrap_or_else(|error| unreachable!("an envelope of ids, numbers and text serialises: {error}"));
        line.pop();
        line.push_str(",\"payload\":");
        match &self.event {
            Ok(event) => line.push_str(&event.encode()),
            Err(_) => line.push_str("null"),
        }
        line.push_str("}\n");
        line
    }
}

/// The position of the newest event (0 for an empty store).
pub async fn head(store: &Database) -> Result<i64, ReadError> {
    let client = store.pool().get().await?;
    Ok(client.query_one("SELECT COALESCE(max(position), 0) FROM events", &[]).await?.try_get(0)?)
}

/// The first position after `after` of an event recorded after `time`: the history as it stood at `time` is
/// every event before it. Positions follow commits, not the clock of each transaction, so an event recorded
/// later can come before one recorded earlier; cutting at the first one keeps the cut a prefix of the feed,
/// which an incremental reader can go on from.
pub async fn first_recorded_after(
    store: &Database,
    after: i64,
    time: OffsetDateTime,
) -> Result<Option<i64>, ReadError> {
    let client = store.pool().get().await?;
    let statement =
        client.prepare_cached("SELECT min(position) FROM all_events WHERE position > $1 AND recorded_at > $2").await?;
    Ok(client.query_one(&statement, &[&after, &time]).await?.try_get(0)?)
}

/// Reads one page of the history.
pub async fn read_page(store: &Database, query: &HistoryQuery) -> Result<Vec<HistoryEvent>, ReadError> {
    let client = store.pool().get().await?;
    let statement = client
        .prepare_cached(&format!(
            "SELECT {EVENT_COLUMNS} FROM all_events WHERE position > $1 \
             AND (cardinality($3::text[]) = 0 OR event_type = ANY($3)) \
             AND ($4::text IS NULL OR starts_with(stream_id, $4)) \
             AND ($5::bigint IS NULL OR position < $5) \
             ORDER BY position LIMIT $2"
        ))
        .await?;
    let rows = client
        .query(&statement, &[&query.after, &query.limit, &query.types, &query.stream_prefix, &query.before])
        .await?;
    let recorded: Vec<RecordedEvent> = rows.iter().map(recorded_event).collect::<Result<_, _>>()?;
    let mut decoded: Vec<(RecordedEvent, Result<Event, String>)> = recorded
        .into_iter()
        .map(|recorded| {
            // A reason without the decoder's message, which may quote the payload.
            let event = recorded.decode().map_err(|error| match error {
                events::DecodeError::UnknownType(_) => "an event type this release does not know".to_owned(),
                events::DecodeError::UnknownVersion { schema_version, .. } => {
                    format!("schema version {schema_version}, which this release does not know")
                }
                events::DecodeError::Payload { .. } => "a payload that does not decode".to_owned(),
            });
            (recorded, event)
        })
        .collect();
    let mut owners: Vec<Uuid> = decoded
        .iter_mut()
        .filter_map(|(_, event)| event.as_mut().ok()?.personal_mut().map(|(owner, _)| owner))
        .collect();
    owners.sort_unstable();
    owners.dedup();
    let keyed: HashSet<Uuid> = if owners.is_empty() {
        HashSet::new()
    } else {
        let statement = client.prepare_cached("SELECT user_id FROM user_keys WHERE user_id = ANY($1)").await?;
        let rows = client.query(&statement, &[&owners]).await?;
        rows.iter().map(|row| row.try_get(0)).collect::<Result<_, _>>()?
    };
    Ok(decoded
        .into_iter()
        .map(|(recorded, mut event)| {
            if let Ok(event) = &mut event {
                withhold_personal(event, &keyed);
            }
            HistoryEvent {
                position: recorded.position,
                schema_version: event.as_ref().map_or(recorded.schema_version, Event::schema_version),
                stream_id: recorded.stream_id,
                stream_version: recorded.stream_version,
                event_id: recorded.event_id,
                event_type: recorded.event_type,
                metadata: recorded.metadata,
                occurred_at: recorded.occurred_at,
                recorded_at: recorded.recorded_at,
                event,
            }
        })
        .collect())
}

/// Leaves a personal field sealed while its owner has a key (`keyed`), and marks it erased otherwise; clear
/// text never leaves.
fn withhold_personal(event: &mut Event, keyed: &HashSet<Uuid>) {
    let Some((owner, fields)) = event.personal_mut() else { return };
    for field in fields {
        if matches!(field, Personal::Clear(_)) || !keyed.contains(&owner) {
            *field = Personal::Erased;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use events::AnalystCreated;

    fn analyst(email: Personal) -> Event {
        Event::AnalystCreated(AnalystCreated {
            user_id: Uuid::nil(),
            email,
            username: Personal::Sealed("c2VhbGVk".into()),
            name: Personal::Sealed("c2VhbGVk".into()),
            country: Some("DE".into()),
            created_by: None,
        })
    }

    #[test]
    fn sealed_data_stays_sealed_while_its_key_exists_and_clear_text_never_leaves() {
        let keyed = HashSet::from([Uuid::nil()]);
        let mut event = analyst(Personal::clear("ada@example.com"));
        withhold_personal(&mut event, &keyed);
        let encoded = event.encode();
        assert!(!encoded.contains("ada@example.com"), "{encoded}");
        assert!(encoded.contains(r#""email":{"erased":true}"#), "{encoded}");
        assert!(encoded.contains(r#""name":{"sealed":"c2VhbGVk"}"#), "{encoded}");
        assert!(encoded.contains(r#""country":"DE""#), "{encoded}");
    }

    #[test]
    fn every_personal_field_of_a_person_without_a_key_reads_as_erased() {
        let mut event = analyst(Personal::Sealed("c2VhbGVk".into()));
        withhold_personal(&mut event, &HashSet::new());
        let encoded = event.encode();
        assert!(!encoded.contains("sealed"), "{encoded}");
        assert_eq!(encoded.matches(r#"{"erased":true}"#).count(), 3, "{encoded}");
    }

    #[test]
    fn a_line_is_the_envelope_then_the_payload() {
        let at = OffsetDateTime::from_unix_timestamp(1_790_000_000).expect("a time");
        let history = HistoryEvent {
            position: 7,
            stream_id: "user-x".into(),
            stream_version: 1,
            event_id: Uuid::nil(),
            event_type: "AnalystCreated".into(),
            schema_version: 1,
            metadata: Metadata::default(),
            occurred_at: at,
            recorded_at: at,
            event: Ok(analyst(Personal::Erased)),
        };
        let line = history.ndjson_line();
        assert!(line.ends_with("}\n") && line.matches('\n').count() == 1);
        let value: serde_json::Value = serde_json::from_str(&line).expect("one JSON object");
        assert_eq!(value["position"], 7);
        assert_eq!(value["payload"]["country"], "DE");
        assert_eq!(value["occurred_at"], "2026-09-21T14:13:20Z");
        assert!(value.get("undecodable").is_none());
        let broken = HistoryEvent { event: Err("unknown event type \"Later\"".into()), ..history };
        let value: serde_json::Value = serde_json::from_str(&broken.ndjson_line()).expect("one JSON object");
        assert!(value["payload"].is_null());
        assert_eq!(value["undecodable"], "unknown event type \"Later\"");
    }
}
