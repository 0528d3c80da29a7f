//! A user's conversations (`GET /api/v1/me/conversations`), the most recent first, each with the other person,
//! the last message and how many of theirs the caller has not read; and one conversation's messages (`GET
//! /api/v1/me/conversations/{id}/messages`, `{id}` being the other person), newest first. Each caller reads their
//! own conversations only: the rows are found by the caller's id.

use api_contract::{Authenticated, Params, PathId, Problem};
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::HeaderMap;
use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::QueryApiState;
use crate::caching::{Audience, cached_json};
use crate::listing::Listing;
use crate::page::{ListEnvelope, Paging};
use crate::pictures::PictureUrls;
use crate::reading::reading;

const DEFAULT_LIMIT: i64 = 20;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct ConversationRow {
    with: Person,
    last_message: Message,
    /// The number of messages in the conversation.
    messages: i32,
    /// The other person's messages the caller has not read.
    unread: i32,
}

/// The other person of a conversation.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct Person {
    id: Uuid,
    /// `null` once the account was erased.
    name: Option<String>,
    role: Option<String>,
    picture: Option<PictureUrls>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct Message {
    id: Uuid,
    sender_id: Uuid,
    /// The course a trainee and an instructor write about; `null` with an admin.
    course_id: Option<Uuid>,
    /// Its place in the conversation, from 1.
    number: i32,
    /// `null` once the sender's data was erased.
    text: Option<String>,
    /// Whether the recipient has read it.
    read: bool,
    #[serde(with = "time::serde::rfc3339")]
    sent_at: OffsetDateTime,
}

impl Message {
    fn from_row(row: &tokio_postgres::Row) -> Result<Self, tokio_postgres::Error> {
        Ok(Message {
            id: row.try_get("message_id")?,
            sender_id: row.try_get("sender_id")?,
            course_id: row.try_get("course_id")?,
            number: row.try_get("number")?,
            text: row.try_get("text")?,
            read: row.try_get("read")?,
            sent_at: row.try_get("sent_at")?,
        })
    }
}

/// The caller's rows joined with the other's (how far they read) and the last message.
const CONVERSATION_COLUMNS: &str = "v.other_id, u.name, u.role, u.picture_id, u.picture_format, v.messages, v.unread, \
     m.message_id, m.sender_id, m.course_id, m.number, m.text, m.sent_at, \
     (m.sender_id = v.other_id AND m.number <= v.read_up_to) OR (m.sender_id = v.user_id AND m.number <= o.read_up_to) AS read";
const CONVERSATION_FROM: &str = "conversation_view v JOIN message_view m ON m.message_id = v.last_message_id \
     JOIN conversation_view o ON o.user_id = v.other_id AND o.other_id = v.user_id \
     LEFT JOIN user_directory u ON u.id = v.other_id";

/// `GET /api/v1/me/conversations?page=&limit=`
pub(crate) async fn mine(
    actor: Authenticated,
    State(state): State<QueryApiState>,
    headers: HeaderMap,
    Params(paging): Params<Paging>,
) -> Response {
    let answer = async {
        let page = paging.request(DEFAULT_LIMIT);
        let client = state.read.pool().get().await.map_err(reading("conversations"))?;
        let listing = Listing {
            columns: CONVERSATION_COLUMNS,
            from: CONVERSATION_FROM,
            filter: "v.user_id = $1",
            order: "v.last_at DESC, v.other_id",
        };
        let found = listing.page(&client, &[&actor.user_id], page).await.map_err(reading("conversations"))?;
        let rows = found
            .rows
            .iter()
            .map(|row| {
                Ok(ConversationRow {
                    with: Person {
                        id: row.try_get("other_id")?,
                        name: row.try_get("name")?,
                        role: row.try_get("role")?,
                        picture: PictureUrls::of(row, "picture_id", "picture_format")?,
                    },
                    last_message: Message::from_row(row)?,
                    messages: row.try_get("messages")?,
                    unread: row.try_get("unread")?,
                })
            })
            .collect::<Result<Vec<_>, tokio_postgres::Error>>()
            .map_err(reading("conversations"))?;
        Ok::<_, Problem>(cached_json(&headers, Audience::Private, &ListEnvelope::new(rows, page, found.total)))
    };
    answer.await.unwrap_or_else(|p| p.into_response())
}

/// `GET /api/v1/me/conversations/{id}/messages?page=&limit=`: 404 when the caller never wrote with `{id}`.
pub(crate) async fn messages(
    actor: Authenticated,
    State(state): State<QueryApiState>,
    PathId(other_id): PathId,
    headers: HeaderMap,
    Params(paging): Params<Paging>,
) -> Response {
    let answer = async {
        let page = paging.request(DEFAULT_LIMIT);
        let client = state.read.pool().get().await.map_err(reading("messages"))?;
        let listing = Listing {
            columns: "m.message_id, m.sender_id, m.course_id, m.number, m.text, m.sent_at, \
                      (m.sender_id = v.other_id AND m.number <= v.read_up_to) \
                      OR (m.sender_id = v.user_id AND m.number <= o.read_up_to) AS read",
            from: "conversation_view v JOIN message_view m ON m.conversation_id = v.conversation_id \
                   JOIN conversation_view o ON o.user_id = v.other_id AND o.other_id = v.user_id",
            filter: "v.user_id = $1 AND v.other_id = $2",
            order: "m.number DESC",
        };
        let found = listing.page(&client, &[&actor.user_id, &other_id], page).await.map_err(reading("messages"))?;
        if found.total == 0 {
            return Err(Problem::not_found("You have no conversation with this user."));
        }
        let rows = found
            .rows
            .iter()
            .map(Message::from_row)
            .collect::<Result<Vec<_>, tokio_postgres::Error>>()
            .map_err(reading("messages"))?;
        Ok::<_, Problem>(cached_json(&headers, Audience::Private, &ListEnvelope::new(rows, page, found.total)))
    };
    answer.await.unwrap_or_else(|p| p.into_response())
}
