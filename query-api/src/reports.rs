//! The support list (DOMAIN.md, "Query endpoints of the original"): `GET /api/v1/admin/reports` over
//! tickets, corporate access requests and refund requests together, with the original's filters (kinds,
//! status, course, user, dates) and sorting; and `GET /api/v1/me/reports`, the caller's own. Voided tickets
//! are left out.

use std::collections::HashMap;

use api_contract::{Authenticated, Problem};
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use http::HeaderMap;
use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::QueryApiState;
use crate::caching::{Audience, cached_json};
use crate::listing::Listing;
use crate::page::{ListEnvelope, PageRequest, date_param, param, uuid_param};
use crate::reading::reading;

const DEFAULT_LIMIT: i64 = 10;
pub(crate) const KINDS: [&str; 5] = ["technical", "financial", "other", "course_request", "refund"];
pub(crate) const STATUSES: [&str; 4] = ["unseen", "pending", "resolved", "rejected"];
pub(crate) const SORTS: [&str; 2] = ["newest", "oldest"];

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct ReportRow {
    id: Uuid,
    kind: String,
    status: String,
    user: ReportUser,
    course: Option<ReportCourse>,
    description: Option<String>,
    #[schema(value_type = Vec<FollowUp>)]
    follow_ups: serde_json::Value,
    progress_at_request: Option<i16>,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    updated_at: OffsetDateTime,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct ReportUser {
    id: Uuid,
    /// `null` once the account was erased.
    name: Option<String>,
    role: Option<String>,
    country: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct ReportCourse {
    id: Uuid,
    title: Option<String>,
}

impl ReportRow {
    fn from_row(row: &tokio_postgres::Row) -> Result<Self, tokio_postgres::Error> {
        let course_id: Option<Uuid> = row.try_get("course_id")?;
        Ok(ReportRow {
            id: row.try_get("id")?,
            kind: row.try_get("kind")?,
            status: row.try_get("status")?,
            user: ReportUser {
                id: row.try_get("user_id")?,
                name: row.try_get("user_name")?,
                role: row.try_get("user_role")?,
                country: row.try_get("user_country")?,
            },
            course: course_id
                .map(|id| Ok::<_, tokio_postgres::Error>(ReportCourse { id, title: row.try_get("course_title")? }))
                .transpose()?,
            description: row.try_get("description")?,
            follow_ups: row.try_get("follow_ups")?,
            progress_at_request: row.try_get("progress_at_request")?,
            created_at: row.try_get("created_at")?,
            updated_at: row.try_get("updated_at")?,
        })
    }
}

/// Validated filters, as SQL parameters `$1`..`$7`.
struct Filters {
    /// Any of these kinds (`kind=technical,refund`, like the original's `reason[]`).
    kinds: Option<Vec<String>>,
    status: Option<String>,
    course: Option<Uuid>,
    user: Option<Uuid>,
    from: Option<time::Date>,
    to: Option<time::Date>,
    oldest_first: bool,
}

fn kinds(params: &HashMap<String, String>) -> Result<Option<Vec<String>>, Problem> {
    let Some(listed) = param(params, "kind") else { return Ok(None) };
    let kinds: Vec<String> =
        listed.split(',').map(str::trim).filter(|kind| !kind.is_empty()).map(str::to_owned).collect();
    if let Some(unknown) = kinds.iter().find(|kind| !KINDS.contains(&kind.as_str())) {
        return Err(Problem::invalid_param("kind", format!("{unknown:?} is not one of {}", KINDS.join(", "))));
    }
    Ok(Some(kinds))
}

fn one_of(params: &HashMap<String, String>, name: &str, allowed: &[&str]) -> Result<Option<String>, Problem> {
    match param(params, name) {
        Some(value) if !allowed.contains(&value) => {
            Err(Problem::invalid_param(name, format!("{value:?} is not one of {}", allowed.join(", "))))
        }
        value => Ok(value.map(str::to_owned)),
    }
}

impl Filters {
    fn parse(params: &HashMap<String, String>, user: Option<Uuid>) -> Result<Self, Problem> {
        Ok(Filters {
            kinds: kinds(params)?,
            status: one_of(params, "status", &STATUSES)?,
            course: uuid_param(params, "course_id")?,
            user: user.or(uuid_param(params, "user_id")?),
            from: date_param(params, "from")?,
            to: date_param(params, "to")?,
            oldest_first: one_of(params, "sort", &SORTS)?.as_deref() == Some("oldest"),
        })
    }
}

const FILTER: &str = "NOT r.voided AND ($1::text[] IS NULL OR r.kind = ANY($1)) AND ($2::text IS NULL OR r.status = $2) \
     AND ($3::uuid IS NULL OR r.course_id = $3) AND ($4::uuid IS NULL OR r.user_id = $4) \
     AND ($5::date IS NULL OR r.created_at >= $5::date) AND ($6::date IS NULL OR r.created_at < $6::date + 1)";

/// `GET /api/v1/admin/reports?kind=&status=&course_id=&user_id=&from=&to=&sort=newest|oldest&page=&limit=`
pub(crate) async fn all(
    State(state): State<QueryApiState>,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let answer = async { page(&state, &headers, &params, Filters::parse(&params, None)?).await };
    answer.await.unwrap_or_else(|p| p.into_response())
}

/// `GET /api/v1/me/reports`: the caller's tickets and requests, with the same filters.
pub(crate) async fn mine(
    actor: Authenticated,
    State(state): State<QueryApiState>,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let answer = async { page(&state, &headers, &params, Filters::parse(&params, Some(actor.user_id))?).await };
    answer.await.unwrap_or_else(|p| p.into_response())
}

async fn page(
    state: &QueryApiState,
    headers: &HeaderMap,
    params: &HashMap<String, String>,
    filters: Filters,
) -> Result<Response, Problem> {
    let page = PageRequest::from_query(params, DEFAULT_LIMIT)?;
    let order = if filters.oldest_first { "r.created_at ASC, r.id" } else { "r.created_at DESC, r.id" };
    let Filters { kinds, status, course, user, from, to, .. } = filters;
    let client = state.read.pool().get().await.map_err(reading("support reports"))?;
    let listing = Listing {
        columns: "r.id, r.kind, r.status, r.user_id, u.name AS user_name, u.role AS user_role, \
                  u.country AS user_country, r.course_id, c.title AS course_title, r.description, r.follow_ups, \
                  r.progress_at_request, r.created_at, r.updated_at",
        from: "report_view r LEFT JOIN user_directory u ON u.id = r.user_id \
               LEFT JOIN catalog_course c ON c.id = r.course_id",
        filter: FILTER,
        order,
    };
    let found = listing
        .page(&client, &[&kinds, &status, &course, &user, &from, &to], page)
        .await
        .map_err(reading("support reports"))?;
    let reports = found
        .rows
        .iter()
        .map(ReportRow::from_row)
        .collect::<Result<Vec<_>, tokio_postgres::Error>>()
        .map_err(reading("support reports"))?;
    let total = found.total;
    Ok(cached_json(headers, Audience::Private, &ListEnvelope::new(reports, page, total)))
}

/// One message of a ticket's thread (its text `null` once its author's data is erased).
#[derive(serde::Serialize, utoipa::ToSchema)]
#[allow(dead_code)]
pub(crate) struct FollowUp {
    author_id: uuid::Uuid,
    by_admin: bool,
    text: Option<String>,
    /// When it was written.
    at: String,
}
