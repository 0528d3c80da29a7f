//! The Enrollment aggregate (stream `enrollment-{trainee}-{course}`): a trainee's access to one course. The
//! stream id is deterministic, so a second enrolment in the same course meets the first (R23): enrolling
//! again for the same reason changes nothing, for another reason it is refused, and the checkout saga then
//! refunds the line. Learning (progress, exercises, the exam, completion, certificates) and refund requests
//! (R4, R5, D2, D5, D9) are decided here too.

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

/// R4, D2: a refund may be asked for while less than this share of the lessons was seen.
pub const REFUND_PROGRESS_LIMIT: u8 = 50;
/// D5: the share of the paid price a refund credits to the wallet (floor to cents).
pub const REFUND_PERCENT: i64 = 70;
/// A refund request's reason, in characters.
pub const REFUND_REASON_MAX_CHARS: usize = 2_000;

/// Where a refund request stands (D9: Unseen, then Pending, then Approved or Rejected; terminal states are
/// final); Approved becomes Completed once the refund saga has carried it out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RefundStatus {
    #[default]
    None,
    Requested,
    Pending,
    Approved,
    Rejected,
    Completed,
}

/// The refund request of an enrolment, once there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refund {
    pub refund_id: Uuid,
    pub status: RefundStatus,
    pub order_id: Uuid,
    pub paid_cents: i64,
    pub refund_cents: i64,
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

/// Why a learning command is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LearningRejection {
    /// Not enrolled in the course (404: it says nothing about the course).
    NotEnrolled,
    /// The enrolment was revoked.
    NotActive,
    /// The course has no such lesson now.
    LessonNotFound,
    /// The course has no such exercise, or the exercise no such question, now.
    ExerciseNotFound,
    /// R13: an answer is one of the question's options.
    NotAnOption { question_id: Uuid },
    /// The course has no exam.
    NoExam,
    /// An exam answer names a question the exam does not have.
    NotAnExamQuestion { question_id: Uuid },
    /// D6: three attempts were made.
    AttemptsExhausted,
    /// The answers were shown: no attempt follows.
    AnswersRevealed,
    /// Answers are shown only after an attempt.
    NotAttempted,
    /// The course is not completed, so there is no certificate.
    NoCertificate,
    /// The certificate was emailed moments ago.
    EmailedRecently { retry_after_seconds: u32 },
}

/// R8: trunc(|visited lessons that still exist| / |lessons| x 100).
pub fn progress_of(visited: &HashSet<Uuid>, lessons: &[Uuid]) -> u8 {
    percent(lessons.iter().filter(|lesson| visited.contains(lesson)).count(), lessons.len())
}

fn percent(seen: usize, total: usize) -> u8 {
    if total == 0 {
        return 0;
    }
    u8::try_from(seen * 100 / total).unwrap_or(100)
}

/// D1: once progress is 100 and the exam, if the course has one, was passed, the course is completed and
/// its certificate issued under `certificate_id`, once. `after` is the enrolment with this command's other
/// events folded in.
fn completion(
    after: Standing,
    content: &Content,
    trainee_id: Uuid,
    course_id: Uuid,
    certificate_id: Uuid,
) -> Vec<Event> {
    let passed = content.exam.is_empty() || after.best_grade.is_some_and(|grade| grade >= PASSING_GRADE);
    if after.completed || after.progress < 100 || !passed {
        return Vec::new();
    }
    vec![
        Event::CourseCompleted(CourseCompleted { trainee_id, course_id }),
        Event::CertificateIssued(CertificateIssued { trainee_id, course_id, certificate_id }),
    ]
}

/// `events`, followed by the completion they lead to.
fn completing(
    enrollment: &Enrollment,
    mut events: Vec<Event>,
    content: &Content,
    trainee_id: Uuid,
    course_id: Uuid,
    certificate_id: Uuid,
) -> Vec<Event> {
    let standing = events.iter().fold(Standing::of(enrollment), Standing::after);
    events.extend(completion(standing, content, trainee_id, course_id, certificate_id));
    events
}

/// What D1 looks at, without copying the enrolment's lists.
#[derive(Debug, Clone, Copy)]
struct Standing {
    progress: u8,
    best_grade: Option<u8>,
    completed: bool,
}

impl Standing {
    fn of(enrollment: &Enrollment) -> Self {
        Standing { progress: enrollment.progress, best_grade: enrollment.best_grade, completed: enrollment.completed }
    }

    fn after(self, event: &Event) -> Self {
        let Some(event) = EnrollmentEvent::of(event) else { return self };
        match event {
            EnrollmentEvent::LessonViewed(viewed) => Standing { progress: viewed.progress, ..self },
            EnrollmentEvent::ProgressRecomputed(recomputed) => Standing { progress: recomputed.progress, ..self },
            EnrollmentEvent::ExamSubmitted(exam) => Standing { best_grade: Some(exam.best_grade), ..self },
            EnrollmentEvent::CourseCompleted(_) => Standing { completed: true, ..self },
            EnrollmentEvent::TraineeEnrolled(_)
            | EnrollmentEvent::EnrollmentRevoked(_)
            | EnrollmentEvent::CourseOpened(_)
            | EnrollmentEvent::ExerciseAnswerSubmitted(_)
            | EnrollmentEvent::ExamAnswersRevealed(_)
            | EnrollmentEvent::CertificateIssued(_)
            | EnrollmentEvent::CertificateEmailRequested(_)
            | EnrollmentEvent::RefundRequested(_)
            | EnrollmentEvent::RefundRequestAcknowledged(_)
            | EnrollmentEvent::RefundApproved(_)
            | EnrollmentEvent::RefundRejected(_)
            | EnrollmentEvent::RefundCompleted(_) => self,
        }
    }
}

