//! Orders: `GET /api/v1/me/orders` (newest first), `GET /api/v1/me/orders/{id}` (another trainee's order is
//! not found), and `GET /api/v1/admin/orders` for admins (filter by `trainee_id` and `status`).

use std::collections::HashMap;

use api_contract::{Authenticated, PathId, Problem};
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use events::Role;
use http::HeaderMap;
use serde::Serialize;
use serde_json::Value;
use time::OffsetDateTime;
use tokio_postgres::Row;
use uuid::Uuid;

use crate::QueryApiState;
use crate::caching::{Audience, cached_json};
use crate::listing::Listing;
use crate::money::{Display, Money};
use crate::page::{ListEnvelope, PageRequest, param, uuid_param};
use crate::reading::reading;

const DEFAULT_LIMIT: i64 = 10;
const COLUMNS: &str = "id, trainee_id, method, status, lines, total_cents, currency, rate_ppm, checkout_url, failure, \
     placed_at, paid_at, version";

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct OrderView {
    id: Uuid,
    trainee_id: Uuid,
    /// `card` or `wallet`.
    method: String,
    /// `placed`, `awaiting_payment`, `paid`, `fulfilled`, `failed` or `expired`.
    status: String,
    /// The courses, priced in USD cents when the order was placed.
    #[schema(value_type = Vec<events::commerce::OrderLine>)]
    lines: Vec<Value>,
    total: Money,
    /// The currency the order was shown in and its rate then, in millionths per US dollar: the order is charged
    /// in US dollars (`total`), and `shown_total` states what that was in the trainee's currency.
    shown_currency: String,
    shown_rate_ppm: i64,
    shown_total: Money,
    /// Where a card order is paid, while it waits for payment.
    checkout_url: Option<String>,
    failure: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    placed_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    paid_at: Option<OffsetDateTime>,
    version: i64,
}

impl OrderView {
    fn from_row(row: &Row) -> Result<Self, tokio_postgres::Error> {
        let lines: Value = row.try_get("lines")?;
        let shown = Display::kept(row.try_get("currency")?, row.try_get("rate_ppm")?);
        let status: String = row.try_get("status")?;
        let url: Option<String> = row.try_get("checkout_url")?;
        Ok(OrderView {
            id: row.try_get("id")?,
            trainee_id: row.try_get("trainee_id")?,
            method: row.try_get("method")?,
            checkout_url: url.filter(|_| status == "awaiting_payment"),
            status,
            lines: match lines {
                Value::Array(lines) => lines,
                _ => Vec::new(),
            },
            total: Money { amount_cents: row.try_get("total_cents")?, currency: "USD" },
            shown_total: shown.show(row.try_get("total_cents")?),
            shown_currency: row.try_get("currency")?,
            shown_rate_ppm: row.try_get("rate_ppm")?,
            failure: row.try_get("failure")?,
            placed_at: row.try_get("placed_at")?,
            paid_at: row.try_get("paid_at")?,
            version: row.try_get("version")?,
        })
    }
}

/// `GET /api/v1/me/orders?page=&limit=`
pub(crate) async fn mine(
    actor: Authenticated,
    State(state): State<QueryApiState>,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let answer = page_of(&state, &headers, &params, Some(actor.user_id)).await;
    answer.unwrap_or_else(|p| p.into_response())
}

/// `GET /api/v1/admin/orders?trainee_id=&status=&page=&limit=`
pub(crate) async fn all(
    State(state): State<QueryApiState>,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let trainee = uuid_param(&params, "trainee_id");
    let answer = async { page_of(&state, &headers, &params, trainee?).await }.await;
    answer.unwrap_or_else(|p| p.into_response())
}

async fn page_of(
    state: &QueryApiState,
    headers: &HeaderMap,
    params: &HashMap<String, String>,
    trainee: Option<Uuid>,
) -> Result<Response, Problem> {
    let page = PageRequest::from_query(params, DEFAULT_LIMIT)?;
    let status = param(params, "status").map(str::to_owned);
    if let Some(status) = status.as_deref().filter(|status| !STATUSES.contains(status)) {
        return Err(Problem::invalid_param("status", format!("{status:?} is not one of {}", STATUSES.join(", "))));
    }
    let client = state.read.pool().get().await.map_err(reading("orders"))?;
    let listing = Listing {
        columns: COLUMNS,
        from: "order_view",
        filter: "($1::uuid IS NULL OR trainee_id = $1) AND ($2::text IS NULL OR status = $2)",
        order: "placed_at DESC, id",
    };
    let found = listing.page(&client, &[&trainee, &status], page).await.map_err(reading("orders"))?;
    let orders =
        found.rows.iter().map(OrderView::from_row).collect::<Result<Vec<_>, _>>().map_err(reading("orders"))?;
    Ok(cached_json(headers, Audience::Private, &ListEnvelope::new(orders, page, found.total)))
}

