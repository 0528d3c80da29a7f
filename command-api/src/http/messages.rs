//! Messaging (Communication, `SendMessage`): `POST /api/v1/me/conversations/{id}/messages` writes to user `{id}`
//! in their one conversation, and `PUT .../read` marks it read. A trainee and an instructor write about a course
//! of the instructor's that the trainee learns, so the decision loads and guards that course and enrolment; an
//! admin writes with anyone.

use api_contract::{Authenticated, EmptyCommand, JsonCommand, PathId, Problem};
use axum::extract::State;
use events::Role;
use events::stream::{conversation_stream, course_stream, enrollment_stream, user_stream};
use http::StatusCode;
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::CommandApiState;
use super::execute::{Accepted, CommandRun, Decision, StepError, Trust, execute, execute_loading, load_guarded};
use super::headers::CommandHeaders;
use crate::domain::account::Account;
use crate::domain::conversation::{self, About, Conversation, ConversationCommand, MessageRejection};
use crate::domain::course::Course;
use crate::domain::enrollment::Enrollment;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct MessageBody {
    /// 1 to 5,000 characters.
    #[schema(schema_with = super::fields::message_text)]
    text: String,
    /// The course a trainee and its instructor write about: one of the instructor's that the trainee learns or
    /// completed. Not looked at when an admin writes or is written to.
    course_id: Option<Uuid>,
}

/// `POST /api/v1/me/conversations/{id}/messages`: answers `201 {data: {id}}`, the message's id.
pub(crate) async fn send(
    State(state): State<CommandApiState>,
    actor: Authenticated,
    PathId(recipient_id): PathId,
    headers: CommandHeaders,
    command: JsonCommand<MessageBody>,
) -> Result<Accepted, Problem> {
    let (sender_id, sender_role) = (actor.user_id, actor.role);
    let message_id = Uuid::now_v7();
    let MessageBody { text, course_id } = command.body;
    let run = CommandRun::new(conversation_stream(sender_id, recipient_id), actor.into(), headers, command.digest)
        .answering(StatusCode::CREATED, json!({ "id": message_id }));
    // The trainee of the two: the recipient when an instructor writes, else the sender.
    let trainee_id = if sender_role == Role::Instructor { recipient_id } else { sender_id };
    let streams =
        (user_stream(recipient_id), course_id.map(|id| (course_stream(id), enrollment_stream(trainee_id, id))));
    let (state, recipient_stream, about_streams) = (&state, &streams.0, &streams.1);
    let facts = |trust: Trust| async move {
        let recipient = load_guarded::<Account>(state, recipient_stream, trust).await?;
        let about = match about_streams {
            // An admin's conversation is about no course: nothing to load.
            Some((course, enrollment)) if sender_role != Role::Admin => Some((
                load_guarded::<Course>(state, course, trust).await?,
                load_guarded::<Enrollment>(state, enrollment, trust).await?,
            )),
            _ => None,
        };
        Ok::<_, StepError>((recipient, about))
    };
    execute_loading(state, run, facts, |current: &Conversation, (recipient, about)| {
        let mut guards = vec![recipient.guard.clone()];
        let about = match (course_id, about) {
            (Some(course_id), Some((course, enrollment))) => {
                guards.extend([course.guard.clone(), enrollment.guard.clone()]);
                Some(About { course_id, course: &course.folded.state, enrollment: &enrollment.folded.state })
            }
            _ => None,
        };
        let command = ConversationCommand::Send {
            message_id,
            sender_id,
            sender_role,
            recipient_id,
            recipient: recipient.folded.state,
            about,
            text: &text,
        };
        let decided = conversation::decide(current, command)?;
        Ok::<_, MessageRejection>(Decision { guards, ..decided.into() })
    })
    .await
}

/// `PUT /api/v1/me/conversations/{id}/read`: every message so far is read by the caller.
pub(crate) async fn read(
    State(state): State<CommandApiState>,
    actor: Authenticated,
    PathId(other_id): PathId,
    headers: CommandHeaders,
    command: EmptyCommand,
) -> Result<Accepted, Problem> {
    let reader_id = actor.user_id;
    let run = CommandRun::new(conversation_stream(reader_id, other_id), actor.into(), headers, command.digest);
    let command = ConversationCommand::Read { reader_id, other_id };
    execute(&state, run, |current: &Conversation| conversation::decide(current, command)).await
}
