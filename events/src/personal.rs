//! Personal data in events (names, emails, usernames, companies, bank names), kept erasable by
//! crypto-shredding: the write side seals each personal field with a key of the person's own before the event
//! is stored, so the store, every Kafka topic and every export carry only ciphertext. Deleting the person's
//! key makes every copy unreadable at once; readers then see the field as erased.
//!
//! In a stored payload a personal field is either a plain string (schema version 1 of the identity events,
//! written before sealing existed, and read as [`Personal::Clear`]: that is their upcast) or
//! `{"sealed": "<base64url of nonce and ciphertext>"}`.

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};

/// How an erased name reads everywhere.
pub const ERASED_NAME: &str = "Deleted user";
/// How any other erased personal text reads (an email, a username, a company).
pub const ERASED_TEXT: &str = "(erased)";

/// One personal field of an event.
#[derive(Clone, PartialEq, Eq)]
pub enum Personal {
    /// Readable: as a decider made it, or opened with its owner's key.
    Clear(String),
    /// As stored: only its owner's key opens it.
    Sealed(String),
    /// Its owner's key is gone: the data no longer exists anywhere.
    Erased,
}

impl Personal {
    pub fn clear(text: impl Into<String>) -> Self {
        Personal::Clear(text.into())
    }

    /// The readable text; `None` while sealed or once erased.
    pub fn text(&self) -> Option<&str> {
        match self {
            Personal::Clear(text) => Some(text),
            Personal::Sealed(_) | Personal::Erased => None,
        }
    }

    /// The readable text, or `erased` for data that is gone (or not opened).
    pub fn text_or<'a>(&'a self, erased: &'a str) -> &'a str {
        self.text().unwrap_or(erased)
    }
}

impl std::fmt::Debug for Personal {
    /// Never the data itself: events are debug-printed in logs and test failures.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Personal::Clear(_) => f.write_str("Personal::Clear(..)"),
            Personal::Sealed(_) => f.write_str("Personal::Sealed(..)"),
            Personal::Erased => f.write_str("Personal::Erased"),
        }
    }
}

impl Serialize for Personal {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Personal::Clear(text) => serializer.serialize_str(text),
            Personal::Sealed(sealed) => {
                let mut map = serializer.serialize_map(Some(1))?;
                map.serialize_entry("sealed", sealed)?;
                map.end()
            }
            Personal::Erased => {
                let mut map = serializer.serialize_map(Some(1))?;
                map.serialize_entry("erased", &true)?;
                map.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for Personal {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct PersonalVisitor;

        impl<'de> Visitor<'de> for PersonalVisitor {
            type Value = Personal;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string or {\"sealed\": \"...\"}")
            }

            fn visit_str<E: de::Error>(self, text: &str) -> Result<Personal, E> {
                Ok(Personal::Clear(text.to_owned()))
            }

            fn visit_string<E: de::Error>(self, text: String) -> Result<Personal, E> {
                Ok(Personal::Clear(text))
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Personal, A::Error> {
                let Some(key) = map.next_key::<String>()? else { return Err(de::Error::missing_field("sealed")) };
                let value = match key.as_str() {
                    "sealed" => Personal::Sealed(map.next_value()?),
                    "erased" => {
                        map.next_value::<bool>()?;
                        Personal::Erased
                    }
                    other => return Err(de::Error::unknown_field(other, &["sealed", "erased"])),
                };
                if map.next_key::<String>()?.is_some() {
                    return Err(de::Error::custom("a personal field has one key"));
                }
                Ok(value)
            }
        }

        deserializer.deserialize_any(PersonalVisitor)
    }
}

/// In a payload's schema: clear text (identity events of version 1 only), `{"sealed": "…"}` or
/// `{"erased": true}`.
impl utoipa::PartialSchema for Personal {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Schema, Type};
        let one_key = |key: &str, kind: Type| {
            ObjectBuilder::new()
                .schema_type(Type::Object)
                .property(key, ObjectBuilder::new().schema_type(kind))
                .required(key)
        };
        let one_of = OneOfBuilder::new()
            .item(ObjectBuilder::new().schema_type(Type::String))
            .item(one_key("sealed", Type::String))
            .item(one_key("erased", Type::Boolean))
            .build();
        utoipa::openapi::RefOr::T(Schema::OneOf(one_of))
    }
}

