//! Keeps this process's session generations (`api_contract::SessionGenerations`) current, so that every API
//! process refuses an access token at once when its account's sessions end (a password change or reset, a
//! deletion, an erasure): the command that ends them writes `session_revocations` and notifies
//! `learnlog_sessions` in its append's transaction; this follower reads what changed on each notification,
//! and every few seconds whatever happens to the notifications.

use std::collections::HashMap;
use std::time::Duration;

use api_contract::{MAX_TOKEN_AGE, SessionGenerations};
use database::Database;
use time::OffsetDateTime;
use uuid::Uuid;
use write_side::records::SESSIONS_CHANNEL;

/// How often the changes are read without a notification (one lost with a connection).
const POLL: Duration = Duration::from_secs(5);
/// How often the whole last day is read again, forgetting what is older.
const RELOAD: Duration = Duration::from_secs(600);
/// Read again on each look, for changes whose transaction committed after a later one's.
const OVERLAP: time::Duration = time::Duration::seconds(10);

/// Follows `session_revocations` in `store` into `sessions`, for as long as anything checks tokens with them.
pub fn follow(store: Database, sessions: &SessionGenerations) {
    let mut wake = store.listen(SESSIONS_CHANNEL);
    let held = sessions.downgrade();
    tokio::spawn(async move {
        let mut since: Option<OffsetDateTime> = None;
        let mut reloaded = tokio::time::Instant::now();
        loop {
            let Some(sessions) = held.upgrade() else { return };
            let whole = since.is_none() || reloaded.elapsed() >= RELOAD;
            let from = if whole { None } else { since.map(|at| at - OVERLAP) };
            match changed(&store, from).await {
                Ok((generations, looked_at)) => {
                    if whole {
                        sessions.replace(generations);
                        reloaded = tokio::time::Instant::now();
                    } else {
                        generations.into_iter().for_each(|(user, generation)| sessions.learn(user, generation));
                    }
                    since = Some(looked_at);
                }
                Err(error) => tracing::warn!(%error, "reading the ended sessions failed; trying again"),
            }
            tokio::select! {
                woken = wake.changed() => if woken.is_err() { return },
                () = tokio::time::sleep(POLL) => {}
            }
        }
    });
}

/// The generations changed after `from` (or within the last day), and when the database looked: one clock,
/// the database's, for every comparison.
async fn changed(
    store: &Database,
    from: Option<OffsetDateTime>,
) -> Result<(HashMap<Uuid, u32>, OffsetDateTime), Box<dyn std::error::Error + Send + Sync>> {
    let client = store.pool().get().await?;
    let looked_at: OffsetDateTime = client.query_one("SELECT now()", &[]).await?.try_get(0)?;
    let oldest = looked_at - MAX_TOKEN_AGE;
    let from = from.map_or(oldest, |from| from.max(oldest));
    let rows =
        client.query("SELECT user_id, generation FROM session_revocations WHERE changed_at > $1", &[&from]).await?;
    let mut generations = HashMap::with_capacity(rows.len());
    for row in rows {
        let generation: i32 = row.try_get(1)?;
        generations.insert(row.try_get(0)?, u32::try_from(generation).unwrap_or_default());
    }
    Ok((generations, looked_at))
}
