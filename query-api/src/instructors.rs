//! Instructors' public profiles: one profile, their published courses, and the top instructors. Never a
//! balance, an earning or a bank account (DOMAIN.md defect 8).

use api_contract::{Params, PathId, Problem};
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::HeaderMap;
use serde::{Deserialize, Serialize};
use tokio_postgres::Row;
use uuid::Uuid;

use crate::QueryApiState;
use crate::caching::{Audience, cached_json};
use crate::catalog_query::CatalogQuery;
use crate::courses::{Scope, list_courses};
use crate::page::{ListEnvelope, Paging};
use crate::reading::reading;

/// Top instructors' default page size (DOMAIN.md 2.6.7).
const TOP_LIMIT: i64 = 5;

/// The orders of the top instructors.
#[derive(Debug, Clone, Copy, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum TopSort {
    /// By trainees taught, then by published courses.
    #[default]
    Popular,
    /// By average rating, then by how many rated.
    Rating,
}

/// How the top instructors are ordered.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct TopQuery {
    /// `popular` (the default) or `rating`.
    #[param(inline)]
    sort: Option<TopSort>,
}

const PROFILE_SELECT: &str = "SELECT u.id, u.name, u.title, u.speciality, u.biography, u.country, u.social_links, \
     u.picture_id, u.picture_format, \
     count(c.id) AS course_count, COALESCE(sum(c.enrolled_count), 0)::bigint AS enrolled_count, \
     COALESCE(min(r.rating_avg), 0)::float8 AS rating_avg, COALESCE(min(r.rating_count), 0) AS rating_count \
     FROM user_directory u LEFT JOIN catalog_course c ON c.instructor_id = u.id AND c.status = 'published' \
     LEFT JOIN instructor_rating r ON r.instructor_id = u.id \
     WHERE u.role = 'instructor'";

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct InstructorView {
    id: Uuid,
    name: String,
    title: Option<String>,
    speciality: Option<String>,
    biography: Option<String>,
    country: Option<String>,
    picture: Option<crate::pictures::PictureUrls>,
    #[schema(value_type = Option<SocialLinks>)]
    social_links: Option<serde_json::Value>,
    /// Published courses.
    course_count: i64,
    /// Trainees enrolled across those courses.
    enrolled_count: i64,
    /// R12: the average of their reviews, 2 decimals (0 without any), and how many.
    rating: crate::courses::Rating,
}

impl InstructorView {
    fn from_row(row: &Row) -> Result<Self, tokio_postgres::Error> {
        Ok(InstructorView {
            id: row.try_get("id")?,
            name: row.try_get("name")?,
            title: row.try_get("title")?,
            speciality: row.try_get("speciality")?,
            biography: row.try_get("biography")?,
            country: row.try_get("country")?,
            picture: crate::pictures::PictureUrls::of(row, "picture_id", "picture_format")?,
            social_links: row.try_get("social_links")?,
            course_count: row.try_get("course_count")?,
            enrolled_count: row.try_get("enrolled_count")?,
            rating: crate::courses::Rating::from_row(row)?,
        })
    }
}

/// `GET /api/v1/instructors/{id}`
pub(crate) async fn get(
    State(state): State<QueryApiState>,
    PathId(instructor_id): PathId,
    headers: HeaderMap,
) -> Response {
    profile(&state, &headers, instructor_id).await.unwrap_or_else(|p| p.into_response())
}

async fn profile(state: &QueryApiState, headers: &HeaderMap, instructor_id: Uuid) -> Result<Response, Problem> {
    let client = state.read.pool().get().await.map_err(reading("instructors"))?;
    let row = client
        .query_opt(&format!("{PROFILE_SELECT} AND u.id = $1 GROUP BY u.id"), &[&instructor_id])
        .await
        .map_err(reading("instructors"))?
        .ok_or_else(|| Problem::not_found("There is no such instructor."))?;
    let view = InstructorView::from_row(&row).map_err(reading("instructors"))?;
    Ok(cached_json(headers, Audience::Public, &serde_json::json!({ "data": view })))
}

/// `GET /api/v1/instructors/{id}/courses`: their published courses, most popular first.
pub(crate) async fn courses(
    State(state): State<QueryApiState>,
    PathId(instructor_id): PathId,
    headers: HeaderMap,
    Params(query): Params<CatalogQuery>,
    Params(paging): Params<Paging>,
) -> Response {
    let answer = list_courses(&state, &headers, query, paging, Scope::Instructor(instructor_id)).await;
    answer.unwrap_or_else(|p| p.into_response())
}

/// `GET /api/v1/instructors/top?sort=popular|rating`: instructors by trainees taught (then published
/// courses), or by their average rating (then how many rated).
pub(crate) async fn top(
    State(state): State<QueryApiState>,
    headers: HeaderMap,
    Params(query): Params<TopQuery>,
    Params(paging): Params<Paging>,
) -> Response {
    top_page(&state, &headers, query, paging).await.unwrap_or_else(|p| p.into_response())
}

async fn top_page(
    state: &QueryApiState,
    headers: &HeaderMap,
    query: TopQuery,
    paging: Paging,
) -> Result<Response, Problem> {
    let page = paging.request(TOP_LIMIT);
    let order = match query.sort.unwrap_or_default() {
        TopSort::Popular => "enrolled_count DESC, course_count DESC",
        TopSort::Rating => "rating_avg DESC, rating_count DESC",
    };
    let client = state.read.pool().get().await.map_err(reading("instructors"))?;
    let rows = client
        .query(
            &format!("{PROFILE_SELECT} GROUP BY u.id ORDER BY {order}, u.name, u.id LIMIT $1 OFFSET $2"),
            &[&page.limit, &page.offset()],
        )
        .await
        .map_err(reading("instructors"))?;
    let total: i64 = client
        .query_one("SELECT count(*) FROM user_directory WHERE role = 'instructor'", &[])
        .await
        .and_then(|row| row.try_get(0))
        .map_err(reading("instructors"))?;
    let instructors =
        rows.iter().map(InstructorView::from_row).collect::<Result<Vec<_>, _>>().map_err(reading("instructors"))?;
    Ok(cached_json(headers, Audience::Public, &ListEnvelope::new(instructors, page, total)))
}

/// An instructor's public links (each `null` when not given).
#[derive(serde::Serialize, utoipa::ToSchema)]
#[allow(dead_code)]
pub(crate) struct SocialLinks {
    facebook: Option<String>,
    github: Option<String>,
    linkedin: Option<String>,
    personal_website: Option<String>,
    youtube: Option<String>,
}
