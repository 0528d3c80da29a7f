//! The Learnlog event catalogue: every event the system records, the envelope around it, and the one place
//! where events are encoded to and decoded from their stored JSON shape.
//!
//! Invariants kept here:
//! - event type strings and schema versions are a contract: a stored event of any released version keeps
//!   decoding (golden fixtures in `tests/fixtures` prove it);
//! - this crate performs no IO, so every other crate can depend on it.

pub mod catalog;
pub mod codec;
pub mod commerce;
pub mod communication;
pub mod content;
pub mod currency;
pub mod engagement;
pub mod envelope;
pub mod identity;
pub mod learning;
pub mod personal;
pub mod pictures;
pub mod stream;
pub mod support;
pub mod taxonomy;
pub mod wire;

pub use catalog::{
    CourseCreated, CourseDeleted, CourseDetailsUpdated, CourseLevel, CoursePriceChanged, CoursePublished, CourseRetired,
};
pub use codec::{DecodeError, Event, upcast};
pub use envelope::{Actor, Metadata, NewEvent, RecordedEvent, Role};
pub use identity::{
    AccountErased, AdminCreated, AnalystCreated, CorporateTraineeCreated, IndividualTraineeRegistered,
    InstructorCreated, PasswordChanged, ProfileUpdated,
};
pub use personal::Personal;
pub use stream::Context;
