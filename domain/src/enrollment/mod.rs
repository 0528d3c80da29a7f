//! The Enrollment aggregate (stream `enrollment-{trainee}-{course}`): a trainee's access to one course. The
//! stream id is deterministic, so a second enrolment in the same course meets the first (R23): enrolling
//! again for the same reason changes nothing, for another reason it is refused, and the checkout saga then
//! refunds the line.
//!
//! One aggregate, because its rules read each other's state (a refund needs progress below 50, completion
//! needs progress and the exam, a revoked enrolment learns nothing), decided in one file per concern: access
//! here, then `learning.rs` (views, progress, exercises, completion), `exams.rs`, `certificates.rs` and
//! `refunds.rs` (R4, R5, D2, D5, D9).

use crate::effects::Decided;
use std::collections::{BTreeMap, HashSet};

use events::Event;
use events::learning::{
    CertificateEmailRequested, CertificateIssued, CourseCompleted, CourseOpened, EnrollmentRevoked, EnrollmentSource,
    ExamAnswersRevealed, ExamSubmitted, ExerciseAnswerSubmitted, LessonViewed, ProgressRecomputed, RefundApproved,
    RefundCompleted, RefundRejected, RefundRequestAcknowledged, RefundRequested, RevocationReason, TraineeEnrolled,
};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::Aggregate;
use super::course::{Course, CourseStatus};
use super::course_content::{Answerable, Content};
use crate::families::EnrollmentEvent;

pub use events::learning::{MAX_EXAM_ATTEMPTS, PASSING_GRADE};
use events::personal::Personal;

mod certificates;
mod exams;
mod learning;
#[cfg(test)]
mod properties;
mod refunds;
#[cfg(test)]
mod tests;

pub use learning::{Learner, LearningRejection, progress_of};
pub use refunds::{
    DecisionMail, REFUND_PERCENT, REFUND_PROGRESS_LIMIT, REFUND_REASON_MAX_CHARS, Refund, RefundCommand,
    RefundDecision, RefundRejection, RefundStatus, decide_refunds, refund_of,
};

/// How a trainee comes to an enrolment.
#[derive(Debug, Clone)]
pub enum EnrolmentCommand<'a> {
    /// Enrols `trainee_id` in `course` for `source`.
    Enroll { course: &'a Course, trainee_id: Uuid, source: EnrollmentSource },
}

/// Decides how a trainee comes to the enrolment.
pub fn decide(enrollment: &Enrollment, command: EnrolmentCommand<'_>) -> Result<Decided, EnrollmentRejection> {
    match command {
        EnrolmentCommand::Enroll { course, trainee_id, source } => enroll(enrollment, course, trainee_id, source),
    }
    .map(Decided::from)
}

/// What a trainee (or a saga, or an admin) does while an enrolment is held: learning, the exam, the certificate
/// email, and its end.
#[derive(Debug, Clone)]
pub enum LearningCommand<'a> {
    ViewLesson {
        content: &'a Content,
        learner: Learner,
        lesson_id: Uuid,
    },
    /// Saga 8: progress over the course's lessons as they are now.
    RecomputeProgress {
        content: &'a Content,
        learner: Learner,
    },
    Open {
        trainee_id: Uuid,
        course_id: Uuid,
    },
    AnswerExercise {
        content: &'a Content,
        trainee_id: Uuid,
        course_id: Uuid,
        exercise_id: Uuid,
        question_id: Uuid,
        answer_index: u32,
    },
    SubmitExam {
        content: &'a Content,
        learner: Learner,
        answers: BTreeMap<Uuid, u32>,
    },
    RevealExamAnswers {
        trainee_id: Uuid,
        course_id: Uuid,
    },
    /// `auto`: the email the completion sends, once.
    EmailCertificate {
        trainee_id: Uuid,
        course_id: Uuid,
        auto: bool,
        now: OffsetDateTime,
    },
    Revoke {
        trainee_id: Uuid,
        course_id: Uuid,
        reason: RevocationReason,
    },
}