/// The statuses an order can have, in the order it can reach them.
pub(crate) const STATUSES: [&str; 6] = ["placed", "awaiting_payment", "paid", "fulfilled", "failed", "expired"];
/// How long a read of one order waits for a status, by default and at most.
const WAIT_DEFAULT_SECONDS: u64 = 10;
pub(crate) const WAIT_MAX_SECONDS: u64 = 25;

/// `?until=<status>,...&wait=<seconds>`: wait (bounded) until the order has one of these statuses.
#[derive(Debug, PartialEq)]
struct Until {
    statuses: Vec<String>,
    wait: std::time::Duration,
}

fn until(params: &HashMap<String, String>) -> Result<Option<Until>, Problem> {
    let wait = match param(params, "wait") {
        None => None,
        Some(text) => {
            Some(text.parse::<u64>().ok().filter(|s| (1..=WAIT_MAX_SECONDS).contains(s)).ok_or_else(|| {
                Problem::invalid_param(
                    "wait",
                    format!("must be a whole number of seconds from 1 to {WAIT_MAX_SECONDS}"),
                )
            })?)
        }
    };
    // Without `until` there is nothing to wait for: the order is answered at once.
    let Some(listed) = param(params, "until") else { return Ok(None) };
    let statuses: Vec<String> = listed.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect();
    if statuses.is_empty() || statuses.iter().any(|status| !STATUSES.contains(&status.as_str())) {
        return Err(Problem::invalid_param("until", format!("must list statuses of {}", STATUSES.join(", "))));
    }
    let wait = std::time::Duration::from_secs(wait.unwrap_or(WAIT_DEFAULT_SECONDS));
    Ok(Some(Until { statuses, wait }))
}

/// `GET /api/v1/me/orders/{id}`: one's own order; an admin reads any. With `until`, the answer waits (at most
/// `wait` seconds) until the order is projected with one of the listed statuses, and says whether it got there
/// (`X-Order-Wait: met` or `timed-out`): what a page the payment provider sent the browser back to waits on.
pub(crate) async fn get(
    actor: Authenticated,
    State(state): State<QueryApiState>,
    PathId(order_id): PathId,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let answer = async {
        let until = until(&params)?;
        let deadline = tokio::time::Instant::now() + until.as_ref().map_or(std::time::Duration::ZERO, |u| u.wait);
        let mut ticks = state.read.watermark().ticks();
        loop {
            ticks.borrow_and_update();
            // Someone else's order is not found, and waited for like an unknown one: the time tells nothing.
            let order = read_order(&state, order_id)
                .await?
                .filter(|o| o.trainee_id == actor.user_id || actor.role == Role::Admin);
            let met = match (&order, &until) {
                (Some(order), Some(until)) => until.statuses.contains(&order.status),
                _ => false,
            };
            let waiting = until.is_some() && !met;
            if waiting && matches!(tokio::time::timeout_at(deadline, ticks.changed()).await, Ok(Ok(()))) {
                continue;
            }
            let mut response = match order {
                Some(order) => cached_json(&headers, Audience::Private, &serde_json::json!({ "data": order })),
                None => Problem::not_found("There is no such order.").into_response(),
            };
            if until.is_some() {
                let said = if met { "met" } else { "timed-out" };
                response.headers_mut().insert("x-order-wait", http::HeaderValue::from_static(said));
            }
            return Ok::<_, Problem>(response);
        }
    }
    .await;
    answer.unwrap_or_else(|p| p.into_response())
}

async fn read_order(state: &QueryApiState, order_id: Uuid) -> Result<Option<OrderView>, Problem> {
    let client = state.read.pool().get().await.map_err(reading("orders"))?;
    let row = client
        .query_opt(&format!("SELECT {COLUMNS} FROM order_view WHERE id = $1"), &[&order_id])
        .await
        .map_err(reading("orders"))?;
    row.as_ref().map(OrderView::from_row).transpose().map_err(reading("orders"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(pairs: &[(&str, &str)]) -> Result<Option<Until>, Problem> {
        until(&pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect())
    }

    #[test]
    fn a_wait_names_known_statuses_and_a_bounded_time() {
        assert_eq!(query(&[]).expect("none"), None);
        assert_eq!(query(&[("wait", "5")]).expect("nothing to wait for"), None);
        let wanted = query(&[("until", "fulfilled, failed,expired")]).expect("statuses").expect("a wait");
        assert_eq!(wanted.statuses, ["fulfilled", "failed", "expired"]);
        assert_eq!(wanted.wait, std::time::Duration::from_secs(10));
        let short = query(&[("until", "paid"), ("wait", "2")]).expect("a wait").expect("a wait");
        assert_eq!(short.wait, std::time::Duration::from_secs(2));
        for (bad, named) in [
            (vec![("until", "shipped")], "until"),
            (vec![("until", ",")], "until"),
            (vec![("until", "paid"), ("wait", "26")], "wait"),
            (vec![("until", "paid"), ("wait", "0")], "wait"),
        ] {
            let refused = query(&bad).expect_err("refused");
            assert_eq!(refused.errors[0].field, named, "{bad:?}");
        }
    }
}
