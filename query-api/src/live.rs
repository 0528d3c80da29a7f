//! `GET /api/v1/me/live`: the caller's changes pushed as server-sent events (`text/event-stream`), so that a
//! frontend subscribes instead of polling: a message written to them or by them, a conversation read, an order
//! paid, fulfilled, failed or expired, an enrolment, a certificate, a refund decided, the wallet's balance.
//!
//! The projector writes what to push into `learnlog_meta.live_update` in the transaction that writes the read
//! models, so a client told of a change reads it at once (each event carries a consistency token too, for a
//! read that goes to a replica). One [`Live`] per process follows the table on every projector notification
//! (or poll) and hands each row to the open streams of its user; the rows of transactions still running are
//! left for a later turn (`txid` below the snapshot's xmin), so rows that concurrent projectors commit out of
//! order are neither skipped nor repeated.
//!
//! An event's `id` is its place, `<txid>.<id>`: a client that reconnects with `Last-Event-ID` (as EventSource
//! does) gets what it missed first, for as long as the rows are kept (a day). A `ready` event says the stream
//! is current; a `reset` one that more was missed than is replayed, so the client reads its lists again. A
//! client too slow to take its events is disconnected (it reconnects and catches up); a stream ends when its
//! access token expires or its sessions end (checked every [`RECHECK_TOKEN`]), and the client reconnects
//! with a fresh token.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use api_contract::{Authenticated, ConsistencyToken, Problem};
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use database::Database;
use futures_util::Stream;
use http::{HeaderMap, StatusCode};
use serde_json::Value;
use tokio::sync::{mpsc, watch};
use uuid::Uuid;

use crate::QueryApiState;
use crate::reading::reading;

/// Open streams one user may hold (tabs, devices).
pub const STREAMS_PER_USER: usize = 8;
/// Open streams one process holds at most.
pub const STREAMS_AT_MOST: usize = 20_000;
/// Events waiting for a client before it counts as too slow and is disconnected.
const BACKLOG: usize = 256;
/// Events replayed after a reconnect at most; beyond, the client is told to read its lists again.
const REPLAYED_AT_MOST: usize = 1_000;
/// How often a stream's access token is checked again.
const RECHECK_TOKEN: Duration = Duration::from_secs(30);
/// A comment this often keeps a quiet stream open: through proxies, and for clients whose read timeout is
/// short at their defaults (httpx's is 5 s).
const KEEP_ALIVE: Duration = Duration::from_secs(4);

/// Where an event stands in the order the streams see them: its transaction, then its row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Place {
    txid: i64,
    id: i64,
}

impl Place {
    fn text(self) -> String {
        format!("{}.{}", self.txid, self.id)
    }

    fn parse(text: &str) -> Option<Place> {
        let (txid, id) = text.trim().split_once('.')?;
        Some(Place { txid: txid.parse().ok().filter(|t| *t >= 0)?, id: id.parse().ok().filter(|i| *i >= 0)? })
    }
}

/// One change for one user.
#[derive(Debug)]
struct Pushed {
    place: Place,
    user_id: Uuid,
    kind: String,
    data: Value,
    token: ConsistencyToken,
}

/// The selected columns of `learnlog_meta.live_update` a push is read from, a message's text with it.
const COLUMNS: &str = "u.txid::text::bigint AS txid, u.id, u.user_id, u.kind, u.data, u.position, u.stream_id, \
     u.stream_version, m.text, m.sent_at";
const FROM: &str = "learnlog_meta.live_update u LEFT JOIN message_view m \
     ON u.kind = 'message' AND m.message_id = (u.data->>'message_id')::uuid";

impl Pushed {
    fn from_row(row: &tokio_postgres::Row) -> Result<Pushed, tokio_postgres::Error> {
        let mut data: Value = row.try_get("data")?;
        if let Value::Object(fields) = &mut data {
            let text: Option<String> = row.try_get("text")?;
            let sent_at: Option<time::OffsetDateTime> = row.try_get("sent_at")?;
            if fields.contains_key("message_id") {
                fields.insert("text".into(), text.into());
                let sent_at = sent_at.and_then(|at| at.format(&time::format_description::well_known::Rfc3339).ok());
                fields.insert("sent_at".into(), sent_at.into());
            }
        }
        Ok(Pushed {
            place: Place { txid: row.try_get("txid")?, id: row.try_get("id")? },
            user_id: row.try_get("user_id")?,
            kind: row.try_get("kind")?,
            data,
            token: ConsistencyToken {
                position: row.try_get("position")?,
                stream_id: row.try_get("stream_id")?,
                stream_version: row.try_get("stream_version")?,
            },
        })
    }

