//! Events of the Learning context: enrolments (`enrollment-{trainee}-{course}`, one stream per trainee and
//! course, so a second enrolment in the same course meets the first one's stream).

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// D6: attempts at a course's exam per enrolment.
pub const MAX_EXAM_ATTEMPTS: u8 = 3;
/// R9: the exam grade that passes.
pub const PASSING_GRADE: u8 = 50;

/// How a trainee came to be enrolled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum EnrollmentSource {
    /// Bought in an order, at the line's price (USD cents).
    Purchase { order_id: Uuid, price_cents: i64 },
    /// Granted by an admin.
    AdminGrant { admin_id: Uuid },
    /// Granted on an approved corporate access request.
    CorporateGrant { request_id: Uuid },
}

impl EnrollmentSource {
    pub fn kind(&self) -> &'static str {
        match self {
            EnrollmentSource::Purchase { .. } => "purchase",
            EnrollmentSource::AdminGrant { .. } => "admin_grant",
            EnrollmentSource::CorporateGrant { .. } => "corporate_grant",
        }
    }
}

/// A trainee was enrolled in a course. `instructor_id` is the course's owner at that moment, for the
/// instructors' trainee counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TraineeEnrolled {
    pub trainee_id: Uuid,
    pub course_id: Uuid,
    pub instructor_id: Uuid,
    pub source: EnrollmentSource,
}

/// Why an enrolment ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum RevocationReason {
    /// An admin took the access away.
    AdminAction { admin_id: Uuid },
    /// The purchase was refunded.
    Refunded { refund_id: Uuid },
    /// The course was deleted.
    CourseDeleted,
}

/// The trainee no longer learns the course (their certificate, if any, stays valid). They may be enrolled
/// again later.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnrollmentRevoked {
    pub trainee_id: Uuid,
    pub course_id: Uuid,
    pub reason: RevocationReason,
}

/// A trainee opened a lesson for the first time; `progress` is the enrolment's progress after it (R8:
/// trunc(visited / lessons x 100), never lower than before).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LessonViewed {
    pub trainee_id: Uuid,
    pub course_id: Uuid,
    pub lesson_id: Uuid,
    pub progress: u8,
}

/// A trainee opened an enrolled course (the last viewed course; the original did this on a GET).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CourseOpened {
    pub trainee_id: Uuid,
    pub course_id: Uuid,
}

/// The course's lessons changed: the enrolment's progress is recomputed over the lessons that exist now
/// (Saga 8). It may go down; certificates already issued stay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProgressRecomputed {
    pub trainee_id: Uuid,
    pub course_id: Uuid,
    pub progress: u8,
}

/// A trainee answered one question of an exercise; the last answer to a question counts. `correct` is
/// decided against the question as it was then.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExerciseAnswerSubmitted {
    pub trainee_id: Uuid,
    pub course_id: Uuid,
    pub exercise_id: Uuid,
    pub question_id: Uuid,
    pub answer_index: u32,
    pub correct: bool,
}

/// An exam attempt (D6: at most 3, answers keyed by question id). `grade` is trunc(correct / questions x
/// 100), `best_grade` the best of every attempt so far (this one included), which is the one that counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExamSubmitted {
    pub trainee_id: Uuid,
    pub course_id: Uuid,
    pub attempt: u8,
    pub answers: std::collections::BTreeMap<Uuid, u32>,
    pub grade: u8,
    pub passed: bool,
    pub best_grade: u8,
}

/// The trainee asked to see the exam's answers; no attempt follows (they are known now).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExamAnswersRevealed {
    pub trainee_id: Uuid,
    pub course_id: Uuid,
}

/// D1: progress 100 and, when the course has an exam, a best grade of at least 50.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CourseCompleted {
    pub trainee_id: Uuid,
    pub course_id: Uuid,
}

/// The certificate of a completed course, under a public random id anyone may verify.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CertificateIssued {
    pub trainee_id: Uuid,
    pub course_id: Uuid,
    pub certificate_id: Uuid,
}

/// The certificate is to be emailed to the trainee with its PDF: automatically once after it was issued
/// (`auto`), or on the trainee's request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CertificateEmailRequested {
    pub trainee_id: Uuid,
    pub course_id: Uuid,
    pub certificate_id: Uuid,
    pub auto: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub requested_at: time::OffsetDateTime,
}

/// A trainee's notes on one course, replaced whole (stream `notebook-{trainee}`). The text is the
/// trainee's own writing: personal data, sealed with their key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NotesReplaced {
    pub trainee_id: Uuid,
    pub course_id: Uuid,
    pub text: crate::personal::Personal,
}

/// The trainee or an admin added to the thread of a refund request, as on a ticket's. The text is its author's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefundRequestFollowUpAdded {
    pub refund_id: Uuid,
    pub trainee_id: Uuid,
    pub course_id: Uuid,
    pub author_id: Uuid,
    pub by_admin: bool,
    pub text: crate::personal::Personal,
}

/// The title of the note that a course's [`NotesReplaced`] text is (its id the course's): notes had no titles then.
pub const REPLACED_NOTES_TITLE: &str = "Notes";

/// A trainee wrote a note on a course they learn, about the whole course or one of its lessons. Its title and
/// text are their own writing: personal data, sealed with their key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoteCreated {
    pub note_id: Uuid,
    pub trainee_id: Uuid,
    pub course_id: Uuid,
    pub lesson_id: Option<Uuid>,
    pub title: crate::personal::Personal,
    pub text: crate::personal::Personal,
}

/// A trainee rewrote one of their notes: its title, text and lesson as they are now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoteUpdated {
    pub note_id: Uuid,
    pub trainee_id: Uuid,
    pub course_id: Uuid,
    pub lesson_id: Option<Uuid>,
    pub title: crate::personal::Personal,
    pub text: crate::personal::Personal,
}

/// A trainee deleted one of their notes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoteDeleted {
    pub note_id: Uuid,
    pub trainee_id: Uuid,
    pub course_id: Uuid,
}

/// D2: a trainee asked for their purchase of a course back, while they had seen less than half of it. One
/// request per enrolment, ever. `reason` is the trainee's own text: personal data, sealed with their key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefundRequested {
    pub refund_id: Uuid,
    pub trainee_id: Uuid,
    pub course_id: Uuid,
    pub order_id: Uuid,
    pub paid_cents: i64,
    pub progress_at_request: u8,
    pub reason: crate::personal::Personal,
}

/// An admin saw the request (D9: Unseen to Pending).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefundRequestAcknowledged {
    pub refund_id: Uuid,
    pub trainee_id: Uuid,
    pub course_id: Uuid,
}

/// An admin approved the refund: `refund_cents` = floor(0.70 x paid) goes to the wallet (D5), and the
/// instructor gives back all but floor(0.24 x paid) (D3); the refund saga carries it out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefundApproved {
    pub refund_id: Uuid,
    pub trainee_id: Uuid,
    pub course_id: Uuid,
    pub order_id: Uuid,
    pub paid_cents: i64,
    pub refund_cents: i64,
}

/// An admin rejected the refund, saying why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefundRejected {
    pub refund_id: Uuid,
    pub trainee_id: Uuid,
    pub course_id: Uuid,
    pub reason: String,
}

/// The wallet was credited, the instructor's earning reversed and the enrolment revoked: the refund is done.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefundCompleted {
    pub refund_id: Uuid,
    pub trainee_id: Uuid,
    pub course_id: Uuid,
}