/// Who is learning which course, and the id a certificate would get if this command completes it.
#[derive(Debug, Clone, Copy)]
pub struct Learner {
    pub trainee_id: Uuid,
    pub course_id: Uuid,
    pub certificate_id: Uuid,
}

/// Records the first view of `lesson_id` (a lesson of the course now); a lesson seen before changes
/// nothing. Progress never goes down on a view; reaching 100 may complete the course (D1).
pub fn view_lesson(
    enrollment: &Enrollment,
    content: &Content,
    learner: Learner,
    lesson_id: Uuid,
) -> Result<Vec<Event>, LearningRejection> {
    enrollment.learning()?;
    let lessons = content.lesson_ids();
    if !lessons.contains(&lesson_id) {
        return Err(LearningRejection::LessonNotFound);
    }
    if enrollment.visited.contains(&lesson_id) {
        return Ok(Vec::new());
    }
    let seen = lessons.iter().filter(|lesson| enrollment.visited.contains(lesson)).count() + 1;
    let progress = percent(seen, lessons.len()).max(enrollment.progress);
    let Learner { trainee_id, course_id, certificate_id } = learner;
    let viewed = vec![Event::LessonViewed(LessonViewed { trainee_id, course_id, lesson_id, progress })];
    Ok(completing(enrollment, viewed, content, trainee_id, course_id, certificate_id))
}

/// Saga 8: the progress over the course's lessons as they are now, recorded only when it changed; nothing
/// for an enrolment that is not active. A certificate already issued stays; reaching 100 may complete.
pub fn recompute_progress(enrollment: &Enrollment, content: &Content, learner: Learner) -> Vec<Event> {
    let progress = progress_of(&enrollment.visited, &content.lesson_ids());
    if !enrollment.is_active() || progress == enrollment.progress {
        return Vec::new();
    }
    let Learner { trainee_id, course_id, certificate_id } = learner;
    let recomputed = vec![Event::ProgressRecomputed(ProgressRecomputed { trainee_id, course_id, progress })];
    completing(enrollment, recomputed, content, trainee_id, course_id, certificate_id)
}

/// Records that the trainee opened the course (the last viewed course).
pub fn open_course(
    enrollment: &Enrollment,
    trainee_id: Uuid,
    course_id: Uuid,
) -> Result<Vec<Event>, LearningRejection> {
    enrollment.learning()?;
    Ok(vec![Event::CourseOpened(CourseOpened { trainee_id, course_id })])
}

fn judge(question: &Answerable, answer_index: u32) -> Result<bool, LearningRejection> {
    if answer_index >= question.options {
        return Err(LearningRejection::NotAnOption { question_id: question.id });
    }
    Ok(answer_index == question.answer_index)
}

/// Answers one question of an exercise; the last answer counts. The event says whether it was right.
pub fn answer_exercise(
    enrollment: &Enrollment,
    content: &Content,
    trainee_id: Uuid,
    course_id: Uuid,
    (exercise_id, question_id): (Uuid, Uuid),
    answer_index: u32,
) -> Result<Vec<Event>, LearningRejection> {
    enrollment.learning()?;
    let question = content
        .exercise(exercise_id)
        .and_then(|exercise| exercise.question(question_id))
        .ok_or(LearningRejection::ExerciseNotFound)?;
    let correct = judge(question, answer_index)?;
    Ok(vec![Event::ExerciseAnswerSubmitted(ExerciseAnswerSubmitted {
        trainee_id,
        course_id,
        exercise_id,
        question_id,
        answer_index,
        correct,
    })])
}

/// An exam attempt (R9, D6): answers keyed by question id, each one of its question's options; a question
/// left out counts as wrong. Grade = trunc(correct / questions x 100); the best grade counts and 50 passes,
/// which may complete the course (D1).
pub fn submit_exam(
    enrollment: &Enrollment,
    content: &Content,
    learner: Learner,
    answers: BTreeMap<Uuid, u32>,
) -> Result<Vec<Event>, LearningRejection> {
    enrollment.learning()?;
    if content.exam.is_empty() {
        return Err(LearningRejection::NoExam);
    }
    if enrollment.answers_revealed {
        return Err(LearningRejection::AnswersRevealed);
    }
    if enrollment.exam_attempts >= MAX_EXAM_ATTEMPTS {
        return Err(LearningRejection::AttemptsExhausted);
    }
    let mut correct = 0_usize;
    for (&question_id, &answer_index) in &answers {
        let question = content
            .exam
            .iter()
            .find(|question| question.id == question_id)
            .ok_or(LearningRejection::NotAnExamQuestion { question_id })?;
        correct += usize::from(judge(question, answer_index)?);
    }
    let grade = u8::try_from(correct * 100 / content.exam.len()).unwrap_or(100);
    let best_grade = enrollment.best_grade.map_or(grade, |best| best.max(grade));
    let Learner { trainee_id, course_id, certificate_id } = learner;
    let submitted = vec![Event::ExamSubmitted(ExamSubmitted {
        trainee_id,
        course_id,
        attempt: enrollment.exam_attempts + 1,
        answers,
        grade,
        passed: grade >= PASSING_GRADE,
        best_grade,
    })];
    Ok(completing(enrollment, submitted, content, trainee_id, course_id, certificate_id))
}