    fn event(&self, state: &QueryApiState) -> Event {
        let mut data = self.data.clone();
        if let Value::Object(fields) = &mut data {
            fields.insert("consistency_token".into(), state.keys.consistency().seal(&self.token).into());
        }
        Event::default().event(&self.kind).id(self.place.text()).data(data.to_string())
    }
}

/// The open streams of one process, and the task that feeds them.
#[derive(Debug, Clone)]
pub struct Live(Arc<Hub>);

#[derive(Debug)]
struct Hub {
    /// The primary's read models (`live_update` and the messages).
    read: Database,
    streams: Mutex<Streams>,
    next_id: AtomicU64,
}

impl Hub {
    /// Every transaction below this one has ended: its rows are all visible to a later statement, or never.
    async fn horizon(&self) -> Result<i64, Box<dyn std::error::Error + Send + Sync>> {
        let client = self.read.pool().get().await?;
        Ok(client.query_one("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint", &[]).await?.try_get(0)?)
    }
}

/// An open stream's number and where its events go.
type Open = (u64, mpsc::Sender<Arc<Pushed>>);

#[derive(Debug, Default)]
struct Streams {
    by_user: HashMap<Uuid, Vec<Open>>,
    open: usize,
    /// Every row of a transaction below this was handed out (or came before the streams open); `None` while
    /// no stream is open.
    below: Option<i64>,
}

impl Live {
    /// Follows `read` (the primary's read models), looking again whenever `ticks` moves (each projector
    /// notification, or a poll). The task ends with the last clone.
    pub fn follow(read: Database, mut ticks: watch::Receiver<u64>) -> Live {
        let hub = Arc::new(Hub { read, streams: Mutex::default(), next_id: AtomicU64::new(0) });
        let weak = Arc::downgrade(&hub);
        tokio::spawn(async move {
            loop {
                if let Err(error) = hand_out(&weak).await {
                    tracing::debug!(%error, "reading the live updates failed; trying again at the next turn");
                }
                if weak.strong_count() == 0 || ticks.changed().await.is_err() {
                    return;
                }
            }
        });
        Live(hub)
    }

    /// Opens a stream for `user_id`: `429` when they hold as many as they may, `503` when the process does.
    async fn subscribe(&self, user_id: Uuid) -> Result<Subscription, Problem> {
        // With no stream open the hub stands nowhere: the first stream starts it at the horizon.
        let mut horizon = None;
        loop {
            if let Some(subscribed) = self.try_subscribe(user_id, horizon) {
                return subscribed;
            }
            horizon = Some(self.0.horizon().await.map_err(reading("live updates"))?);
        }
    }

    /// [`Live::subscribe`], or `None` when the hub stands nowhere and `horizon` is not known.
    fn try_subscribe(&self, user_id: Uuid, horizon: Option<i64>) -> Option<Result<Subscription, Problem>> {
        let mut streams = self.0.streams.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if streams.open >= STREAMS_AT_MOST {
            return Some(Err(Problem::unavailable()));
        }
        if streams.by_user.get(&user_id).is_some_and(|theirs| theirs.len() >= STREAMS_PER_USER) {
            return Some(Err(Problem::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_streams",
                format!("At most {STREAMS_PER_USER} live streams are open per user; close one first."),
            )));
        }
        let below = streams.below.or(horizon)?;
        streams.below = Some(below);
        let (sender, receiver) = mpsc::channel(BACKLOG);
        let id = self.0.next_id.fetch_add(1, Ordering::Relaxed);
        streams.by_user.entry(user_id).or_default().push((id, sender));
        streams.open += 1;
        Some(Ok(Subscription { hub: Arc::clone(&self.0), user_id, id, below, receiver }))
    }

    /// Open streams now.
    pub fn open(&self) -> usize {
        self.0.streams.lock().unwrap_or_else(std::sync::PoisonError::into_inner).open
    }
}

/// One open stream: what the hub hands it, from transaction `below` on. Closing it (dropping) leaves the hub.
struct Subscription {
    hub: Arc<Hub>,
    user_id: Uuid,
    id: u64,
    below: i64,
    receiver: mpsc::Receiver<Arc<Pushed>>,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        let mut streams = self.hub.streams.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        leave(&mut streams, self.user_id, self.id);
    }
}

