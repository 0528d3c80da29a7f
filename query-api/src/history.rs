//! `GET /api/v1/events`: the event history for analysts and admins, as NDJSON in global order (one event per
//! line, see [`event_store::history`]). The answer is streamed a page at a time, so memory stays the same
//! however many events are asked for, and no connection is held while a slow client reads. A client goes on
//! with `after` set to the last line's `position`.

use api_contract::query::{Listed, Text, Whole, Words};
use api_contract::{Params, Problem};
use axum::body::Body;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use event_store::history::{self, HistoryQuery};
use events::Event;
use futures_util::StreamExt;
use http::{HeaderValue, header};
use serde::Deserialize;

use crate::QueryApiState;
use crate::reading::reading;

/// The most events one request answers, and how many it answers when `limit` is not given.
const MAX_LIMIT: i64 = 10_000;
const DEFAULT_LIMIT: i64 = 1_000;
/// Events read from the store per round trip while streaming.
const PAGE: i64 = 500;

/// The event types this version knows.
pub(crate) struct EventTypes;

impl Words for EventTypes {
    const WORDS: &'static [&'static str] = Event::TYPES;
}

type Position = Whole<0, { api_contract::MAX_WHOLE }>;
type HistoryLimit = Whole<1, MAX_LIMIT>;
type TypeNames = Listed<EventTypes>;
type StreamPrefix = Text<200>;

/// Which events, from where, and how many.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct HistoryParams {
    /// The position after which to start (0, the default, is the beginning); a client goes on with the last
    /// line's `position`.
    #[param(inline)]
    after: Option<Position>,
    /// How many events to answer at most (1,000 unless said).
    #[param(inline)]
    limit: Option<HistoryLimit>,
    /// Only events of these types.
    #[param(inline)]
    types: Option<TypeNames>,
    /// Only events of streams whose id starts with this text (`order-`).
    #[param(inline)]
    stream_prefix: Option<StreamPrefix>,
}

impl HistoryParams {
    fn query(self) -> HistoryQuery {
        HistoryQuery {
            after: self.after.map_or(0, |after| after.0),
            limit: self.limit.map_or(DEFAULT_LIMIT, |limit| limit.0),
            types: self.types.map(|types| types.0.into_iter().map(str::to_owned).collect()).unwrap_or_default(),
            stream_prefix: self.stream_prefix.map(|prefix| prefix.0),
            before: None,
        }
    }
}

/// `GET /api/v1/events`
pub(crate) async fn events(State(state): State<QueryApiState>, Params(asked): Params<HistoryParams>) -> Response {
    match answer(state, asked.query()).await {
        Ok(response) => response,
        Err(problem) => problem.into_response(),
    }
}

async fn answer(state: QueryApiState, mut query: HistoryQuery) -> Result<Response, Problem> {
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
        let text = form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish();
        api_contract::query::read::<HistoryParams>(&text).map(HistoryParams::query)
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
