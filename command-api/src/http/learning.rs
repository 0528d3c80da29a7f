//! Learning commands of an enrolled trainee (R8, R9, R10, D1, D6): a lesson's first view moves the progress,
//! opening a course records the last viewed one, exercise answers and exam attempts are graded, the exam's
//! answers are revealed after an attempt, and the certificate is emailed on request (notes: `notes.rs`). Someone not enrolled gets 404. Completion and the certificate are decided with the event that
//! leads to them (the last lesson, the passing attempt), in the same append.

use super::rejections::Refusal;
use std::collections::BTreeMap;

use api_contract::{Authenticated, EmptyCommand, JsonCommand, PathId, PathIds, Problem};
use axum::extract::State;
use events::Event;
use events::stream::{course_stream, enrollment_stream};
use http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;
use uuid::Uuid;

use super::CommandApiState;
use super::execute::{
    Accepted, CommandRun, Decision, Guarded, StepError, execute, load_guarded, on_aggregate, problem, step,
};
use super::headers::CommandHeaders;
use crate::domain::course::Course;
use crate::domain::effects::Decided;
use crate::domain::enrollment::{
    self, Enrollment, Learner, LearningCommand, LearningRejection, MAX_EXAM_ATTEMPTS, RefundCommand,
};

fn run(actor: Authenticated, course_id: Uuid, headers: CommandHeaders, digest: String) -> CommandRun {
    CommandRun::new(enrollment_stream(actor.user_id, course_id), actor.into(), headers, digest).with_id(course_id)
}

/// The trainee learning `course_id`; a certificate this command issues gets a new random (unguessable) id.
fn learner(trainee_id: Uuid, course_id: Uuid) -> Learner {
    Learner { trainee_id, course_id, certificate_id: Uuid::new_v4() }
}

/// Runs a learning command decided on the course as the write side knows it (its lessons, exercises and
/// exam); the decision guards the course's version, so a change to the course meanwhile decides again.
async fn on_course<R>(
    state: &CommandApiState,
    run: CommandRun,
    course_id: Uuid,
    decide: impl Fn(&Enrollment, &Course) -> Result<(Decided, Option<Value>), R>,
) -> Result<Accepted, StepError>
where
    R: Refusal,
{
    let stream = course_stream(course_id);
    let course = |trust| load_guarded::<Course>(state, &stream, trust);
    let (accepted, _) = step(state, &run, course, |enrollment: &Enrollment, course: &Guarded<Course>| {
        let (decided, answer) = decide(enrollment, &course.folded.state)?;
        Ok::<_, R>(Decision { guards: vec![course.guard.clone()], answer, ..decided.into() })
    })
    .await?;
    Ok(accepted)
}

/// `POST /api/v1/enrollments/{course_id}/lessons/{lesson_id}/view`
pub(crate) async fn view_lesson(
    State(state): State<CommandApiState>,
    actor: Authenticated,
    PathIds([course_id, lesson_id]): PathIds<2>,
    headers: CommandHeaders,
    command: EmptyCommand,
) -> Result<Accepted, Problem> {
    let trainee_id = actor.user_id;
    let run = run(actor, course_id, headers, command.digest);
    on_course(&state, run, course_id, |enrollment, course| {
        let learner = learner(trainee_id, course_id);
        let view = LearningCommand::ViewLesson { content: &course.content, learner, lesson_id };
        enrollment::decide_learning(enrollment, view).map(|decided| (decided, None))
    })
    .await
    .map_err(problem)
}

