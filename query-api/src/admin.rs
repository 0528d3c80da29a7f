//! `GET /api/v1/admin/users`: every account, for admins, paged and filtered; and the activity counts
//! (logged in or not, per kind) of the original's admin dashboard.

use api_contract::query::{OneOf, Search, Words};
use api_contract::{Params, Problem};
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use events::Role;
use http::HeaderMap;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use tokio_postgres::Row;
use uuid::Uuid;

use crate::QueryApiState;
use crate::caching::{Audience, cached_json};
use crate::catalog_query::{Conditions, like_escaped};
use crate::listing::Listing;
use crate::page::{ListEnvelope, Paging};
use crate::reading::reading;

const DEFAULT_LIMIT: i64 = 20;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct UserRow {
    id: Uuid,
    kind: String,
    role: String,
    email: String,
    email_verified: bool,
    username: String,
    name: String,
    country: Option<String>,
    company: Option<String>,
    picture: Option<crate::pictures::PictureUrls>,
    logged_in: bool,
    #[serde(with = "time::serde::rfc3339::option")]
    last_login_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
}

impl UserRow {
    fn from_row(row: &Row) -> Result<Self, tokio_postgres::Error> {
        Ok(UserRow {
            id: row.try_get("id")?,
            kind: row.try_get("kind")?,
            role: row.try_get("role")?,
            email: row.try_get("email")?,
            email_verified: row.try_get("email_verified")?,
            username: row.try_get("username")?,
            name: row.try_get("name")?,
            country: row.try_get("country")?,
            company: row.try_get("company")?,
            picture: crate::pictures::PictureUrls::of(row, "picture_id", "picture_format")?,
            logged_in: row.try_get("logged_in")?,
            last_login_at: row.try_get("last_login_at")?,
            created_at: row.try_get("created_at")?,
        })
    }
}

/// The roles an account can have.
pub(crate) struct Roles;

impl Words for Roles {
    const WORDS: &'static [&'static str] = &Role::NAMES;
}

/// One of the roles.
type RoleName = OneOf<Roles>;

/// Which accounts an admin lists.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct UserFilter {
    /// Only accounts of this role.
    #[param(inline)]
    role: Option<RoleName>,
    /// Only accounts whose name, email or username contains this text.
    #[param(inline)]
    search: Option<Search>,
    /// Only accounts logged in (`true`) or not (`false`).
    logged_in: Option<bool>,
}

/// `GET /api/v1/admin/users?role=&search=&logged_in=&page=&limit=`: newest first.
pub(crate) async fn users(
    State(state): State<QueryApiState>,
    headers: HeaderMap,
    Params(filter): Params<UserFilter>,
    Params(paging): Params<Paging>,
) -> Response {
    let answer = async { user_page(&state, &headers, filter, paging).await };
    answer.await.unwrap_or_else(|p| p.into_response())
}

async fn user_page(
    state: &QueryApiState,
    headers: &HeaderMap,
    filter: UserFilter,
    paging: Paging,
) -> Result<Response, Problem> {
    let page = paging.request(DEFAULT_LIMIT);
    let mut conditions = Conditions::default();
    if let Some(role) = filter.role {
        conditions.push(|n| format!("role = ${n}"), role.as_str());
    }
    if let Some(search) = filter.search {
        let pattern = format!("%{}%", like_escaped(&search.0));
        conditions.push(|n| format!("(name ILIKE ${n} OR email ILIKE ${n} OR username ILIKE ${n})"), pattern);
    }
    if let Some(logged_in) = filter.logged_in {
        conditions.push(|n| format!("logged_in = ${n}"), logged_in);
    }
    let client = state.read.pool().get().await.map_err(reading("the user directory"))?;
    let filter = conditions.filter();
    let listing = Listing {
        columns: "id, kind, role, email, email_verified, username, name, country, company, picture_id, picture_format, \
                  logged_in, last_login_at, \
                  created_at",
        from: "user_directory",
        filter: &filter,
        order: "created_at DESC, id",
    };
    let found = listing.page(&client, &conditions.params(), page).await.map_err(reading("the user directory"))?;
    let (rows, total) = (found.rows, found.total);
    let users =
        rows.iter().map(UserRow::from_row).collect::<Result<Vec<_>, _>>().map_err(reading("the user directory"))?;
    Ok(cached_json(headers, Audience::Private, &ListEnvelope::new(users, page, total)))
}

/// `GET /api/v1/admin/users/activity`: how many accounts of each role are logged in and not.
pub(crate) async fn activity(State(state): State<QueryApiState>, headers: HeaderMap) -> Response {
    let answer = async {
        let client = state.read.pool().get().await.map_err(reading("the user directory"))?;
        let rows = client
            .query(
                "SELECT role, count(*) FILTER (WHERE logged_in) AS active, count(*) FILTER (WHERE NOT logged_in) \
                 AS inactive FROM user_directory GROUP BY role ORDER BY role",
                &[],
            )
            .await
            .map_err(reading("the user directory"))?;
        let mut data = serde_json::Map::new();
        for row in &rows {
            let role: String = row.try_get(0).map_err(reading("the user directory"))?;
            let active: i64 = row.try_get(1).map_err(reading("the user directory"))?;
            let inactive: i64 = row.try_get(2).map_err(reading("the user directory"))?;
            data.insert(role, serde_json::json!({ "active": active, "inactive": inactive }));
        }
        Ok::<_, Problem>(cached_json(&headers, Audience::Private, &serde_json::json!({ "data": data })))
    };
    answer.await.unwrap_or_else(|p| p.into_response())
}

/// How many accounts of a role are logged in, and how many not.
#[derive(Serialize, utoipa::ToSchema)]
#[allow(dead_code)]
pub(crate) struct RoleActivity {
    active: i64,
    inactive: i64,
}

/// The logged-in counts of every role that has accounts, by role.
#[derive(Serialize, utoipa::ToSchema)]
#[allow(dead_code)]
pub(crate) struct Activity(std::collections::HashMap<String, RoleActivity>);
