//! Public reads kept in memory: an answer any caller gets alike (`Cache-Control: public`: the catalogue, a
//! course's page, the categories) is kept and answered again, without its statements, its JSON or its ETag,
//! for as long as the read models it came from have not moved.
//!
//! The read models move only by a projector's batch, and every batch moves a projector checkpoint in the
//! same transaction. So an answer is kept with a stamp of the served schema's checkpoints, read before its
//! statements; it is answered again only while a fresh read of that stamp is the same. A read therefore
//! sees every write committed before it started, exactly as without the cache, for one small prepared
//! statement. A write that moves no checkpoint (an operator retrying a parked event) is seen within [`TTL`].
//!
//! Only routes seen answering a public read are kept (the first answer of each is not), so that a private
//! read pays nothing. A request with a consistency token bypasses the cache: it waits for its write anyway.
//! An answer from memory carries `Age` (RFC 9111). The answers kept all share one stamp: one read at another
//! ends them (they could never be answered again), so memory holds only answers that still count, within a
//! budget.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use api_contract::Problem;
use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderValue, Method, StatusCode, header};

use crate::QueryApiState;

/// The longest an answer is kept, however still the checkpoints stand.
const TTL: Duration = Duration::from_secs(1);
/// The largest answer kept.
const MAX_BODY: usize = 256 * 1024;
/// The bytes kept at most; past them the cache starts over.
const BUDGET: usize = 16 * 1024 * 1024;

/// The served schema and every projector checkpoint in it, as one text: it changes with every projector batch
/// that commits (and with a switch to another schema).
const STAMP: &str = "SELECT current_schema()::text || ':' || \
     (SELECT COALESCE(sum(position), 0) FROM projector_checkpoints)::text || ':' || \
     (SELECT COALESCE(sum(kafka_offset), 0) FROM projector_partition_checkpoints)::text";

const TOKEN_HEADER: &str = "x-consistency-token";

/// Public reads of routes the cache keeps, by `answer`: `memory` (a kept answer) or `statements` (read again:
/// the read models moved, or nothing was kept for it yet). Their ratio is the cache's hit rate.
pub const PUBLIC_READS: &str = "learnlog_public_reads_total";

fn count(answer: &'static str) {
    metrics::counter!(PUBLIC_READS, "answer" => answer).increment(1);
}

/// A kept answer.
#[derive(Debug)]
struct Kept {
    at: Instant,
    headers: HeaderMap,
    body: Bytes,
}

impl Kept {
    /// The answer to `request`: `304` if it holds this one already (`If-None-Match`), else the answer whole.
    fn respond(&self, request: &HeaderMap) -> Response {
        let etag = self.headers.get(header::ETAG).and_then(|etag| etag.to_str().ok());
        let mut response = match etag.is_some_and(|etag| crate::caching::matches(request, etag)) {
            true => StatusCode::NOT_MODIFIED.into_response(),
            false => Response::new(Body::from(self.body.clone())),
        };
        for (name, value) in &self.headers {
            if response.status() == StatusCode::OK || name != header::CONTENT_TYPE {
                response.headers_mut().append(name, value.clone());
            }
        }
        response
    }
}

/// What a kept answer costs besides its key and body, roughly: its headers and the map's own.
const ENTRY_OVERHEAD: usize = 256;

#[derive(Debug, Default)]
struct Inner {
    /// Where the read models stood when the answers kept were read: all of them, since an answer read
    /// elsewhere ends the others (they could never be answered again).
    stamp: String,
    /// By path and query.
    answers: HashMap<String, Kept>,
    /// What the answers cost, keys and bodies with [`ENTRY_OVERHEAD`] each.
    bytes: usize,
    /// The routes (as matched) seen answering a public read.
    public_routes: HashSet<String>,
}

/// Shared by every request of a query API; cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct PublicReads(Arc<Mutex<Inner>>);

impl PublicReads {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The kept answer to `key` if it was read at `stamp`, not longer than [`TTL`] ago.
    fn answer(&self, key: &str, stamp: &str, request: &HeaderMap) -> Option<Response> {
        let inner = self.lock();
        if inner.stamp != stamp {
            return None;
        }
        let kept = inner.answers.get(key).filter(|kept| kept.at.elapsed() < TTL)?;
        let mut response = kept.respond(request);
        response.headers_mut().insert(header::AGE, HeaderValue::from(kept.at.elapsed().as_secs()));
        Some(response)
    }

    /// Keeps `kept` as the answer to `key` read at `stamp`.
    fn keep(&self, key: String, stamp: &str, kept: Kept) {
        let cost_of = |body: &Bytes| key.len() + body.len() + ENTRY_OVERHEAD;
        let cost = cost_of(&kept.body);
        let mut inner = self.lock();
        if inner.stamp != stamp || inner.bytes + cost > BUDGET {
            inner.answers.clear();
            inner.bytes = 0;
            stamp.clone_into(&mut inner.stamp);
        }
        if let Some(replaced) = inner.answers.get(&key) {
            inner.bytes -= cost_of(&replaced.body);
        }
        inner.bytes += cost;
        inner.answers.insert(key, kept);
    }
}

