//! Encoding and decoding of stored events. This is the only place that knows the stored JSON shape, and the
//! place where an old schema version is upcast to the current one when it is read.

use crate::catalog::{CourseCreated, CourseDetailsUpdated, CoursePriceChanged, CoursePublished, CourseRetired};
use crate::identity::{
    AdminCreated, CorporateTraineeCreated, IndividualTraineeRegistered, InstructorCreated, PasswordChanged,
    ProfileUpdated,
};
use crate::stream::Context;

/// Every event type of the system, at its current schema version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    CourseCreated(CourseCreated),
    CoursePublished(CoursePublished),
    CourseDetailsUpdated(CourseDetailsUpdated),
    CoursePriceChanged(CoursePriceChanged),
    CourseRetired(CourseRetired),
    IndividualTraineeRegistered(IndividualTraineeRegistered),
    InstructorCreated(InstructorCreated),
    CorporateTraineeCreated(CorporateTraineeCreated),
    AdminCreated(AdminCreated),
    PasswordChanged(PasswordChanged),
    ProfileUpdated(ProfileUpdated),
}

/// A stored event that cannot be turned into an [`Event`].
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("unknown event type {0:?}")]
    UnknownType(String),
    #[error("event type {event_type:?} has no schema version {schema_version}")]
    UnknownVersion { event_type: String, schema_version: i32 },
    #[error("payload of {event_type:?} does not decode: {source}")]
    Payload { event_type: String, source: serde_json::Error },
}

impl Event {
    /// The stable type string stored with the event. Never change a released one.
    pub fn event_type(&self) -> &'static str {
        match self {
            Event::CourseCreated(_) => "CourseCreated",
            Event::CoursePublished(_) => "CoursePublished",
            Event::CourseDetailsUpdated(_) => "CourseDetailsUpdated",
            Event::CoursePriceChanged(_) => "CoursePriceChanged",
            Event::CourseRetired(_) => "CourseRetired",
            Event::IndividualTraineeRegistered(_) => "IndividualTraineeRegistered",
            Event::InstructorCreated(_) => "InstructorCreated",
            Event::CorporateTraineeCreated(_) => "CorporateTraineeCreated",
            Event::AdminCreated(_) => "AdminCreated",
            Event::PasswordChanged(_) => "PasswordChanged",
            Event::ProfileUpdated(_) => "ProfileUpdated",
        }
    }

    /// The schema version this code writes.
    pub fn schema_version(&self) -> i32 {
        match self {
            Event::CourseCreated(_)
            | Event::CoursePublished(_)
            | Event::CourseDetailsUpdated(_)
            | Event::CoursePriceChanged(_)
            | Event::CourseRetired(_)
            | Event::IndividualTraineeRegistered(_)
            | Event::InstructorCreated(_)
            | Event::CorporateTraineeCreated(_)
            | Event::AdminCreated(_)
            | Event::PasswordChanged(_)
            | Event::ProfileUpdated(_) => 1,
        }
    }

    pub fn context(&self) -> Context {
        match self {
            Event::CourseCreated(_)
            | Event::CoursePublished(_)
            | Event::CourseDetailsUpdated(_)
            | Event::CoursePriceChanged(_)
            | Event::CourseRetired(_) => Context::Catalog,
            Event::IndividualTraineeRegistered(_)
            | Event::InstructorCreated(_)
            | Event::CorporateTraineeCreated(_)
            | Event::AdminCreated(_)
            | Event::PasswordChanged(_)
            | Event::ProfileUpdated(_) => Context::Identity,
        }
    }

    /// The payload as stored: JSON text without the type, which travels in the envelope.
    pub fn encode(&self) -> String {
        let encoded = match self {
            Event::CourseCreated(e) => serde_json::to_string(e),
            Event::CoursePublished(e) => serde_json::to_string(e),
            Event::CourseDetailsUpdated(e) => serde_json::to_string(e),
            Event::CoursePriceChanged(e) => serde_json::to_string(e),
            Event::CourseRetired(e) => serde_json::to_string(e),
            Event::IndividualTraineeRegistered(e) => serde_json::to_string(e),
            Event::InstructorCreated(e) => serde_json::to_string(e),
            Event::CorporateTraineeCreated(e) => serde_json::to_string(e),
            Event::AdminCreated(e) => serde_json::to_string(e),
            Event::PasswordChanged(e) => serde_json::to_string(e),
            Event::ProfileUpdated(e) => serde_json::to_string(e),
        };
        // Serialising plain structs of strings, numbers and ids into a String cannot fail.
        encoded.unwrap_or_else(|error| unreachable!("event payloads always serialise: {error}"))
    }

    /// Decodes a stored payload of any known schema version.
    pub fn decode(event_type: &str, schema_version: i32, payload: &str) -> Result<Event, DecodeError> {
        let payload_error = |source| DecodeError::Payload { event_type: event_type.to_owned(), source };
        let unknown_version = || DecodeError::UnknownVersion { event_type: event_type.to_owned(), schema_version };
        match (event_type, schema_version) {
            ("CourseCreated", 1) => serde_json::from_str(payload).map(Event::CourseCreated).map_err(payload_error),
            ("CoursePublished", 1) => serde_json::from_str(payload).map(Event::CoursePublished).map_err(payload_error),
            ("CourseDetailsUpdated", 1) => {
                serde_json::from_str(payload).map(Event::CourseDetailsUpdated).map_err(payload_error)
            }
            ("CoursePriceChanged", 1) => {
                serde_json::from_str(payload).map(Event::CoursePriceChanged).map_err(payload_error)
            }
            ("CourseRetired", 1) => serde_json::from_str(payload).map(Event::CourseRetired).map_err(payload_error),
            ("IndividualTraineeRegistered", 1) => {
                serde_json::from_str(payload).map(Event::IndividualTraineeRegistered).map_err(payload_error)
            }
            ("InstructorCreated", 1) => {
                serde_json::from_str(payload).map(Event::InstructorCreated).map_err(payload_error)
            }
            ("CorporateTraineeCreated", 1) => {
                serde_json::from_str(payload).map(Event::CorporateTraineeCreated).map_err(payload_error)
            }
            ("AdminCreated", 1) => serde_json::from_str(payload).map(Event::AdminCreated).map_err(payload_error),
            ("PasswordChanged", 1) => serde_json::from_str(payload).map(Event::PasswordChanged).map_err(payload_error),
            ("ProfileUpdated", 1) => serde_json::from_str(payload).map(Event::ProfileUpdated).map_err(payload_error),
            (
                "CourseCreated"
                | "CoursePublished"
                | "IndividualTraineeRegistered"
                | "InstructorCreated"
                | "CorporateTraineeCreated"
                | "AdminCreated",
                _,
            ) => Err(unknown_version()),
            _ => Err(DecodeError::UnknownType(event_type.to_owned())),
        }
    }
}