fn leave(streams: &mut Streams, user_id: Uuid, id: u64) {
    if let Some(theirs) = streams.by_user.get_mut(&user_id) {
        let before = theirs.len();
        theirs.retain(|(stream, _)| *stream != id);
        streams.open -= before - theirs.len();
        if theirs.is_empty() {
            streams.by_user.remove(&user_id);
        }
    }
}

/// One turn of the hub: the rows of every transaction ended since the last turn, to their users' streams. It
/// reads nothing while no stream is open.
async fn hand_out(hub: &Weak<Hub>) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let Some(hub) = hub.upgrade() else { return Ok(()) };
    let below = {
        let mut streams = hub.streams.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if streams.open == 0 {
            streams.below = None;
        }
        streams.below
    };
    let Some(below) = below else { return Ok(()) };
    let horizon = hub.horizon().await?;
    if horizon <= below {
        return Ok(());
    }
    let client = hub.read.pool().get().await?;
    let sql = format!(
        "SELECT {COLUMNS} FROM {FROM} WHERE u.txid >= $1::bigint::text::xid8 AND u.txid < $2::bigint::text::xid8 \
         ORDER BY u.txid, u.id"
    );
    let rows = client.query(&sql, &[&below, &horizon]).await?;
    let pushes = rows.iter().map(|row| Pushed::from_row(row).map(Arc::new)).collect::<Result<Vec<_>, _>>()?;
    let mut streams = hub.streams.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    for pushed in pushes {
        let Some(theirs) = streams.by_user.get(&pushed.user_id) else { continue };
        // A stream that cannot take one more is too slow: it is closed, and its client catches up on reconnect.
        let slow: Vec<u64> = theirs
            .iter()
            .filter(|(_, sender)| sender.try_send(Arc::clone(&pushed)).is_err())
            .map(|(id, _)| *id)
            .collect();
        for id in slow {
            leave(&mut streams, pushed.user_id, id);
        }
    }
    streams.below = Some(horizon);
    Ok(())
}

/// What a stream was opened with, checked again now and then: a bearer token, or a live-stream ticket.
#[derive(Debug, Clone)]
enum Credential {
    Token(String),
    Ticket(String),
}

impl Credential {
    fn of(headers: &HeaderMap, ticket: Option<String>) -> Option<Credential> {
        let bearer = headers.get(http::header::AUTHORIZATION).and_then(|value| value.to_str().ok());
        match bearer.and_then(|value| value.strip_prefix("Bearer ")) {
            Some(token) => Some(Credential::Token(token.trim().to_owned())),
            None => ticket.map(Credential::Ticket),
        }
    }

    /// Whose it still is.
    fn holder(&self, keys: &api_contract::TokenKeys) -> Option<Authenticated> {
        match self {
            Credential::Token(token) => keys.verify(token),
            Credential::Ticket(ticket) => keys.verify_live_ticket(ticket),
        }
    }
}

/// How a client that sends no header opens the stream.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct LiveParams {
    /// A ticket from `GET /api/v1/me/live/ticket`, for a client that sends no `Authorization` header (a
    /// browser's EventSource).
    #[param(inline)]
    ticket: Option<api_contract::query::Text<512>>,
}

/// `GET /api/v1/me/live/ticket`: a ticket for `GET /api/v1/me/live?ticket=`, good until the caller's access token
/// expires: `{data: {ticket, expires_at}}`, never stored by a cache.
pub(crate) async fn ticket(_actor: Authenticated, State(state): State<QueryApiState>, headers: HeaderMap) -> Response {
    let token = match Credential::of(&headers, None) {
        Some(Credential::Token(token)) => token,
        _ => return Problem::unauthenticated("Send an access token.").into_response(),
    };
    let Some((ticket, expires)) = state.keys.live_ticket(&token) else {
        return Problem::unauthenticated("The access token is invalid or expired.").into_response();
    };
    let expires_at = time::OffsetDateTime::from_unix_timestamp(expires)
        .ok()
        .and_then(|at| at.format(&time::format_description::well_known::Rfc3339).ok());
    let body = serde_json::json!({ "data": { "ticket": ticket, "expires_at": expires_at } });
    ([(http::header::CACHE_CONTROL, "no-store")], axum::Json(body)).into_response()
}

/// A live-stream ticket.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
#[allow(dead_code)]
pub(crate) struct LiveTicket {
    ticket: String,
    expires_at: String,
}

