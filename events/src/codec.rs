//! Encoding and decoding of stored events. This is the only place that knows the stored JSON shape, and the
//! place where an old schema version is upcast to the current one when it is read.
//!
//! Each event type is listed once, in [`event_catalogue!`], with its schema version and context; the enum and
//! every match over it are generated from that list, so adding an event is one line here, its struct and a
//! golden fixture.

use crate::catalog::{
    CourseCreated, CourseDeleted, CourseDetailsUpdated, CoursePriceChanged, CoursePublished, CourseRetired,
    CourseThumbnailSet,
};
use crate::commerce::{
    CheckoutSessionCreated, CourseAddedToCart, CourseAddedToWishlist, CourseRemovedFromCart, CourseRemovedFromWishlist,
    ExchangeRateOverrideCleared, ExchangeRateSet, InstructorEarningRecorded, InstructorEarningReversed, OrderExpired,
    OrderFulfilled, OrderLineRefunded, OrderPaid, OrderPaymentFailed, OrderPlaced, WalletCredited, WalletDebitRefused,
    WalletDebited,
};
use crate::communication::{
    CampaignCreated, CampaignEmailQueued, ConversationRead, MessageSent, NewsletterSubscribed,
    NewsletterSubscriptionConfirmed, NewsletterUnsubscribed,
};
use crate::content::{
    AnnouncementEdited, AnnouncementPosted, AnnouncementRemoved, CourseExamSet, DiscountAdded, DiscountRemoved,
    DiscountUpdated, ExerciseAdded, ExerciseQuestionAdded, ExerciseQuestionRemoved, ExerciseQuestionUpdated,
    ExerciseRemoved, FaqAdded, FaqRemoved, FaqUpdated, LessonAdded, LessonRemoved, LessonUpdated, SectionAdded,
    SectionRemoved, SectionUpdated,
};
use crate::engagement::{CourseReviewDeleted, CourseReviewed, InstructorReviewDeleted, InstructorReviewed};
use crate::identity::{
    AccountErased, AdminCreated, AnalystCreated, CorporateTraineeCreated, EmailVerificationRequested, EmailVerified,
    IndividualTraineeRegistered, InstructorBankAccountSet, InstructorCreated, InstructorSocialLinksSet, LoginFailed,
    PasswordChanged, PasswordReset, PasswordResetRequested, ProfilePictureSet, ProfileUpdated, TraineeAccountDeleted,
    UserLoggedIn, UserLoggedOut,
};
use crate::learning::{
    CertificateEmailRequested, CertificateIssued, CourseCompleted, CourseOpened, EnrollmentRevoked,
    ExamAnswersRevealed, ExamSubmitted, ExerciseAnswerSubmitted, LessonViewed, NoteCreated, NoteDeleted, NoteUpdated,
    NotesReplaced, ProgressRecomputed, RefundApproved, RefundCompleted, RefundRejected, RefundRequestAcknowledged,
    RefundRequestFollowUpAdded, RefundRequested, TraineeEnrolled,
};
use crate::stream::Context;
use crate::support::{
    AccessRequestFollowUpAdded, CourseAccessRequestChanged, CourseAccessRequested, ReportEdited, ReportFiled,
    ReportFollowUpAdded, ReportStatusChanged, ReportVoided,
};

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

/// Generates [`Event`] and its type, version, context, encoding and decoding from one list. The type string
/// is the variant's name: never rename a released variant.
/// The oldest schema version of a type that still decodes: its current one unless `from` names an older.
macro_rules! oldest_version {
    ($version:literal) => {
        $version
    };
    ($version:literal, $oldest:literal) => {
        $oldest
    };
}

