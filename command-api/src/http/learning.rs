//! Learning commands of an enrolled trainee (R8): `POST /api/v1/enrollments/{course_id}/lessons/{lesson_id}/view`
//! records a lesson's first view and moves the progress; `POST /api/v1/enrollments/{course_id}/open` records
//! the last viewed course. Someone not enrolled gets 404.

use api_contract::{Authenticated, PathIds, Problem, request_digest};
use axum::extract::State;
use events::stream::{course_stream, enrollment_stream};
use http::{Method, StatusCode, Uri};
use uuid::Uuid;

use super::CommandApiState;
use super::execute::{Accepted, CommandRun, Decision, execute, execute_loading, load_aggregate};
use super::headers::CommandHeaders;
use crate::domain::course::Course;
use crate::domain::enrollment::{self, Enrollment, LearningRejection};

impl From<LearningRejection> for Problem {
    fn from(rejection: LearningRejection) -> Self {
        match rejection {
            LearningRejection::NotEnrolled => Problem::not_found("You are not enrolled in this course."),
            LearningRejection::LessonNotFound => Problem::not_found("The course has no such lesson."),
        }
    }
}

fn run(actor: Authenticated, course_id: Uuid, headers: CommandHeaders, method: &Method, uri: &Uri) -> CommandRun {
    CommandRun {
        stream_id: enrollment_stream(actor.user_id, course_id),
        actor: actor.into(),
        headers,
        digest: request_digest(method.as_str(), uri.path(), b""),
        status: StatusCode::OK,
        data: serde_json::json!({ "id": course_id }),
    }
}

/// `POST /api/v1/enrollments/{course_id}/lessons/{lesson_id}/view`
pub(crate) async fn view_lesson(
    State(state): State<CommandApiState>,
    actor: Authenticated,
    PathIds([course_id, lesson_id]): PathIds<2>,
    headers: CommandHeaders,
    method: Method,
    uri: Uri,
) -> Result<Accepted, Problem> {
    let stream = course_stream(course_id);
    let course = || load_aggregate::<Course>(&state, &stream);
    let trainee_id = actor.user_id;
    execute_loading(&state, run(actor, course_id, headers, &method, &uri), course, |enrollment: &Enrollment, course| {
        let lessons = course.state.content.lesson_ids();
        let events = enrollment::view_lesson(enrollment, &lessons, trainee_id, course_id, lesson_id)?;
        // Decided on the course's lessons as they are: a lesson added or removed meanwhile decides again.
        let guards = vec![event_store::Guard::StreamAt { stream_id: stream.clone(), version: course.version }];
        Ok::<_, LearningRejection>(Decision { events, guards, ..Decision::default() })
    })
    .await
}

/// `POST /api/v1/enrollments/{course_id}/open`
pub(crate) async fn open(
    State(state): State<CommandApiState>,
    actor: Authenticated,
    api_contract::PathId(course_id): api_contract::PathId,
    headers: CommandHeaders,
    method: Method,
    uri: Uri,
) -> Result<Accepted, Problem> {
    let trainee_id = actor.user_id;
    execute(&state, run(actor, course_id, headers, &method, &uri), |enrollment: &Enrollment| {
        enrollment::open_course(enrollment, trainee_id, course_id)
    })
    .await
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

    /// Saga 8: recomputes `trainee_id`'s progress in `course_id` over the course's lessons as they are now.
    pub async fn recompute_progress(
        &self,
        cause: &super::Cause,
        trainee_id: Uuid,
        course_id: Uuid,
    ) -> Result<(), Problem> {
        let stream = course_stream(course_id);
        let course = || load_aggregate::<Course>(&self.state, &stream);
        let run = CommandRun {
            stream_id: enrollment_stream(trainee_id, course_id),
            actor: super::execute::Caller::Saga("learning"),
            headers: cause.headers(&format!("progress/{trainee_id}")),
            digest: String::new(),
            status: StatusCode::OK,
            data: serde_json::json!({ "id": course_id }),
        };
        execute_loading(&self.state, run, course, |enrollment: &Enrollment, course| {
            let lessons = course.state.content.lesson_ids();
            let events = enrollment::recompute_progress(enrollment, &lessons, trainee_id, course_id);
            let guards = vec![event_store::Guard::StreamAt { stream_id: stream.clone(), version: course.version }];
            Ok::<_, Problem>(Decision { events, guards, ..Decision::default() })
        })
        .await?;
        Ok(())
    }
}
