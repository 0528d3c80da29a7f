//! How a decider's rejection is answered. The rejections are the `domain` crate's types and `Problem` is
//! `api-contract`'s, so the mapping is this crate's own trait rather than `From` (which Rust's orphan rule
//! keeps out of a crate that owns neither type). Every rejection's answers are here, in one place: the
//! problem codes a client can meet, by aggregate.

use api_contract::{FieldError, Problem};

use super::auth::invalid;
use super::sessions::rate_limited;
use crate::domain::account::AccountRejection;
use crate::domain::conversation::{MESSAGE_MAX_CHARS, MessageRejection};
use crate::domain::course::CourseRejection;
use crate::domain::enrollment::{
    EnrollmentRejection, LearningRejection, MAX_EXAM_ATTEMPTS, REFUND_PROGRESS_LIMIT, RefundRejection,
};
use crate::domain::fx::FxRejection;
use crate::domain::newsletter::NewsletterRejection;
use crate::domain::notebook::{NOTE_TITLE_MAX_CHARS, NOTES_MAX_CHARS, NOTES_PER_COURSE, NotesRejection};
use crate::domain::order::OrderRejection;
use crate::domain::review::{COMMENT_MAX_CHARS, ReviewRejection};
use crate::domain::support::SupportRejection;
use crate::domain::wallet::WalletRejection;

/// A rejection that HTTP answers with a problem.
pub(crate) trait Refusal {
    fn problem(self) -> Problem;
}

impl Refusal for Problem {
    fn problem(self) -> Problem {
        self
    }
}

/// `422 validation_failed` for one field a decider refused, saying `detail` of the whole request.
fn invalid_field(detail: &'static str, field: &str, message: impl Into<String>) -> Problem {
    Problem::rule("validation_failed", detail).with_errors(vec![FieldError::new(field, message)])
}

// AccountRejection, answered for the routes in `auth.rs`.
impl Refusal for AccountRejection {
    fn problem(self) -> Problem {
        match self {
            AccountRejection::AlreadyRegistered => Problem::conflict("This account already exists."),
            AccountRejection::Unknown => Problem::not_found("There is no such account."),
            AccountRejection::NotAnInstructor => Problem::forbidden("Only instructors have this."),
            AccountRejection::NotATrainee => {
                Problem::rule("not_a_trainee", "Only trainee accounts are deleted; this one is not a trainee's.")
            }
            AccountRejection::WrongPassword => Problem::rule("wrong_password", "The current password is wrong."),
            AccountRejection::InvalidResetLink => {
                Problem::rule("reset_token_invalid", "The reset link is invalid, expired or already used.")
            }
            AccountRejection::InvalidCode => Problem::rule(
                "verification_code_invalid",
                "The code is wrong or expired; after 5 wrong tries, ask for a new one.",
            ),
            AccountRejection::AlreadyVerified => {
                Problem::rule("email_already_verified", "This email is already verified.")
            }
            AccountRejection::Invalid(violations) => invalid(violations),
        }
    }
}

// CourseRejection, answered for the routes in `courses.rs`.
impl Refusal for CourseRejection {
    fn problem(self) -> Problem {
        match self {
            CourseRejection::NotAnInstructor => Problem::forbidden("Only instructors create courses."),
            CourseRejection::NotTheOwner => Problem::forbidden("Only the course's instructor may change it."),
            CourseRejection::NotFound => Problem::not_found("There is no such course."),
            CourseRejection::AlreadyExists => Problem::conflict("A course with this id already exists."),
            CourseRejection::AlreadyPublished => {
                Problem::rule("course_already_published", "The course is already published.")
            }
            CourseRejection::NotPublished => {
                Problem::rule("course_not_published", "Only a published course is retired.")
            }
            CourseRejection::Retired => Problem::rule("course_retired", "The course is retired; that is for good."),
            CourseRejection::Invalid(violations) => invalid(violations),
            CourseRejection::PartNotFound(part) => Problem::not_found(format!("The course has no such {part}.")),
            CourseRejection::DiscountOverlaps(other) => Problem::rule(
                "discount_window_overlaps",
                format!("The window overlaps discount {other} of this course; discount windows never overlap."),
            ),
            CourseRejection::HasEnrolments => {
                Problem::rule("course_has_enrolments", "A course with enrolments cannot be deleted; retire it instead.")
            }
        }
    }
}

