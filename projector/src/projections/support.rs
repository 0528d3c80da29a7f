//! `report_view`: the unified support list. Tickets, corporate access requests (`course_request`) and refund
//! requests (`refund`) in one table, each row at the version of its own stream. A refund approved or
//! completed reads `resolved`. An erased author's description and follow-ups lose their text.

use super::Writes;
use events::{Event, RecordedEvent};
use uuid::Uuid;

/// A new row of the list.
struct NewRow<'a> {
    id: Uuid,
    kind: &'a str,
    user_id: Uuid,
    course_id: Option<Uuid>,
    description: Option<&'a str>,
    progress_at_request: Option<i16>,
}

pub(super) async fn apply(
    writes: &mut Writes<'_, '_>,
    recorded: &RecordedEvent,
    event: &Event,
) -> Result<(), tokio_postgres::Error> {
    let new = match event {
        Event::ReportFiled(e) => Some(NewRow {
            id: e.report_id,
            kind: e.kind.as_str(),
            user_id: e.reporter_id,
            course_id: e.course_id,
            description: e.description.text(),
            progress_at_request: None,
        }),
        Event::CourseAccessRequested(e) => Some(NewRow {
            id: e.request_id,
            kind: "course_request",
            user_id: e.trainee_id,
            course_id: Some(e.course_id),
            description: e.description.as_ref().and_then(|said| said.text()),
            progress_at_request: None,
        }),
        Event::RefundRequested(e) => Some(NewRow {
            id: e.refund_id,
            kind: "refund",
            user_id: e.trainee_id,
            course_id: Some(e.course_id),
            description: e.reason.text(),
            progress_at_request: Some(i16::from(e.progress_at_request)),
        }),
        _ => None,
    };
    if let Some(row) = new {
        return insert(writes, recorded, &row).await;
    }
    let moved = match event {
        Event::ReportStatusChanged(e) => Some((e.report_id, e.status.as_str())),
        Event::CourseAccessRequestChanged(e) => Some((e.request_id, e.status.as_str())),
        Event::RefundRequestAcknowledged(e) => Some((e.refund_id, "pending")),
        Event::RefundApproved(e) => Some((e.refund_id, "resolved")),
        Event::RefundRejected(e) => Some((e.refund_id, "rejected")),
        _ => None,
    };
    if let Some((id, status)) = moved {
        let sql = "UPDATE report_view SET status = $2, updated_at = $3, version = $4 WHERE id = $1 AND version < $4";
        return writes.execute(sql, &[&id, &status, &recorded.occurred_at, &recorded.stream_version]).await;
    }
    // A follow-up on any report's thread: a ticket's, a refund request's, an access request's.
    let follow_up = match event {
        Event::ReportFollowUpAdded(e) => Some((e.report_id, e.author_id, e.by_admin, &e.text)),
        Event::RefundRequestFollowUpAdded(e) => Some((e.refund_id, e.author_id, e.by_admin, &e.text)),
        Event::AccessRequestFollowUpAdded(e) => Some((e.request_id, e.author_id, e.by_admin, &e.text)),
        _ => None,
    };
    if let Some((id, author_id, by_admin, text)) = follow_up {
        let follow_up = serde_json::json!([{
            "author_id": author_id, "by_admin": by_admin, "text": text.text(), "at": recorded.occurred_at,
        }]);
        let sql = "UPDATE report_view SET follow_ups = follow_ups || $2, updated_at = $3, version = $4 \
                   WHERE id = $1 AND version < $4";
        return writes.execute(sql, &[&id, &follow_up, &recorded.occurred_at, &recorded.stream_version]).await;
    }
    match event {
        Event::ReportEdited(e) => {
            let sql = "UPDATE report_view SET kind = $2, course_id = $3, description = $4, updated_at = $5, version = $6 \
                       WHERE id = $1 AND version < $6";
            let params: [&(dyn tokio_postgres::types::ToSql + Sync); 6] = [
                &e.report_id,
                &e.kind.as_str(),
                &e.course_id,
                &e.description.text(),
                &recorded.occurred_at,
                &recorded.stream_version,
            ];
            writes.execute(sql, &params).await
        }
        Event::ReportVoided(e) => {
            let sql =
                "UPDATE report_view SET voided = true, updated_at = $2, version = $3 WHERE id = $1 AND version < $3";
            writes.execute(sql, &[&e.report_id, &recorded.occurred_at, &recorded.stream_version]).await
        }
        _ => match super::erased_person(event) {
            // Their words read as a rebuild reads them without the key: no description, follow-ups' text null.
            Some(person) => {
                writes.execute("UPDATE report_view SET description = NULL WHERE user_id = $1", &[&person]).await?;
                let author = person.to_string();
                writes
                    .execute(
                        "UPDATE report_view SET follow_ups = (SELECT jsonb_agg(CASE WHEN f->>'author_id' = $1 \
                         THEN jsonb_set(f, '{text}', 'null') ELSE f END) FROM jsonb_array_elements(follow_ups) f) \
                         WHERE follow_ups @> jsonb_build_array(jsonb_build_object('author_id', $1::text))",
                        &[&author],
                    )
                    .await
            }
            None => Ok(()),
        },
    }
}

async fn insert(
    writes: &mut Writes<'_, '_>,
    recorded: &RecordedEvent,
    row: &NewRow<'_>,
) -> Result<(), tokio_postgres::Error> {
    writes
        .execute(
            "INSERT INTO report_view (id, kind, status, user_id, course_id, description, progress_at_request, \
             created_at, updated_at, version) VALUES ($1, $2, 'unseen', $3, $4, $5, $6, $7, $7, $8) \
             ON CONFLICT (id) DO NOTHING",
            &[
                &row.id,
                &row.kind,
                &row.user_id,
                &row.course_id,
                &row.description,
                &row.progress_at_request,
                &recorded.occurred_at,
                &recorded.stream_version,
            ],
        )
        .await
}
