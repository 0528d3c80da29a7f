//! Admins' newsletter reads: `GET /api/v1/admin/newsletter/subscribers` (by address, searchable) and
//! `GET /api/v1/admin/newsletter/campaigns/{id}`, a campaign's report: the copies queued (read model) and
//! their deliveries (the outbox, in the store's database).

use api_contract::query::Search;
use api_contract::{Params, PathId, Problem};
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::HeaderMap;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::QueryApiState;
use crate::caching::{Audience, cached_json};
use crate::listing::Listing;
use crate::page::{ListEnvelope, Paging};
use crate::reading::reading;

const DEFAULT_LIMIT: i64 = 20;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct Subscriber {
    email: String,
    #[serde(with = "time::serde::rfc3339")]
    subscribed_at: OffsetDateTime,
    /// Whether the owner of the address followed the mailed link: only confirmed subscribers get newsletters.
    confirmed: bool,
}

/// Which subscribers an admin lists.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct SubscriberFilter {
    /// Only addresses that contain this text.
    #[param(inline)]
    search: Option<Search>,
}

/// `GET /api/v1/admin/newsletter/subscribers?search=&page=&limit=`
pub(crate) async fn subscribers(
    State(state): State<QueryApiState>,
    headers: HeaderMap,
    Params(filter): Params<SubscriberFilter>,
    Params(paging): Params<Paging>,
) -> Response {
    let answer = async {
        let page = paging.request(DEFAULT_LIMIT);
        let search = filter.search.map(|search| format!("%{}%", search.0.to_lowercase().replace(['%', '_'], "")));
        let client = state.read.pool().get().await.map_err(reading("the newsletter"))?;
        let listing = Listing {
            columns: "email, subscribed_at, confirmed",
            from: "newsletter_subscriber",
            filter: "($1::text IS NULL OR email LIKE $1)",
            order: "email",
        };
        let found = listing.page(&client, &[&search], page).await.map_err(reading("the newsletter"))?;
        let subscribers = found
            .rows
            .iter()
            .map(|row| {
                Ok(Subscriber {
                    email: row.try_get("email")?,
                    subscribed_at: row.try_get("subscribed_at")?,
                    confirmed: row.try_get("confirmed")?,
                })
            })
            .collect::<Result<Vec<_>, tokio_postgres::Error>>()
            .map_err(reading("the newsletter"))?;
        let total = found.total;
        Ok::<_, Problem>(cached_json(&headers, Audience::Private, &ListEnvelope::new(subscribers, page, total)))
    };
    answer.await.unwrap_or_else(|p| p.into_response())
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct CampaignReport {
    id: Uuid,
    subject: String,
    audience: String,
    /// Copies put into the outbox, one per subscriber of the audience.
    queued: i32,
    /// Of those, sent, given up after the mailer's retries, and still waiting (or being retried).
    sent: i64,
    failed: i64,
    waiting: i64,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
}

/// `GET /api/v1/admin/newsletter/campaigns/{id}`
pub(crate) async fn campaign(
    State(state): State<QueryApiState>,
    PathId(campaign_id): PathId,
    headers: HeaderMap,
) -> Response {
    let answer = async {
        let client = state.read.pool().get().await.map_err(reading("the newsletter"))?;
        let row = client
            .query_opt(
                "SELECT subject, audience, queued, created_at FROM campaign_view WHERE campaign_id = $1",
                &[&campaign_id],
            )
            .await
            .map_err(reading("the newsletter"))?
            .ok_or_else(|| Problem::not_found("There is no such campaign."))?;
        let store = state.store.pool().get().await.map_err(reading("the newsletter"))?;
        let deliveries = store
            .query_one(
                "SELECT count(*) FILTER (WHERE sent_at IS NOT NULL), count(*) FILTER (WHERE failed_at IS NOT NULL), \
                 count(*) FILTER (WHERE sent_at IS NULL AND failed_at IS NULL) FROM email_outbox WHERE campaign_id = $1",
                &[&campaign_id],
            )
            .await
            .map_err(reading("the newsletter"))?;
        let report = CampaignReport {
            id: campaign_id,
            subject: row.try_get(0).map_err(reading("the newsletter"))?,
            audience: row.try_get(1).map_err(reading("the newsletter"))?,
            queued: row.try_get(2).map_err(reading("the newsletter"))?,
            sent: deliveries.try_get(0).map_err(reading("the newsletter"))?,
            failed: deliveries.try_get(1).map_err(reading("the newsletter"))?,
            waiting: deliveries.try_get(2).map_err(reading("the newsletter"))?,
            created_at: row.try_get(3).map_err(reading("the newsletter"))?,
        };
        Ok::<_, Problem>(cached_json(&headers, Audience::Private, &serde_json::json!({ "data": report })))
    };
    answer.await.unwrap_or_else(|p| p.into_response())
}