// OrderRejection, answered for the routes in `checkout.rs`.
impl Refusal for OrderRejection {
    fn problem(self) -> Problem {
        match self {
            OrderRejection::NotAnIndividualTrainee => {
                Problem::forbidden("Only individual trainees buy courses; corporate access is by request.")
            }
            OrderRejection::NotFound => Problem::not_found("There is no such order."),
            OrderRejection::EmptyCart => Problem::rule("cart_empty", "Your cart is empty."),
            OrderRejection::CourseNotForSale(course) => {
                Problem::rule("course_not_for_sale", "A course in your cart is no longer for sale; remove it first.")
                    .with_errors(vec![FieldError::new("cart", format!("course {course} is not for sale"))])
            }
            OrderRejection::WrongState(status) => {
                Problem::rule("order_state", format!("The order cannot do this while it is {status:?}."))
            }
            OrderRejection::SessionMismatch => Problem::malformed("The checkout session is not this order's."),
            OrderRejection::AmountMismatch { expected_cents, paid_cents } => Problem::malformed(format!(
                "The amount paid ({paid_cents} cents) is not the order's total ({expected_cents} cents)."
            )),
            OrderRejection::LineNotFound(course) => Problem::not_found(format!("The order has no line for {course}.")),
            OrderRejection::Unsettled => Problem::rule("order_unsettled", "Some lines are not settled yet."),
            // A conflict: the refund saga tries again once the order is fulfilled.
            OrderRejection::LineNotSettledYet(course) => Problem::conflict(format!(
                "The sale of {course} is not recorded yet; retry once the order is fulfilled."
            )),
        }
    }
}

// WalletRejection, answered for the routes in `checkout.rs`.
impl Refusal for WalletRejection {
    fn problem(self) -> Problem {
        match self {
            WalletRejection::Invalid(violations) => invalid(violations),
            WalletRejection::OperationReused => {
                Problem::conflict("This operation id was already used for another amount.")
            }
        }
    }
}

// EnrollmentRejection, answered for the routes in `checkout.rs`.
impl Refusal for EnrollmentRejection {
    fn problem(self) -> Problem {
        match self {
            EnrollmentRejection::CourseNotFound => Problem::not_found("There is no such course."),
            EnrollmentRejection::AlreadyEnrolled => {
                Problem::rule("already_enrolled", "The trainee is already enrolled in this course.")
            }
        }
    }
}

// LearningRejection, answered for the routes in `learning.rs`.
impl Refusal for LearningRejection {
    fn problem(self) -> Problem {
        match self {
            LearningRejection::NotEnrolled => Problem::not_found("You are not enrolled in this course."),
            LearningRejection::NotActive => {
                Problem::rule("enrollment_not_active", "Your enrolment in this course was revoked.")
            }
            LearningRejection::LessonNotFound => Problem::not_found("The course has no such lesson."),
            LearningRejection::ExerciseNotFound => Problem::not_found("The course has no such exercise question."),
            LearningRejection::NotAnOption { question_id } => Problem::rule(
                "invalid_answer",
                format!("The answer to question {question_id} is not one of its options."),
            ),
            LearningRejection::NoExam => Problem::not_found("The course has no exam."),
            LearningRejection::NotAnExamQuestion { question_id } => {
                Problem::rule("invalid_answer", format!("The exam has no question {question_id}."))
            }
            LearningRejection::AttemptsExhausted => Problem::rule(
                "exam_attempts_exhausted",
                format!("The exam can be taken at most {MAX_EXAM_ATTEMPTS} times."),
            ),
            LearningRejection::AnswersRevealed => {
                Problem::rule("exam_answers_revealed", "The exam's answers were shown to you: no attempt follows.")
            }
            LearningRejection::NotAttempted => {
                Problem::rule("exam_not_attempted", "The exam's answers are shown after an attempt.")
            }
            LearningRejection::NoCertificate => {
                Problem::rule("certificate_not_issued", "The course is not completed: there is no certificate yet.")
            }
            LearningRejection::EmailedRecently { retry_after_seconds } => {
                let mut problem = rate_limited(retry_after_seconds);
                problem.detail = "The certificate was emailed moments ago; ask again later.".to_owned();
                problem
            }
        }
    }
}