/// `POST /api/v1/enrollments/{course_id}/open`
pub(crate) async fn open(
    State(state): State<CommandApiState>,
    actor: Authenticated,
    PathId(course_id): PathId,
    headers: CommandHeaders,
    command: EmptyCommand,
) -> Result<Accepted, Problem> {
    let trainee_id = actor.user_id;
    execute(&state, run(actor, course_id, headers, command.digest), |enrollment: &Enrollment| {
        enrollment::decide_learning(enrollment, LearningCommand::Open { trainee_id, course_id })
    })
    .await
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ExerciseAnswerBody {
    question_id: Uuid,
    answer_index: u32,
}

/// The answer to an exercise question: whether it was right, and the right option (shown once answered).
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub(crate) struct ExerciseAnswerResult {
    exercise_id: Uuid,
    question_id: Uuid,
    answer_index: u32,
    correct: bool,
    correct_answer_index: u32,
}

/// `POST /api/v1/enrollments/{course_id}/exercises/{exercise_id}/answers`
pub(crate) async fn answer_exercise(
    State(state): State<CommandApiState>,
    actor: Authenticated,
    PathIds([course_id, exercise_id]): PathIds<2>,
    headers: CommandHeaders,
    command: JsonCommand<ExerciseAnswerBody>,
) -> Result<Accepted, Problem> {
    let trainee_id = actor.user_id;
    let ExerciseAnswerBody { question_id, answer_index } = command.body;
    let run = run(actor, course_id, headers, command.digest);
    on_course(&state, run, course_id, |enrollment, course| {
        let answer = LearningCommand::AnswerExercise {
            content: &course.content,
            trainee_id,
            course_id,
            exercise_id,
            question_id,
            answer_index,
        };
        let decided = enrollment::decide_learning(enrollment, answer)?;
        let right = course.content.exercise(exercise_id).and_then(|exercise| exercise.question(question_id));
        let answer = decided.events.iter().zip(right).find_map(|(event, right)| match event {
            Event::ExerciseAnswerSubmitted(answered) => serde_json::to_value(ExerciseAnswerResult {
                exercise_id,
                question_id,
                answer_index,
                correct: answered.correct,
                correct_answer_index: right.answer_index,
            })
            .ok(),
            _ => None,
        });
        Ok::<_, LearningRejection>((decided, answer))
    })
    .await
    .map_err(problem)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ExamAttemptBody)]
pub(crate) struct ExamBody {
    /// Question id to the index of the chosen option; a question left out counts as wrong.
    answers: BTreeMap<Uuid, u32>,
}

/// An exam attempt's result.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub(crate) struct ExamResult {
    attempt: u8,
    grade: u8,
    passed: bool,
    best_grade: u8,
    attempts_left: u8,
    /// Set when this attempt completed the course.
    certificate_id: Option<Uuid>,
}

/// The answer of an exam attempt, from the events it recorded.
fn exam_result(events: &[Event]) -> Option<Value> {
    let certificate_id = events.iter().find_map(|event| match event {
        Event::CertificateIssued(issued) => Some(issued.certificate_id),
        _ => None,
    });
    events.iter().find_map(|event| match event {
        Event::ExamSubmitted(exam) => serde_json::to_value(ExamResult {
            attempt: exam.attempt,
            grade: exam.grade,
            passed: exam.passed,
            best_grade: exam.best_grade,
            attempts_left: MAX_EXAM_ATTEMPTS.saturating_sub(exam.attempt),
            certificate_id,
        })
        .ok(),
        _ => None,
    })
}

/// `POST /api/v1/enrollments/{course_id}/exam-attempts`
pub(crate) async fn submit_exam(
    State(state): State<CommandApiState>,
    actor: Authenticated,
    PathId(course_id): PathId,
    headers: CommandHeaders,
    command: JsonCommand<ExamBody>,
) -> Result<Accepted, Problem> {
    let trainee_id = actor.user_id;
    let answers = command.body.answers;
    let mut run = run(actor, course_id, headers, command.digest);
    run.status = StatusCode::CREATED;
    on_course(&state, run, course_id, |enrollment, course| {
        let learner = learner(trainee_id, course_id);
        let submit = LearningCommand::SubmitExam { content: &course.content, learner, answers: answers.clone() };
        let decided = enrollment::decide_learning(enrollment, submit)?;
        let answer = exam_result(&decided.events);
        Ok::<_, LearningRejection>((decided, answer))
    })
    .await
    .map_err(problem)
}

/// `POST /api/v1/enrollments/{course_id}/exam/reveal`: answers `{questions: [{question_id, answer_index}]}`.
pub(crate) async fn reveal_exam(
    State(state): State<CommandApiState>,
    actor: Authenticated,
    PathId(course_id): PathId,
    headers: CommandHeaders,
    command: EmptyCommand,
) -> Result<Accepted, Problem> {
    let trainee_id = actor.user_id;
    let run = run(actor, course_id, headers, command.digest);
    on_course(&state, run, course_id, |enrollment, course| {
        let decided =
            enrollment::decide_learning(enrollment, LearningCommand::RevealExamAnswers { trainee_id, course_id })?;
        let questions: Vec<Value> = course
            .content
            .exam
            .iter()
            .map(|question| json!({ "question_id": question.id, "answer_index": question.answer_index }))
            .collect();
        Ok::<_, LearningRejection>((decided, Some(json!({ "questions": questions }))))
    })
    .await
    .map_err(problem)
}

