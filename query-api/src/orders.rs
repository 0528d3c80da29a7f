//! Orders: `GET /api/v1/me/orders` (newest first), `GET /api/v1/me/orders/{id}` (another trainee's order is
//! not found), and `GET /api/v1/admin/orders` for admins (filter by `trainee_id` and `status`).

use api_contract::query::{Listed, OneOf, Whole, Words};
use api_contract::{Authenticated, Params, PathId, Problem};
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use events::Role;
use http::HeaderMap;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use tokio_postgres::Row;
use uuid::Uuid;

use crate::QueryApiState;
use crate::caching::{Audience, cached_json};
use crate::listing::Listing;
use crate::money::{Display, Money};
use crate::page::{ListEnvelope, Paging};
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
    Params(paging): Params<Paging>,
) -> Response {
    let filter = OrderFilter { trainee_id: Some(actor.user_id), status: None };
    page_of(&state, &headers, filter, paging).await.unwrap_or_else(|p| p.into_response())
}

/// Which orders an admin lists.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct OrderFilter {
    /// Only this trainee's orders.
    trainee_id: Option<Uuid>,
    /// Only orders with this status.
    #[param(inline)]
    status: Option<OrderStatus>,
}

/// `GET /api/v1/admin/orders?trainee_id=&status=&page=&limit=`
pub(crate) async fn all(
    State(state): State<QueryApiState>,
    headers: HeaderMap,
    Params(filter): Params<OrderFilter>,
    Params(paging): Params<Paging>,
) -> Response {
    page_of(&state, &headers, filter, paging).await.unwrap_or_else(|p| p.into_response())
}

async fn page_of(
    state: &QueryApiState,
    headers: &HeaderMap,
    filter: OrderFilter,
    paging: Paging,
) -> Result<Response, Problem> {
    let page = paging.request(DEFAULT_LIMIT);
    let client = state.read.pool().get().await.map_err(reading("orders"))?;
    let listing = Listing {
        columns: COLUMNS,
        from: "order_view",
        filter: "($1::uuid IS NULL OR trainee_id = $1) AND ($2::text IS NULL OR status = $2)",
        order: "placed_at DESC, id",
    };
    let status = filter.status.map(|status| status.as_str());
    let found = listing.page(&client, &[&filter.trainee_id, &status], page).await.map_err(reading("orders"))?;
    let orders =
        found.rows.iter().map(OrderView::from_row).collect::<Result<Vec<_>, _>>().map_err(reading("orders"))?;
    Ok(cached_json(headers, Audience::Private, &ListEnvelope::new(orders, page, found.total)))
}

/// The statuses an order can have, in the order it can reach them.
pub(crate) struct Status;

/// One status of an order.
type OrderStatus = OneOf<Status>;

/// Some statuses of an order, listed with commas.
type OrderStatuses = Listed<Status>;

impl Words for Status {
    const WORDS: &'static [&'static str] = &["placed", "awaiting_payment", "paid", "fulfilled", "failed", "expired"];
}

/// How long a read of one order waits for a status, by default and at most.
const WAIT_DEFAULT_SECONDS: i64 = 10;
const WAIT_MAX_SECONDS: i64 = 25;
type WaitSeconds = Whole<1, WAIT_MAX_SECONDS>;

/// `?until=<status>,...&wait=<seconds>`: wait (bounded) until the order has one of these statuses.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct Until {
    /// Answer once the order has one of these statuses (or when the wait is over).
    #[param(inline)]
    until: Option<OrderStatuses>,
    /// How many seconds to wait at most (10 unless said).
    #[param(inline)]
    wait: Option<WaitSeconds>,
}

impl Until {
    /// The statuses waited for, and how long; `None` when nothing is waited for.
    fn wanted(&self) -> Option<(&[&'static str], std::time::Duration)> {
        let seconds = self.wait.map_or(WAIT_DEFAULT_SECONDS, |wait| wait.0);
        self.until.as_ref().map(|until| (until.0.as_slice(), std::time::Duration::from_secs(seconds.unsigned_abs())))
    }
}

/// `GET /api/v1/me/orders/{id}`: one's own order; an admin reads any. With `until`, the answer waits (at most
/// `wait` seconds) until the order is projected with one of the listed statuses, and says whether it got there
/// (`X-Order-Wait: met` or `timed-out`): what a page the payment provider sent the browser back to waits on.
pub(crate) async fn get(
    actor: Authenticated,
    State(state): State<QueryApiState>,
    PathId(order_id): PathId,
    headers: HeaderMap,
    Params(until): Params<Until>,
) -> Response {
    let until = until.wanted();
    let answer = async {
        let deadline = tokio::time::Instant::now() + until.map_or(std::time::Duration::ZERO, |(_, wait)| wait);
        let mut ticks = state.read.watermark().ticks();
        loop {
            ticks.borrow_and_update();
            // Someone else's order is not found, and waited for like an unknown one: the time tells nothing.
            let order = read_order(&state, order_id)
                .await?
                .filter(|o| o.trainee_id == actor.user_id || actor.role == Role::Admin);
            let met = match (&order, until) {
                (Some(order), Some((statuses, _))) => statuses.contains(&order.status.as_str()),
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

    fn query(query: &str) -> Result<Option<(Vec<&'static str>, std::time::Duration)>, Problem> {
        let until = api_contract::query::read::<Until>(query)?;
        Ok(until.wanted().map(|(statuses, wait)| (statuses.to_vec(), wait)))
    }

    #[test]
    fn a_wait_names_known_statuses_and_a_bounded_time() {
        assert_eq!(query("").expect("none"), None);
        assert_eq!(query("wait=5").expect("nothing to wait for"), None);
        let (statuses, wait) = query("until=fulfilled,%20failed,expired").expect("statuses").expect("a wait");
        assert_eq!(statuses, ["fulfilled", "failed", "expired"]);
        assert_eq!(wait, std::time::Duration::from_secs(10));
        let (_, short) = query("until=paid&wait=2").expect("a wait").expect("a wait");
        assert_eq!(short, std::time::Duration::from_secs(2));
        for (bad, named) in [
            ("until=shipped", "until"),
            ("until=,", "until"),
            ("until=paid&wait=26", "wait"),
            ("until=paid&wait=0", "wait"),
        ] {
            let refused = query(bad).expect_err("refused");
            assert_eq!(refused.errors[0].field, named, "{bad:?}");
        }
    }
}
