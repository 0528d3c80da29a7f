//! An instructor's own courses: drafts and retired ones too, and each in full (video URLs, answers, the ids
//! of every part) for editing. Private: another user's course is not found.

use api_contract::{Authenticated, Params, PathId, Problem};
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::HeaderMap;

use crate::QueryApiState;
use crate::caching::{Audience, cached_json};
use crate::catalog_query::CatalogQuery;
use crate::courses::{PageKind, Scope, course_page, list_courses, with_content};
use crate::discounts::of_course;
use crate::page::Paging;
use crate::reading::reading;

/// `GET /api/v1/me/instructor/courses`
pub(crate) async fn list(
    actor: Authenticated,
    State(state): State<QueryApiState>,
    headers: HeaderMap,
    Params(query): Params<CatalogQuery>,
    Params(paging): Params<Paging>,
) -> Response {
    let answer = list_courses(&state, &headers, query, paging, Scope::Own(actor.user_id)).await;
    answer.unwrap_or_else(|p| p.into_response())
}

/// `GET /api/v1/me/instructor/courses/{id}`
pub(crate) async fn get(
    actor: Authenticated,
    State(state): State<QueryApiState>,
    PathId(course_id): PathId,
    headers: HeaderMap,
) -> Response {
    let answer = async {
        let (course, content) = course_page(&state, course_id, None, PageKind::Owner(actor.user_id)).await?;
        let client = state.read.pool().get().await.map_err(reading("an instructor's courses"))?;
        let mut data = with_content(course, content)?;
        data["discounts"] = serde_json::to_value(of_course(&client, course_id, None).await?)
            .map_err(reading("an instructor's courses"))?;
        Ok::<_, Problem>(cached_json(&headers, Audience::Private, &serde_json::json!({ "data": data })))
    }
    .await;
    answer.unwrap_or_else(|p| p.into_response())
}
