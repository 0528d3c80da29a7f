//! `GET /api/v1/me/cart` and `GET /api/v1/me/wishlist`: the caller's courses in the order they were added,
//! paged (8 a page, DOMAIN.md 2.6.2), each with today's price, and the total of the whole list in the
//! caller's currency (D8: the USD sum, converted once).

use api_contract::{Authenticated, Params, Problem};
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::HeaderMap;

use crate::QueryApiState;
use crate::caching::{Audience, cached_json};
use crate::courses::{CourseView, course_columns, course_from};
use crate::money::{Display, InCountry};
use crate::page::{ListEnvelope, Paging};
use crate::reading::reading;

const DEFAULT_LIMIT: i64 = 8;

/// A list's courses, whole, in the order they were added: the trainee is `$1`. A list holds at most 100
/// courses (R17), so the page, the count and the list's total come from one statement, and so one snapshot.
/// Prepared once per connection, as every hot read is.
macro_rules! listed {
    ($table:literal) => {
        concat!(
            "SELECT ",
            course_columns!(),
            " FROM ",
            course_from!(),
            " JOIN ",
            $table,
            " i ON i.course_id = c.id WHERE i.trainee_id = $1 ORDER BY i.position"
        )
    };
}

const CART: &str = listed!("cart_item");
const WISHLIST: &str = listed!("wishlist_item");

/// `GET /api/v1/me/cart?country=&page=&limit=`
pub(crate) async fn cart(
    actor: Authenticated,
    State(state): State<QueryApiState>,
    headers: HeaderMap,
    Params(shown): Params<InCountry>,
    Params(paging): Params<Paging>,
) -> Response {
    let answer = list(&state, &headers, shown, paging, CART, actor).await;
    answer.unwrap_or_else(|p| p.into_response())
}

/// `GET /api/v1/me/wishlist?country=&page=&limit=`
pub(crate) async fn wishlist(
    actor: Authenticated,
    State(state): State<QueryApiState>,
    headers: HeaderMap,
    Params(shown): Params<InCountry>,
    Params(paging): Params<Paging>,
) -> Response {
    let answer = list(&state, &headers, shown, paging, WISHLIST, actor).await;
    answer.unwrap_or_else(|p| p.into_response())
}

async fn list(
    state: &QueryApiState,
    headers: &HeaderMap,
    shown: InCountry,
    paging: Paging,
    listed: &'static str,
    actor: Authenticated,
) -> Result<Response, Problem> {
    let page = paging.request(DEFAULT_LIMIT);
    let client = state.read.pool().get().await.map_err(reading("the cart or wishlist"))?;
    // The country asked for, else the trainee's own (their profile's), so that the cart shows the currency the
    // order will state.
    let country = match shown.country {
        Some(country) => Some(country),
        None => {
            let own = client
                .prepare_cached("SELECT country FROM user_directory WHERE id = $1")
                .await
                .map_err(reading("the cart or wishlist"))?;
            let row = client.query_opt(&own, &[&actor.user_id]).await.map_err(reading("the cart or wishlist"))?;
            row.and_then(|row| row.get::<_, Option<String>>(0))
        }
    };
    let display = Display::for_country(&client, country.as_deref()).await.map_err(reading("the cart or wishlist"))?;
    let listed = client.prepare_cached(listed).await.map_err(reading("the cart or wishlist"))?;
    let rows = client.query(&listed, &[&actor.user_id]).await.map_err(reading("the cart or wishlist"))?;
    let total_usd = rows
        .iter()
        .map(|row| row.try_get::<_, i64>("effective_price_cents"))
        .sum::<Result<i64, _>>()
        .map_err(reading("the cart or wishlist"))?;
    let shown = rows.iter().skip(usize::try_from(page.offset()).unwrap_or(usize::MAX));
    let courses = shown
        .take(usize::try_from(page.limit).unwrap_or(0))
        .map(|row| CourseView::from_row(row, display))
        .collect::<Result<Vec<_>, _>>()
        .map_err(reading("the cart or wishlist"))?;
    let count = i64::try_from(rows.len()).unwrap_or(i64::MAX);
    let mut body =
        serde_json::to_value(ListEnvelope::new(courses, page, count)).map_err(reading("the cart or wishlist"))?;
    body["total"] = serde_json::to_value(display.show(total_usd)).map_err(reading("the cart or wishlist"))?;
    Ok(cached_json(headers, Audience::Private, &body))
}