/// Decides a learning command on the enrolment.
pub fn decide_learning(enrollment: &Enrollment, command: LearningCommand<'_>) -> Result<Decided, LearningRejection> {
    match command {
        LearningCommand::ViewLesson { content, learner, lesson_id } => {
            learning::view_lesson(enrollment, content, learner, lesson_id)
        }
        LearningCommand::RecomputeProgress { content, learner } => {
            Ok(learning::recompute_progress(enrollment, content, learner))
        }
        LearningCommand::Open { trainee_id, course_id } => learning::open_course(enrollment, trainee_id, course_id),
        LearningCommand::AnswerExercise { content, trainee_id, course_id, exercise_id, question_id, answer_index } => {
            learning::answer_exercise(
                enrollment,
                content,
                trainee_id,
                course_id,
                (exercise_id, question_id),
                answer_index,
            )
        }
        LearningCommand::SubmitExam { content, learner, answers } => {
            exams::submit_exam(enrollment, content, learner, answers)
        }
        LearningCommand::RevealExamAnswers { trainee_id, course_id } => {
            exams::reveal_exam_answers(enrollment, trainee_id, course_id)
        }
        LearningCommand::EmailCertificate { trainee_id, course_id, auto, now } => {
            certificates::email_certificate(enrollment, trainee_id, course_id, auto, now)
        }
        LearningCommand::Revoke { trainee_id, course_id, reason } => revoke(enrollment, trainee_id, course_id, reason),
    }
    .map(Decided::from)
}