// NotesRejection, answered for the routes in `notes.rs`.
impl Refusal for NotesRejection {
    fn problem(self) -> Problem {
        let invalid = |field: &str, message: String| invalid_field("The note is not valid.", field, message);
        match self {
            NotesRejection::Learning(rejection) => rejection.problem(),
            NotesRejection::EmptyTitle => invalid("title", "must not be blank".into()),
            NotesRejection::TitleTooLong { chars } => {
                invalid("title", format!("must be at most {NOTE_TITLE_MAX_CHARS} characters, not {chars}"))
            }
            NotesRejection::TooLong { chars } => {
                invalid("text", format!("must be at most {NOTES_MAX_CHARS} characters, not {chars}"))
            }
            NotesRejection::NotALesson => Problem::rule("not_a_lesson_of_the_course", "The note is not valid.")
                .with_errors(vec![FieldError::new("lesson_id", "must be a lesson of the course")]),
            NotesRejection::NoNote => Problem::not_found("You have no such note on this course."),
            NotesRejection::TooMany => Problem::rule(
                "too_many_notes",
                format!("A course holds at most {NOTES_PER_COURSE} notes of yours: delete one first."),
            ),
        }
    }
}

// RefundRejection, answered for the routes in `refunds.rs`.
impl Refusal for RefundRejection {
    fn problem(self) -> Problem {
        match self {
            RefundRejection::Learning(learning) => learning.problem(),
            RefundRejection::NotAnIndividualTrainee => {
                Problem::forbidden("Refunds are for individual trainees' purchases; corporate access is granted.")
            }
            RefundRejection::NotPurchased => {
                Problem::rule("refund_not_allowed", "Only a bought course can be refunded; this one was granted.")
            }
            RefundRejection::AfterHalf { progress } => Problem::rule(
                "refund_not_allowed_after_half",
                format!("A refund can be asked for below {REFUND_PROGRESS_LIMIT} % progress; yours is {progress} %."),
            ),
            RefundRejection::AlreadyRequested => {
                Problem::rule("refund_already_requested", "A refund of this course was asked for already.")
            }
            RefundRejection::InvalidReason(message) => invalid_field("The reason is not valid.", "reason", message),
            RefundRejection::InvalidText(message) => invalid_field("The follow-up is not valid.", "text", message),
            RefundRejection::NoRequest => Problem::not_found("There is no such refund request."),
            RefundRejection::AlreadyDecided => {
                Problem::rule("refund_already_decided", "The refund request was decided already.")
            }
        }
    }
}

// ReviewRejection, answered for the routes in `reviews.rs`.
impl Refusal for ReviewRejection {
    fn problem(self) -> Problem {
        let invalid = |field: &str, message: String| invalid_field("The review is not valid.", field, message);
        match self {
            ReviewRejection::NotALearner => Problem::rule(
                "review_not_allowed",
                "Only a trainee who learns the course, or completed it, may review it.",
            ),
            ReviewRejection::NotTheirCourse => Problem::rule("not_their_course", "The review is not valid.")
                .with_errors(vec![FieldError::new("course_id", "must be a course of this instructor")]),
            ReviewRejection::InvalidRating(rating) => invalid("rating", format!("must be 1 to 5, not {rating}")),
            ReviewRejection::CommentTooLong { chars } => {
                invalid("comment", format!("must be at most {COMMENT_MAX_CHARS} characters, not {chars}"))
            }
            ReviewRejection::NoReview => Problem::not_found("You have no review here."),
        }
    }
}

