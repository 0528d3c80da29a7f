//! `GET /api/v1/courses/{id}/discounts`: a published course's current and coming discounts (DOMAIN.md
//! `course_discount`), optionally only those an instructor or an admin issued.

use api_contract::query::{OneOf, Words};
use api_contract::{Params, PathId, Problem};
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use deadpool_postgres::Client;
use http::HeaderMap;
use serde::{Deserialize, Serialize};
use time::Date;
use uuid::Uuid;

use crate::QueryApiState;
use crate::caching::{Audience, cached_json};
use crate::reading::reading;

/// Who issues discounts (`issued_by`).
pub(crate) struct Issuers;

impl Words for Issuers {
    const WORDS: &'static [&'static str] = &["instructor", "admin"];
}

/// Who gave a discount.
type Issuer = OneOf<Issuers>;

/// Whose discounts a course's list holds.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct DiscountFilter {
    /// Only the discounts this kind of issuer gave.
    #[param(inline)]
    issued_by: Option<Issuer>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct DiscountView {
    id: Uuid,
    percent: i16,
    #[serde(with = "events::content::iso_date")]
    starts_on: Date,
    #[serde(with = "events::content::iso_date")]
    ends_on: Date,
    issued_by: String,
    /// Whether it applies today (UTC).
    active: bool,
}

/// The discounts of `course_id` that have not ended, earliest first.
pub(crate) async fn of_course(
    client: &Client,
    course_id: Uuid,
    issued_by: Option<&str>,
) -> Result<Vec<DiscountView>, Problem> {
    let rows = client
        .query(
            "SELECT discount_id, percent, starts_on, ends_on, issued_by, \
             (now() AT TIME ZONE 'UTC')::date BETWEEN starts_on AND ends_on AS active FROM course_discount \
             WHERE course_id = $1 AND ends_on >= (now() AT TIME ZONE 'UTC')::date \
             AND ($2::text IS NULL OR issued_by = $2) ORDER BY starts_on",
            &[&course_id, &issued_by],
        )
        .await
        .map_err(reading("discounts"))?;
    rows.iter()
        .map(|row| {
            Ok(DiscountView {
                id: row.try_get(0)?,
                percent: row.try_get(1)?,
                starts_on: row.try_get(2)?,
                ends_on: row.try_get(3)?,
                issued_by: row.try_get(4)?,
                active: row.try_get(5)?,
            })
        })
        .collect::<Result<_, tokio_postgres::Error>>()
        .map_err(reading("discounts"))
}

pub(crate) async fn list(
    State(state): State<QueryApiState>,
    PathId(course_id): PathId,
    headers: HeaderMap,
    Params(filter): Params<DiscountFilter>,
) -> Response {
    let answer = async {
        let issued_by = filter.issued_by.map(|issuer| issuer.as_str());
        let client = state.read.pool().get().await.map_err(reading("discounts"))?;
        let published = client
            .query_opt("SELECT 1 FROM catalog_course WHERE id = $1 AND status = 'published'", &[&course_id])
            .await
            .map_err(reading("discounts"))?;
        if published.is_none() {
            return Err(Problem::not_found("There is no such published course."));
        }
        let discounts = of_course(&client, course_id, issued_by).await?;
        Ok(cached_json(&headers, Audience::Public, &serde_json::json!({ "data": discounts })))
    };
    answer.await.unwrap_or_else(|p| p.into_response())
}
