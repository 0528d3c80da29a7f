//! Learning an enrolled course: lesson views and progress (R8), exercise answers, and the completion they
//! lead to (D1).

use super::*;

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
pub(super) fn completing(
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
            | EnrollmentEvent::RefundCompleted(_)
            | EnrollmentEvent::RefundRequestFollowUpAdded(_) => self,
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
pub(super) fn view_lesson(
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
pub(super) fn recompute_progress(enrollment: &Enrollment, content: &Content, learner: Learner) -> Vec<Event> {
    let progress = progress_of(&enrollment.visited, &content.lesson_ids());
    if !enrollment.is_active() || progress == enrollment.progress {
        return Vec::new();
    }
    let Learner { trainee_id, course_id, certificate_id } = learner;
    let recomputed = vec![Event::ProgressRecomputed(ProgressRecomputed { trainee_id, course_id, progress })];
    completing(enrollment, recomputed, content, trainee_id, course_id, certificate_id)
}

/// Records that the trainee opened the course (the last viewed course).
pub(super) fn open_course(
    enrollment: &Enrollment,
    trainee_id: Uuid,
    course_id: Uuid,
) -> Result<Vec<Event>, LearningRejection> {
    enrollment.learning()?;
    Ok(vec![Event::CourseOpened(CourseOpened { trainee_id, course_id })])
}

pub(super) fn judge(question: &Answerable, answer_index: u32) -> Result<bool, LearningRejection> {
    if answer_index >= question.options {
        return Err(LearningRejection::NotAnOption { question_id: question.id });
    }
    Ok(answer_index == question.answer_index)
}

/// Answers one question of an exercise; the last answer counts. The event says whether it was right.
pub(super) fn answer_exercise(
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
