//! `GET /api/v1/admin/refund-requests`: every refund request, newest first, with the trainee and the course,
//! filtered by status (D9: `unseen`, `pending`, `approved`, `rejected`, `completed`), course, trainee and the
//! dates it was asked for between.

use api_contract::query::{Day, OneOf, Words};
use api_contract::{Params, Problem};
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::HeaderMap;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::QueryApiState;
use crate::caching::{Audience, cached_json};
use crate::listing::Listing;
use crate::page::{ListEnvelope, Paging};
use crate::reading::reading;

const DEFAULT_LIMIT: i64 = 10;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct RefundRequestRow {
    id: Uuid,
    trainee_id: Uuid,
    /// `null` once the account was erased.
    trainee_name: Option<String>,
    course_id: Uuid,
    course_title: Option<String>,
    order_id: Uuid,
    status: String,
    reason: String,
    paid_cents: i64,
    /// floor(0.70 x paid), once approved.
    refund_cents: Option<i64>,
    progress_at_request: i16,
    /// Why it was rejected.
    decision_reason: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    requested_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    updated_at: OffsetDateTime,
}

/// The refund requests, newest first, with the trainee's name and the course's title, filtered by status,
/// course, trainee and dates (`$1`..`$5`).
const REFUND_REQUESTS: Listing<'static> = Listing {
    columns: "r.refund_id AS id, r.trainee_id, u.name AS trainee_name, r.course_id, c.title AS course_title, \
              r.order_id, r.status, r.reason, r.paid_cents, r.refund_cents, r.progress_at_request, \
              r.decision_reason, r.requested_at, r.updated_at",
    from: "refund_request_view r LEFT JOIN user_directory u ON u.id = r.trainee_id \
           LEFT JOIN catalog_course c ON c.id = r.course_id",
    filter: "($1::text IS NULL OR r.status = $1) AND ($2::uuid IS NULL OR r.course_id = $2) \
             AND ($3::uuid IS NULL OR r.trainee_id = $3) AND ($4::date IS NULL OR r.requested_at >= $4::date) \
             AND ($5::date IS NULL OR r.requested_at < $5::date + 1)",
    order: "r.requested_at DESC, r.refund_id",
};

impl RefundRequestRow {
    fn from_row(row: &tokio_postgres::Row) -> Result<Self, tokio_postgres::Error> {
        Ok(RefundRequestRow {
            id: row.try_get("id")?,
            trainee_id: row.try_get("trainee_id")?,
            trainee_name: row.try_get("trainee_name")?,
            course_id: row.try_get("course_id")?,
            course_title: row.try_get("course_title")?,
            order_id: row.try_get("order_id")?,
            status: row.try_get("status")?,
            reason: row.try_get("reason")?,
            paid_cents: row.try_get("paid_cents")?,
            refund_cents: row.try_get("refund_cents")?,
            progress_at_request: row.try_get("progress_at_request")?,
            decision_reason: row.try_get("decision_reason")?,
            requested_at: row.try_get("requested_at")?,
            updated_at: row.try_get("updated_at")?,
        })
    }
}

/// The statuses of a refund request.
pub(crate) struct Statuses;

impl Words for Statuses {
    const WORDS: &'static [&'static str] = &["unseen", "pending", "approved", "rejected", "completed"];
}

type RefundStatus = OneOf<Statuses>;

/// Which refund requests an admin lists.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct RefundFilter {
    /// Only requests with this status.
    #[param(inline)]
    status: Option<RefundStatus>,
    /// Only requests about this course.
    course_id: Option<Uuid>,
    /// Only this trainee's requests.
    trainee_id: Option<Uuid>,
    /// Only requests made on this day or later.
    #[param(inline)]
    from: Option<Day>,
    /// Only requests made on this day or earlier.
    #[param(inline)]
    to: Option<Day>,
}

/// `GET /api/v1/admin/refund-requests?status=&course_id=&trainee_id=&from=&to=&page=&limit=`
pub(crate) async fn list(
    State(state): State<QueryApiState>,
    headers: HeaderMap,
    Params(filter): Params<RefundFilter>,
    Params(paging): Params<Paging>,
) -> Response {
    let answer = async {
        let page = paging.request(DEFAULT_LIMIT);
        let status = filter.status.map(|status| status.as_str());
        let (course, trainee) = (filter.course_id, filter.trainee_id);
        let (from, to) = (filter.from.map(|day| day.0), filter.to.map(|day| day.0));
        let client = state.read.pool().get().await.map_err(reading("refund requests"))?;
        let found = REFUND_REQUESTS
            .page(&client, &[&status, &course, &trainee, &from, &to], page)
            .await
            .map_err(reading("refund requests"))?;
        let requests = found
            .rows
            .iter()
            .map(RefundRequestRow::from_row)
            .collect::<Result<Vec<_>, tokio_postgres::Error>>()
            .map_err(reading("refund requests"))?;
        let total = found.total;
        Ok::<_, Problem>(cached_json(&headers, Audience::Private, &ListEnvelope::new(requests, page, total)))
    };
    answer.await.unwrap_or_else(|p| p.into_response())
}