/// Shows the exam's answers, once the trainee made an attempt; after that no attempt follows.
pub fn reveal_exam_answers(
    enrollment: &Enrollment,
    trainee_id: Uuid,
    course_id: Uuid,
) -> Result<Vec<Event>, LearningRejection> {
    enrollment.learning()?;
    if enrollment.exam_attempts == 0 {
        return Err(LearningRejection::NotAttempted);
    }
    if enrollment.answers_revealed {
        return Ok(Vec::new());
    }
    Ok(vec![Event::ExamAnswersRevealed(ExamAnswersRevealed { trainee_id, course_id })])
}

/// Asks for the certificate to be emailed with its PDF (R10). The automatic email (`auto`) goes out once:
/// asked again, it changes nothing. The trainee may ask again, but not within
/// [`CERTIFICATE_EMAIL_INTERVAL`] of the last email.
pub fn email_certificate(
    enrollment: &Enrollment,
    trainee_id: Uuid,
    course_id: Uuid,
    auto: bool,
    now: OffsetDateTime,
) -> Result<Vec<Event>, LearningRejection> {
    if enrollment.status == EnrollmentStatus::Missing {
        return Err(LearningRejection::NotEnrolled);
    }
    let Some(certificate_id) = enrollment.certificate_id else { return Err(LearningRejection::NoCertificate) };
    if auto && enrollment.auto_emailed {
        return Ok(Vec::new());
    }
    let next = enrollment.last_email_at.map(|last| last + CERTIFICATE_EMAIL_INTERVAL);
    if let Some(next) = next.filter(|next| !auto && *next > now) {
        let wait = (next - now).whole_seconds().max(1);
        return Err(LearningRejection::EmailedRecently {
            retry_after_seconds: u32::try_from(wait).unwrap_or(u32::MAX),
        });
    }
    Ok(vec![Event::CertificateEmailRequested(CertificateEmailRequested {
        trainee_id,
        course_id,
        certificate_id,
        auto,
        requested_at: now,
    })])
}

/// Ends an active enrolment for `reason`; an enrolment revoked already stays as it is.
pub fn revoke(
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

/// Why a refund command is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefundRejection {
    Learning(LearningRejection),
    /// Refunds are for individual trainees' purchases; corporate access is granted, not bought.
    NotAnIndividualTrainee,
    /// The enrolment was granted, not bought.
    NotPurchased,
    /// R4: half of the course or more was seen.
    AfterHalf {
        progress: u8,
    },
    /// R5: one request per enrolment, ever.
    AlreadyRequested,
    /// The reason is empty or too long.
    InvalidReason(String),
    /// There is no such request (for admins).
    NoRequest,
    /// D9: the request was approved or rejected already; terminal states are final.
    AlreadyDecided,
}

/// The trainee asks for their purchase back (R4, R5, D2): an active enrolment bought by an individual
/// trainee, with progress below 50, and no request before.
pub fn request_refund(
    enrollment: &Enrollment,
    (trainee_id, course_id): (Uuid, Uuid),
    refund_id: Uuid,
    individual: bool,
    reason: &str,
) -> Result<Vec<Event>, RefundRejection> {
    if !individual {
        return Err(RefundRejection::NotAnIndividualTrainee);
    }
    enrollment.learning().map_err(RefundRejection::Learning)?;
    let Some(EnrollmentSource::Purchase { order_id, price_cents }) = enrollment.source else {
        return Err(RefundRejection::NotPurchased);
    };
    if enrollment.refund.is_some() {
        return Err(RefundRejection::AlreadyRequested);
    }
    if enrollment.progress >= REFUND_PROGRESS_LIMIT {
        return Err(RefundRejection::AfterHalf { progress: enrollment.progress });
    }
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > REFUND_REASON_MAX_CHARS {
        return Err(RefundRejection::InvalidReason(format!("must be 1 to {REFUND_REASON_MAX_CHARS} characters")));
    }
    Ok(vec![Event::RefundRequested(RefundRequested {
        refund_id,
        trainee_id,
        course_id,
        order_id,
        paid_cents: price_cents,
        progress_at_request: enrollment.progress,
        reason: Personal::clear(reason),
    })])
}

/// What an admin decides about a refund request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefundDecision {
    Acknowledge,
    Approve,
    Reject { reason: String },
}

