//! Certificates (R10, D1): `GET /api/v1/certificates/{id}` lets anyone verify one (the name, the course and
//! the date; nothing more), `GET /api/v1/certificates/{id}/pdf` downloads it as the server renders it, and
//! `GET /api/v1/me/certificates` lists the caller's. An erased account's certificate shows no name.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex, PoisonError};

use api_contract::{Authenticated, Params, PathId, Problem};
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderValue, header};
use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use crate::QueryApiState;
use crate::caching::{Audience, cached_bytes, cached_json};
use crate::listing::Listing;
use crate::page::{ListEnvelope, Paging};
use crate::reading::reading;

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
    let client = state.read.pool().get().await.map_err(reading("certificates"))?;
    certificates::issued::find(&client, certificate_id)
        .await
        .map_err(reading("certificates"))?
        .ok_or_else(|| Problem::not_found("There is no such certificate."))
}

/// What opens a certificate: the code its link carries.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct Code {
    /// The certificate's verification code, printed on it and carried by its link.
    code: Option<String>,
}

/// The certificate of `certificate_id` if `code` is its verification code; else, as for an unknown id, 404: the
/// id alone (which the event history carries) opens nothing.
async fn opened(
    state: &QueryApiState,
    certificate_id: Uuid,
    code: &Code,
) -> Result<certificates::issued::Issued, Problem> {
    if !state.keys.certificates().verify(certificate_id, code.code.as_deref().unwrap_or_default()) {
        return Err(Problem::not_found("There is no such certificate (its link carries a `code`)."));
    }
    issued(state, certificate_id).await
}

/// `GET /api/v1/certificates/{id}?code=`
pub(crate) async fn verify(
    State(state): State<QueryApiState>,
    PathId(certificate_id): PathId,
    headers: HeaderMap,
    Params(code): Params<Code>,
) -> Response {
    let answer = async {
        let issued = opened(&state, certificate_id, &code).await?;
        let verified = Verified {
            certificate_id,
            name: issued.trainee_name,
            course_title: issued.course_title,
            issued_on: issued.issued_at.date(),
        };
        Ok::<_, Problem>(cached_json(&headers, Audience::Public, &serde_json::json!({ "data": verified })))
    };
    answer.await.unwrap_or_else(|p| p.into_response())
}

/// `GET /api/v1/certificates/{id}/pdf?code=`
pub(crate) async fn pdf(
    State(state): State<QueryApiState>,
    PathId(certificate_id): PathId,
    headers: HeaderMap,
    Params(code): Params<Code>,
) -> Response {
    let answer = async {
        let issued = opened(&state, certificate_id, &code).await?;
        let code = state.keys.certificates().code(certificate_id);
        let verify_url = certificates::verify_url(&state.frontend_url, certificate_id, &code);
        let version = fingerprint(&issued, &verify_url);
        let pdf = match state.pdfs.get(certificate_id, version) {
            Some(pdf) => pdf,
            None => {
                // Rendering takes a few milliseconds of CPU: off the async workers, and once per version.
                let pdf = tokio::task::spawn_blocking(move || certificates::render(&issued.certificate(&verify_url)))
                    .await
                    .map_err(|error| Problem::internal().because(error))?
                    .map_err(|error| Problem::internal().because(error))?;
                metrics::counter!("learnlog_certificate_pdfs_rendered_total").increment(1);
                state.pdfs.put(certificate_id, version, Arc::new(pdf))
            }
        };
        let mut response = cached_bytes(&headers, Audience::Public, "application/pdf", pdf.to_vec());
        let disposition = format!("attachment; filename=\"certificate-{certificate_id}.pdf\"");
        if let Ok(value) = HeaderValue::from_str(&disposition) {
            response.headers_mut().insert(header::CONTENT_DISPOSITION, value);
        }
        Ok::<_, Problem>(response)
    };
    answer.await.unwrap_or_else(|p| p.into_response())
}

/// What a certificate's PDF shows, as a number: it changes when anything printed changes (a name erased, a
/// course renamed, another frontend address).
fn fingerprint(issued: &certificates::issued::Issued, verify_url: &str) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    (&issued.trainee_name, &issued.course_title, &issued.instructors, issued.issued_at, verify_url).hash(&mut hasher);
    hasher.finish()
}

/// The bytes the rendered PDFs may hold before the cache starts over.
const RENDERED_BYTES: usize = 32 << 20;

