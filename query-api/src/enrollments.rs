//! The caller's enrolments: `GET /api/v1/me/enrollments` (newest first, 12 a page) and
//! `GET /api/v1/me/enrollments/{course_id}`, the enrolled view of a course: lessons with their video URLs,
//! exercises and the exam without their answers. Someone not enrolled gets 404.

use std::collections::HashMap;

use api_contract::{Authenticated, PathId, Problem};
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use http::HeaderMap;
use serde::Serialize;
use serde_json::Value;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::QueryApiState;
use crate::caching::{Audience, cached_json};
use crate::consistency::Freshness;
use crate::courses::{COURSE_SELECT, CourseView, unavailable, with_content};
use crate::money::Display;
use crate::page::{ListEnvelope, PageRequest, param};

const DEFAULT_LIMIT: i64 = 12;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct EnrollmentView {
    course: CourseView,
    /// `active`.
    status: String,
    /// `purchase`, `admin_grant` or `corporate_grant`.
    source: String,
    order_id: Option<Uuid>,
    #[serde(with = "time::serde::rfc3339")]
    enrolled_at: OffsetDateTime,
    /// R8: the share of the course's lessons seen, 0 to 100.
    progress: i16,
    /// Lessons opened at least once.
    visited_lessons: Vec<Uuid>,
}

const ENROLLED: &str = "JOIN enrollment_view e ON e.course_id = c.id WHERE e.trainee_id = $1";

/// `GET /api/v1/me/enrollments?country=&page=&limit=`
pub(crate) async fn list(
    actor: Authenticated,
    freshness: Freshness,
    State(state): State<QueryApiState>,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let answer = async {
        let page = PageRequest::from_query(&params, DEFAULT_LIMIT)?;
        let client = state.read.pool().get().await.map_err(unavailable)?;
        let display = Display::for_country(&client, param(&params, "country")).await.map_err(unavailable)?;
        let select = COURSE_SELECT.replacen(
            "SELECT ",
            "SELECT e.status AS e_status, e.source, e.order_id, e.enrolled_at, e.progress, e.visited_lessons, ",
            1,
        );
        let rows = client
            .query(
                &format!("{select} {ENROLLED} ORDER BY e.enrolled_at DESC, c.id LIMIT $2 OFFSET $3"),
                &[&actor.user_id, &page.limit, &page.offset()],
            )
            .await
            .map_err(unavailable)?;
        let count: i64 = client
            .query_one("SELECT count(*) FROM enrollment_view WHERE trainee_id = $1", &[&actor.user_id])
            .await
            .and_then(|row| row.try_get(0))
            .map_err(unavailable)?;
        let enrollments = rows
            .iter()
            .map(|row| {
                Ok(EnrollmentView {
                    course: CourseView::from_row(row, display)?,
                    status: row.try_get("e_status")?,
                    source: row.try_get("source")?,
                    order_id: row.try_get("order_id")?,
                    enrolled_at: row.try_get("enrolled_at")?,
                    progress: row.try_get("progress")?,
                    visited_lessons: row.try_get("visited_lessons")?,
                })
            })
            .collect::<Result<Vec<_>, tokio_postgres::Error>>()
            .map_err(unavailable)?;
        Ok::<_, Problem>(cached_json(&headers, Audience::Private, &ListEnvelope::new(enrollments, page, count)))
    };
    freshness.mark(answer.await.unwrap_or_else(|p| p.into_response()))
}

/// `GET /api/v1/me/enrollments/{course_id}`
pub(crate) async fn get(
    actor: Authenticated,
    freshness: Freshness,
    State(state): State<QueryApiState>,
    PathId(course_id): PathId,
    headers: HeaderMap,
) -> Response {
    let answer = async {
        let client = state.read.pool().get().await.map_err(unavailable)?;
        let select = COURSE_SELECT.replacen(
            "SELECT ",
            "SELECT e.status AS e_status, e.source, e.enrolled_at, e.progress, e.visited_lessons, ",
            1,
        );
        let row = client
            .query_opt(
                &format!("{select} {ENROLLED} AND c.id = $2 AND e.status = 'active'"),
                &[&actor.user_id, &course_id],
            )
            .await
            .map_err(unavailable)?
            .ok_or_else(|| Problem::not_found("You are not enrolled in this course."))?;
        let course = CourseView::from_row(&row, Display::USD).map_err(unavailable)?;
        let mut content: Value = client
            .query_opt("SELECT doc FROM course_document WHERE course_id = $1", &[&course_id])
            .await
            .map_err(unavailable)?
            .map(|row| row.try_get(0))
            .transpose()
            .map_err(unavailable)?
            .unwrap_or_else(|| serde_json::json!({ "sections": [], "exam": [], "faq": [], "announcements": [] }));
        strip_answers(&mut content);
        let mut data = with_content(course, content)?;
        data["enrollment"] = serde_json::json!({
            "status": row.try_get::<_, String>("e_status").map_err(unavailable)?,
            "source": row.try_get::<_, String>("source").map_err(unavailable)?,
            "progress": row.try_get::<_, i16>("progress").map_err(unavailable)?,
            "visited_lessons": row.try_get::<_, Vec<Uuid>>("visited_lessons").map_err(unavailable)?,
        });
        Ok::<_, Problem>(cached_json(&headers, Audience::Private, &serde_json::json!({ "data": data })))
    };
    freshness.mark(answer.await.unwrap_or_else(|p| p.into_response()))
}

/// `GET /api/v1/me/last-viewed-course`: the course the caller opened last, `404` before any.
pub(crate) async fn last_viewed(
    actor: Authenticated,
    freshness: Freshness,
    State(state): State<QueryApiState>,
    headers: HeaderMap,
) -> Response {
    let answer = async {
        let client = state.read.pool().get().await.map_err(unavailable)?;
        let select = COURSE_SELECT.replacen("SELECT ", "SELECT l.at AS viewed_at, ", 1);
        let row = client
            .query_opt(
                &format!("{select} JOIN trainee_last_viewed l ON l.course_id = c.id WHERE l.trainee_id = $1"),
                &[&actor.user_id],
            )
            .await
            .map_err(unavailable)?
            .ok_or_else(|| Problem::not_found("You have not opened a course yet."))?;
        let course = CourseView::from_row(&row, Display::USD).map_err(unavailable)?;
        let at: OffsetDateTime = row.try_get("viewed_at").map_err(unavailable)?;
        let at = at.format(&time::format_description::well_known::Rfc3339).map_err(unavailable)?;
        Ok::<_, Problem>(cached_json(
            &headers,
            Audience::Private,
            &serde_json::json!({ "data": { "course": course, "viewed_at": at } }),
        ))
    };
    freshness.mark(answer.await.unwrap_or_else(|p| p.into_response()))
}

/// Removes every question's `answer_index`: an enrolled trainee sees an answer only after answering.
fn strip_answers(value: &mut Value) {
    match value {
        Value::Object(fields) => {
            fields.remove("answer_index");
            fields.values_mut().for_each(strip_answers);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_answers),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_stripped_at_any_depth_and_nothing_else() {
        let mut doc = serde_json::json!({
            "sections": [{ "exercises": [{ "questions": [{ "question": "q", "answer_index": 1 }] }] }],
            "exam": [{ "question": "e", "options": ["a", "b"], "answer_index": 0 }],
        });
        strip_answers(&mut doc);
        assert_eq!(
            doc,
            serde_json::json!({
                "sections": [{ "exercises": [{ "questions": [{ "question": "q" }] }] }],
                "exam": [{ "question": "e", "options": ["a", "b"] }],
            })
        );
    }
}
