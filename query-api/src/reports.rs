//! The support list (DOMAIN.md, "Query endpoints of the original"): `GET /api/v1/admin/reports` over
//! tickets, corporate access requests and refund requests together, with the original's filters (kinds,
//! status, course, user, dates) and sorting; and `GET /api/v1/me/reports`, the caller's own. Voided tickets
//! are left out.

use api_contract::query::{Day, Listed, OneOf, Words};
use api_contract::{Authenticated, Params, PathId, Problem};
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
    picture: Option<crate::pictures::PictureUrls>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct ReportCourse {
    id: Uuid,
    title: Option<String>,
    thumbnail: Option<crate::pictures::PictureUrls>,
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
                picture: crate::pictures::PictureUrls::of(row, "picture_id", "picture_format")?,
            },
            course: course_id
                .map(|id| {
                    Ok::<_, tokio_postgres::Error>(ReportCourse {
                        id,
                        title: row.try_get("course_title")?,
                        thumbnail: crate::pictures::PictureUrls::of(row, "thumbnail_id", "thumbnail_format")?,
                    })
                })
                .transpose()?,
            description: row.try_get("description")?,
            follow_ups: row.try_get("follow_ups")?,
            progress_at_request: row.try_get("progress_at_request")?,
            created_at: row.try_get("created_at")?,
            updated_at: row.try_get("updated_at")?,
        })
    }
}

/// The kinds of report (`kind=technical,refund`, like the original's `reason[]`).
pub(crate) struct Kinds;

impl Words for Kinds {
    const WORDS: &'static [&'static str] = &["technical", "financial", "other", "course_request", "refund"];
}

/// The statuses of a report.
pub(crate) struct Statuses;

impl Words for Statuses {
    const WORDS: &'static [&'static str] = &["unseen", "pending", "resolved", "rejected"];
}

/// The orders a list of reports takes.
pub(crate) struct Sorts;

impl Words for Sorts {
    const WORDS: &'static [&'static str] = &["newest", "oldest"];
}

type ReportKinds = Listed<Kinds>;
type ReportStatus = OneOf<Statuses>;
type ReportOrder = OneOf<Sorts>;

/// Which reports a list holds, in which order.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ReportFilter {
    /// Only reports of these kinds.
    #[param(inline)]
    kind: Option<ReportKinds>,
    /// Only reports with this status.
    #[param(inline)]
    status: Option<ReportStatus>,
    /// Only reports about this course.
    course_id: Option<Uuid>,
    /// Only reports made on this day or later.
    #[param(inline)]
    from: Option<Day>,
    /// Only reports made on this day or earlier.
    #[param(inline)]
    to: Option<Day>,
    /// `newest` (the default) or `oldest` first.
    #[param(inline)]
    sort: Option<ReportOrder>,
}

/// An admin's list of reports may be one user's.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ReporterFilter {
    /// Only this user's reports.
    user_id: Option<Uuid>,
}

const FILTER: &str = "NOT r.voided AND ($1::text[] IS NULL OR r.kind = ANY($1)) AND ($2::text IS NULL OR r.status = $2) \
     AND ($3::uuid IS NULL OR r.course_id = $3) AND ($4::uuid IS NULL OR r.user_id = $4) \
     AND ($5::date IS NULL OR r.created_at >= $5::date) AND ($6::date IS NULL OR r.created_at < $6::date + 1)";

/// `GET /api/v1/admin/reports?kind=&status=&course_id=&user_id=&from=&to=&sort=newest|oldest&page=&limit=`
pub(crate) async fn all(
    State(state): State<QueryApiState>,
    headers: HeaderMap,
    Params(filter): Params<ReportFilter>,
    Params(reporter): Params<ReporterFilter>,
    Params(paging): Params<Paging>,
) -> Response {
    let answer = page(&state, &headers, filter, reporter.user_id, paging).await;
    answer.unwrap_or_else(|p| p.into_response())
}

/// `GET /api/v1/me/reports`: the caller's tickets and requests, with the same filters.
pub(crate) async fn mine(
    actor: Authenticated,
    State(state): State<QueryApiState>,
    headers: HeaderMap,
    Params(filter): Params<ReportFilter>,
    Params(paging): Params<Paging>,
) -> Response {
    let answer = page(&state, &headers, filter, Some(actor.user_id), paging).await;
    answer.unwrap_or_else(|p| p.into_response())
}

async fn page(
    state: &QueryApiState,
    headers: &HeaderMap,
    filter: ReportFilter,
    user: Option<Uuid>,
    paging: Paging,
) -> Result<Response, Problem> {
    let page = paging.request(DEFAULT_LIMIT);
    let oldest_first = filter.sort.is_some_and(|sort| sort.as_str() == "oldest");
    let order = if oldest_first { "r.created_at ASC, r.id" } else { "r.created_at DESC, r.id" };
    let kinds = filter.kind.map(|kinds| kinds.0);
    let status = filter.status.map(|status| status.as_str());
    let (course, from, to) = (filter.course_id, filter.from.map(|day| day.0), filter.to.map(|day| day.0));
    let client = state.read.pool().get().await.map_err(reading("support reports"))?;
    let listing = Listing { columns: COLUMNS, from: FROM, filter: FILTER, order };
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

/// What a report row is read from, its reporter's and its course's names and pictures with it.
const COLUMNS: &str = "r.id, r.kind, r.status, r.user_id, u.name AS user_name, u.role AS user_role, \
     u.country AS user_country, u.picture_id, u.picture_format, r.course_id, c.title AS course_title, \
     c.thumbnail_id, c.thumbnail_format, r.description, r.follow_ups, r.progress_at_request, r.created_at, r.updated_at";
const FROM: &str = "report_view r LEFT JOIN user_directory u ON u.id = r.user_id \
     LEFT JOIN catalog_course c ON c.id = r.course_id";

/// `GET /api/v1/reports/{id}`: one ticket or request, for the one who made it and for admins; anyone else finds
/// none, as for an unknown id.
pub(crate) async fn get(
    actor: Authenticated,
    State(state): State<QueryApiState>,
    PathId(report_id): PathId,
    headers: HeaderMap,
) -> Response {
    let answer = async {
        let client = state.read.pool().get().await.map_err(reading("support reports"))?;
        let sql = format!("SELECT {COLUMNS} FROM {FROM} WHERE r.id = $1 AND NOT r.voided");
        let row = client.query_opt(&sql, &[&report_id]).await.map_err(reading("support reports"))?;
        let row = row
            .filter(|row| {
                actor.role == events::Role::Admin || row.try_get::<_, Uuid>("user_id").ok() == Some(actor.user_id)
            })
            .ok_or_else(|| Problem::not_found("There is no such report."))?;
        let report = ReportRow::from_row(&row).map_err(reading("support reports"))?;
        Ok::<_, Problem>(cached_json(&headers, Audience::Private, &serde_json::json!({ "data": report })))
    };
    answer.await.unwrap_or_else(|p| p.into_response())
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
