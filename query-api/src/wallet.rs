//! Money views: `GET /api/v1/me/wallet` (balance and the latest transactions, paged) and the instructors'
//! revenue, `GET /api/v1/me/instructor/revenue?year=` and, for admins,
//! `GET /api/v1/admin/instructors/{id}/revenue?year=` (R22: a year from 2000 to 2100; twelve months of
//! gross, refunds and net, with the balance).

use api_contract::{Authenticated, Params, PathId, Problem};
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::HeaderMap;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::QueryApiState;
use crate::caching::{Audience, cached_json};
use crate::listing::Listing;
use crate::money::{Display, InCountry, Money};
use crate::page::{ListEnvelope, Paging};
use crate::reading::reading;

const DEFAULT_LIMIT: i64 = 20;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct WalletTransaction {
    operation_id: String,
    /// Positive for a credit, negative for a debit, in USD cents.
    amount: Money,
    balance: Money,
    /// `admin_credit`, `order_line_refund`, `refund` or `order`.
    kind: String,
    note: Option<String>,
    order_id: Option<Uuid>,
    #[serde(with = "time::serde::rfc3339")]
    at: OffsetDateTime,
}

/// `GET /api/v1/me/wallet?page=&limit=`: `{data: [transactions], balance, ...page}`, newest first.
pub(crate) async fn wallet(
    actor: Authenticated,
    State(state): State<QueryApiState>,
    headers: HeaderMap,
    Params(paging): Params<Paging>,
) -> Response {
    let answer = async {
        let page = paging.request(DEFAULT_LIMIT);
        let client = state.read.pool().get().await.map_err(reading("the wallet"))?;
        let balance: i64 = client
            .query_opt("SELECT balance_cents FROM wallet_view WHERE trainee_id = $1", &[&actor.user_id])
            .await
            .map_err(reading("the wallet"))?
            .map(|row| row.try_get(0))
            .transpose()
            .map_err(reading("the wallet"))?
            .unwrap_or(0);
        let listing = Listing {
            columns: "operation_id, delta_cents, balance_cents, kind, note, order_id, at",
            from: "wallet_txn",
            filter: "trainee_id = $1",
            order: "position DESC",
        };
        let found = listing.page(&client, &[&actor.user_id], page).await.map_err(reading("the wallet"))?;
        let usd = |cents: i64| Money { amount_cents: cents, currency: "USD" };
        let transactions = found
            .rows
            .iter()
            .map(|row| {
                Ok(WalletTransaction {
                    operation_id: row.try_get("operation_id")?,
                    amount: usd(row.try_get("delta_cents")?),
                    balance: usd(row.try_get("balance_cents")?),
                    kind: row.try_get("kind")?,
                    note: row.try_get("note")?,
                    order_id: row.try_get("order_id")?,
                    at: row.try_get("at")?,
                })
            })
            .collect::<Result<Vec<_>, tokio_postgres::Error>>()
            .map_err(reading("the wallet"))?;
        let count = found.total;
        let mut body =
            serde_json::to_value(ListEnvelope::new(transactions, page, count)).map_err(reading("the wallet"))?;
        body["balance"] = serde_json::to_value(usd(balance)).map_err(reading("the wallet"))?;
        Ok::<_, Problem>(cached_json(&headers, Audience::Private, &body))
    };
    answer.await.unwrap_or_else(|p| p.into_response())
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct MonthRevenue {
    month: i32,
    gross: Money,
    refunds: Money,
    net: Money,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct Revenue {
    instructor_id: Uuid,
    year: i32,
    /// Twelve months, January first, in the caller's currency.
    months: Vec<MonthRevenue>,
    /// What the platform owes the instructor now (may be negative after refunds).
    balance: Money,
}

/// Which year's revenue, in which country's currency.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct RevenueQuery {
    /// The year (this one unless said); outside 2000 to 2100 is `422 invalid_year`.
    #[param(minimum = 2000, maximum = 2100)]
    year: Option<i32>,
}

/// `GET /api/v1/me/instructor/revenue?year=&country=`
pub(crate) async fn mine(
    actor: Authenticated,
    State(state): State<QueryApiState>,
    headers: HeaderMap,
    Params(asked): Params<RevenueQuery>,
    Params(shown): Params<InCountry>,
) -> Response {
    let answer = revenue(&state, &headers, asked, shown, actor.user_id).await;
    answer.unwrap_or_else(|p| p.into_response())
}

/// `GET /api/v1/admin/instructors/{id}/revenue?year=&country=`
pub(crate) async fn of_instructor(
    State(state): State<QueryApiState>,
    PathId(instructor_id): PathId,
    headers: HeaderMap,
    Params(asked): Params<RevenueQuery>,
    Params(shown): Params<InCountry>,
) -> Response {
    let answer = revenue(&state, &headers, asked, shown, instructor_id).await;
    answer.unwrap_or_else(|p| p.into_response())
}

async fn revenue(
    state: &QueryApiState,
    headers: &HeaderMap,
    asked: RevenueQuery,
    shown: InCountry,
    instructor_id: Uuid,
) -> Result<Response, Problem> {
    let year = match asked.year {
        None => OffsetDateTime::now_utc().year(),
        Some(year) if (2000..=2100).contains(&year) => year,
        Some(_) => return Err(Problem::rule("invalid_year", "year must be a year from 2000 to 2100.")),
    };
    let client = state.read.pool().get().await.map_err(reading("the wallet"))?;
    let display = Display::for_country(&client, shown.country()).await.map_err(reading("the wallet"))?;
    let rows = client
        .query(
            "SELECT month, gross_cents, refunds_cents FROM instructor_revenue_monthly \
             WHERE instructor_id = $1 AND year = $2",
            &[&instructor_id, &year],
        )
        .await
        .map_err(reading("the wallet"))?;
    let mut months: Vec<MonthRevenue> = (1..=12)
        .map(|month| MonthRevenue { month, gross: display.show(0), refunds: display.show(0), net: display.show(0) })
        .collect();
    for row in rows {
        let month: i32 = row.try_get(0).map_err(reading("the wallet"))?;
        let (gross, refunds): (i64, i64) =
            (row.try_get(1).map_err(reading("the wallet"))?, row.try_get(2).map_err(reading("the wallet"))?);
        if let Some(slot) = usize::try_from(month - 1).ok().and_then(|index| months.get_mut(index)) {
            *slot = MonthRevenue {
                month,
                gross: display.show(gross),
                refunds: display.show(refunds),
                net: display.show(gross - refunds),
            };
        }
    }
    let balance: i64 = client
        .query_opt("SELECT balance_cents FROM instructor_ledger_view WHERE instructor_id = $1", &[&instructor_id])
        .await
        .map_err(reading("the wallet"))?
        .map(|row| row.try_get(0))
        .transpose()
        .map_err(reading("the wallet"))?
        .unwrap_or(0);
    let data = Revenue { instructor_id, year, months, balance: display.show(balance) };
    Ok(cached_json(headers, Audience::Private, &serde_json::json!({ "data": data })))
}

/// What one course earned its instructor: its share of every sale, less what refunds took back.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct CourseEarning {
    course_id: Uuid,
    /// `null` for a course the catalogue no longer has.
    title: Option<String>,
    earned: Money,
}