/// An admin moves the request along D9: acknowledging an open request (again: nothing changes), approving
/// it (`refund_cents` = floor(0.70 x paid), D5) or rejecting it with a reason. Approved, rejected and
/// completed requests are final.
pub fn decide_refund(
    enrollment: &Enrollment,
    (trainee_id, course_id): (Uuid, Uuid),
    decision: RefundDecision,
) -> Result<Vec<Event>, RefundRejection> {
    let refund = enrollment.refund.as_ref().ok_or(RefundRejection::NoRequest)?;
    let refund_id = refund.refund_id;
    let open = matches!(refund.status, RefundStatus::Requested | RefundStatus::Pending);
    if !open {
        return Err(RefundRejection::AlreadyDecided);
    }
    Ok(match decision {
        RefundDecision::Acknowledge if refund.status == RefundStatus::Pending => Vec::new(),
        RefundDecision::Acknowledge => {
            vec![Event::RefundRequestAcknowledged(RefundRequestAcknowledged { refund_id, trainee_id, course_id })]
        }
        RefundDecision::Approve => vec![Event::RefundApproved(RefundApproved {
            refund_id,
            trainee_id,
            course_id,
            order_id: refund.order_id,
            paid_cents: refund.paid_cents,
            refund_cents: refund_of(refund.paid_cents),
        })],
        RefundDecision::Reject { reason } => {
            let reason = reason.trim();
            if reason.is_empty() || reason.chars().count() > REFUND_REASON_MAX_CHARS {
                return Err(RefundRejection::InvalidReason(format!(
                    "must be 1 to {REFUND_REASON_MAX_CHARS} characters"
                )));
            }
            vec![Event::RefundRejected(RefundRejected { refund_id, trainee_id, course_id, reason: reason.to_owned() })]
        }
    })
}

/// D5: floor(0.70 x paid).
pub fn refund_of(paid_cents: i64) -> i64 {
    paid_cents * REFUND_PERCENT / 100
}