impl utoipa::ToSchema for Personal {}

impl crate::Event {
    /// Whose personal data this event carries, and its personal fields: what the write side seals with that
    /// person's key, and what readers open with it. `None` for events without personal data.
    pub fn personal_mut(&mut self) -> Option<(uuid::Uuid, Vec<&mut Personal>)> {
        use crate::Event as E;
        Some(match self {
            E::IndividualTraineeRegistered(e) => (e.user_id, vec![&mut e.email, &mut e.username, &mut e.name]),
            E::InstructorCreated(e) => (e.user_id, vec![&mut e.email, &mut e.username, &mut e.name]),
            E::AdminCreated(e) => (e.user_id, vec![&mut e.email, &mut e.username, &mut e.name]),
            E::AnalystCreated(e) => (e.user_id, vec![&mut e.email, &mut e.username, &mut e.name]),
            E::CorporateTraineeCreated(e) => {
                (e.user_id, vec![&mut e.email, &mut e.username, &mut e.name, &mut e.company])
            }
            E::ProfileUpdated(e) => (e.user_id, e.name.iter_mut().collect()),
            E::EmailVerified(e) => (e.user_id, vec![&mut e.email]),
            E::InstructorBankAccountSet(e) => (e.user_id, vec![&mut e.bank_name]),
            E::NotesReplaced(e) => (e.trainee_id, vec![&mut e.text]),
            E::NoteCreated(e) => (e.trainee_id, vec![&mut e.title, &mut e.text]),
            E::NoteUpdated(e) => (e.trainee_id, vec![&mut e.title, &mut e.text]),
            E::RefundRequested(e) => (e.trainee_id, vec![&mut e.reason]),
            E::CourseReviewed(e) => (e.trainee_id, vec![&mut e.comment]),
            E::ReportFiled(e) => (e.reporter_id, vec![&mut e.description]),
            E::ReportEdited(e) => (e.reporter_id, vec![&mut e.description]),
            E::CourseAccessRequested(e) => (e.trainee_id, e.description.iter_mut().collect()),
            E::NewsletterSubscribed(e) => (e.subscription_id, vec![&mut e.email]),
            E::ReportFollowUpAdded(e) => (e.author_id, vec![&mut e.text]),
            E::RefundRequestFollowUpAdded(e) => (e.author_id, vec![&mut e.text]),
            E::AccessRequestFollowUpAdded(e) => (e.author_id, vec![&mut e.text]),
            E::InstructorReviewed(e) => (e.trainee_id, vec![&mut e.comment]),
            E::MessageSent(e) => (e.sender_id, vec![&mut e.text]),
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clear_text_is_a_plain_string_and_sealed_text_an_object() {
        assert_eq!(serde_json::to_string(&Personal::clear("Ada")).unwrap(), "\"Ada\"");
        assert_eq!(serde_json::to_string(&Personal::Sealed("abc".into())).unwrap(), r#"{"sealed":"abc"}"#);
        assert_eq!(serde_json::from_str::<Personal>("\"Ada\"").unwrap(), Personal::clear("Ada"));
        assert_eq!(serde_json::from_str::<Personal>(r#"{"sealed":"abc"}"#).unwrap(), Personal::Sealed("abc".into()));
        assert!(serde_json::from_str::<Personal>(r#"{"other":"abc"}"#).is_err());
        assert!(serde_json::from_str::<Personal>("12").is_err());
    }

    #[test]
    fn debug_never_shows_the_data() {
        assert!(!format!("{:?}", Personal::clear("Ada Lovelace")).contains("Ada"));
    }

    #[test]
    fn erased_data_reads_as_erased() {
        assert_eq!(Personal::Erased.text_or(ERASED_NAME), "Deleted user");
        assert_eq!(Personal::Sealed("x".into()).text(), None);
        assert_eq!(Personal::clear("Ada").text_or(ERASED_NAME), "Ada");
    }
}
