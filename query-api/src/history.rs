//! `GET /api/v1/events`: the event history for analysts and admins, as NDJSON in global order (one event per
//! line, see [`event_store::history`]). The answer is streamed a page at a time, so memory stays the same
//! however many events are asked for, and no connection is held while a slow client reads. A client goes on
//! with `after` set to the last line's `position`.

use std::collections::HashMap;

use api_contract::Problem;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use event_store::history::{self, HistoryQuery};
use events::Event;
use futures_util::StreamExt;
use http::{HeaderValue, header};

use crate::QueryApiState;
use crate::page::param;
use crate::reading::reading;

/// The most events one request answers, and how many it answers when `limit` is not given.
pub(crate) const MAX_LIMIT: i64 = 10_000;
const DEFAULT_LIMIT: i64 = 1_000;
/// Events read from the store per round trip while streaming.
const PAGE: i64 = 500;
/// The longest stream prefix a filter may give (stream ids are shorter).
const PREFIX_MAX_CHARS: usize = 200;

/// Reads `after`, `limit`, `types` and `stream_prefix`; anything unusable is `400` naming it.
fn parse(params: &HashMap<String, String>) -> Result<HistoryQuery, Problem> {
    let after = match param(params, "after") {
        None => 0,
        Some(text) => text
            .parse::<i64>()
            .ok()
            .filter(|after| (0..=api_contract::MAX_WHOLE).contains(after))
            .ok_or_else(|| Problem::invalid_param("after", "must be a position: a whole number from 0"))?,
    };
    let limit = match param(params, "limit") {
        None => DEFAULT_LIMIT,
        Some(text) => {
            text.parse::<i64>().ok().filter(|limit| (1..=MAX_LIMIT).contains(limit)).ok_or_else(|| {
                Problem::invalid_param("limit", format!("must be a whole number from 1 to {MAX_LIMIT}"))
            })?
        }
    };
    let types = param(params, "types").map(parse_types).transpose()?.unwrap_or_default();
    let stream_prefix = param(params, "stream_prefix").map(str::to_owned);
    if stream_prefix.as_ref().is_some_and(|prefix| prefix.chars().count() > PREFIX_MAX_CHARS) {
        return Err(Problem::invalid_param("stream_prefix", format!("is at most {PREFIX_MAX_CHARS} characters")));
    }
    Ok(HistoryQuery { after, limit, types, stream_prefix, before: None })
}

/// A comma-separated list of event types, each one this version knows.
pub fn parse_types(text: &str) -> Result<Vec<String>, Problem> {
    let mut types = Vec::new();
    for name in text.split(',').map(str::trim).filter(|name| !name.is_empty()) {
        if !Event::TYPES.contains(&name) {
            return Err(Problem::invalid_param("types", format!("names an unknown event type: {name}")));
        }
        types.push(name.to_owned());
    }
    Ok(types)
}

/// `GET /api/v1/events`
pub(crate) async fn events(
    State(state): State<QueryApiState>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    match answer(state, &params).await {
        Ok(response) => response,
        Err(problem) => problem.into_response(),
    }
}

async fn answer(state: QueryApiState, params: &HashMap<String, String>) -> Result<Response, Problem> {
    let mut query = parse(params)?;
    let remaining = query.limit;
    // The first page is read before answering, so that a store that cannot be read is a 503, not a cut body.
    query.limit = remaining.min(PAGE);
    let first = history::read_page(&state.store, &query).await.map_err(reading("the event history"))?;
    let store = state.store.clone();
    /// What the stream yields next: a page to send, or the failure that cuts the answer.
    enum Next {
        Page(Vec<history::HistoryEvent>, HistoryQuery, i64),
        Failed(std::io::Error),
    }
    let pages = futures_util::stream::unfold(Some(Next::Page(first, query, remaining)), move |next| {
        let store = store.clone();
        async move {
            let (page, mut query, mut remaining) = match next? {
                Next::Page(page, query, remaining) => (page, query, remaining),
                // The status is sent already: the answer is cut (no last chunk), so that a client cannot take it
                // for the head; it resumes after the last complete line.
                Next::Failed(error) => return Some((Err(error), None)),
            };
            let last = page.last()?.position;
            let chunk: String = page.iter().map(history::HistoryEvent::ndjson_line).collect();
            remaining -= page.len() as i64;
            let mut next = None;
            if remaining > 0 && page.len() as i64 == query.limit {
                query.after = last;
                query.limit = remaining.min(PAGE);
                next = Some(match history::read_page(&store, &query).await {
                    Ok(page) => Next::Page(page, query, remaining),
                    Err(error) => {
                        tracing::warn!(%error, "reading the event history failed while streaming it");
                        Next::Failed(std::io::Error::other("reading the event history failed"))
                    }
                });
            }
            Some((Ok(chunk), next))
        }
    });
    // Fused: a body wrapper may poll once more after the end (gzip's encoder does, to flush), which an unfused
    // `unfold` answers with a panic and a cut body.
    let mut response = Body::from_stream(pages.fuse()).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/x-ndjson"));
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(pairs: &[(&str, &str)]) -> Result<HistoryQuery, Problem> {
        parse(&pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect())
    }

    #[test]
    fn defaults_and_limits() {
        let default = query(&[]).expect("defaults");
        assert_eq!((default.after, default.limit, default.types.len()), (0, DEFAULT_LIMIT, 0));
        assert_eq!(query(&[("limit", "10000")]).expect("the most").limit, 10_000);
        for bad in [("limit", "10001"), ("limit", "0"), ("limit", "x"), ("after", "-1"), ("after", "1.5")] {
            assert!(query(&[bad]).is_err(), "{bad:?}");
        }
        assert!(query(&[("stream_prefix", &"x".repeat(201))]).is_err());
    }

    #[test]
    fn types_are_known_ones() {
        let types = query(&[("types", "OrderPaid, CourseReviewed,")]).expect("known").types;
        assert_eq!(types, ["OrderPaid", "CourseReviewed"]);
        assert!(query(&[("types", "OrderPaid,DROP TABLE")]).is_err());
    }
}
