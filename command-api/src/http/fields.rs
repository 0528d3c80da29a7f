//! The schemas of command fields whose rule is narrower than the text rule, each from the constant its decider
//! checks (used as `#[schema(schema_with = ...)]` on the body types).

use api_contract::fields::{self, SPACE};
use utoipa::openapi::schema::{Array, Object};

use crate::domain::{
    account, conversation, course, course_content, enrollment, newsletter, notebook, review, support, wallet,
};

pub(crate) fn email() -> Object {
    fields::email(account::EMAIL_MAX_CHARS)
}

pub(crate) fn username() -> Object {
    fields::matching(&format!("^{SPACE}[A-Za-z0-9]{{1,{}}}{SPACE}$", account::USERNAME_MAX_CHARS), 1024)
}

pub(crate) fn password() -> Object {
    fields::secret(account::PASSWORD_MIN_CHARS, account::PASSWORD_MAX_CHARS)
}

pub(crate) fn person_name() -> Object {
    fields::filled(account::NAME_MAX_CHARS)
}

pub(crate) fn person_name_or_null() -> Object {
    fields::filled_or_null(account::NAME_MAX_CHARS)
}

pub(crate) fn company_or_null() -> Object {
    fields::filled_or_null(account::COMPANY_MAX_CHARS)
}

pub(crate) fn biography_or_null() -> Object {
    fields::filled_or_null(account::BIOGRAPHY_MAX_CHARS)
}

pub(crate) fn short_text_or_null() -> Object {
    fields::filled_or_null(account::SHORT_TEXT_MAX_CHARS)
}

pub(crate) fn country_or_blank() -> Object {
    fields::country_or_blank()
}

pub(crate) fn country_or_null() -> Object {
    fields::country_or_null()
}

/// An http(s) link without white space inside, of at most the links' length; blank or `null` for none.
pub(crate) fn link_or_null() -> Object {
    let visible = r"[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F\s]";
    // At most LINK_MAX_CHARS once trimmed, its scheme included.
    let max = crate::domain::instructor::LINK_MAX_CHARS;
    let pattern = format!("^{SPACE}(http://{visible}{{1,{}}}|https://{visible}{{1,{}}})?{SPACE}$", max - 7, max - 8);
    fields::matching_or_null(&pattern, api_contract::text::MAX_TEXT_CHARS)
}

/// An account number or IBAN: 4 to 34 letters and digits, spaced as one likes.
pub(crate) fn account_number() -> Object {
    fields::matching(&format!("^{SPACE}([A-Za-z0-9]{SPACE}){{4,34}}$"), 1024)
}

/// A SWIFT/BIC code: 8 or 11 letters and digits, spaced as one likes.
pub(crate) fn swift_code() -> Object {
    fields::matching(&format!("^{SPACE}(([A-Za-z0-9]{SPACE}){{8}}|([A-Za-z0-9]{SPACE}){{11}})$"), 1024)
}

pub(crate) fn bank_text() -> Object {
    fields::filled(crate::domain::instructor::BANK_TEXT_MAX_CHARS)
}

pub(crate) fn bank_text_or_null() -> Object {
    fields::text(crate::domain::instructor::BANK_TEXT_MAX_CHARS)
}

pub(crate) fn support_text() -> Object {
    fields::filled(support::TEXT_MAX_CHARS)
}

pub(crate) fn note_title() -> Object {
    fields::filled(notebook::NOTE_TITLE_MAX_CHARS)
}

pub(crate) fn message_text() -> Object {
    fields::filled(conversation::MESSAGE_MAX_CHARS)
}

pub(crate) fn support_text_or_null() -> Object {
    fields::filled_or_null(support::TEXT_MAX_CHARS)
}

pub(crate) fn campaign_subject() -> Object {
    fields::filled(newsletter::SUBJECT_MAX_CHARS)
}

/// Counted as sent.
pub(crate) fn campaign_html() -> Object {
    fields::filled_as_sent(newsletter::HTML_MAX_CHARS)
}

pub(crate) fn refund_reason() -> Object {
    fields::filled(enrollment::REFUND_REASON_MAX_CHARS)
}

pub(crate) fn review_comment() -> Object {
    fields::text(review::COMMENT_MAX_CHARS)
}

/// Counted as sent.
pub(crate) fn credit_reason() -> Object {
    fields::filled_as_sent(wallet::NOTE_MAX_CHARS)
}

pub(crate) fn bulk_course_ids() -> Array {
    fields::ids(1, super::bulk_discounts::MAX_COURSES)
}

pub(crate) fn course_title() -> Object {
    fields::filled(course::TITLE_MAX_CHARS)
}

pub(crate) fn course_title_or_null() -> Object {
    fields::filled_or_null(course::TITLE_MAX_CHARS)
}

pub(crate) fn course_summary() -> Object {
    fields::filled(course::SUMMARY_MAX_CHARS)
}

pub(crate) fn course_summary_or_null() -> Object {
    fields::filled_or_null(course::SUMMARY_MAX_CHARS)
}

/// A course's language, as its title: some text of at most that length.
pub(crate) fn language() -> Object {
    fields::filled(course::TITLE_MAX_CHARS)
}

