//! Reviews (D7, R12): `PUT` and `DELETE /api/v1/courses/{id}/reviews/mine`, and the same for instructors,
//! whose review names the course of theirs that the trainee learns. Only a trainee with an active or
//! completed enrolment reviews; the decision guards that enrolment (and the course) until the append.

use api_contract::{Authenticated, EmptyCommand, JsonCommand, PathId, Problem};
use axum::extract::State;
use events::stream::{course_review_stream, course_stream, enrollment_stream, instructor_review_stream};
use serde::Deserialize;
use uuid::Uuid;

use super::CommandApiState;
use super::execute::{
    Accepted, CommandRun, Decision, Guarded, StepError, Trust, execute, execute_loading, load_guarded,
};
use super::headers::CommandHeaders;
use crate::domain::course::Course;
use crate::domain::enrollment::Enrollment;
use crate::domain::review::{self, Review, ReviewCommand, ReviewRejection};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CourseReviewBody {
    #[schema(minimum = 1, maximum = 5)]
    rating: u8,
    /// Up to 2,000 characters.
    #[serde(default)]
    #[schema(schema_with = super::fields::review_comment)]
    comment: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct InstructorReviewBody {
    #[schema(minimum = 1, maximum = 5)]
    rating: u8,
    #[serde(default)]
    #[schema(schema_with = super::fields::review_comment)]
    comment: String,
    /// A course of this instructor that the trainee learns or completed.
    course_id: Uuid,
}

fn run(stream_id: String, actor: Authenticated, headers: CommandHeaders, digest: String, id: Uuid) -> CommandRun {
    CommandRun::new(stream_id, actor.into(), headers, digest).with_id(id)
}

/// `PUT /api/v1/courses/{id}/reviews/mine`
pub(crate) async fn review_course(
    State(state): State<CommandApiState>,
    actor: Authenticated,
    PathId(course_id): PathId,
    headers: CommandHeaders,
    command: JsonCommand<CourseReviewBody>,
) -> Result<Accepted, Problem> {
    let trainee_id = actor.user_id;
    let CourseReviewBody { rating, comment } = command.body;
    let run = run(course_review_stream(course_id, trainee_id), actor, headers, command.digest, course_id);
    let enrollment_stream = enrollment_stream(trainee_id, course_id);
    let enrollment = |trust| load_guarded::<Enrollment>(&state, &enrollment_stream, trust);
    execute_loading(&state, run, enrollment, |current: &Review, enrollment: &Guarded<Enrollment>| {
        let learned = &enrollment.folded.state;
        let command =
            ReviewCommand::ReviewCourse { course_id, trainee_id, enrollment: learned, rating, comment: &comment };
        let decided = review::decide(current, command)?;
        Ok::<_, ReviewRejection>(Decision { guards: vec![enrollment.guard.clone()], ..decided.into() })
    })
    .await
}

/// `DELETE /api/v1/courses/{id}/reviews/mine`
pub(crate) async fn delete_course_review(
    State(state): State<CommandApiState>,
    actor: Authenticated,
    PathId(course_id): PathId,
    headers: CommandHeaders,
    command: EmptyCommand,
) -> Result<Accepted, Problem> {
    let trainee_id = actor.user_id;
    let run = run(course_review_stream(course_id, trainee_id), actor, headers, command.digest, course_id);
    let command = ReviewCommand::DeleteCourseReview { course_id, trainee_id };
    execute(&state, run, |current: &Review| review::decide(current, command)).await
}

/// `PUT /api/v1/instructors/{id}/reviews/mine`
pub(crate) async fn review_instructor(
    State(state): State<CommandApiState>,
    actor: Authenticated,
    PathId(instructor_id): PathId,
    headers: CommandHeaders,
    command: JsonCommand<InstructorReviewBody>,
) -> Result<Accepted, Problem> {
    let trainee_id = actor.user_id;
    let InstructorReviewBody { rating, comment, course_id } = command.body;
    let run = run(instructor_review_stream(instructor_id, trainee_id), actor, headers, command.digest, instructor_id);
    let streams = (course_stream(course_id), enrollment_stream(trainee_id, course_id));
    let (state, course_stream, enrollment_stream) = (&state, &streams.0, &streams.1);
    let facts = |trust: Trust| async move {
        let course = load_guarded::<Course>(state, course_stream, trust).await?;
        let enrollment = load_guarded::<Enrollment>(state, enrollment_stream, trust).await?;
        Ok::<_, StepError>((course, enrollment))
    };
    execute_loading(state, run, facts, |current: &Review, (course, enrollment)| {
        let command = ReviewCommand::ReviewInstructor {
            instructor_id,
            trainee_id,
            course: &course.folded.state,
            enrollment: &enrollment.folded.state,
            rating,
            comment: &comment,
        };
        let decided = review::decide(current, command)?;
        let guards = vec![course.guard.clone(), enrollment.guard.clone()];
        Ok::<_, ReviewRejection>(Decision { guards, ..decided.into() })
    })
    .await
}

/// `DELETE /api/v1/instructors/{id}/reviews/mine`
pub(crate) async fn delete_instructor_review(
    State(state): State<CommandApiState>,
    actor: Authenticated,
    PathId(instructor_id): PathId,
    headers: CommandHeaders,
    command: EmptyCommand,
) -> Result<Accepted, Problem> {
    let trainee_id = actor.user_id;
    let run = run(instructor_review_stream(instructor_id, trainee_id), actor, headers, command.digest, instructor_id);
    let command = ReviewCommand::DeleteInstructorReview { instructor_id, trainee_id };
    execute(&state, run, |current: &Review| review::decide(current, command)).await
}
