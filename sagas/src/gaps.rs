//! The sagas' side of "a gap is an alarm, never a skip" (ARCHITECTURE.md, invariant 30). On Kafka,
//! `saga_stream_versions` holds the newest version of each stream the sagas handled (or parked). A record
//! that skips versions of its stream means records were lost on the way: the missing events are read from the
//! store and handled first, in order, and the gap is reported (`subscriptions::gaps::report`). The store's feed
//! has no gaps (invariant 2), so feed batches are not checked.

use std::collections::HashMap;

use database::Database;
use subscriptions::gaps::{Gap, interleave, report, skips};
use subscriptions::{Origin, SourcedEvent};

use crate::{SAGAS, SagaError};

/// The subscriber name of the sagas in alarms.
const SUBSCRIBER: &str = "sagas";

fn from_kafka(batch: &[SourcedEvent]) -> bool {
    batch.iter().any(|sourced| matches!(sourced.origin, Origin::Kafka { .. }))
}

fn streams(batch: &[SourcedEvent]) -> Vec<&str> {
    let mut streams: Vec<&str> = batch.iter().map(|sourced| sourced.event.stream_id.as_str()).collect();
    streams.sort_unstable();
    streams.dedup();
    streams
}

/// `batch` with the events it misses put before the records that revealed them; `None` when it misses none.
pub(crate) async fn fill(store: &Database, batch: &[SourcedEvent]) -> Result<Option<Vec<SourcedEvent>>, SagaError> {
    if !from_kafka(batch) {
        return Ok(None);
    }
    let client = store.pool().get().await?;
    let rows = client
        .query(
            "SELECT stream_id, version FROM saga_stream_versions WHERE saga = $1 AND stream_id = ANY($2)",
            &[&SAGAS, &streams(batch)],
        )
        .await?;
    drop(client);
    let mut handled: HashMap<String, i64> = HashMap::new();
    for row in rows {
        handled.insert(row.try_get(0)?, row.try_get(1)?);
    }
    let mut lost = Vec::new();
    for (before, sourced) in batch.iter().enumerate() {
        let event = &sourced.event;
        let version = handled.entry(event.stream_id.clone()).or_insert(0);
        if skips(*version, event.stream_version) {
            lost.push(Gap {
                before,
                stream_id: event.stream_id.clone(),
                after_version: *version,
                version: event.stream_version,
                origin: sourced.origin.clone(),
            });
        }
        *version = (*version).max(event.stream_version);
    }
    if lost.is_empty() {
        return Ok(None);
    }
    let mut fills = Vec::with_capacity(lost.len());
    for gap in &lost {
        let missing: Vec<SourcedEvent> = event_store::read_stream_after(store, &gap.stream_id, gap.after_version)
            .await?
            .into_iter()
            .take_while(|event| event.stream_version < gap.version)
            .map(|event| SourcedEvent { event, origin: gap.origin.clone() })
            .collect();
        report(store, SUBSCRIBER, gap, gap.after_version, missing.len()).await?;
        fills.push(missing);
    }
    Ok(Some(interleave(batch.iter().cloned(), &lost, fills)))
}

/// Records the newest version of each stream of `batch`, handled or parked (Kafka batches only).
pub(crate) async fn record(store: &Database, batch: &[SourcedEvent]) -> Result<(), SagaError> {
    if !from_kafka(batch) {
        return Ok(());
    }
    let mut newest: HashMap<&str, i64> = HashMap::new();
    for sourced in batch {
        let version = newest.entry(sourced.event.stream_id.as_str()).or_insert(0);
        *version = (*version).max(sourced.event.stream_version);
    }
    let (streams, versions): (Vec<&str>, Vec<i64>) = newest.into_iter().unzip();
    let client = store.pool().get().await?;
    client
        .execute(
            "INSERT INTO saga_stream_versions (saga, stream_id, version) \
             SELECT $1, s, v FROM unnest($2::text[], $3::int8[]) AS k(s, v) \
             ON CONFLICT (saga, stream_id) DO UPDATE SET version = GREATEST(saga_stream_versions.version, excluded.version)",
            &[&SAGAS, &streams, &versions],
        )
        .await?;
    Ok(())
}
