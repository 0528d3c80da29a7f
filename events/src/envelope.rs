//! The envelope every stored event travels in: identity, position, type, schema version, time and metadata.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::codec::{DecodeError, Event};

/// The role a user acts in: the access token carries it, the event metadata records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Instructor,
    IndividualTrainee,
    CorporateTrainee,
    /// Reads the event history (the feed and exports), and nothing else.
    Analyst,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Instructor => "instructor",
            Role::IndividualTrainee => "individual_trainee",
            Role::CorporateTrainee => "corporate_trainee",
            Role::Analyst => "analyst",
        }
    }

    pub const ALL: [Role; 5] =
        [Role::Admin, Role::Instructor, Role::IndividualTrainee, Role::CorporateTrainee, Role::Analyst];

    /// Every role's name ([`Role::as_str`]), in [`Role::ALL`]'s order.
    pub const NAMES: [&str; 5] = ["admin", "instructor", "individual_trainee", "corporate_trainee", "analyst"];

    pub fn parse(text: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|role| role.as_str() == text)
    }
}

/// Who caused an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Actor {
    pub user_id: Uuid,
    pub role: Role,
}

/// Tracing and audit data stored beside the payload.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Metadata {
    /// Shared by everything one request (and the sagas it starts) caused.
    pub correlation_id: Option<Uuid>,
    /// The event or command that directly caused this one.
    pub causation_id: Option<Uuid>,
    pub actor: Option<Actor>,
}

/// An event ready to be appended: encoded, but without the position and version the store assigns.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub event_id: Uuid,
    pub event_type: &'static str,
    pub schema_version: i32,
    /// The payload as JSON text, exactly as it will be stored.
    pub payload: String,
    pub metadata: Metadata,
    pub occurred_at: OffsetDateTime,
}

impl NewEvent {
    /// Encodes `event` with a fresh time-ordered id.
    pub fn new(event: &Event, metadata: Metadata, occurred_at: OffsetDateTime) -> Self {
        NewEvent {
            event_id: Uuid::now_v7(),
            event_type: event.event_type(),
            schema_version: event.schema_version(),
            payload: event.encode(),
            metadata,
            occurred_at,
        }
    }
}

/// An event as the store holds it. The payload stays raw until a reader decodes it.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedEvent {
    /// Position in the global feed: gapless, and increasing in commit order.
    pub position: i64,
    pub stream_id: String,
    /// 1 for the first event of a stream.
    pub stream_version: i64,
    pub event_id: Uuid,
    pub event_type: String,
    pub schema_version: i32,
    pub payload: String,
    pub metadata: Metadata,
    pub occurred_at: OffsetDateTime,
    pub recorded_at: OffsetDateTime,
}

impl RecordedEvent {
    /// Decodes the payload, upcasting older schema versions.
    pub fn decode(&self) -> Result<Event, DecodeError> {
        Event::decode(&self.event_type, self.schema_version, &self.payload)
    }

    /// The event as it leaves the store for other readers (Kafka): its payload upcast to its type's current
    /// schema version ([`crate::upcast`]). An event this code cannot read goes as it is stored; its readers
    /// park it.
    pub fn upcast(&self) -> std::borrow::Cow<'_, RecordedEvent> {
        use std::borrow::Cow;
        match crate::upcast(&self.event_type, self.schema_version, &self.payload) {
            Ok((schema_version, Cow::Owned(payload))) => {
                Cow::Owned(RecordedEvent { payload, schema_version, ..self.clone() })
            }
            Ok((schema_version, Cow::Borrowed(_))) if schema_version != self.schema_version => {
                Cow::Owned(RecordedEvent { schema_version, ..self.clone() })
            }
            _ => Cow::Borrowed(self),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Role;

    #[test]
    fn every_role_is_named_as_it_is_written() {
        let written: Vec<&str> = Role::ALL.into_iter().map(Role::as_str).collect();
        assert_eq!(written, Role::NAMES);
        assert!(Role::NAMES.iter().all(|name| Role::parse(name).is_some_and(|role| role.as_str() == *name)));
    }
}