/// Whether `response` is a public read's full answer.
fn is_public(response: &Response) -> bool {
    response.status() == StatusCode::OK
        && response
            .headers()
            .get(header::CACHE_CONTROL)
            .and_then(|control| control.to_str().ok())
            .is_some_and(|control| control.starts_with("public"))
}

async fn stamp(state: &QueryApiState) -> Option<String> {
    let client = state.read.pool().get().await.ok()?;
    let statement = client.prepare_cached(STAMP).await.ok()?;
    client.query_one(&statement, &[]).await.ok()?.try_get(0).ok()
}

/// The middleware: answers a public read from memory while its read models stand still, and keeps public
/// answers.
pub(crate) async fn serve(State(state): State<QueryApiState>, request: Request, next: Next) -> Response {
    let route = request.extensions().get::<MatchedPath>().map(|path| path.as_str().to_owned());
    let eligible = request.method() == Method::GET && !request.headers().contains_key(TOKEN_HEADER);
    let Some(route) = route.filter(|_| eligible) else { return next.run(request).await };
    let cache = state.public_reads.clone();
    if !cache.lock().public_routes.contains(&route) {
        let response = next.run(request).await;
        if is_public(&response) {
            cache.lock().public_routes.insert(route);
        }
        return response;
    }
    let key = request.uri().path_and_query().map_or_else(|| request.uri().path().to_owned(), |pq| pq.to_string());
    let Some(stamp) = stamp(&state).await else { return next.run(request).await };
    if let Some(answer) = cache.answer(&key, &stamp, request.headers()) {
        count("memory");
        return answer;
    }
    count("statements");
    // Asked without If-None-Match, so that the answer kept is the full one; the client's copy is compared
    // here.
    let asked = request.headers().clone();
    let mut request = request;
    request.headers_mut().remove(header::IF_NONE_MATCH);
    let response = next.run(request).await;
    let small = response.body().size_hint().exact().is_some_and(|size| size <= MAX_BODY as u64);
    if !is_public(&response) || !small {
        return response;
    }
    let (parts, body) = response.into_parts();
    let Ok(body) = axum::body::to_bytes(body, MAX_BODY).await else {
        return Problem::internal().because("a public read's answer could not be read").into_response();
    };
    let kept = Kept { at: Instant::now(), headers: parts.headers, body };
    let answer = kept.respond(&asked);
    cache.keep(key, &stamp, kept);
    answer
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kept(body: &'static str) -> Kept {
        let mut headers = HeaderMap::new();
        headers.insert(header::ETAG, HeaderValue::from_static("\"abc\""));
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        Kept { at: Instant::now(), headers, body: Bytes::from_static(body.as_bytes()) }
    }

    #[test]
    fn an_answer_is_given_again_only_at_its_stamp_and_as_304_to_a_client_that_holds_it() {
        let cache = PublicReads::default();
        cache.keep("/a".into(), "s:1:0", kept("{}"));
        assert!(cache.answer("/a", "s:2:0", &HeaderMap::new()).is_none(), "the read models moved");
        assert!(cache.answer("/b", "s:1:0", &HeaderMap::new()).is_none());
        let again = cache.answer("/a", "s:1:0", &HeaderMap::new()).expect("kept");
        assert_eq!((again.status(), again.headers()[header::AGE].to_str().unwrap()), (StatusCode::OK, "0"));
        let mut holding = HeaderMap::new();
        holding.insert(header::IF_NONE_MATCH, HeaderValue::from_static("\"abc\""));
        let not_modified = cache.answer("/a", "s:1:0", &holding).expect("kept");
        assert_eq!(not_modified.status(), StatusCode::NOT_MODIFIED);
        assert!(not_modified.headers().get(header::CONTENT_TYPE).is_none());
        cache.keep("/b".into(), "s:2:0", kept("[]"));
        assert_eq!(cache.lock().answers.len(), 1, "an answer read at another stamp ends the others");
    }

    #[test]
    fn an_answer_older_than_the_ttl_is_not_given_and_the_budget_starts_the_cache_over() {
        let cache = PublicReads::default();
        let mut old = kept("{}");
        old.at = Instant::now() - TTL;
        cache.keep("/old".into(), "s", old);
        assert!(cache.answer("/old", "s", &HeaderMap::new()).is_none());
        cache.keep("/a".into(), "s", kept("{}"));
        cache.keep("/a".into(), "s", kept("[1]"));
        assert_eq!(cache.lock().bytes, ("/old".len() + 2 + ENTRY_OVERHEAD) + ("/a".len() + 3 + ENTRY_OVERHEAD));
        cache.lock().bytes = BUDGET;
        cache.keep("/b".into(), "s", kept("[]"));
        assert!(cache.answer("/a", "s", &HeaderMap::new()).is_none(), "started over");
        assert!(cache.answer("/b", "s", &HeaderMap::new()).is_some());
        assert_eq!(cache.lock().bytes, "/b".len() + 2 + ENTRY_OVERHEAD);
    }
}
