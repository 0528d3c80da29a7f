//! Reviews (D7): `GET /api/v1/courses/{id}/reviews` and `GET /api/v1/instructors/{id}/reviews`, newest first,
//! each with the reviewer's name and country (an erased reviewer shows neither, nor a comment).

use std::collections::HashMap;

use api_contract::{PathId, Problem};
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use http::HeaderMap;
use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::QueryApiState;
use crate::caching::{Audience, cached_json};
use crate::consistency::Freshness;
use crate::courses::unavailable;
use crate::page::{ListEnvelope, PageRequest};

const DEFAULT_LIMIT: i64 = 10;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct Reviewer {
    name: Option<String>,
    country: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct ReviewView {
    rating: i16,
    comment: Option<String>,
    reviewer: Reviewer,
    /// For an instructor's review, the course it came through.
    #[serde(skip_serializing_if = "Option::is_none")]
    course_id: Option<Uuid>,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    updated_at: OffsetDateTime,
}

/// Which reviews: of a published course, or of an instructor.
#[derive(Debug, Clone, Copy)]
enum Of {
    Course(Uuid),
    Instructor(Uuid),
}

/// `GET /api/v1/courses/{id}/reviews?page=&limit=`
pub(crate) async fn of_course(
    freshness: Freshness,
    State(state): State<QueryApiState>,
    PathId(course_id): PathId,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    freshness.mark(page(&state, &headers, &params, Of::Course(course_id)).await.unwrap_or_else(|p| p.into_response()))
}

/// `GET /api/v1/instructors/{id}/reviews?page=&limit=`
pub(crate) async fn of_instructor(
    freshness: Freshness,
    State(state): State<QueryApiState>,
    PathId(instructor_id): PathId,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let answer = page(&state, &headers, &params, Of::Instructor(instructor_id)).await;
    freshness.mark(answer.unwrap_or_else(|p| p.into_response()))
}

async fn page(
    state: &QueryApiState,
    headers: &HeaderMap,
    params: &HashMap<String, String>,
    of: Of,
) -> Result<Response, Problem> {
    let page = PageRequest::from_query(params, DEFAULT_LIMIT)?;
    let (exists, table, key, course) = match of {
        Of::Course(_) => (
            "SELECT 1 FROM catalog_course WHERE id = $1 AND status = 'published'",
            "course_review",
            "course_id",
            "NULL::uuid",
        ),
        Of::Instructor(_) => (
            "SELECT 1 FROM user_directory WHERE id = $1 AND role = 'instructor'",
            "instructor_review",
            "instructor_id",
            "r.course_id",
        ),
    };
    let (Of::Course(id) | Of::Instructor(id)) = of;
    let client = state.read.pool().get().await.map_err(unavailable)?;
    if client.query_opt(exists, &[&id]).await.map_err(unavailable)?.is_none() {
        return Err(Problem::not_found("There is no such course or instructor."));
    }
    let rows = client
        .query(
            &format!(
                "SELECT r.rating, r.comment, u.name, u.country, {course}, r.created_at, r.updated_at FROM {table} r \
                 LEFT JOIN user_directory u ON u.id = r.trainee_id WHERE r.{key} = $1 \
                 ORDER BY r.created_at DESC, r.trainee_id LIMIT $2 OFFSET $3"
            ),
            &[&id, &page.limit, &page.offset()],
        )
        .await
        .map_err(unavailable)?;
    let total: i64 = client
        .query_one(&format!("SELECT count(*) FROM {table} WHERE {key} = $1"), &[&id])
        .await
        .and_then(|row| row.try_get(0))
        .map_err(unavailable)?;
    let reviews = rows
        .iter()
        .map(|row| {
            Ok(ReviewView {
                rating: row.try_get(0)?,
                comment: row.try_get(1)?,
                reviewer: Reviewer { name: row.try_get(2)?, country: row.try_get(3)? },
                course_id: row.try_get(4)?,
                created_at: row.try_get(5)?,
                updated_at: row.try_get(6)?,
            })
        })
        .collect::<Result<Vec<_>, tokio_postgres::Error>>()
        .map_err(unavailable)?;
    Ok(cached_json(headers, Audience::Public, &ListEnvelope::new(reviews, page, total)))
}
