//! A trainee's notes on a course they learn (DOMAIN.md, `Note`): `POST /api/v1/me/notes/{id}` writes one,
//! `PUT` and `DELETE .../{id}/{note_id}` change and remove it. Writing rests on the enrolment, guarded until the
//! append, and a lesson link on the course's content.

use api_contract::{Authenticated, EmptyCommand, JsonCommand, PathId, PathIds, Problem};
use axum::extract::State;
use events::stream::{course_stream, enrollment_stream, notebook_stream};
use http::StatusCode;
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::CommandApiState;
use super::execute::{Accepted, CommandRun, Decision, StepError, Trust, execute, execute_loading, load_guarded};
use super::headers::CommandHeaders;
use crate::domain::course::Course;
use crate::domain::enrollment::Enrollment;
use crate::domain::notebook::{self, NoteChange, Notebook, NotebookCommand, NotesRejection, Writing};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NoteBody {
    /// 1 to 200 characters.
    #[schema(schema_with = super::fields::note_title)]
    title: String,
    /// Up to 100 KiB of the trainee's own text (Markdown, kept as written).
    #[serde(default)]
    text: String,
    /// The lesson of the course the note is about, if any.
    lesson_id: Option<Uuid>,
}

async fn write(
    state: &CommandApiState,
    actor: Authenticated,
    (course_id, note_id, change): (Uuid, Uuid, NoteChange),
    headers: CommandHeaders,
    command: JsonCommand<NoteBody>,
) -> Result<Accepted, Problem> {
    let trainee_id = actor.user_id;
    let NoteBody { title, text, lesson_id } = command.body;
    let mut run = CommandRun::new(notebook_stream(trainee_id), actor.into(), headers, command.digest);
    run = match change {
        NoteChange::Create => run.answering(StatusCode::CREATED, json!({ "id": note_id })),
        NoteChange::Update => run.with_id(note_id),
    };
    let streams = (enrollment_stream(trainee_id, course_id), course_stream(course_id));
    let (enrollment_stream, course_stream) = (&streams.0, &streams.1);
    let facts = |trust: Trust| async move {
        let enrollment = load_guarded::<Enrollment>(state, enrollment_stream, trust).await?;
        // The course is read only to check a lesson link.
        let course = match lesson_id {
            Some(_) => Some(load_guarded::<Course>(state, course_stream, trust).await?),
            None => None,
        };
        Ok::<_, StepError>((enrollment, course))
    };
    execute_loading(state, run, facts, |notebook: &Notebook, (enrollment, course)| {
        let writing = Writing { title: &title, text: &text, lesson_id };
        let (learning, content) = (&enrollment.folded.state, course.as_ref().map(|course| &course.folded.state));
        let command = NotebookCommand::Write {
            change,
            enrollment: learning,
            course: content,
            trainee_id,
            course_id,
            note_id,
            writing,
        };
        let decided = notebook::decide(notebook, command)?;
        let mut guards = vec![enrollment.guard.clone()];
        guards.extend(course.iter().map(|course| course.guard.clone()));
        Ok::<_, NotesRejection>(Decision { guards, ..decided.into() })
    })
    .await
}

/// `POST /api/v1/me/notes/{course_id}`: answers `201 {data: {id}}`, the note's id.
pub(crate) async fn create(
    State(state): State<CommandApiState>,
    actor: Authenticated,
    PathId(course_id): PathId,
    headers: CommandHeaders,
    command: JsonCommand<NoteBody>,
) -> Result<Accepted, Problem> {
    write(&state, actor, (course_id, Uuid::now_v7(), NoteChange::Create), headers, command).await
}

/// `PUT /api/v1/me/notes/{course_id}/{note_id}`
pub(crate) async fn update(
    State(state): State<CommandApiState>,
    actor: Authenticated,
    PathIds([course_id, note_id]): PathIds<2>,
    headers: CommandHeaders,
    command: JsonCommand<NoteBody>,
) -> Result<Accepted, Problem> {
    write(&state, actor, (course_id, note_id, NoteChange::Update), headers, command).await
}

/// `DELETE /api/v1/me/notes/{course_id}/{note_id}`
pub(crate) async fn delete(
    State(state): State<CommandApiState>,
    actor: Authenticated,
    PathIds([course_id, note_id]): PathIds<2>,
    headers: CommandHeaders,
    command: EmptyCommand,
) -> Result<Accepted, Problem> {
    let trainee_id = actor.user_id;
    let run = CommandRun::new(notebook_stream(trainee_id), actor.into(), headers, command.digest).with_id(note_id);
    let command = NotebookCommand::Delete { trainee_id, course_id, note_id };
    execute(&state, run, |notebook: &Notebook| notebook::decide(notebook, command)).await
}