macro_rules! event_catalogue {
    ($($variant:ident version $version:literal $(from $oldest:literal)? in $context:ident),* $(,)?) => {
        /// Every event type of the system, at its current schema version.
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub enum Event {
            $($variant($variant),)*
        }

        impl Event {
            /// Every type string this code knows, in catalogue order.
            pub const TYPES: &'static [&'static str] = &[$(stringify!($variant)),*];

            /// The stable type string stored with the event. Never change a released one.
            pub fn event_type(&self) -> &'static str {
                match self {
                    $(Event::$variant(_) => stringify!($variant),)*
                }
            }

            /// The schema version this code writes.
            pub fn schema_version(&self) -> i32 {
                match self {
                    $(Event::$variant(_) => $version,)*
                }
            }

            pub fn context(&self) -> Context {
                match self {
                    $(Event::$variant(_) => Context::$context,)*
                }
            }

            /// The payload as stored: JSON text without the type, which travels in the envelope.
            pub fn encode(&self) -> String {
                let encoded = match self {
                    $(Event::$variant(e) => serde_json::to_string(e),)*
                };
                // Serialising plain structs of strings, numbers and ids into a String cannot fail.
                encoded.unwrap_or_else(|error| unreachable!("event payloads always serialise: {error}"))
            }

            /// The payload as a JSON value, the same as [`Event::encode`] writes.
            pub fn payload(&self) -> serde_json::Value {
                let payload = match self {
                    $(Event::$variant(e) => serde_json::to_value(e),)*
                };
                payload.unwrap_or_else(|error| unreachable!("event payloads always serialise: {error}"))
            }

            /// The schema version this code writes for `event_type`, and the oldest it still reads; `None` for
            /// a type it does not know.
            pub fn versions(event_type: &str) -> Option<(i32, i32)> {
                match event_type {
                    $(stringify!($variant) => Some((oldest_version!($version $(, $oldest)?), $version)),)*
                    _ => None,
                }
            }

            /// The schema of `event_type`'s current payload, as OpenAPI 3.1 writes JSON Schema:
            /// `{schema, components}`, the components being the named schemas it refers to. `None` for a type
            /// this code does not know. `tests/schemas.rs` holds every released version of it.
            pub fn schema(event_type: &str) -> Option<serde_json::Value> {
                fn of<T: utoipa::ToSchema>() -> serde_json::Value {
                    let mut components = Vec::new();
                    T::schemas(&mut components);
                    let components: std::collections::BTreeMap<String, _> = components.into_iter().collect();
                    let mut schema = serde_json::json!({ "schema": T::schema(), "components": components });
                    without_descriptions(&mut schema);
                    schema
                }
                match event_type {
                    $(stringify!($variant) => Some(of::<$variant>()),)*
                    _ => None,
                }
            }

            /// Decodes a stored payload of any known schema version, upcasting it to the current one first.
            pub fn decode(event_type: &str, schema_version: i32, payload: &str) -> Result<Event, DecodeError> {
                let payload_error = |source| DecodeError::Payload { event_type: event_type.to_owned(), source };
                match event_type {
                    $(stringify!($variant) if (oldest_version!($version $(, $oldest)?)..=$version).contains(&schema_version) => {
                        let (_, payload) = upcast(event_type, schema_version, payload)?;
                        serde_json::from_str(&payload).map(Event::$variant).map_err(payload_error)
                    })*
                    $(stringify!($variant))|* => Err(DecodeError::UnknownVersion {
                        event_type: event_type.to_owned(),
                        schema_version,
                    }),
                    _ => Err(DecodeError::UnknownType(event_type.to_owned())),
                }
            }
        }
    };
}

