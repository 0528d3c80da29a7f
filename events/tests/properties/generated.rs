//! Generators of the values the properties run on: ids, times, text, any JSON, and events of a representative set
//! of types (wallets, orders, enrolments, learning, reviews) with every field generated.

use std::collections::BTreeMap;

use events::commerce::{
    CheckoutSessionCreated, CreditReason, OrderLine, OrderPaid, OrderPlaced, PaymentMethod, WalletCredited,
    WalletDebitRefused, WalletDebited,
};
use events::engagement::{CourseReviewed, InstructorReviewed};
use events::learning::{
    CertificateEmailRequested, EnrollmentRevoked, EnrollmentSource, ExamSubmitted, LessonViewed, RefundRequested,
    RevocationReason, TraineeEnrolled,
};
use events::{Actor, Event, Metadata, Personal, Role};
use proptest::prelude::*;
use serde_json::Value;
use time::{OffsetDateTime, UtcOffset};
use uuid::Uuid;

pub fn id() -> impl Strategy<Value = Uuid> {
    any::<u128>().prop_map(Uuid::from_u128)
}

/// Plain words most of the time, any Unicode text otherwise.
pub fn text() -> BoxedStrategy<String> {
    prop_oneof!["[A-Za-z0-9 ._-]{0,16}", any::<String>()].boxed()
}

pub fn personal() -> impl Strategy<Value = Personal> {
    prop_oneof![
        text().prop_map(Personal::Clear),
        "[A-Za-z0-9_-]{0,48}".prop_map(Personal::Sealed),
        Just(Personal::Erased),
    ]
}

/// A time from 1900 to 2199, to the nanosecond, at any whole-minute offset: what RFC 3339 writes.
pub fn moment() -> impl Strategy<Value = OffsetDateTime> {
    let latest_offset = 23 * 60 + 59;
    (-2_208_988_800_i64..7_258_118_400, 0_u32..1_000_000_000, -latest_offset..=latest_offset).prop_map(
        |(seconds, nanoseconds, minutes)| {
            let utc = OffsetDateTime::from_unix_timestamp(seconds).expect("within time's range");
            let utc = utc.replace_nanosecond(nanoseconds).expect("below a second");
            utc.to_offset(UtcOffset::from_whole_seconds(minutes * 60).expect("within a day"))
        },
    )
}

pub fn metadata() -> impl Strategy<Value = Metadata> {
    let actor = (id(), prop::sample::select(Role::ALL.to_vec())).prop_map(|(user_id, role)| Actor { user_id, role });
    (prop::option::of(id()), prop::option::of(id()), prop::option::of(actor))
        .prop_map(|(correlation_id, causation_id, actor)| Metadata { correlation_id, causation_id, actor })
}

/// Any JSON document of a few levels; numbers are integers or finite fractions.
pub fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_filter_map("finite", |n| serde_json::Number::from_f64(n).map(Value::Number)),
        text().prop_map(Value::from),
        id().prop_map(|id| Value::from(id.to_string())),
    ];
    leaf.prop_recursive(3, 24, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::from),
            prop::collection::btree_map(prop_oneof!["[a-z_]{1,12}", any::<String>()], inner, 0..5)
                .prop_map(|fields| Value::Object(fields.into_iter().collect())),
        ]
    })
}

fn method() -> impl Strategy<Value = PaymentMethod> {
    prop_oneof![Just(PaymentMethod::Card), Just(PaymentMethod::Wallet)]
}

fn wallet_credited() -> impl Strategy<Value = Event> {
    let reason =
        prop_oneof![Just(CreditReason::AdminCredit), Just(CreditReason::OrderLineRefund), Just(CreditReason::Refund)];
    (id(), text(), any::<i64>(), reason, prop::option::of(text()), any::<i64>()).prop_map(
        |(trainee_id, operation_id, amount_cents, reason, note, balance_cents)| {
            Event::WalletCredited(WalletCredited {
                trainee_id,
                operation_id,
                amount_cents,
                reason,
                note,
                balance_cents,
            })
        },
    )
}

fn wallet_debited() -> impl Strategy<Value = Event> {
    (id(), text(), id(), any::<i64>(), any::<i64>(), any::<bool>()).prop_map(
        |(trainee_id, operation_id, order_id, amount_cents, balance_cents, refused)| match refused {
            false => {
                Event::WalletDebited(WalletDebited { trainee_id, operation_id, order_id, amount_cents, balance_cents })
            }
            true => Event::WalletDebitRefused(WalletDebitRefused {
                trainee_id,
                operation_id,
                order_id,
                amount_cents,
                balance_cents,
            }),
        },
    )
}

fn order_placed() -> impl Strategy<Value = Event> {
    let line = (id(), id(), text(), any::<i64>(), any::<u8>(), any::<i64>()).prop_map(
        |(course_id, instructor_id, title, list_price_cents, discount_percent, price_cents)| OrderLine {
            course_id,
            instructor_id,
            title,
            list_price_cents,
            discount_percent,
            price_cents,
        },
    );
    (id(), id(), method(), prop::collection::vec(line, 0..4), any::<i64>(), "[A-Z]{3}", any::<i64>()).prop_map(
        |(order_id, trainee_id, method, lines, total_cents, currency, rate_ppm)| {
            Event::OrderPlaced(OrderPlaced { order_id, trainee_id, method, lines, total_cents, currency, rate_ppm })
        },
    )
}