/// The certificates' PDFs as last rendered, by certificate and what they show: a certificate is rendered once
/// per version, not on every anonymous download. Shared by the requests of a process, bounded by
/// [`RENDERED_BYTES`].
#[derive(Debug, Clone, Default)]
pub struct RenderedPdfs(Arc<Mutex<Rendered>>);

#[derive(Debug, Default)]
struct Rendered {
    pdfs: HashMap<Uuid, (u64, Arc<Vec<u8>>)>,
    bytes: usize,
}

impl RenderedPdfs {
    fn get(&self, certificate_id: Uuid, version: u64) -> Option<Arc<Vec<u8>>> {
        let rendered = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        rendered.pdfs.get(&certificate_id).filter(|(kept, _)| *kept == version).map(|(_, pdf)| Arc::clone(pdf))
    }

    /// Keeps `pdf` as `certificate_id`'s at `version` (in place of an older version) and hands it back.
    fn put(&self, certificate_id: Uuid, version: u64, pdf: Arc<Vec<u8>>) -> Arc<Vec<u8>> {
        let mut rendered = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((_, replaced)) = rendered.pdfs.remove(&certificate_id) {
            rendered.bytes -= replaced.len();
        }
        if rendered.bytes + pdf.len() > RENDERED_BYTES {
            *rendered = Rendered::default();
        }
        rendered.bytes += pdf.len();
        rendered.pdfs.insert(certificate_id, (version, Arc::clone(&pdf)));
        pdf
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct CertificateRow {
    certificate_id: Uuid,
    /// What opens the certificate's public verification and PDF (`?code=`): the holder shares it.
    code: String,
    /// The public verification page on the web frontend.
    verify_url: String,
    course_id: Uuid,
    course_title: String,
    #[serde(with = "time::serde::rfc3339")]
    issued_at: OffsetDateTime,
}

/// `GET /api/v1/me/certificates?page=&limit=`
pub(crate) async fn mine(
    actor: Authenticated,
    State(state): State<QueryApiState>,
    headers: HeaderMap,
    Params(paging): Params<Paging>,
) -> Response {
    let answer = async {
        let page = paging.request(DEFAULT_LIMIT);
        let client = state.read.pool().get().await.map_err(reading("certificates"))?;
        let listing = Listing {
            columns: "e.certificate_id, e.course_id, c.title AS course_title, e.completed_at",
            from: "enrollment_view e JOIN catalog_course c ON c.id = e.course_id",
            filter: "e.trainee_id = $1 AND e.certificate_id IS NOT NULL",
            order: "e.completed_at DESC, e.course_id",
        };
        let found = listing.page(&client, &[&actor.user_id], page).await.map_err(reading("certificates"))?;
        let certificates = found
            .rows
            .iter()
            .map(|row| {
                let certificate_id: Uuid = row.try_get("certificate_id")?;
                let code = state.keys.certificates().code(certificate_id);
                Ok(CertificateRow {
                    certificate_id,
                    verify_url: certificates::verify_url(&state.frontend_url, certificate_id, &code),
                    code,
                    course_id: row.try_get("course_id")?,
                    course_title: row.try_get("course_title")?,
                    issued_at: row.try_get("completed_at")?,
                })
            })
            .collect::<Result<Vec<_>, tokio_postgres::Error>>()
            .map_err(reading("certificates"))?;
        let count = found.total;
        Ok::<_, Problem>(cached_json(&headers, Audience::Private, &ListEnvelope::new(certificates, page, count)))
    };
    answer.await.unwrap_or_else(|p| p.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pdf_is_kept_per_certificate_and_version_within_the_bound() {
        let pdfs = RenderedPdfs::default();
        let (first, second) = (Uuid::from_u128(1), Uuid::from_u128(2));
        assert!(pdfs.get(first, 7).is_none());
        pdfs.put(first, 7, Arc::new(vec![1; 10]));
        assert_eq!(pdfs.get(first, 7).as_deref(), Some(&vec![1; 10]));
        assert!(pdfs.get(first, 8).is_none(), "another version is rendered again");
        pdfs.put(first, 8, Arc::new(vec![2; 10]));
        assert!(pdfs.get(first, 7).is_none(), "the older version is gone");
        assert_eq!(pdfs.0.lock().expect("held").bytes, 10);
        pdfs.put(second, 1, Arc::new(vec![3; RENDERED_BYTES - 5]));
        assert!(pdfs.get(first, 8).is_none(), "past the bound the cache starts over");
        assert!(pdfs.get(second, 1).is_some());
        assert_eq!(pdfs.0.lock().expect("held").bytes, RENDERED_BYTES - 5);
    }
}
