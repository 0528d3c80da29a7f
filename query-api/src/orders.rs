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
use crate::consistency::Freshness;
use crate::courses::unavailable;
use crate::money::Money;
use crate::page::{ListEnvelope, PageRequest, param, uuid_param};

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
    /// `{course_id, instructor_id, title, list_price_cents, discount_percent, price_cents}` in USD cents.
    lines: Vec<Value>,
    total: Money,
    /// The currency the order was shown in and its rate then, in millionths per US dollar.
    shown_currency: String,
    shown_rate_ppm: i64,
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
    freshness: Freshness,
    State(state): State<QueryApiState>,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let answer = page_of(&state, &headers, &params, Some(actor.user_id)).await;
    freshness.mark(answer.unwrap_or_else(|p| p.into_response()))
}

/// `GET /api/v1/admin/orders?trainee_id=&status=&page=&limit=`
pub(crate) async fn all(
    freshness: Freshness,
    State(state): State<QueryApiState>,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let trainee = uuid_param(&params, "trainee_id");
    let answer = async { page_of(&state, &headers, &params, trainee?).await }.await;
    freshness.mark(answer.unwrap_or_else(|p| p.into_response()))
}

async fn page_of(
    state: &QueryApiState,
    headers: &HeaderMap,
    params: &HashMap<String, String>,
    trainee: Option<Uuid>,
) -> Result<Response, Problem> {
    let page = PageRequest::from_query(params, DEFAULT_LIMIT)?;
    let status = param(params, "status").map(str::to_owned);
    let client = state.read.pool().get().await.map_err(unavailable)?;
    let filter = "($1::uuid IS NULL OR trainee_id = $1) AND ($2::text IS NULL OR status = $2)";
    let rows = client
        .query(
            &format!("SELECT {COLUMNS} FROM order_view WHERE {filter} ORDER BY placed_at DESC, id LIMIT $3 OFFSET $4"),
            &[&trainee, &status, &page.limit, &page.offset()],
        )
        .await
        .map_err(unavailable)?;
    let total: i64 = client
        .query_one(&format!("SELECT count(*) FROM order_view WHERE {filter}"), &[&trainee, &status])
        .await
        .and_then(|row| row.try_get(0))
        .map_err(unavailable)?;
    let orders = rows.iter().map(OrderView::from_row).collect::<Result<Vec<_>, _>>().map_err(unavailable)?;
    Ok(cached_json(headers, Audience::Private, &ListEnvelope::new(orders, page, total)))
}

/// `GET /api/v1/me/orders/{id}`: one's own order; an admin reads any.
pub(crate) async fn get(
    actor: Authenticated,
    freshness: Freshness,
    State(state): State<QueryApiState>,
    PathId(order_id): PathId,
    headers: HeaderMap,
) -> Response {
    let answer = async {
        let client = state.read.pool().get().await.map_err(unavailable)?;
        let row = client
            .query_opt(&format!("SELECT {COLUMNS} FROM order_view WHERE id = $1"), &[&order_id])
            .await
            .map_err(unavailable)?
            .ok_or_else(|| Problem::not_found("There is no such order."))?;
        let order = OrderView::from_row(&row).map_err(unavailable)?;
        if order.trainee_id != actor.user_id && actor.role != Role::Admin {
            return Err(Problem::not_found("There is no such order."));
        }
        Ok(cached_json(&headers, Audience::Private, &serde_json::json!({ "data": order })))
    }
    .await;
    freshness.mark(answer.unwrap_or_else(|p| p.into_response()))
}