/// The refund saga's last step: the approved refund's enrolment is revoked and the refund completed, once.
pub fn complete_refund(
    enrollment: &Enrollment,
    (trainee_id, course_id): (Uuid, Uuid),
    refund_id: Uuid,
) -> Result<Vec<Event>, RefundRejection> {
    let refund = enrollment.refund.as_ref().filter(|refund| refund.refund_id == refund_id);
    match refund.map(|refund| refund.status) {
        Some(RefundStatus::Completed) => Ok(Vec::new()),
        Some(RefundStatus::Approved) => {
            let mut events = Vec::new();
            if enrollment.is_active() {
                let reason = RevocationReason::Refunded { refund_id };
                events.push(Event::EnrollmentRevoked(EnrollmentRevoked { trainee_id, course_id, reason }));
            }
            events.push(Event::RefundCompleted(RefundCompleted { refund_id, trainee_id, course_id }));
            Ok(events)
        }
        Some(_) => Err(RefundRejection::AlreadyDecided),
        None => Err(RefundRejection::NoRequest),
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
pub fn enroll(
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::course_content::{Exercise, Lesson, Section};

    const TRAINEE: Uuid = Uuid::from_u128(1);
    const COURSE: Uuid = Uuid::from_u128(2);
    const CERTIFICATE: Uuid = Uuid::from_u128(77);
    const EXERCISE: Uuid = Uuid::from_u128(40);
    const LEARNER: Learner = Learner { trainee_id: TRAINEE, course_id: COURSE, certificate_id: CERTIFICATE };

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    fn course(status: CourseStatus) -> Course {
        Course { id: COURSE, owner: Uuid::from_u128(3), status, ..Course::default() }
    }

    fn purchase(order: u128) -> EnrollmentSource {
        EnrollmentSource::Purchase { order_id: Uuid::from_u128(order), price_cents: 1999 }
    }

    /// A question with three options whose answer is option 1.
    fn question(n: u128) -> Answerable {
        Answerable { id: id(n), options: 3, answer_index: 1 }
    }

    /// A course of `lessons`, one exercise of questions 41 and 42, and an exam of `exam` questions.
    fn content(lessons: &[u128], exam: &[u128]) -> Content {
        let lessons = lessons.iter().map(|&n| Lesson { id: id(n), minutes: 5 }).collect();
        let exercise = Exercise { id: EXERCISE, questions: vec![question(41), question(42)] };
        Content {
            sections: vec![Section { id: id(10), lessons, exercises: vec![exercise] }],
            exam: exam.iter().map(|&n| question(n)).collect(),
            ..Content::default()
        }
    }

    fn course_of_one() -> Content {
        content(&[20], &[])
    }

    fn enrolled() -> Enrollment {
        Enrollment::from_events(
            &enroll(&Enrollment::default(), &course(CourseStatus::Published), TRAINEE, purchase(9)).expect("enrolled"),
        )
    }

    /// The enrolment after `events`.
    fn then(enrollment: &Enrollment, events: &[Event]) -> Enrollment {
        events.iter().fold(enrollment.clone(), Enrollment::evolve)
    }

    fn types(events: &[Event]) -> Vec<&'static str> {
        events.iter().map(Event::event_type).collect()
    }

    fn exam(answers: &[(u128, u32)]) -> BTreeMap<Uuid, u32> {
        answers.iter().map(|&(question, answer)| (id(question), answer)).collect()
    }

    #[test]
    fn a_purchase_enrols_once_and_the_same_purchase_again_changes_nothing() {
        let events =
            enroll(&Enrollment::default(), &course(CourseStatus::Published), TRAINEE, purchase(9)).expect("enrolled");
        let Event::TraineeEnrolled(enrolled) = &events[0] else { panic!("another event") };
        assert_eq!((enrolled.course_id, enrolled.instructor_id), (Uuid::from_u128(2), Uuid::from_u128(3)));
        let enrollment = Enrollment::from_events(&events);
        assert!(enrollment.is_active());
        assert_eq!(enroll(&enrollment, &course(CourseStatus::Published), TRAINEE, purchase(9)), Ok(Vec::new()));
    }

    #[test]
    fn a_second_order_or_a_grant_for_an_owned_course_is_refused() {
        let enrollment = enrolled();
        let published = course(CourseStatus::Published);
        assert_eq!(enroll(&enrollment, &published, TRAINEE, purchase(10)), Err(EnrollmentRejection::AlreadyEnrolled));
        let grant = EnrollmentSource::AdminGrant { admin_id: Uuid::from_u128(4) };
        assert_eq!(enroll(&enrollment, &published, TRAINEE, grant), Err(EnrollmentRejection::AlreadyEnrolled));
    }

    #[test]
    fn a_lesson_counts_once_and_progress_is_the_share_of_lessons_seen() {
        let course = content(&[20, 21, 22], &[]);
        let enrolled = enrolled();
        let first = view_lesson(&enrolled, &course, LEARNER, id(20)).expect("viewed");
        assert!(matches!(&first[..], [Event::LessonViewed(v)] if v.progress == 33), "trunc(1/3 x 100)");
        let seen = then(&enrolled, &first);
        assert_eq!(view_lesson(&seen, &course, LEARNER, id(20)), Ok(Vec::new()), "a second view counts nothing");
        let second = view_lesson(&seen, &course, LEARNER, id(21)).expect("viewed");
        assert!(matches!(&second[..], [Event::LessonViewed(v)] if v.progress == 66));
        assert_eq!(view_lesson(&seen, &course, LEARNER, id(99)), Err(LearningRejection::LessonNotFound));
        assert_eq!(view_lesson(&Enrollment::default(), &course, LEARNER, id(20)), Err(LearningRejection::NotEnrolled));
        assert_eq!(open_course(&Enrollment::default(), TRAINEE, COURSE), Err(LearningRejection::NotEnrolled));
        assert!(open_course(&enrolled, TRAINEE, COURSE).is_ok());
    }

    #[test]
    fn progress_never_goes_down_on_a_view_even_after_lessons_were_added() {
        let mut enrollment = enrolled();
        enrollment.visited = HashSet::from([id(20)]);
        enrollment.progress = 100;
        enrollment.completed = true;
        let more = content(&[20, 21, 22, 23], &[]);
        let viewed = view_lesson(&enrollment, &more, LEARNER, id(21)).expect("viewed");
        assert!(matches!(&viewed[..], [Event::LessonViewed(v)] if v.progress == 100), "and no second completion");
        assert_eq!(progress_of(&HashSet::from([id(20), id(21)]), &more.lesson_ids()), 50);
        assert_eq!(progress_of(&HashSet::from([id(20)]), &[]), 0);
    }

    #[test]
    fn progress_is_recomputed_over_the_lessons_that_exist_now_and_only_when_it_changes() {
        let mut enrollment = enrolled();
        enrollment.visited = HashSet::from([id(20)]);
        enrollment.progress = 50;
        let removed = recompute_progress(&enrollment, &content(&[20], &[]), LEARNER);
        assert_eq!(
            types(&removed),
            ["ProgressRecomputed", "CourseCompleted", "CertificateIssued"],
            "the unseen lesson went"
        );
        assert!(matches!(&removed[0], Event::ProgressRecomputed(p) if p.progress == 100));
        let added = recompute_progress(&enrollment, &content(&[20, 21, 22], &[]), LEARNER);
        assert!(matches!(&added[..], [Event::ProgressRecomputed(p)] if p.progress == 33), "lessons were added");
        assert_eq!(recompute_progress(&enrollment, &content(&[20, 21], &[]), LEARNER), Vec::new(), "unchanged");
        assert_eq!(recompute_progress(&Enrollment::default(), &content(&[20], &[]), LEARNER), Vec::new());
    }

    #[test]
    fn a_certificate_issued_stays_when_lessons_are_added_later() {
        let course = content(&[20], &[]);
        let done = then(&enrolled(), &view_lesson(&enrolled(), &course, LEARNER, id(20)).expect("viewed"));
        assert_eq!(done.certificate_id, Some(CERTIFICATE));
        let more = recompute_progress(&done, &content(&[20, 21], &[]), LEARNER);
        let after = then(&done, &more);
        assert_eq!((after.progress, after.completed, after.certificate_id), (50, true, Some(CERTIFICATE)));
        let all = view_lesson(&after, &content(&[20, 21], &[]), LEARNER, id(21)).expect("viewed");
        assert_eq!(types(&all), ["LessonViewed"], "completed once");
    }

    #[test]
    fn the_last_lesson_of_a_course_without_an_exam_completes_it_and_issues_the_certificate() {
        let course = content(&[20, 21], &[]);
        let half = then(&enrolled(), &view_lesson(&enrolled(), &course, LEARNER, id(20)).expect("viewed"));
        let last = view_lesson(&half, &course, LEARNER, id(21)).expect("viewed");
        assert_eq!(types(&last), ["LessonViewed", "CourseCompleted", "CertificateIssued"]);
        assert!(matches!(&last[2], Event::CertificateIssued(c) if c.certificate_id == CERTIFICATE));
    }

    #[test]
    fn with_an_exam_completion_waits_for_a_passing_grade_whichever_comes_last() {
        let course = content(&[20], &[60, 61]);
        let viewed = then(&enrolled(), &view_lesson(&enrolled(), &course, LEARNER, id(20)).expect("viewed"));
        assert!(!viewed.completed, "progress 100 but the exam is not passed");
        let failed = submit_exam(&viewed, &course, LEARNER, exam(&[(60, 0), (61, 2)])).expect("attempt");
        assert_eq!(types(&failed), ["ExamSubmitted"]);
        assert!(matches!(&failed[0], Event::ExamSubmitted(e) if e.grade == 0 && !e.passed && e.attempt == 1));
        let once = then(&viewed, &failed);
        let passed = submit_exam(&once, &course, LEARNER, exam(&[(60, 1)])).expect("attempt");
        assert_eq!(types(&passed), ["ExamSubmitted", "CourseCompleted", "CertificateIssued"]);
        assert!(matches!(&passed[0], Event::ExamSubmitted(e) if e.grade == 50 && e.passed && e.best_grade == 50));

        // The exam passed first, the last lesson after.
        let exam_first = submit_exam(&enrolled(), &course, LEARNER, exam(&[(60, 1), (61, 1)])).expect("attempt");
        assert_eq!(types(&exam_first), ["ExamSubmitted"], "progress is 0");
        let then_view = view_lesson(&then(&enrolled(), &exam_first), &course, LEARNER, id(20)).expect("viewed");
        assert_eq!(types(&then_view), ["LessonViewed", "CourseCompleted", "CertificateIssued"]);
    }

    #[test]
    fn three_attempts_at_most_and_the_best_grade_counts() {
        let course = content(&[20], &[60, 61, 62, 63]);
        let mut enrollment = enrolled();
        for (answers, grade, best) in [(&[(60, 1), (61, 1)][..], 50, 50), (&[(60, 1)][..], 25, 50), (&[][..], 0, 50)] {
            let attempt = submit_exam(&enrollment, &course, LEARNER, exam(answers)).expect("attempt");
            assert!(matches!(&attempt[0], Event::ExamSubmitted(e) if e.grade == grade && e.best_grade == best));
            enrollment = then(&enrollment, &attempt);
        }
        assert_eq!(enrollment.exam_attempts, 3);
        assert_eq!(submit_exam(&enrollment, &course, LEARNER, exam(&[])), Err(LearningRejection::AttemptsExhausted));
    }

    #[test]
    fn exam_answers_are_keyed_by_question_and_must_be_options_of_it() {
        let course = content(&[20], &[60, 61]);
        let enrollment = enrolled();
        assert_eq!(
            submit_exam(&enrollment, &course, LEARNER, exam(&[(99, 1)])),
            Err(LearningRejection::NotAnExamQuestion { question_id: id(99) })
        );
        assert_eq!(
            submit_exam(&enrollment, &course, LEARNER, exam(&[(61, 3)])),
            Err(LearningRejection::NotAnOption { question_id: id(61) })
        );
        assert_eq!(submit_exam(&enrollment, &content(&[20], &[]), LEARNER, exam(&[])), Err(LearningRejection::NoExam));
        assert_eq!(
            submit_exam(&Enrollment::default(), &course, LEARNER, exam(&[])),
            Err(LearningRejection::NotEnrolled)
        );
    }

    #[test]
    fn answers_are_revealed_only_after_an_attempt_and_end_the_attempts() {
        let course = content(&[20], &[60]);
        let enrollment = enrolled();
        assert_eq!(reveal_exam_answers(&enrollment, TRAINEE, COURSE), Err(LearningRejection::NotAttempted));
        let tried = then(&enrollment, &submit_exam(&enrollment, &course, LEARNER, exam(&[(60, 0)])).expect("attempt"));
        let revealed = reveal_exam_answers(&tried, TRAINEE, COURSE).expect("revealed");
        assert_eq!(types(&revealed), ["ExamAnswersRevealed"]);
        let shown = then(&tried, &revealed);
        assert_eq!(reveal_exam_answers(&shown, TRAINEE, COURSE), Ok(Vec::new()), "once is enough");
        assert_eq!(submit_exam(&shown, &course, LEARNER, exam(&[(60, 1)])), Err(LearningRejection::AnswersRevealed));
    }

    #[test]
    fn an_exercise_answer_says_whether_it_is_right_and_must_be_an_option() {
        let course = content(&[20], &[]);
        let enrollment = enrolled();
        let right = answer_exercise(&enrollment, &course, TRAINEE, COURSE, (EXERCISE, id(41)), 1).expect("answered");
        assert!(matches!(&right[..], [Event::ExerciseAnswerSubmitted(a)] if a.correct));
        let wrong = answer_exercise(&enrollment, &course, TRAINEE, COURSE, (EXERCISE, id(41)), 0).expect("answered");
        assert!(matches!(&wrong[..], [Event::ExerciseAnswerSubmitted(a)] if !a.correct));
        assert!(!then(&enrollment, &[right, wrong].concat()).exercise_answers[&id(41)], "the last one counts");
        assert_eq!(
            answer_exercise(&enrollment, &course, TRAINEE, COURSE, (EXERCISE, id(41)), 3),
            Err(LearningRejection::NotAnOption { question_id: id(41) })
        );
        for unknown in [(EXERCISE, id(99)), (id(98), id(41))] {
            assert_eq!(
                answer_exercise(&enrollment, &course, TRAINEE, COURSE, unknown, 1),
                Err(LearningRejection::ExerciseNotFound)
            );
        }
        assert_eq!(
            answer_exercise(&Enrollment::default(), &course, TRAINEE, COURSE, (EXERCISE, id(41)), 1),
            Err(LearningRejection::NotEnrolled)
        );
    }

    #[test]
    fn the_certificate_is_emailed_automatically_once_and_on_request_not_too_often() {
        let now = OffsetDateTime::UNIX_EPOCH + Duration::days(20_000);
        let enrollment = enrolled();
        assert_eq!(email_certificate(&enrollment, TRAINEE, COURSE, true, now), Err(LearningRejection::NoCertificate));
        let course = content(&[20], &[]);
        let done = then(&enrollment, &view_lesson(&enrollment, &course, LEARNER, id(20)).expect("viewed"));
        let auto = email_certificate(&done, TRAINEE, COURSE, true, now).expect("emailed");
        assert!(
            matches!(&auto[..], [Event::CertificateEmailRequested(e)] if e.auto && e.certificate_id == CERTIFICATE)
        );
        let emailed = then(&done, &auto);
        assert_eq!(email_certificate(&emailed, TRAINEE, COURSE, true, now), Ok(Vec::new()), "auto goes out once");
        let soon = now + Duration::minutes(9);
        assert!(matches!(
            email_certificate(&emailed, TRAINEE, COURSE, false, soon),
            Err(LearningRejection::EmailedRecently { retry_after_seconds: 60 })
        ));
        let later = now + CERTIFICATE_EMAIL_INTERVAL;
        let manual = email_certificate(&emailed, TRAINEE, COURSE, false, later).expect("emailed again");
        assert!(matches!(&manual[..], [Event::CertificateEmailRequested(e)] if !e.auto));
        assert_eq!(
            email_certificate(&Enrollment::default(), TRAINEE, COURSE, false, now),
            Err(LearningRejection::NotEnrolled)
        );
    }

    #[test]
    fn a_revoked_enrolment_learns_nothing_more_keeps_its_certificate_and_may_be_enrolled_again() {
        let course = content(&[20, 21], &[]);
        let reason = RevocationReason::AdminAction { admin_id: id(5) };
        assert_eq!(
            revoke(&Enrollment::default(), TRAINEE, COURSE, reason.clone()),
            Err(LearningRejection::NotEnrolled)
        );
        let revoked = then(&enrolled(), &revoke(&enrolled(), TRAINEE, COURSE, reason.clone()).expect("revoked"));
        assert_eq!(revoke(&revoked, TRAINEE, COURSE, reason), Ok(Vec::new()), "once");
        assert_eq!(view_lesson(&revoked, &course, LEARNER, id(20)), Err(LearningRejection::NotActive));
        assert_eq!(open_course(&revoked, TRAINEE, COURSE), Err(LearningRejection::NotActive));
        assert_eq!(
            submit_exam(&revoked, &content(&[20], &[60]), LEARNER, exam(&[])),
            Err(LearningRejection::NotActive)
        );
        assert_eq!(recompute_progress(&revoked, &content(&[20], &[]), LEARNER), Vec::new());
        let again =
            enroll(&revoked, &self::course(CourseStatus::Published), TRAINEE, purchase(10)).expect("enrolled again");
        assert!(then(&revoked, &again).is_active());

        // A completed course stays completed through a revocation and a new enrolment: no second certificate.
        let done = then(&enrolled(), &view_lesson(&enrolled(), &course_of_one(), LEARNER, id(20)).expect("viewed"));
        let reason = RevocationReason::AdminAction { admin_id: id(5) };
        let gone = then(&done, &revoke(&done, TRAINEE, COURSE, reason).expect("revoked"));
        let back =
            then(&gone, &enroll(&gone, &self::course(CourseStatus::Published), TRAINEE, purchase(11)).expect("again"));
        assert_eq!((back.progress, back.certificate_id), (0, Some(CERTIFICATE)));
        assert_eq!(types(&view_lesson(&back, &course_of_one(), LEARNER, id(20)).expect("viewed")), ["LessonViewed"]);
    }

    const REFUND: Uuid = Uuid::from_u128(88);
    const WHO: (Uuid, Uuid) = (TRAINEE, COURSE);

    #[test]
    fn a_refund_is_asked_for_once_by_an_individual_trainee_before_half_of_a_bought_course() {
        let enrollment = enrolled();
        let asked = request_refund(&enrollment, WHO, REFUND, true, " Not for me ").expect("requested");
        assert!(matches!(&asked[..], [Event::RefundRequested(r)]
            if r.paid_cents == 1999 && r.order_id == id(9) && r.progress_at_request == 0 && r.reason.text() == Some("Not for me")));
        let requested = then(&enrollment, &asked);
        assert_eq!(request_refund(&requested, WHO, id(89), true, "again"), Err(RefundRejection::AlreadyRequested));
        assert_eq!(request_refund(&enrollment, WHO, REFUND, false, "x"), Err(RefundRejection::NotAnIndividualTrainee));
        assert!(matches!(request_refund(&enrollment, WHO, REFUND, true, "  "), Err(RefundRejection::InvalidReason(_))));

        let mut half = enrollment.clone();
        half.progress = 50;
        assert_eq!(request_refund(&half, WHO, REFUND, true, "x"), Err(RefundRejection::AfterHalf { progress: 50 }));
        half.progress = 49;
        assert!(request_refund(&half, WHO, REFUND, true, "x").is_ok(), "strictly below half");

        let grant = EnrollmentSource::AdminGrant { admin_id: id(5) };
        let granted = Enrollment::from_events(
            &enroll(&Enrollment::default(), &self::course(CourseStatus::Published), TRAINEE, grant).expect("granted"),
        );
        assert_eq!(request_refund(&granted, WHO, REFUND, true, "x"), Err(RefundRejection::NotPurchased));
        assert_eq!(
            request_refund(&Enrollment::default(), WHO, REFUND, true, "x"),
            Err(RefundRejection::Learning(LearningRejection::NotEnrolled))
        );
    }

    #[test]
    fn an_admin_acknowledges_then_approves_or_rejects_once_and_the_saga_completes_once() {
        let enrollment = enrolled();
        let requested = then(&enrollment, &request_refund(&enrollment, WHO, REFUND, true, "x").expect("requested"));
        assert_eq!(decide_refund(&enrollment, WHO, RefundDecision::Approve), Err(RefundRejection::NoRequest));
        let seen = then(&requested, &decide_refund(&requested, WHO, RefundDecision::Acknowledge).expect("seen"));
        assert_eq!(decide_refund(&seen, WHO, RefundDecision::Acknowledge), Ok(Vec::new()), "seen already");
        let approved = decide_refund(&seen, WHO, RefundDecision::Approve).expect("approved");
        assert!(matches!(&approved[..], [Event::RefundApproved(a)] if a.refund_cents == 1399 && a.paid_cents == 1999));
        let approved = then(&seen, &approved);
        for decision in
            [RefundDecision::Approve, RefundDecision::Reject { reason: "no".into() }, RefundDecision::Acknowledge]
        {
            assert_eq!(decide_refund(&approved, WHO, decision), Err(RefundRejection::AlreadyDecided), "final");
        }
        let completed = complete_refund(&approved, WHO, REFUND).expect("completed");
        assert_eq!(types(&completed), ["EnrollmentRevoked", "RefundCompleted"]);
        let done = then(&approved, &completed);
        assert!(!done.is_active());
        assert_eq!(complete_refund(&done, WHO, REFUND), Ok(Vec::new()), "once");
        assert_eq!(complete_refund(&requested, WHO, REFUND), Err(RefundRejection::AlreadyDecided), "not approved");

        let rejected = decide_refund(&requested, WHO, RefundDecision::Reject { reason: "Watched it".into() });
        let rejected = then(&requested, &rejected.expect("rejected"));
        assert_eq!(decide_refund(&rejected, WHO, RefundDecision::Approve), Err(RefundRejection::AlreadyDecided));
        assert!(matches!(
            decide_refund(&requested, WHO, RefundDecision::Reject { reason: String::new() }),
            Err(RefundRejection::InvalidReason(_))
        ));
    }

    #[test]
    fn retired_courses_keep_enrolling_but_deleted_or_unknown_ones_do_not() {
        let fresh = Enrollment::default();
        assert!(enroll(&fresh, &course(CourseStatus::Retired), TRAINEE, purchase(9)).is_ok());
        for status in [CourseStatus::Deleted, CourseStatus::Missing] {
            assert_eq!(enroll(&fresh, &course(status), TRAINEE, purchase(9)), Err(EnrollmentRejection::CourseNotFound));
        }
    }
}