/// `GET /api/v1/me/live`, with `Last-Event-ID` to catch up after a reconnect; by a bearer token, or by a ticket
/// (the route's policy let the request in with one of them).
pub(crate) async fn stream(
    State(state): State<QueryApiState>,
    headers: HeaderMap,
    api_contract::Params(params): api_contract::Params<LiveParams>,
) -> Response {
    let answer = async {
        let after = match headers.get("last-event-id") {
            None => None,
            Some(value) => Some(value.to_str().ok().and_then(Place::parse).ok_or_else(|| {
                Problem::invalid_param("Last-Event-ID", "must be the id of an event this stream sent")
            })?),
        };
        let ticket = params.ticket.map(|ticket| ticket.0);
        let credential =
            Credential::of(&headers, ticket).ok_or_else(|| Problem::unauthenticated("Send an access token."))?;
        let actor = credential
            .holder(&state.keys)
            .ok_or_else(|| Problem::unauthenticated("The access token or ticket is invalid or expired."))?;
        let subscription = state.live.subscribe(actor.user_id).await?;
        let (replayed, reset) = match after {
            Some(after) => replay(&state, actor.user_id, after, subscription.below).await?,
            None => (Vec::new(), false),
        };
        let mut first: Vec<Event> = replayed.iter().map(|pushed| pushed.event(&state)).collect();
        if reset {
            first.push(Event::default().event("reset").data("{}"));
        }
        let current = Place { txid: subscription.below, id: 0 };
        first.push(Event::default().event("ready").id(current.text()).data("{}"));
        let events = live_events(state, actor, credential, first, subscription);
        Ok::<_, Problem>(Sse::new(events).keep_alive(KeepAlive::new().interval(KEEP_ALIVE)).into_response())
    };
    answer.await.unwrap_or_else(|problem| problem.into_response())
}

/// The caller's rows after `after` of the transactions below `below` (those the hub handed out before the stream
/// opened), and whether there were more than are replayed.
async fn replay(
    state: &QueryApiState,
    user_id: Uuid,
    after: Place,
    below: i64,
) -> Result<(Vec<Pushed>, bool), Problem> {
    let client = state.live.0.read.pool().get().await.map_err(reading("live updates"))?;
    let sql = format!(
        "SELECT {COLUMNS} FROM {FROM} WHERE u.user_id = $1 AND (u.txid, u.id) > ($2::bigint::text::xid8, $3) \
         AND u.txid < $4::bigint::text::xid8 ORDER BY u.txid, u.id LIMIT $5"
    );
    let limit = REPLAYED_AT_MOST as i64 + 1;
    let rows = client
        .query(&sql, &[&user_id, &after.txid, &after.id, &below, &limit])
        .await
        .map_err(reading("live updates"))?;
    let mut replayed =
        rows.iter().map(Pushed::from_row).collect::<Result<Vec<_>, _>>().map_err(reading("live updates"))?;
    let more = replayed.len() > REPLAYED_AT_MOST;
    if more {
        // The newest are the ones that matter once the lists are read again: none is replayed.
        replayed.clear();
    }
    Ok((replayed, more))
}

/// `first`, then what the hub hands `subscription`, until the token no longer holds or the hub lets go.
fn live_events(
    state: QueryApiState,
    actor: Authenticated,
    credential: Credential,
    first: Vec<Event>,
    subscription: Subscription,
) -> impl Stream<Item = Result<Event, Infallible>> {
    struct Turn {
        state: QueryApiState,
        actor: Authenticated,
        credential: Credential,
        first: std::vec::IntoIter<Event>,
        subscription: Subscription,
        recheck: tokio::time::Interval,
        ended: bool,
    }
    let mut recheck = tokio::time::interval(RECHECK_TOKEN);
    recheck.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let turn = Turn { state, actor, credential, first: first.into_iter(), subscription, recheck, ended: false };
    futures_util::stream::unfold(turn, |mut turn| async move {
        if turn.ended {
            return None;
        }
        if let Some(event) = turn.first.next() {
            return Some((Ok(event), turn));
        }
        loop {
            tokio::select! {
                pushed = turn.subscription.receiver.recv() => {
                    let pushed = pushed?;
                    let event = pushed.event(&turn.state);
                    return Some((Ok(event), turn));
                }
                _ = turn.recheck.tick() => {
                    if turn.credential.holder(&turn.state.keys) != Some(turn.actor) {
                        turn.ended = true;
                        return Some((Ok(Event::default().event("expired").data("{}")), turn));
                    }
                }
            }
        }
    })
}
