//! `GET /api/v1/me`: the caller's own account, from the user directory. Private: revalidated with its ETag, never kept by shared caches.

use api_contract::{Authenticated, Problem};
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::HeaderMap;
use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::QueryApiState;
use crate::caching::{Audience, cached_json};
use crate::money::Money;
use crate::reading::reading;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct MeView {
    id: Uuid,
    kind: String,
    role: String,
    email: String,
    email_verified: bool,
    username: String,
    name: String,
    country: Option<String>,
    company: Option<String>,
    biography: Option<String>,
    speciality: Option<String>,
    title: Option<String>,
    /// The profile picture, in its sizes (`PUT /api/v1/me/picture`).
    picture: Option<crate::pictures::PictureUrls>,
    #[schema(value_type = Option<crate::instructors::SocialLinks>)]
    social_links: Option<serde_json::Value>,
    /// Instructors: the payout account, by bank and last four characters.
    #[schema(value_type = Option<BankAccountSummary>)]
    bank_account: Option<serde_json::Value>,
    /// Instructors: what the platform owes them (may be negative after refunds); trainees: their wallet.
    /// Admins have none.
    balance: Option<Money>,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
}

pub(crate) async fn get(actor: Authenticated, State(state): State<QueryApiState>, headers: HeaderMap) -> Response {
    own_account(&state, actor, &headers).await.unwrap_or_else(|p| p.into_response())
}

async fn own_account(state: &QueryApiState, actor: Authenticated, headers: &HeaderMap) -> Result<Response, Problem> {
    let client = state.read.pool().get().await.map_err(reading("the user directory"))?;
    let row = client
        .query_opt(
            "SELECT id, kind, role, email, username, name, country, company, biography, speciality, title, \
             created_at, email_verified, social_links, bank_name, bank_account_last4, \
             (SELECT balance_cents FROM instructor_ledger_view WHERE instructor_id = u.id), \
             (SELECT balance_cents FROM wallet_view WHERE trainee_id = u.id), picture_id, picture_format \
             FROM user_directory u WHERE id = $1",
            &[&actor.user_id],
        )
        .await
        .map_err(reading("the user directory"))?
        .ok_or_else(|| Problem::not_found("There is no account for this token."))?;
    let me = (|| -> Result<MeView, tokio_postgres::Error> {
        Ok(MeView {
            id: row.try_get(0)?,
            kind: row.try_get(1)?,
            role: row.try_get(2)?,
            email: row.try_get(3)?,
            username: row.try_get(4)?,
            name: row.try_get(5)?,
            country: row.try_get(6)?,
            company: row.try_get(7)?,
            biography: row.try_get(8)?,
            speciality: row.try_get(9)?,
            title: row.try_get(10)?,
            picture: crate::pictures::PictureUrls::of(&row, "picture_id", "picture_format")?,
            created_at: row.try_get(11)?,
            email_verified: row.try_get(12)?,
            social_links: row.try_get(13)?,
            balance: {
                let role: String = row.try_get(2)?;
                let usd = |cents: Option<i64>| Some(Money { amount_cents: cents.unwrap_or(0), currency: "USD" });
                match role.as_str() {
                    "instructor" => usd(row.try_get(16)?),
                    "individual_trainee" | "corporate_trainee" => usd(row.try_get(17)?),
                    _ => None,
                }
            },
            bank_account: row.try_get::<_, Option<String>>(14)?.map(|bank_name| {
                serde_json::json!({ "bank_name": bank_name, "account_last4": row.try_get::<_, Option<String>>(15).ok().flatten() })
            }),
        })
    })()
    .map_err(reading("the user directory"))?;
    Ok(cached_json(headers, Audience::Private, &serde_json::json!({ "data": me })))
}

/// Which bank account an instructor is paid to, without its number.
#[derive(serde::Serialize, utoipa::ToSchema)]
#[allow(dead_code)]
pub(crate) struct BankAccountSummary {
    bank_name: String,
    account_last4: Option<String>,
}