/// An order paid in US dollars, as every order of schema version 1 was.
pub fn order_paid_in_dollars() -> impl Strategy<Value = Event> {
    (id(), id(), method(), any::<i64>(), prop::option::of(text())).prop_map(
        |(order_id, trainee_id, method, amount_cents, payment_reference)| {
            let currency = "USD".to_owned();
            Event::OrderPaid(OrderPaid { order_id, trainee_id, method, amount_cents, currency, payment_reference })
        },
    )
}

fn checkout_session_created() -> impl Strategy<Value = Event> {
    (id(), text(), text(), moment()).prop_map(|(order_id, session_id, url, expires_at)| {
        Event::CheckoutSessionCreated(CheckoutSessionCreated { order_id, session_id, url, expires_at })
    })
}

fn trainee_enrolled() -> impl Strategy<Value = Event> {
    let source = prop_oneof![
        (id(), any::<i64>()).prop_map(|(order_id, price_cents)| EnrollmentSource::Purchase { order_id, price_cents }),
        id().prop_map(|admin_id| EnrollmentSource::AdminGrant { admin_id }),
        id().prop_map(|request_id| EnrollmentSource::CorporateGrant { request_id }),
    ];
    (id(), id(), id(), source).prop_map(|(trainee_id, course_id, instructor_id, source)| {
        Event::TraineeEnrolled(TraineeEnrolled { trainee_id, course_id, instructor_id, source })
    })
}

fn enrollment_revoked() -> impl Strategy<Value = Event> {
    let reason = prop_oneof![
        id().prop_map(|admin_id| RevocationReason::AdminAction { admin_id }),
        id().prop_map(|refund_id| RevocationReason::Refunded { refund_id }),
        Just(RevocationReason::CourseDeleted),
    ];
    (id(), id(), reason).prop_map(|(trainee_id, course_id, reason)| {
        Event::EnrollmentRevoked(EnrollmentRevoked { trainee_id, course_id, reason })
    })
}

fn lesson_viewed() -> impl Strategy<Value = Event> {
    (id(), id(), id(), any::<u8>()).prop_map(|(trainee_id, course_id, lesson_id, progress)| {
        Event::LessonViewed(LessonViewed { trainee_id, course_id, lesson_id, progress })
    })
}

fn exam_submitted() -> impl Strategy<Value = Event> {
    let answers = prop::collection::btree_map(id(), any::<u32>(), 0..5);
    (id(), id(), any::<u8>(), answers, any::<u8>(), any::<bool>(), any::<u8>()).prop_map(
        |(trainee_id, course_id, attempt, answers, grade, passed, best_grade): (_, _, _, BTreeMap<_, _>, _, _, _)| {
            Event::ExamSubmitted(ExamSubmitted { trainee_id, course_id, attempt, answers, grade, passed, best_grade })
        },
    )
}

fn certificate_email_requested() -> impl Strategy<Value = Event> {
    (id(), id(), id(), any::<bool>(), moment()).prop_map(
        |(trainee_id, course_id, certificate_id, auto, requested_at)| {
            Event::CertificateEmailRequested(CertificateEmailRequested {
                trainee_id,
                course_id,
                certificate_id,
                auto,
                requested_at,
            })
        },
    )
}

fn refund_requested() -> impl Strategy<Value = Event> {
    (id(), id(), id(), id(), any::<i64>(), any::<u8>(), personal()).prop_map(
        |(refund_id, trainee_id, course_id, order_id, paid_cents, progress_at_request, reason)| {
            Event::RefundRequested(RefundRequested {
                refund_id,
                trainee_id,
                course_id,
                order_id,
                paid_cents,
                progress_at_request,
                reason,
            })
        },
    )
}

fn reviewed() -> impl Strategy<Value = Event> {
    (id(), id(), id(), any::<u8>(), personal(), prop::option::of(any::<u8>()), any::<bool>()).prop_map(
        |(subject_id, trainee_id, course_id, rating, comment, previous_rating, of_instructor)| match of_instructor {
            false => Event::CourseReviewed(CourseReviewed {
                course_id: subject_id,
                trainee_id,
                rating,
                comment,
                previous_rating,
            }),
            true => Event::InstructorReviewed(InstructorReviewed {
                instructor_id: subject_id,
                trainee_id,
                course_id,
                rating,
                comment,
                previous_rating,
            }),
        },
    )
}

/// An event of one of the representative types, every field generated.
pub fn event() -> impl Strategy<Value = Event> {
    prop_oneof![
        wallet_credited(),
        wallet_debited(),
        order_placed(),
        order_paid_in_dollars(),
        checkout_session_created(),
        trainee_enrolled(),
        enrollment_revoked(),
        lesson_viewed(),
        exam_submitted(),
        certificate_email_requested(),
        refund_requested(),
        reviewed(),
    ]
}
