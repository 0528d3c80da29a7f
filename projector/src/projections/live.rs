//! `learnlog_meta.live_update`: the changes a user's open streams are told of (`GET /api/v1/me/live`), written
//! in the same transaction as the read models they announce, so that a client told of one reads it at once.
//! A row names what changed, never personal data; the query API adds a message's text as the read models hold
//! it when it pushes. A rebuild's fill pushes nothing ([`super::Selection::quiet`]).

use serde_json::{Value, json};
use uuid::Uuid;

use super::Writes;
use events::{Event, RecordedEvent};

/// Rows older than this are dropped: a client that was away longer reads the lists again.
pub const KEPT_FOR: &str = "1 day";

/// Who is told what about `event`: (user, kind, data). An order's events name no trainee: see [`apply`].
fn updates(event: &Event) -> Vec<(Uuid, &'static str, Value)> {
    match event {
        Event::MessageSent(e) => {
            let about = |with: Uuid| {
                json!({ "with": with, "message_id": e.message_id, "sender_id": e.sender_id, "number": e.number,
                        "course_id": e.course_id })
            };
            vec![(e.recipient_id, "message", about(e.sender_id)), (e.sender_id, "message", about(e.recipient_id))]
        }
        Event::ConversationRead(e) => {
            vec![(e.reader_id, "conversation_read", json!({ "with": e.other_id, "up_to": e.up_to }))]
        }
        Event::OrderPaid(e) => vec![(e.trainee_id, "order", json!({ "order_id": e.order_id, "status": "paid" }))],
        Event::TraineeEnrolled(e) => {
            vec![(e.trainee_id, "enrollment", json!({ "course_id": e.course_id, "status": "active" }))]
        }
        Event::EnrollmentRevoked(e) => {
            vec![(e.trainee_id, "enrollment", json!({ "course_id": e.course_id, "status": "revoked" }))]
        }
        Event::CertificateIssued(e) => {
            vec![(e.trainee_id, "certificate", json!({ "course_id": e.course_id, "certificate_id": e.certificate_id }))]
        }
        Event::RefundApproved(e) => {
            vec![(
                e.trainee_id,
                "refund",
                json!({ "refund_id": e.refund_id, "course_id": e.course_id, "status": "approved" }),
            )]
        }
        Event::RefundRejected(e) => {
            vec![(
                e.trainee_id,
                "refund",
                json!({ "refund_id": e.refund_id, "course_id": e.course_id, "status": "rejected" }),
            )]
        }
        Event::RefundCompleted(e) => {
            vec![(
                e.trainee_id,
                "refund",
                json!({ "refund_id": e.refund_id, "course_id": e.course_id, "status": "completed" }),
            )]
        }
        Event::WalletCredited(e) => vec![(e.trainee_id, "wallet", json!({ "balance_cents": e.balance_cents }))],
        Event::WalletDebited(e) => vec![(e.trainee_id, "wallet", json!({ "balance_cents": e.balance_cents }))],
        _ => Vec::new(),
    }
}

/// The order events that end an order, and the status each leaves.
fn order_ended(event: &Event) -> Option<(Uuid, &'static str)> {
    match event {
        Event::OrderFulfilled(e) => Some((e.order_id, "fulfilled")),
        Event::OrderPaymentFailed(e) => Some((e.order_id, "failed")),
        Event::OrderExpired(e) => Some((e.order_id, "expired")),
        _ => None,
    }
}

pub(super) async fn apply(
    writes: &mut Writes<'_, '_>,
    recorded: &RecordedEvent,
    event: &Event,
) -> Result<(), tokio_postgres::Error> {
    let place: [&(dyn tokio_postgres::types::ToSql + Sync); 3] =
        [&recorded.position, &recorded.stream_id, &recorded.stream_version];
    for (user, kind, data) in updates(event) {
        writes
            .execute(
                "INSERT INTO learnlog_meta.live_update (user_id, kind, data, position, stream_id, stream_version) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
                &[&user, &kind, &data, place[0], place[1], place[2]],
            )
            .await?;
    }
    // The order's trainee is in `order_view`, which the commerce projection wrote before this.
    if let Some((order_id, status)) = order_ended(event) {
        let data = json!({ "order_id": order_id, "status": status });
        writes
            .execute(
                "INSERT INTO learnlog_meta.live_update (user_id, kind, data, position, stream_id, stream_version) \
                 SELECT trainee_id, 'order', $2, $3, $4, $5 FROM order_view WHERE id = $1 ON CONFLICT DO NOTHING",
                &[&order_id, &data, place[0], place[1], place[2]],
            )
            .await?;
    }
    Ok(())
}

/// Drops the rows older than [`KEPT_FOR`].
pub(crate) async fn prune(writes: &mut Writes<'_, '_>) -> Result<(), tokio_postgres::Error> {
    let sql = format!("DELETE FROM learnlog_meta.live_update WHERE created_at < now() - interval '{KEPT_FOR}'");
    writes.execute(&sql, &[]).await
}