// MessageRejection, answered for the routes in `messages.rs`.
impl Refusal for MessageRejection {
    fn problem(self) -> Problem {
        let invalid = |field: &str, message: String| invalid_field("The message is not valid.", field, message);
        match self {
            MessageRejection::EmptyText => invalid("text", "must not be blank".into()),
            MessageRejection::TextTooLong { chars } => {
                invalid("text", format!("must be at most {MESSAGE_MAX_CHARS} characters, not {chars}"))
            }
            MessageRejection::ToSelf => Problem::rule("message_not_allowed", "Nobody writes to themselves."),
            MessageRejection::UnknownRecipient => Problem::not_found("There is no such user."),
            MessageRejection::NotAllowed => Problem::rule(
                "message_not_allowed",
                "A trainee writes with the instructors of the courses they learn, and an admin with anyone.",
            ),
            MessageRejection::CourseNeeded => invalid("course_id", "names the course the message is about".into()),
            MessageRejection::NotTheirCourse => Problem::rule("not_their_course", "The message is not valid.")
                .with_errors(vec![FieldError::new("course_id", "must be a course of the instructor's")]),
            MessageRejection::NotALearner => Problem::rule(
                "message_not_allowed",
                "A trainee and an instructor write about a course the trainee learns or completed.",
            ),
            MessageRejection::NoConversation => Problem::not_found("You have no conversation with this user."),
        }
    }
}

// SupportRejection, answered for the routes in `support.rs`.
impl Refusal for SupportRejection {
    fn problem(self) -> Problem {
        match self {
            SupportRejection::NotFound => Problem::not_found("There is no such ticket or request."),
            SupportRejection::InvalidText(field, message) => invalid_field("The text is not valid.", field, message),
            SupportRejection::InvalidStatusChange => Problem::rule(
                "invalid_status_change",
                "A status moves forward only (unseen, pending, then resolved or rejected), and a final one stays.",
            ),
            SupportRejection::NotCorporate => {
                Problem::forbidden("Access requests are for corporate trainees; individual trainees buy courses.")
            }
            SupportRejection::CourseNotFound => Problem::not_found("There is no such course."),
            SupportRejection::AlreadyEnrolled => {
                Problem::rule("already_enrolled", "You are already enrolled in this course.")
            }
            SupportRejection::AlreadyRequested => {
                Problem::rule("access_already_requested", "Access to this course was asked for already.")
            }
            SupportRejection::NotEditable => {
                Problem::rule("ticket_not_editable", "A ticket is rewritten only until an admin has seen it.")
            }
        }
    }
}

// NewsletterRejection, answered for the routes in `newsletter.rs`.
impl Refusal for NewsletterRejection {
    fn problem(self) -> Problem {
        let invalid = |field: &str, message: String| invalid_field("The request is not valid.", field, message);
        match self {
            NewsletterRejection::InvalidEmail => invalid("email", "must be an email address".to_owned()),
            NewsletterRejection::InvalidCampaign(field, message) => invalid(field, message),
            NewsletterRejection::NoCampaign => Problem::not_found("There is no such campaign."),
        }
    }
}

// FxRejection, answered for the routes in `fx.rs`.
impl Refusal for FxRejection {
    fn problem(self) -> Problem {
        match self {
            FxRejection::NotAnAdmin => Problem::forbidden("Only admins set exchange rates."),
            FxRejection::Invalid(violations) => invalid(violations),
        }
    }
}
