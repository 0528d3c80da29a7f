//! Support: tickets any user files (`POST /api/v1/reports`), their threads (`.../follow-ups`, the reporter's
//! and the admins'), admin status changes along D9 and deletion as a void; and corporate access requests
//! (`POST /api/v1/course-access-requests`), which an admin resolves (the sagas then enrol, Saga 4) or rejects.

use api_contract::{Authenticated, EmptyCommand, JsonCommand, PathId, Problem};
use axum::extract::State;
use events::stream::{access_stream, course_stream, enrollment_stream, ticket_stream};
use events::support::{ReportKind, TicketStatus};
use http::StatusCode;
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::CommandApiState;
use super::execute::{
    Accepted, CommandRun, Decision, Guarded, StepError, Trust, execute, execute_loading, load_guarded,
};
use super::headers::CommandHeaders;
use crate::credentials;
use crate::domain::course::Course;
use crate::domain::enrollment::{Enrollment, RefundCommand};
use crate::domain::support::{self, AccessCommand, AccessRequest, SupportRejection, Ticket, TicketCommand};

fn run(
    stream_id: String,
    actor: Authenticated,
    headers: CommandHeaders,
    digest: String,
    status: StatusCode,
    id: Uuid,
) -> CommandRun {
    CommandRun::new(stream_id, actor.into(), headers, digest).answering(status, json!({ "id": id }))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReportBody {
    #[schema(value_type = String, pattern = "^(technical|financial|other)$")]
    kind: ReportKind,
    course_id: Option<Uuid>,
    /// 1 to 5,000 characters.
    #[schema(schema_with = super::fields::support_text)]
    description: String,
}

/// `POST /api/v1/reports`: answers `201 {data: {id}}`.
pub(crate) async fn file(
    State(state): State<CommandApiState>,
    actor: Authenticated,
    headers: CommandHeaders,
    command: JsonCommand<ReportBody>,
) -> Result<Accepted, Problem> {
    let report_id = Uuid::now_v7();
    let reporter_id = actor.user_id;
    let ReportBody { kind, course_id, description } = command.body;
    let run = run(ticket_stream(report_id), actor, headers, command.digest, StatusCode::CREATED, report_id);
    let file = TicketCommand::File { report_id, reporter_id, kind, course_id, description: &description };
    execute(&state, run, |ticket: &Ticket| support::decide_ticket(ticket, file)).await
}

/// `PUT /api/v1/reports/{id}`: the reporter rewrites their ticket while it is unseen; anyone else gets 404.
pub(crate) async fn edit(
    State(state): State<CommandApiState>,
    actor: Authenticated,
    PathId(report_id): PathId,
    headers: CommandHeaders,
    command: JsonCommand<ReportBody>,
) -> Result<Accepted, Problem> {
    let reporter_id = actor.user_id;
    let ReportBody { kind, course_id, description } = command.body;
    let run = run(ticket_stream(report_id), actor, headers, command.digest, StatusCode::OK, report_id);
    let edit = TicketCommand::Edit { report_id, reporter_id, kind, course_id, description: &description };
    execute(&state, run, |ticket: &Ticket| support::decide_ticket(ticket, edit)).await
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct FollowUpBody {
    /// 1 to 5,000 characters.
    #[schema(schema_with = super::fields::support_text)]
    text: String,
}

/// `POST /api/v1/reports/{id}/follow-ups`: on any report of the support list (a ticket, a refund request, a
/// corporate access request), its author or an admin; anyone else gets 404.
pub(crate) async fn follow_up(
    State(state): State<CommandApiState>,
    actor: Authenticated,
    PathId(report_id): PathId,
    headers: CommandHeaders,
    command: JsonCommand<FollowUpBody>,
) -> Result<Accepted, Problem> {
    let author = actor.actor();
    let text = command.body.text;
    let store = state.database();
    if let Some((trainee_id, course_id)) = credentials::refund_request(store, report_id).await? {
        let stream = enrollment_stream(trainee_id, course_id);
        let run = run(stream, actor, headers, command.digest, StatusCode::CREATED, report_id);
        let follow_up = RefundCommand::FollowUp { trainee_id, course_id, author: &author, text: &text };
        return execute(&state, run, |enrollment: &Enrollment| {
            crate::domain::enrollment::decide_refunds(enrollment, follow_up.clone())
        })
        .await;
    }
    if let Some((trainee_id, course_id)) = credentials::access_request(store, report_id).await? {
        let stream = access_stream(trainee_id, course_id);
        let run = run(stream, actor, headers, command.digest, StatusCode::CREATED, report_id);
        let follow_up = AccessCommand::FollowUp { trainee_id, course_id, author: &author, text: &text };
        return execute(&state, run, |request: &AccessRequest| support::decide_access(request, follow_up)).await;
    }
    let run = run(ticket_stream(report_id), actor, headers, command.digest, StatusCode::CREATED, report_id);
    let follow_up = TicketCommand::FollowUp { report_id, author: &author, text: &text };
    execute(&state, run, |ticket: &Ticket| support::decide_ticket(ticket, follow_up)).await
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct StatusBody {
    /// `pending`, `resolved` or `rejected`.
    #[schema(value_type = String, pattern = "^(pending|resolved|rejected)$")]
    status: TicketStatus,
}

/// `POST /api/v1/admin/reports/{id}/status`
pub(crate) async fn change_status(
    State(state): State<CommandApiState>,
    actor: Authenticated,
    PathId(report_id): PathId,
    headers: CommandHeaders,
    command: JsonCommand<StatusBody>,
) -> Result<Accepted, Problem> {
    let status = command.body.status;
    let run = run(ticket_stream(report_id), actor, headers, command.digest, StatusCode::OK, report_id);
    let change = TicketCommand::ChangeStatus { report_id, status };
    execute(&state, run, |ticket: &Ticket| support::decide_ticket(ticket, change)).await
}

/// `DELETE /api/v1/admin/reports/{id}`: a void; the ticket's history stays in the store.
pub(crate) async fn void(
    State(state): State<CommandApiState>,
    actor: Authenticated,
    PathId(report_id): PathId,
    headers: CommandHeaders,
    command: EmptyCommand,
) -> Result<Accepted, Problem> {
    let admin_id = actor.user_id;
    let run = run(ticket_stream(report_id), actor, headers, command.digest, StatusCode::OK, report_id);
    let void = TicketCommand::Void { report_id, admin_id };
    execute(&state, run, |ticket: &Ticket| support::decide_ticket(ticket, void)).await
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AccessBody {
    course_id: Uuid,
    /// Why the trainee asks: 1 to 5,000 characters, if given.
    #[schema(schema_with = super::fields::support_text_or_null)]
    description: Option<String>,
}

/// `POST /api/v1/course-access-requests`: answers `201 {data: {id}}`.
pub(crate) async fn request_access(
    State(state): State<CommandApiState>,
    actor: Authenticated,
    headers: CommandHeaders,
    command: JsonCommand<AccessBody>,
) -> Result<Accepted, Problem> {
    let trainee = actor.actor();
    let AccessBody { course_id, description } = command.body;
    let request_id = Uuid::now_v7();
    let stream = access_stream(trainee.user_id, course_id);
    let run = run(stream, actor, headers, command.digest, StatusCode::CREATED, request_id);
    let streams = (course_stream(course_id), enrollment_stream(trainee.user_id, course_id));
    let (state, course_stream, enrollment_stream) = (&state, &streams.0, &streams.1);
    let facts = |trust: Trust| async move {
        let course = load_guarded::<Course>(state, course_stream, trust).await?;
        let enrollment = load_guarded::<Enrollment>(state, enrollment_stream, trust).await?;
        Ok::<_, StepError>((course, enrollment))
    };
    execute_loading(
        state,
        run,
        facts,
        |request: &AccessRequest, (course, enrollment): &(Guarded<Course>, Guarded<Enrollment>)| {
            let (known_course, known_enrollment) = (&course.folded.state, &enrollment.folded.state);
            let command = AccessCommand::Request {
                trainee: &trainee,
                course: known_course,
                enrollment: known_enrollment,
                request_id,
                description: description.as_deref(),
            };
            let decided = support::decide_access(request, command)?;
            let guards = vec![course.guard.clone(), enrollment.guard.clone()];
            Ok::<_, SupportRejection>(Decision { guards, ..decided.into() })
        },
    )
    .await
}

/// `POST /api/v1/admin/course-access-requests/{id}/status`: `resolved` grants the course.
pub(crate) async fn change_access_status(
    State(state): State<CommandApiState>,
    actor: Authenticated,
    PathId(request_id): PathId,
    headers: CommandHeaders,
    command: JsonCommand<StatusBody>,
) -> Result<Accepted, Problem> {
    let status = command.body.status;
    let (trainee_id, course_id) = credentials::access_request(state.database(), request_id)
        .await?
        .ok_or_else(|| Problem::not_found("There is no such request."))?;
    let stream = access_stream(trainee_id, course_id);
    let run = run(stream, actor, headers, command.digest, StatusCode::OK, request_id);
    execute(&state, run, |request: &AccessRequest| {
        support::decide_access(request, AccessCommand::ChangeStatus { trainee_id, course_id, status })
    })
    .await
}