/// `POST /api/v1/enrollments/{course_id}/certificate/email`: the certificate again, at most every
/// [`enrollment::CERTIFICATE_EMAIL_INTERVAL`].
pub(crate) async fn email_certificate(
    State(state): State<CommandApiState>,
    actor: Authenticated,
    PathId(course_id): PathId,
    headers: CommandHeaders,
    command: EmptyCommand,
) -> Result<Accepted, Problem> {
    let trainee_id = actor.user_id;
    let mut run = run(actor, course_id, headers, command.digest);
    run.status = StatusCode::ACCEPTED;
    email_again(&state, run, trainee_id, course_id).await
}

/// Asks for the certificate of `trainee_id` in `course_id` to be emailed again, not within ten minutes of the last.
async fn email_again(
    state: &CommandApiState,
    run: CommandRun,
    trainee_id: Uuid,
    course_id: Uuid,
) -> Result<Accepted, Problem> {
    execute(state, run, |enrollment: &Enrollment| {
        let now = OffsetDateTime::now_utc();
        enrollment::decide_learning(
            enrollment,
            LearningCommand::EmailCertificate { trainee_id, course_id, auto: false, now },
        )
    })
    .await
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CertificateEmailBody {
    trainee_id: Uuid,
    course_id: Uuid,
}

/// `POST /api/v1/admin/enrollments/certificate-emails`: an admin has a trainee's certificate emailed again (with
/// its PDF), under the same rule as the trainee's own request: not within ten minutes of the last email.
pub(crate) async fn email_certificate_for(
    State(state): State<CommandApiState>,
    actor: Authenticated,
    headers: CommandHeaders,
    command: JsonCommand<CertificateEmailBody>,
) -> Result<Accepted, Problem> {
    let CertificateEmailBody { trainee_id, course_id } = command.body;
    let run = CommandRun::new(enrollment_stream(trainee_id, course_id), actor.into(), headers, command.digest)
        .answering(StatusCode::ACCEPTED, serde_json::json!({ "id": course_id, "trainee_id": trainee_id }));
    email_again(&state, run, trainee_id, course_id).await
}

/// The sagas' handle on the learning commands.
#[derive(Debug, Clone)]
pub struct Learning {
    state: CommandApiState,
}

impl Learning {
    pub fn new(state: CommandApiState) -> Self {
        Learning { state }
    }

    fn run(&self, cause: &super::Cause, step: &str, trainee_id: Uuid, course_id: Uuid) -> CommandRun {
        CommandRun::new(
            enrollment_stream(trainee_id, course_id),
            super::execute::Caller::Saga("learning"),
            cause.headers(&format!("{step}/{trainee_id}")),
            String::new(),
        )
        .with_id(course_id)
    }

    /// Saga 8: recomputes `trainee_id`'s progress in `course_id` over the course's lessons as they are now.
    pub async fn recompute_progress(
        &self,
        cause: &super::Cause,
        trainee_id: Uuid,
        course_id: Uuid,
    ) -> Result<(), StepError> {
        let run = self.run(cause, "progress", trainee_id, course_id);
        on_course(&self.state, run, course_id, |enrollment, course| {
            let learner = learner(trainee_id, course_id);
            let recompute = LearningCommand::RecomputeProgress { content: &course.content, learner };
            enrollment::decide_learning(enrollment, recompute).map(|decided| (decided, None))
        })
        .await?;
        Ok(())
    }

    /// The refund saga's last step: revokes the refunded enrolment and completes the refund, once.
    pub async fn complete_refund(
        &self,
        cause: &super::Cause,
        trainee_id: Uuid,
        course_id: Uuid,
        refund_id: Uuid,
    ) -> Result<(), StepError> {
        let run = self.run(cause, "complete-refund", trainee_id, course_id);
        on_aggregate(&self.state, &run, |enrollment: &Enrollment| {
            enrollment::decide_refunds(enrollment, RefundCommand::Complete { trainee_id, course_id, refund_id })
        })
        .await?;
        Ok(())
    }

    /// Saga 6: asks for the automatic certificate email, which goes out once whatever the redeliveries.
    pub async fn email_certificate_once(
        &self,
        cause: &super::Cause,
        trainee_id: Uuid,
        course_id: Uuid,
    ) -> Result<(), StepError> {
        let run = self.run(cause, "certificate-email", trainee_id, course_id);
        on_aggregate(&self.state, &run, |enrollment: &Enrollment| {
            let now = OffsetDateTime::now_utc();
            enrollment::decide_learning(
                enrollment,
                LearningCommand::EmailCertificate { trainee_id, course_id, auto: true, now },
            )
        })
        .await?;
        Ok(())
    }
}