pub(crate) fn language_or_null() -> Object {
    fields::filled_or_null(course::TITLE_MAX_CHARS)
}

pub(crate) fn category() -> Object {
    fields::one_of(&events::taxonomy::CATEGORY_NAMES)
}

pub(crate) fn category_or_null() -> Object {
    fields::one_of_or_null(&events::taxonomy::CATEGORY_NAMES)
}

pub(crate) fn subcategories() -> Array {
    fields::list_of(&events::taxonomy::SUBCATEGORY_NAMES)
}

/// Prices are set in US dollars.
pub(crate) fn price_currency() -> Object {
    fields::one_of(&["USD"])
}

pub(crate) fn part_title() -> Object {
    fields::filled(course_content::PART_TITLE_MAX_CHARS)
}

pub(crate) fn part_title_or_null() -> Object {
    fields::filled_or_null(course_content::PART_TITLE_MAX_CHARS)
}

/// A part's text where it may be blank (a section's or lesson's description).
pub(crate) fn part_text() -> Object {
    fields::text(course_content::PART_TEXT_MAX_CHARS)
}

pub(crate) fn part_text_or_null() -> Object {
    fields::text_or_null(course_content::PART_TEXT_MAX_CHARS)
}

/// A part's text where it must say something (an FAQ entry, an announcement, a question).
pub(crate) fn part_text_filled() -> Object {
    fields::filled(course_content::PART_TEXT_MAX_CHARS)
}

pub(crate) fn part_text_filled_or_null() -> Object {
    fields::filled_or_null(course_content::PART_TEXT_MAX_CHARS)
}

/// A course's long description: text of at most its length, possibly empty.
pub(crate) fn course_description() -> Object {
    fields::text(course::DESCRIPTION_MAX_CHARS)
}

pub(crate) fn course_description_or_null() -> Object {
    fields::text_or_null(course::DESCRIPTION_MAX_CHARS)
}

/// Outline items, keywords, captions' languages: a few short phrases.
pub(crate) fn phrases() -> Array {
    utoipa::openapi::schema::ArrayBuilder::new()
        .items(fields::filled(course::PHRASE_MAX_CHARS))
        .max_items(Some(course::PHRASES_MAX))
        .build()
}

pub(crate) fn phrases_or_null() -> Array {
    utoipa::openapi::schema::ArrayBuilder::new()
        .schema_type(utoipa::openapi::schema::SchemaType::from_iter([
            utoipa::openapi::schema::Type::Array,
            utoipa::openapi::schema::Type::Null,
        ]))
        .items(fields::filled(course::PHRASE_MAX_CHARS))
        .max_items(Some(course::PHRASES_MAX))
        .build()
}

/// A course's preview: a YouTube link, or (in a change) an empty text that removes it.
pub(crate) fn preview_or_null() -> Object {
    fields::matching_or_null(&format!("^$|{}", video_pattern()), api_contract::text::MAX_TEXT_CHARS)
}

/// A YouTube watch, short or embed link (watch links with `v` first).
pub(crate) fn video_url() -> Object {
    fields::matching(&video_pattern(), api_contract::text::MAX_TEXT_CHARS)
}

pub(crate) fn video_url_or_null() -> Object {
    fields::matching_or_null(&video_pattern(), api_contract::text::MAX_TEXT_CHARS)
}

fn video_pattern() -> String {
    let id = format!("[A-Za-z0-9_-]{{{}}}", crate::domain::youtube::ID_LEN);
    let rest = r"[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*";
    format!(
        r"^{SPACE}https?://(youtu\.be/{id}([?#]{rest})?|((www|m)\.)?youtube\.com/(embed/{id}([?#]{rest})?|watch\?v={id}([&#]{rest})?)){SPACE}$"
    )
}

/// The options of a question: 2 to the most, each saying something of at most a title's length.
pub(crate) fn options() -> Array {
    let option = fields::filled(course_content::PART_TITLE_MAX_CHARS);
    utoipa::openapi::schema::ArrayBuilder::new()
        .items(option)
        .min_items(Some(2))
        .max_items(Some(course_content::MAX_OPTIONS))
        .build()
}

pub(crate) fn subcategories_or_null() -> Array {
    fields::list_of_or_null(&events::taxonomy::SUBCATEGORY_NAMES)
}

// The bounds the body types write as literals (`#[schema(minimum = ..., maximum = ...)]`, which takes no constant)
// are the deciders' constants: these fail the build when one changes without the other.
const _: () = assert!(course::PRICE_MAX_CENTS == 10_000_000, "MoneyBody.amount_cents");
const _: () = assert!(course_content::MAX_LESSON_MINUTES == 1_440, "LessonBody.duration_min");
const _: () = assert!(course_content::MAX_QUESTIONS == 100, "ExamBody.questions");
const _: () = assert!(wallet::MAX_CREDIT_CENTS == 100_000_000, "CreditBody.amount_cents");
const _: () = assert!(super::bulk_discounts::MAX_COURSES == 100, "BulkDiscountBody.course_ids");
const _: () = assert!(*review::RATINGS.start() == 1 && *review::RATINGS.end() == 5, "the review bodies' rating");
