//! Certificates (R10, D1): `GET /api/v1/certificates/{id}` lets anyone verify one (the name, the course and
//! the date; nothing more), `GET /api/v1/certificates/{id}/pdf` downloads it as the server renders it, and
//! `GET /api/v1/me/certificates` lists the caller's. An erased account's certificate shows no name.

use std::collections::HashMap;

use api_contract::{Authenticated, PathId, Problem};
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderValue, header};
use serde::Serialize;
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use crate::QueryApiState;
use crate::caching::{Audience, cached_bytes, cached_json};
use crate::consistency::Freshness;
use crate::courses::unavailable;
use crate::page::{ListEnvelope, PageRequest};

const DEFAULT_LIMIT: i64 = 12;

/// What the public verification shows.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct Verified {
    certificate_id: Uuid,
    /// `null` once the account was erased.
    name: Option<String>,
    course_title: String,
    #[serde(with = "events::content::iso_date")]
    issued_on: Date,
}

async fn issued(state: &QueryApiState, certificate_id: Uuid) -> Result<certificates::issued::Issued, Problem> {
    let client = state.read.pool().get().await.map_err(unavailable)?;
    certificates::issued::find(&client, certificate_id)
        .await
        .map_err(unavailable)?
        .ok_or_else(|| Problem::not_found("There is no such certificate."))
}

/// `GET /api/v1/certificates/{id}`
pub(crate) async fn verify(
    freshness: Freshness,
    State(state): State<QueryApiState>,
    PathId(certificate_id): PathId,
    headers: HeaderMap,
) -> Response {
    let answer = async {
        let issued = issued(&state, certificate_id).await?;
        let verified = Verified {
            certificate_id,
            name: issued.trainee_name,
            course_title: issued.course_title,
            issued_on: issued.issued_at.date(),
        };
        Ok::<_, Problem>(cached_json(&headers, Audience::Public, &serde_json::json!({ "data": verified })))
    };
    freshness.mark(answer.await.unwrap_or_else(|p| p.into_response()))
}

/// `GET /api/v1/certificates/{id}/pdf`
pub(crate) async fn pdf(
    freshness: Freshness,
    State(state): State<QueryApiState>,
    PathId(certificate_id): PathId,
    headers: HeaderMap,
) -> Response {
    let answer = async {
        let issued = issued(&state, certificate_id).await?;
        let verify_url = certificates::verify_url(&state.frontend_url, certificate_id);
        // Rendering takes a few milliseconds of CPU: off the async workers.
        let pdf = tokio::task::spawn_blocking(move || certificates::render(&issued.certificate(&verify_url)))
            .await
            .map_err(|error| Problem::internal().because(error))?
            .map_err(|error| Problem::internal().because(error))?;
        let mut response = cached_bytes(&headers, Audience::Public, "application/pdf", pdf);
        let disposition = format!("attachment; filename=\"certificate-{certificate_id}.pdf\"");
        if let Ok(value) = HeaderValue::from_str(&disposition) {
            response.headers_mut().insert(header::CONTENT_DISPOSITION, value);
        }
        Ok::<_, Problem>(response)
    };
    freshness.mark(answer.await.unwrap_or_else(|p| p.into_response()))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct CertificateRow {
    certificate_id: Uuid,
    course_id: Uuid,
    course_title: String,
    #[serde(with = "time::serde::rfc3339")]
    issued_at: OffsetDateTime,
}

/// `GET /api/v1/me/certificates?page=&limit=`
pub(crate) async fn mine(
    actor: Authenticated,
    freshness: Freshness,
    State(state): State<QueryApiState>,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let answer = async {
        let page = PageRequest::from_query(&params, DEFAULT_LIMIT)?;
        let client = state.read.pool().get().await.map_err(unavailable)?;
        let rows = client
            .query(
                "SELECT e.certificate_id, e.course_id, c.title, e.completed_at FROM enrollment_view e \
                 JOIN catalog_course c ON c.id = e.course_id \
                 WHERE e.trainee_id = $1 AND e.certificate_id IS NOT NULL \
                 ORDER BY e.completed_at DESC, e.course_id LIMIT $2 OFFSET $3",
                &[&actor.user_id, &page.limit, &page.offset()],
            )
            .await
            .map_err(unavailable)?;
        let count: i64 = client
            .query_one(
                "SELECT count(*) FROM enrollment_view WHERE trainee_id = $1 AND certificate_id IS NOT NULL",
                &[&actor.user_id],
            )
            .await
            .and_then(|row| row.try_get(0))
            .map_err(unavailable)?;
        let certificates = rows
            .iter()
            .map(|row| {
                Ok(CertificateRow {
                    certificate_id: row.try_get(0)?,
                    course_id: row.try_get(1)?,
                    course_title: row.try_get(2)?,
                    issued_at: row.try_get(3)?,
                })
            })
            .collect::<Result<Vec<_>, tokio_postgres::Error>>()
            .map_err(unavailable)?;
        Ok::<_, Problem>(cached_json(&headers, Audience::Private, &ListEnvelope::new(certificates, page, count)))
    };
    freshness.mark(answer.await.unwrap_or_else(|p| p.into_response()))
}