/// `GET /api/v1/me/instructor/earnings?country=&page=&limit=`: one's earnings per course, the most first.
pub(crate) async fn my_earnings(
    actor: Authenticated,
    State(state): State<QueryApiState>,
    headers: HeaderMap,
    Params(shown): Params<InCountry>,
    Params(paging): Params<Paging>,
) -> Response {
    earnings(&state, &headers, shown, paging, actor.user_id).await.unwrap_or_else(|p| p.into_response())
}

/// `GET /api/v1/admin/instructors/{id}/earnings?country=&page=&limit=`
pub(crate) async fn earnings_of_instructor(
    State(state): State<QueryApiState>,
    PathId(instructor_id): PathId,
    headers: HeaderMap,
    Params(shown): Params<InCountry>,
    Params(paging): Params<Paging>,
) -> Response {
    earnings(&state, &headers, shown, paging, instructor_id).await.unwrap_or_else(|p| p.into_response())
}

async fn earnings(
    state: &QueryApiState,
    headers: &HeaderMap,
    shown: InCountry,
    paging: Paging,
    instructor_id: Uuid,
) -> Result<Response, Problem> {
    let page = paging.request(DEFAULT_LIMIT);
    let client = state.read.pool().get().await.map_err(reading("earnings"))?;
    let display = Display::for_country(&client, shown.country()).await.map_err(reading("earnings"))?;
    let listing = Listing {
        columns: "e.course_id, c.title, e.earning_cents",
        from: "instructor_course_earnings e LEFT JOIN catalog_course c ON c.id = e.course_id",
        filter: "e.instructor_id = $1",
        order: "e.earning_cents DESC, e.course_id",
    };
    let found = listing.page(&client, &[&instructor_id], page).await.map_err(reading("earnings"))?;
    let courses = found
        .rows
        .iter()
        .map(|row| {
            Ok(CourseEarning {
                course_id: row.try_get("course_id")?,
                title: row.try_get("title")?,
                earned: display.show(row.try_get("earning_cents")?),
            })
        })
        .collect::<Result<Vec<_>, tokio_postgres::Error>>()
        .map_err(reading("earnings"))?;
    Ok(cached_json(headers, Audience::Private, &ListEnvelope::new(courses, page, found.total)))
}