/// A trainee may have the certificate emailed again once this long after the last email.
pub const CERTIFICATE_EMAIL_INTERVAL: Duration = Duration::minutes(10);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EnrollmentStatus {
    #[default]
    Missing,
    Active,
    /// Access was taken away (by an admin, a refund, the course's deletion); enrolling again is possible.
    Revoked,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Enrollment {
    pub status: EnrollmentStatus,
    pub source: Option<EnrollmentSource>,
    /// Lessons opened at least once.
    pub visited: HashSet<Uuid>,
    pub progress: u8,
    /// Exercise questions answered, and whether the last answer was right.
    pub exercise_answers: BTreeMap<Uuid, bool>,
    pub exam_attempts: u8,
    /// The best exam grade so far (D6: the one that counts); `None` before the first attempt.
    pub best_grade: Option<u8>,
    pub answers_revealed: bool,
    pub completed: bool,
    pub certificate_id: Option<Uuid>,
    /// The automatic certificate email was asked for (it goes out once).
    pub auto_emailed: bool,
    pub last_email_at: Option<OffsetDateTime>,
    /// R5: one refund request per enrolment, ever (it stays through a revocation and a new enrolment).
    pub refund: Option<Refund>,
}

impl Aggregate for Enrollment {
    fn evolve(self, event: &Event) -> Self {
        let Some(event) = EnrollmentEvent::of(event) else { return self };
        match event {
            // Enrolled again after a revocation, the trainee starts over; a completion and its certificate
            // stay, and are not issued twice.
            EnrollmentEvent::TraineeEnrolled(enrolled) => Enrollment {
                status: EnrollmentStatus::Active,
                source: Some(enrolled.source.clone()),
                completed: self.completed,
                certificate_id: self.certificate_id,
                auto_emailed: self.auto_emailed,
                last_email_at: self.last_email_at,
                refund: self.refund,
                ..Enrollment::default()
            },
            EnrollmentEvent::EnrollmentRevoked(_) => Enrollment { status: EnrollmentStatus::Revoked, ..self },
            EnrollmentEvent::RefundRequested(requested) => Enrollment {
                refund: Some(Refund {
                    refund_id: requested.refund_id,
                    status: RefundStatus::Requested,
                    order_id: requested.order_id,
                    paid_cents: requested.paid_cents,
                    refund_cents: 0,
                }),
                ..self
            },
            EnrollmentEvent::RefundRequestAcknowledged(_) => self.refund_now(RefundStatus::Pending, None),
            EnrollmentEvent::RefundApproved(approved) => {
                self.refund_now(RefundStatus::Approved, Some(approved.refund_cents))
            }
            EnrollmentEvent::RefundRejected(_) => self.refund_now(RefundStatus::Rejected, None),
            EnrollmentEvent::RefundCompleted(_) => self.refund_now(RefundStatus::Completed, None),
            EnrollmentEvent::RefundRequestFollowUpAdded(_) => self,
            EnrollmentEvent::ProgressRecomputed(recomputed) => Enrollment { progress: recomputed.progress, ..self },
            EnrollmentEvent::LessonViewed(viewed) => {
                let mut visited = self.visited;
                visited.insert(viewed.lesson_id);
                Enrollment { visited, progress: viewed.progress, ..self }
            }
            EnrollmentEvent::ExerciseAnswerSubmitted(answered) => {
                let mut exercise_answers = self.exercise_answers;
                exercise_answers.insert(answered.question_id, answered.correct);
                Enrollment { exercise_answers, ..self }
            }
            EnrollmentEvent::ExamSubmitted(exam) => {
                Enrollment { exam_attempts: exam.attempt, best_grade: Some(exam.best_grade), ..self }
            }
            EnrollmentEvent::ExamAnswersRevealed(_) => Enrollment { answers_revealed: true, ..self },
            EnrollmentEvent::CourseCompleted(_) => Enrollment { completed: true, ..self },
            EnrollmentEvent::CertificateIssued(issued) => {
                Enrollment { certificate_id: Some(issued.certificate_id), ..self }
            }
            EnrollmentEvent::CertificateEmailRequested(requested) => Enrollment {
                auto_emailed: self.auto_emailed || requested.auto,
                last_email_at: Some(requested.requested_at),
                ..self
            },
            EnrollmentEvent::CourseOpened(_) => self,
        }
    }
}

impl Enrollment {
    fn refund_now(self, status: RefundStatus, refund_cents: Option<i64>) -> Self {
        let refund = self.refund.map(|refund| Refund {
            status,
            refund_cents: refund_cents.unwrap_or(refund.refund_cents),
            ..refund
        });
        Enrollment { refund, ..self }
    }

    pub fn is_active(&self) -> bool {
        self.status == EnrollmentStatus::Active
    }

    /// Only an active enrolment learns.
    pub fn learning(&self) -> Result<(), LearningRejection> {
        match self.status {
            EnrollmentStatus::Active => Ok(()),
            EnrollmentStatus::Revoked => Err(LearningRejection::NotActive),
            EnrollmentStatus::Missing => Err(LearningRejection::NotEnrolled),
        }
    }
}

/// Ends an active enrolment for `reason`; an enrolment revoked already stays as it is.
pub(super) fn revoke(
    enrollment: &Enrollment,
    trainee_id: Uuid,
    course_id: Uuid,
    reason: RevocationReason,
) -> Result<Vec<Event>, LearningRejection> {
    match enrollment.status {
        EnrollmentStatus::Missing => Err(LearningRejection::NotEnrolled),
        EnrollmentStatus::Revoked => Ok(Vec::new()),
        EnrollmentStatus::Active => {
            Ok(vec![Event::EnrollmentRevoked(EnrollmentRevoked { trainee_id, course_id, reason })])
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnrollmentRejection {
    /// The course does not exist or was deleted.
    CourseNotFound,
    /// The trainee holds an active enrolment from another source (another order, a grant).
    AlreadyEnrolled,
}

/// Enrols `trainee_id` in `course` for `source`. A course that exists and is not deleted may be enrolled in,
/// whatever its status: a purchase paid just before the course was retired keeps its access (D4).
pub(super) fn enroll(
    enrollment: &Enrollment,
    course: &Course,
    trainee_id: Uuid,
    source: EnrollmentSource,
) -> Result<Vec<Event>, EnrollmentRejection> {
    if matches!(course.status, CourseStatus::Missing | CourseStatus::Deleted) {
        return Err(EnrollmentRejection::CourseNotFound);
    }
    match &enrollment.source {
        // The same source again changes nothing; after a revocation too, but for an admin's grant: a refunded
        // purchase does not enrol again when its order's fulfilment is repeated, nor an access request again.
        Some(existing)
            if *existing == source
                && (enrollment.is_active() || !matches!(source, EnrollmentSource::AdminGrant { .. })) =>
        {
            Ok(Vec::new())
        }
        _ if enrollment.is_active() => Err(EnrollmentRejection::AlreadyEnrolled),
        _ => Ok(vec![Event::TraineeEnrolled(TraineeEnrolled {
            trainee_id,
            course_id: course.id,
            instructor_id: course.owner,
            source,
        })]),
    }
}
