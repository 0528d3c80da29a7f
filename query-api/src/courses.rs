//! The public catalogue: published courses only.

use std::collections::HashMap;

use api_contract::{PathId, Problem};
use axum::Json;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use time::OffsetDateTime;
use tokio_postgres::Row;
use uuid::Uuid;

use crate::QueryApiState;
use crate::consistency::Freshness;
use crate::page::{ListEnvelope, PageRequest};

/// The catalogue's default page size (DOMAIN.md 2.6.1).
const DEFAULT_LIMIT: i64 = 12;

const COURSE_COLUMNS: &str = "id, instructor_id, title, summary, category, subcategories, level, language, \
     base_price_cents, status, version, created_at, published_at";

#[derive(Debug, Serialize)]
struct Money {
    amount_cents: i64,
    currency: &'static str,
}

#[derive(Debug, Serialize)]
struct InstructorRef {
    id: Uuid,
}

#[derive(Debug, Serialize)]
pub(crate) struct CourseView {
    id: Uuid,
    title: String,
    summary: String,
    category: String,
    subcategories: Vec<String>,
    level: String,
    language: String,
    price: Money,
    instructor: InstructorRef,
    status: String,
    version: i64,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    published_at: Option<OffsetDateTime>,
}

impl CourseView {
    fn from_row(row: &Row) -> Result<Self, tokio_postgres::Error> {
        Ok(CourseView {
            id: row.try_get("id")?,
            instructor: InstructorRef { id: row.try_get("instructor_id")? },
            title: row.try_get("title")?,
            summary: row.try_get("summary")?,
            category: row.try_get("category")?,
            subcategories: row.try_get("subcategories")?,
            level: row.try_get("level")?,
            language: row.try_get("language")?,
            price: Money { amount_cents: row.try_get("base_price_cents")?, currency: "USD" },
            status: row.try_get("status")?,
            version: row.try_get("version")?,
            created_at: row.try_get("created_at")?,
            published_at: row.try_get("published_at")?,
        })
    }
}

fn unavailable(error: impl std::fmt::Display) -> Problem {
    tracing::error!(%error, "reading the catalogue failed");
    Problem::unavailable()
}

/// `GET /api/v1/courses`: published courses, newest first, paged.
pub(crate) async fn list(
    freshness: Freshness,
    State(state): State<QueryApiState>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    freshness.mark(list_page(&state, &params).await.into_response())
}

async fn list_page(state: &QueryApiState, params: &HashMap<String, String>) -> Result<Response, Problem> {
    let page = PageRequest::parse(
        params.get("page").map(String::as_str),
        params.get("limit").map(String::as_str),
        DEFAULT_LIMIT,
    )?;
    let client = state.read.pool().get().await.map_err(unavailable)?;
    let rows = client
        .query(
            &format!(
                "SELECT {COURSE_COLUMNS}, count(*) OVER () AS total FROM catalog_course WHERE status = 'published' \
                 ORDER BY published_at DESC, id LIMIT $1 OFFSET $2"
            ),
            &[&page.limit, &page.offset()],
        )
        .await
        .map_err(unavailable)?;
    let total = match rows.first() {
        Some(row) => row.try_get("total").map_err(unavailable)?,
        // An empty page past the end still reports the true total.
        None => client
            .query_one("SELECT count(*) FROM catalog_course WHERE status = 'published'", &[])
            .await
            .and_then(|row| row.try_get(0))
            .map_err(unavailable)?,
    };
    let courses = rows.iter().map(CourseView::from_row).collect::<Result<Vec<_>, _>>().map_err(unavailable)?;
    Ok(Json(ListEnvelope::new(courses, page, total)).into_response())
}

/// `GET /api/v1/courses/{id}`: one published course.
pub(crate) async fn get(
    freshness: Freshness,
    State(state): State<QueryApiState>,
    PathId(course_id): PathId,
) -> Response {
    freshness.mark(published_course(&state, course_id).await.into_response())
}

async fn published_course(state: &QueryApiState, course_id: Uuid) -> Result<Response, Problem> {
    let client = state.read.pool().get().await.map_err(unavailable)?;
    let row = client
        .query_opt(
            &format!("SELECT {COURSE_COLUMNS} FROM catalog_course WHERE id = $1 AND status = 'published'"),
            &[&course_id],
        )
        .await
        .map_err(unavailable)?
        .ok_or_else(|| Problem::not_found("There is no such published course."))?;
    let course = CourseView::from_row(&row).map_err(unavailable)?;
    Ok(Json(serde_json::json!({ "data": course })).into_response())
}
