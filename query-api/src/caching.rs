//! HTTP caching of reads (API.md "Caching"): a strong ETag from the body's SHA-256, `Cache-Control` by kind
//! of read, and `304 Not Modified` when the client already holds the same body. A read asked with a
//! consistency token is never answered from a cache that kept a read without it.

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderValue, StatusCode, header};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// How long shared caches may keep a public read, in seconds. Short: the catalogue changes.
const PUBLIC_MAX_AGE: &str = "public, max-age=30";
const PRIVATE: &str = "private, no-cache";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Audience {
    /// Anyone may see it and shared caches may keep it briefly.
    Public,
    /// One user's own data: revalidated on every use, never kept by shared caches.
    Private,
}

fn etag_of(body: &[u8]) -> String {
    let digest = Sha256::digest(body);
    let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!("\"{hex}\"")
}

/// Whether `If-None-Match` lists `etag` (or `*`); weak comparison, as RFC 9110 asks for GET.
pub(crate) fn matches(request: &HeaderMap, etag: &str) -> bool {
    request
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|list| list.split(',').map(str::trim).any(|tag| tag == "*" || tag.trim_start_matches("W/") == etag))
}

/// A JSON answer with its ETag and Cache-Control, or 304 when the client's copy is current.
pub(crate) fn cached_json<T: Serialize>(request: &HeaderMap, audience: Audience, value: &T) -> Response {
    let body = match serde_json::to_vec(value) {
        Ok(body) => body,
        Err(error) => {
            return api_contract::Problem::internal()
                .because(format!("a read model does not serialise: {error}"))
                .into_response();
        }
    };
    cached_bytes(request, audience, "application/json", body)
}

/// `body` of `content_type` with an ETag over its bytes (304 when the request already has them) and the
/// audience's Cache-Control.
pub(crate) fn cached_bytes(
    request: &HeaderMap,
    audience: Audience,
    content_type: &'static str,
    body: Vec<u8>,
) -> Response {
    let etag = etag_of(&body);
    let mut response = if matches(request, &etag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        ([(header::CONTENT_TYPE, HeaderValue::from_static(content_type))], body).into_response()
    };
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, value);
    }
    let control = match audience {
        Audience::Public => PUBLIC_MAX_AGE,
        Audience::Private => PRIVATE,
    };
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(control));
    response
}

/// Every read varies by `X-Consistency-Token`, so that a browser's or a proxy's copy of a read without a token
/// (kept up to 30 s) never answers one with a token; and a public answer to a token is private and revalidated
/// on every use (it may say `stale`, which must not be kept).
pub(crate) async fn consistency_aware(request: Request, next: Next) -> Response {
    let asked = request.headers().contains_key(TOKEN_HEADER);
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.append(header::VARY, HeaderValue::from_static("X-Consistency-Token"));
    if asked && headers.get(header::CACHE_CONTROL).is_some_and(|control| control == PUBLIC_MAX_AGE) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(PRIVATE));
    }
    response
}

const TOKEN_HEADER: &str = "x-consistency-token";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_body_has_the_same_tag_and_a_matching_request_gets_304() {
        let value = serde_json::json!({ "data": [1, 2, 3] });
        let first = cached_json(&HeaderMap::new(), Audience::Public, &value);
        assert_eq!(first.status(), StatusCode::OK);
        let etag = first.headers()[header::ETAG].clone();
        let mut request = HeaderMap::new();
        request.insert(
            header::IF_NONE_MATCH,
            HeaderValue::from_str(&format!("\"other\", W/{}", etag.to_str().unwrap())).unwrap(),
        );
        let second = cached_json(&request, Audience::Public, &value);
        assert_eq!(second.status(), StatusCode::NOT_MODIFIED);
        assert_eq!(second.headers()[header::ETAG], etag);
        let changed = cached_json(&request, Audience::Private, &serde_json::json!({ "data": [] }));
        assert_eq!(changed.status(), StatusCode::OK);
        assert_eq!(changed.headers()[header::CACHE_CONTROL], "private, no-cache");
    }
}
