//! The projector's side of "a gap is an alarm, never a skip" (ARCHITECTURE.md, invariant 30;
//! `subscriptions::gaps`): a Kafka record that skips versions of its stream in the read models (versions
//! waiting behind a parked event count) has the missing events read from the store and applied first, in the
//! same transaction, and the gap reported.

use deadpool_postgres::Transaction;
use event_store::keys::KeyRing;
use events::RecordedEvent;
use subscriptions::gaps::{Gap, report, skips};

use crate::ProjectorError;

/// The subscriber name of projectors in alarms (their checkpoints have names of their own).
const SUBSCRIBER: &str = "projector";

/// The events each gap misses, read from the store, in version order (empty where the versions turn out to be
/// waiting in the dead letters behind a parked event, which is no gap). Each real gap is logged, counted and
/// kept for operators.
pub(crate) async fn fill(
    transaction: &Transaction<'_>,
    keyring: &KeyRing,
    projector: &str,
    gaps: &[Gap],
) -> Result<Vec<Vec<RecordedEvent>>, ProjectorError> {
    let mut filled = Vec::with_capacity(gaps.len());
    for gap in gaps {
        // A parked stream's later events wait in the dead letters, not in the projected versions.
        let row = transaction
            .query_one(
                "SELECT COALESCE(max(stream_version), 0) FROM projector_dead_letters \
                 WHERE projector = $1 AND stream_id = $2 AND state IN ('parked', 'waiting')",
                &[&projector, &gap.stream_id],
            )
            .await?;
        let have = gap.after_version.max(row.try_get(0)?);
        if !skips(have, gap.version) {
            filled.push(Vec::new());
            continue;
        }
        let missing: Vec<RecordedEvent> = event_store::read_stream_after(keyring.store(), &gap.stream_id, have)
            .await
            .map_err(ProjectorError::Store)?
            .into_iter()
            .take_while(|event| event.stream_version < gap.version)
            .collect();
        report(keyring.store(), SUBSCRIBER, gap, have, missing.len()).await.map_err(ProjectorError::Store)?;
        filled.push(missing);
    }
    Ok(filled)
}
