//! `message_view` and `conversation_view`: every message, and each participant's view of each of their
//! conversations (the last message, and how many of the other's messages they have not read). An erased or
//! deleted sender's words go, as a rebuild without their key reads them.

use super::Writes;
use events::{Event, RecordedEvent};

pub(super) async fn apply(
    writes: &mut Writes<'_, '_>,
    recorded: &RecordedEvent,
    event: &Event,
) -> Result<(), tokio_postgres::Error> {
    if let Some(person) = super::erased_person(event) {
        return writes.execute("UPDATE message_view SET text = NULL WHERE sender_id = $1", &[&person]).await;
    }
    let version = recorded.stream_version;
    match event {
        Event::MessageSent(e) => {
            let number = i32::try_from(e.number).unwrap_or(i32::MAX);
            let text = e.text.text();
            writes
                .execute(
                    "INSERT INTO message_view (message_id, conversation_id, sender_id, recipient_id, course_id, \
                     number, text, sent_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING",
                    &[
                        &e.message_id,
                        &recorded.stream_id,
                        &e.sender_id,
                        &e.recipient_id,
                        &e.course_id,
                        &number,
                        &text,
                        &recorded.occurred_at,
                    ],
                )
                .await?;
            // The sender has read what they send; the recipient has one more to read.
            let upsert = "INSERT INTO conversation_view (user_id, other_id, conversation_id, messages, read_up_to, \
                          unread, last_message_id, last_at, version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
                          ON CONFLICT (user_id, other_id) DO UPDATE SET messages = $4, \
                          read_up_to = GREATEST(conversation_view.read_up_to, $5), \
                          unread = CASE WHEN $6 = 0 THEN 0 ELSE conversation_view.unread + $6 END, \
                          last_message_id = $7, last_at = $8, version = $9 WHERE conversation_view.version < $9";
            let (none, one) = (0_i32, 1_i32);
            let sender = (&e.sender_id, &e.recipient_id, &number, &none);
            let recipient = (&e.recipient_id, &e.sender_id, &none, &one);
            for (user, other, read_up_to, unread) in [sender, recipient] {
                let params: [&(dyn tokio_postgres::types::ToSql + Sync); 9] = [
                    user,
                    other,
                    &recorded.stream_id,
                    &number,
                    read_up_to,
                    unread,
                    &e.message_id,
                    &recorded.occurred_at,
                    &version,
                ];
                writes.execute(upsert, &params).await?;
            }
            Ok(())
        }
        Event::ConversationRead(e) => {
            let up_to = i32::try_from(e.up_to).unwrap_or(i32::MAX);
            writes
                .execute(
                    "UPDATE conversation_view SET read_up_to = GREATEST(read_up_to, $3), \
                     unread = (SELECT count(*) FROM message_view m WHERE m.conversation_id = conversation_view.conversation_id \
                     AND m.sender_id = $2 AND m.number > GREATEST(conversation_view.read_up_to, $3))::integer, \
                     version = $4 WHERE user_id = $1 AND other_id = $2 AND version < $4",
                    &[&e.reader_id, &e.other_id, &up_to, &version],
                )
                .await
        }
        _ => Ok(()),
    }
}
