//! Reviews (D7): `GET /api/v1/courses/{id}/reviews` and `GET /api/v1/instructors/{id}/reviews`, newest first,
//! each with the reviewer's name and country (an erased reviewer shows neither, nor a comment).

use api_contract::{Params, PathId, Problem};
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::HeaderMap;
use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::QueryApiState;
use crate::caching::{Audience, cached_json};
use crate::listing::Listing;
use crate::page::{ListEnvelope, Paging};
use crate::reading::reading;

const DEFAULT_LIMIT: i64 = 10;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct Reviewer {
    name: Option<String>,
    country: Option<String>,
    picture: Option<crate::pictures::PictureUrls>,
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
    State(state): State<QueryApiState>,
    PathId(course_id): PathId,
    headers: HeaderMap,
    Params(paging): Params<Paging>,
) -> Response {
    page(&state, &headers, paging, Of::Course(course_id)).await.unwrap_or_else(|p| p.into_response())
}

/// `GET /api/v1/instructors/{id}/reviews?page=&limit=`
pub(crate) async fn of_instructor(
    State(state): State<QueryApiState>,
    PathId(instructor_id): PathId,
    headers: HeaderMap,
    Params(paging): Params<Paging>,
) -> Response {
    let answer = page(&state, &headers, paging, Of::Instructor(instructor_id)).await;
    answer.unwrap_or_else(|p| p.into_response())
}

async fn page(state: &QueryApiState, headers: &HeaderMap, paging: Paging, of: Of) -> Result<Response, Problem> {
    let page = paging.request(DEFAULT_LIMIT);
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
    let client = state.read.pool().get().await.map_err(reading("reviews"))?;
    if client.query_opt(exists, &[&id]).await.map_err(reading("reviews"))?.is_none() {
        return Err(Problem::not_found("There is no such course or instructor."));
    }
    let (columns, from, filter) = (
        format!(
            "r.rating, r.comment, u.name, u.country, u.picture_id, u.picture_format, {course} AS course_id, \
             r.created_at, r.updated_at"
        ),
        format!("{table} r LEFT JOIN user_directory u ON u.id = r.trainee_id"),
        format!("r.{key} = $1"),
    );
    let listing = Listing { columns: &columns, from: &from, filter: &filter, order: "r.created_at DESC, r.trainee_id" };
    let found = listing.page(&client, &[&id], page).await.map_err(reading("reviews"))?;
    let reviews = found
        .rows
        .iter()
        .map(|row| {
            Ok(ReviewView {
                rating: row.try_get("rating")?,
                comment: row.try_get("comment")?,
                reviewer: Reviewer {
                    name: row.try_get("name")?,
                    country: row.try_get("country")?,
                    picture: crate::pictures::PictureUrls::of(row, "picture_id", "picture_format")?,
                },
                course_id: row.try_get("course_id")?,
                created_at: row.try_get("created_at")?,
                updated_at: row.try_get("updated_at")?,
            })
        })
        .collect::<Result<Vec<_>, tokio_postgres::Error>>()
        .map_err(reading("reviews"))?;
    let total = found.total;
    Ok(cached_json(headers, Audience::Public, &ListEnvelope::new(reviews, page, total)))
}

/// One's own review of a course, to show or edit it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct OwnReview {
    course_id: Uuid,
    rating: i16,
    comment: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    updated_at: OffsetDateTime,
}

/// `GET /api/v1/courses/{id}/reviews/mine`: the caller's review of the course `id`; `404` when they wrote none.
pub(crate) async fn mine(
    actor: api_contract::Authenticated,
    State(state): State<QueryApiState>,
    PathId(course_id): PathId,
    headers: HeaderMap,
) -> Response {
    let answer = async {
        let client = state.read.pool().get().await.map_err(reading("reviews"))?;
        let row = client
            .query_opt(
                "SELECT rating, comment, created_at, updated_at FROM course_review \
                 WHERE course_id = $1 AND trainee_id = $2",
                &[&course_id, &actor.user_id],
            )
            .await
            .map_err(reading("reviews"))?
            .ok_or_else(|| Problem::not_found("You have not reviewed this course."))?;
        let review = (|| {
            Ok::<_, tokio_postgres::Error>(OwnReview {
                course_id,
                rating: row.try_get("rating")?,
                comment: row.try_get("comment")?,
                created_at: row.try_get("created_at")?,
                updated_at: row.try_get("updated_at")?,
            })
        })()
        .map_err(reading("reviews"))?;
        Ok::<_, Problem>(cached_json(&headers, Audience::Private, &serde_json::json!({ "data": review })))
    };
    answer.await.unwrap_or_else(|p| p.into_response())
}