/// Removes every `description` (the doc comments) from a schema: they are not part of the wire format. A
/// property named `description` stays.
fn without_descriptions(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(object) => {
            object.remove("description");
            for (key, value) in object.iter_mut() {
                match (key.as_str(), value) {
                    ("properties", serde_json::Value::Object(properties)) => {
                        properties.values_mut().for_each(without_descriptions);
                    }
                    (_, value) => without_descriptions(value),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(without_descriptions),
        _ => {}
    }
}

/// One step of the upcaster chain: turns the JSON payload of `event_type` at schema version `from` into one
/// of version `from + 1`.
struct Upcaster {
    event_type: &'static str,
    from: i32,
    apply: fn(&mut serde_json::Map<String, serde_json::Value>),
}

/// The upcaster chain. A payload of version N of a type is read by running every step of that type from N up
/// to the current version, in order, then decoding the current struct. A step exists only where the next
/// version cannot read the one before as it is; where none exists, the payload is carried over unchanged:
///
/// - identity events v1 -> v2 (`IndividualTraineeRegistered`, `InstructorCreated`, `CorporateTraineeCreated`,
///   `AdminCreated`, `ProfileUpdated`, `EmailVerified`, `InstructorBankAccountSet`): the personal fields
///   became [`crate::Personal`], which reads a v1 plain string as `Personal::Clear`. No step.
/// - `OrderPaid` v1 -> v2: v2 names the currency of `amount_cents`. Every v1 amount was charged in US cents
///   (D8), so the step adds `"currency": "USD"`.
///
/// A new version of a type: add its step here (if it needs one), bump the version in the catalogue below
/// (keeping `from` the oldest version), and add a golden fixture and a schema file of the new version; the
/// old ones stay.
const UPCASTERS: &[Upcaster] = &[Upcaster {
    event_type: "OrderPaid",
    from: 1,
    apply: |payload| {
        payload.insert("currency".to_owned(), serde_json::Value::from(crate::currency::BASE));
    },
}];

/// The payload of a stored event of a known type at its current schema version, and that version: the stored
/// text itself when no step of the chain applies, else the text the steps make.
pub fn upcast<'a>(
    event_type: &str,
    schema_version: i32,
    payload: &'a str,
) -> Result<(i32, std::borrow::Cow<'a, str>), DecodeError> {
    let Some((oldest, current)) = Event::versions(event_type) else {
        return Err(DecodeError::UnknownType(event_type.to_owned()));
    };
    if !(oldest..=current).contains(&schema_version) {
        return Err(DecodeError::UnknownVersion { event_type: event_type.to_owned(), schema_version });
    }
    let mut steps = UPCASTERS
        .iter()
        .filter(|step| step.event_type == event_type && (schema_version..current).contains(&step.from))
        .peekable();
    if steps.peek().is_none() {
        return Ok((current, std::borrow::Cow::Borrowed(payload)));
    }
    let payload_error = |source| DecodeError::Payload { event_type: event_type.to_owned(), source };
    let mut object: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(payload).map_err(payload_error)?;
    for step in steps {
        (step.apply)(&mut object);
    }
    let text = serde_json::to_string(&object).map_err(payload_error)?;
    Ok((current, std::borrow::Cow::Owned(text)))
}

event_catalogue! {
    CourseCreated version 2 from 1 in Catalog,
    CoursePublished version 1 in Catalog,
    CourseDetailsUpdated version 2 from 1 in Catalog,
    CoursePriceChanged version 1 in Catalog,
    CourseRetired version 1 in Catalog,
    CourseDeleted version 1 in Catalog,
    SectionAdded version 1 in Catalog,
    SectionUpdated version 1 in Catalog,
    SectionRemoved version 1 in Catalog,
    LessonAdded version 1 in Catalog,
    LessonUpdated version 1 in Catalog,
    LessonRemoved version 1 in Catalog,
    ExerciseAdded version 1 in Catalog,
    ExerciseRemoved version 1 in Catalog,
    ExerciseQuestionAdded version 1 in Catalog,
    ExerciseQuestionUpdated version 1 in Catalog,
    ExerciseQuestionRemoved version 1 in Catalog,
    CourseExamSet version 1 in Catalog,
    FaqAdded version 1 in Catalog,
    FaqUpdated version 1 in Catalog,
    FaqRemoved version 1 in Catalog,
    AnnouncementPosted version 1 in Catalog,
    AnnouncementEdited version 1 in Catalog,
    AnnouncementRemoved version 1 in Catalog,
    DiscountAdded version 1 in Catalog,
    DiscountUpdated version 1 in Catalog,
    DiscountRemoved version 1 in Catalog,
    CourseThumbnailSet version 1 in Catalog,
    IndividualTraineeRegistered version 2 from 1 in Identity,
    InstructorCreated version 2 from 1 in Identity,
    CorporateTraineeCreated version 2 from 1 in Identity,
    AdminCreated version 2 from 1 in Identity,
    AnalystCreated version 1 in Identity,
    PasswordChanged version 1 in Identity,
    ProfileUpdated version 2 from 1 in Identity,
    ProfilePictureSet version 1 in Identity,
    EmailVerificationRequested version 1 in Identity,
    EmailVerified version 2 from 1 in Identity,
    PasswordResetRequested version 1 in Identity,
    PasswordReset version 1 in Identity,
    InstructorSocialLinksSet version 1 in Identity,
    InstructorBankAccountSet version 2 from 1 in Identity,
    UserLoggedIn version 1 in Identity,
    LoginFailed version 1 in Identity,
    UserLoggedOut version 1 in Identity,
    TraineeAccountDeleted version 1 in Identity,
    AccountErased version 1 in Identity,
    ExchangeRateSet version 2 from 1 in Commerce,
    ExchangeRateOverrideCleared version 1 in Commerce,
    CourseAddedToCart version 1 in Commerce,
    CourseRemovedFromCart version 1 in Commerce,
    CourseAddedToWishlist version 1 in Commerce,
    CourseRemovedFromWishlist version 1 in Commerce,
    OrderPlaced version 1 in Commerce,
    CheckoutSessionCreated version 1 in Commerce,
    OrderPaid version 2 from 1 in Commerce,
    OrderPaymentFailed version 1 in Commerce,
    OrderExpired version 1 in Commerce,
    InstructorEarningRecorded version 1 in Commerce,
    InstructorEarningReversed version 1 in Commerce,
    OrderLineRefunded version 1 in Commerce,
    OrderFulfilled version 1 in Commerce,
    WalletCredited version 1 in Commerce,
    WalletDebited version 1 in Commerce,
    WalletDebitRefused version 1 in Commerce,
    TraineeEnrolled version 1 in Learning,
    EnrollmentRevoked version 1 in Learning,
    LessonViewed version 1 in Learning,
    CourseOpened version 1 in Learning,
    ProgressRecomputed version 1 in Learning,
    ExerciseAnswerSubmitted version 1 in Learning,
    ExamSubmitted version 1 in Learning,
    ExamAnswersRevealed version 1 in Learning,
    CourseCompleted version 1 in Learning,
    CertificateIssued version 1 in Learning,
    CertificateEmailRequested version 1 in Learning,
    NotesReplaced version 1 in Learning,
    NoteCreated version 1 in Learning,
    NoteUpdated version 1 in Learning,
    NoteDeleted version 1 in Learning,
    RefundRequested version 1 in Learning,
    RefundRequestAcknowledged version 1 in Learning,
    RefundApproved version 1 in Learning,
    RefundRejected version 1 in Learning,
    RefundCompleted version 1 in Learning,
    RefundRequestFollowUpAdded version 1 in Learning,
    CourseReviewed version 1 in Engagement,
    CourseReviewDeleted version 1 in Engagement,
    InstructorReviewed version 1 in Engagement,
    InstructorReviewDeleted version 1 in Engagement,
    ReportFiled version 1 in Support,
    ReportFollowUpAdded version 1 in Support,
    ReportEdited version 1 in Support,
    ReportStatusChanged version 1 in Support,
    ReportVoided version 1 in Support,
    CourseAccessRequested version 2 from 1 in Support,
    CourseAccessRequestChanged version 1 in Support,
    AccessRequestFollowUpAdded version 1 in Support,
    NewsletterSubscribed version 1 in Communication,
    NewsletterUnsubscribed version 1 in Communication,
    NewsletterSubscriptionConfirmed version 1 in Communication,
    CampaignCreated version 1 in Communication,
    CampaignEmailQueued version 1 in Communication,
    MessageSent version 1 in Communication,
    ConversationRead version 1 in Communication,
}
