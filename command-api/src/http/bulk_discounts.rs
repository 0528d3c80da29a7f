//! `POST /api/v1/courses/discounts`: one discount on many courses (DOMAIN.md ApplyDiscountToCatalogSelection).
//! The client picks the courses (with the query API's filters); each course then gets its own AddDiscount,
//! decided and appended on its own stream like any other, so an instructor's selection can only touch their
//! own courses and every window check holds: each goes through the one command pipeline and its typed
//! outcome is read directly. The answer lists what succeeded and why the rest failed.

use api_contract::{Authenticated, FieldError, JsonCommand, Problem};
use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use serde::Deserialize;
use time::Date;
use uuid::Uuid;

use super::CommandApiState;
use super::courses::{CourseRequest, on_course};
use super::headers::CommandHeaders;
use crate::domain::course::{CourseCommand, discount_issuer};
use crate::domain::discount::{DiscountCommand, Window};

/// The most courses one request discounts.
pub const MAX_COURSES: usize = 100;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct BulkDiscountBody {
    #[schema(schema_with = super::fields::bulk_course_ids)]
    course_ids: Vec<Uuid>,
    #[schema(minimum = 0, maximum = 100)]
    percent: i64,
    #[serde(with = "events::content::iso_date")]
    starts_on: Date,
    #[serde(with = "events::content::iso_date")]
    ends_on: Date,
}

/// What one discount on many courses answers, as documented.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub(crate) struct BulkOutcome {
    /// Each course discounted.
    succeeded: Vec<BulkSucceeded>,
    /// Each course refused.
    failed: Vec<BulkFailed>,
}

#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub(crate) struct BulkSucceeded {
    course_id: Uuid,
    answer: BulkAnswer,
}

/// What discounting one course answered, as its own command would.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub(crate) struct BulkAnswer {
    discount_id: Uuid,
    version: i64,
    consistency_token: String,
}

#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub(crate) struct BulkFailed {
    course_id: Uuid,
    /// The problem code the course's own command would answer.
    code: String,
    detail: String,
}

pub(crate) async fn apply(
    State(state): State<CommandApiState>,
    actor: Authenticated,
    headers: CommandHeaders,
    command: JsonCommand<BulkDiscountBody>,
) -> Result<Response, Problem> {
    let body = command.body;
    let mut course_ids = body.course_ids;
    course_ids.sort_unstable();
    course_ids.dedup();
    if course_ids.is_empty() || course_ids.len() > MAX_COURSES {
        let message = format!("must name 1 to {MAX_COURSES} courses");
        return Err(Problem::rule("validation_failed", "Some fields are not valid.")
            .with_errors(vec![FieldError::new("course_ids", message)]));
    }
    let window = Window { starts_on: body.starts_on, ends_on: body.ends_on };
    let issued_by = discount_issuer(actor.role);
    let mut succeeded = Vec::new();
    let mut failed = Vec::new();
    for course_id in course_ids {
        let discount_id = Uuid::now_v7();
        // Each course's append carries its own key, derived from the request's, so a retry replays it.
        let course_headers = CommandHeaders {
            idempotency_key: headers.idempotency_key.as_ref().map(|key| format!("{key}:{course_id}")),
            if_match: None,
            correlation_id: headers.correlation_id,
            causation_id: headers.causation_id,
        };
        let digest = format!("{}:{course_id}", command.digest);
        let request = CourseRequest::new_part(course_id, course_headers, digest, discount_id);
        let add = DiscountCommand::Add { discount_id, percent: body.percent, window, issued_by };
        let change = CourseCommand::Discount { actor: actor.actor(), change: add };
        match on_course(&state, actor, request, change).await {
            Ok(accepted) => succeeded.push(serde_json::json!({
                "course_id": course_id,
                "answer": {
                    "discount_id": accepted.data["id"],
                    "version": accepted.token.stream_version,
                    "consistency_token": accepted.sealed,
                },
            })),
            Err(problem) => failed.push(serde_json::json!({
                "course_id": course_id, "code": problem.code, "detail": problem.detail,
            })),
        }
    }
    let body = serde_json::json!({ "data": { "succeeded": succeeded, "failed": failed } });
    Ok((StatusCode::OK, Json(body)).into_response())
}
