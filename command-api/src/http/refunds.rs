//! Refunds (R2 to R5, R7, D2, D3, D5, D9): an individual trainee asks for a bought course back while they
//! have seen less than half of it, once; admins acknowledge, approve or reject the request by its id, and
//! the trainee is emailed the decision with it. The refund saga then credits the wallet, reverses the
//! instructor's earning and revokes the enrolment (`Checkout::reverse_earning`, `Learning::complete_refund`).

use api_contract::{Authenticated, EmptyCommand, JsonCommand, PathId, Problem};
use axum::extract::State;
use events::Role;
use events::stream::{course_stream, enrollment_stream};
use http::StatusCode;
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::CommandApiState;
use super::execute::{Accepted, CommandRun, Trust, execute, execute_loading, load_aggregate};
use super::headers::CommandHeaders;
use crate::credentials;
use crate::domain::course::Course;
use crate::domain::enrollment::{self, DecisionMail, Enrollment, RefundCommand, RefundDecision};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RefundRequestBody {
    /// Why, in the trainee's words (1 to 2,000 characters).
    #[schema(schema_with = super::fields::refund_reason)]
    reason: String,
}

/// `POST /api/v1/enrollments/{course_id}/refund-request`: answers `201 {data: {id: refund_id}}`.
pub(crate) async fn request(
    State(state): State<CommandApiState>,
    actor: Authenticated,
    PathId(course_id): PathId,
    headers: CommandHeaders,
    command: JsonCommand<RefundRequestBody>,
) -> Result<Accepted, Problem> {
    let trainee_id = actor.user_id;
    let individual = actor.role == Role::IndividualTrainee;
    let refund_id = Uuid::now_v7();
    let run = CommandRun::new(enrollment_stream(trainee_id, course_id), actor.into(), headers, command.digest)
        .answering(StatusCode::CREATED, json!({ "id": refund_id, "course_id": course_id }));
    let reason = command.body.reason;
    execute(&state, run, |enrollment: &Enrollment| {
        let request = RefundCommand::Request { trainee_id, course_id, refund_id, individual, reason: &reason };
        enrollment::decide_refunds(enrollment, request)
    })
    .await
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RejectBody {
    /// Why, for the trainee (1 to 2,000 characters).
    #[schema(schema_with = super::fields::refund_reason)]
    reason: String,
}

/// `POST /api/v1/admin/refund-requests/{id}/acknowledge`
pub(crate) async fn acknowledge(
    State(state): State<CommandApiState>,
    actor: Authenticated,
    PathId(refund_id): PathId,
    headers: CommandHeaders,
    command: EmptyCommand,
) -> Result<Accepted, Problem> {
    decide(&state, actor, refund_id, headers, command.digest, RefundDecision::Acknowledge).await
}

/// `POST /api/v1/admin/refund-requests/{id}/approve`: the trainee is emailed the decision.
pub(crate) async fn approve(
    State(state): State<CommandApiState>,
    actor: Authenticated,
    PathId(refund_id): PathId,
    headers: CommandHeaders,
    command: EmptyCommand,
) -> Result<Accepted, Problem> {
    decide(&state, actor, refund_id, headers, command.digest, RefundDecision::Approve).await
}

/// `POST /api/v1/admin/refund-requests/{id}/reject {reason}`: the trainee is emailed the decision.
pub(crate) async fn reject(
    State(state): State<CommandApiState>,
    actor: Authenticated,
    PathId(refund_id): PathId,
    headers: CommandHeaders,
    command: JsonCommand<RejectBody>,
) -> Result<Accepted, Problem> {
    let decision = RefundDecision::Reject { reason: command.body.reason };
    decide(&state, actor, refund_id, headers, command.digest, decision).await
}

async fn decide(
    state: &CommandApiState,
    actor: Authenticated,
    refund_id: Uuid,
    headers: CommandHeaders,
    digest: String,
    decision: RefundDecision,
) -> Result<Accepted, Problem> {
    let store = state.database();
    let (trainee_id, course_id) = credentials::refund_request(store, refund_id)
        .await?
        .ok_or_else(|| Problem::not_found("There is no such refund request."))?;
    // The trainee hears of an approval or a rejection; an erased account has no address any more.
    let recipient = match decision {
        RefundDecision::Acknowledge => None,
        RefundDecision::Approve | RefundDecision::Reject { .. } => {
            credentials::by_id(store, trainee_id).await?.map(|account| account.email)
        }
    };
    let run =
        CommandRun::new(enrollment_stream(trainee_id, course_id), actor.into(), headers, digest).with_id(refund_id);
    // The course's title, for the email only.
    let course_stream = course_stream(course_id);
    let title = |_: Trust| async {
        match recipient {
            Some(_) => Ok(Some(load_aggregate::<Course>(state, &course_stream).await?.state.title)),
            None => Ok::<_, Problem>(None),
        }
    };
    execute_loading(state, run, title, |enrollment: &Enrollment, title: &Option<String>| {
        let mail =
            recipient.as_deref().zip(title.as_deref()).map(|(to, course_title)| DecisionMail { to, course_title });
        let command = RefundCommand::Decide { trainee_id, course_id, decision: decision.clone(), mail };
        enrollment::decide_refunds(enrollment, command)
    })
    .await
}
