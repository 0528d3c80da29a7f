//! `learnlog archive`: the event history's partitions (ADR 0013), and moving the oldest full ones out of the
//! hot `events` table into the cold tier, `archived_events`, after their Parquet copy is written through the
//! export. Archived events stay readable in the store: the append's version checks and stream reads see the
//! archived heads, and every reader of a position range (the feed, the history API, rebuilds, exports)
//! reads `all_events`. What archiving saves is the hot table's size: its indexes, the version probes of every
//! append, the vacuum of what no longer changes. It reaches `DATABASE_URL`, or the data folder's embedded
//! cluster.

use std::path::{Path, PathBuf};
use std::time::Duration;

use database::Database;
use export::{ExportOptions, Format};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio_postgres::error::SqlState;

use crate::config::Config;
use crate::embedded;
use crate::error::Error;

/// How long the move of one partition waits to hold `events` alone (it waits for the reads and appends in
/// flight, and makes new ones wait behind it) before it gives up and tries again.
const LOCK_TIMEOUT: &str = "5s";
const ATTEMPTS: u32 = 3;
/// The session lock one archive run holds, so that two never run at once.
pub const ARCHIVE_LOCK_KEY: i64 = 0x4c4c_4152_4348_4956;

/// What `learnlog archive` was asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArchiveTask {
    /// List every partition, hot and archived.
    List,
    /// Archive every full partition that ends at or before `before`, with their Parquet copy in `out`.
    Before { before: i64, out: PathBuf },
}

/// One partition of the history: positions `from..to` (`to` excluded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partition {
    pub name: String,
    pub from: i64,
    pub to: i64,
    /// When it moved to the cold tier, and where its Parquet copy went.
    pub archived: Option<(OffsetDateTime, String)>,
}

/// What one archive run did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Archived {
    pub partitions: Vec<Partition>,
    pub events: i64,
    /// The export directory with the Parquet copy of the archived positions.
    pub out: PathBuf,
}

/// Runs `task` and returns what to print.
pub async fn archive(config: &Config, task: ArchiveTask) -> Result<String, Error> {
    let (cluster, store_url) = embedded::store_url(config).await?;
    let result = async {
        let store = Database::connect(store_url.expose(), 1)?;
        match task {
            ArchiveTask::List => Ok(render(&partitions(&store).await?)),
            ArchiveTask::Before { before, out } => {
                let archived = archive_before(&store, before, &out).await?;
                let (Some(first), Some(last)) = (archived.partitions.first(), archived.partitions.last()) else {
                    unreachable!("archive_before moves at least one partition or fails")
                };
                Ok(format!(
                    "archived {} events (positions {} to {}) in {} partition(s); their Parquet copy is in {}; \
                     they stay readable in the store's cold tier (archived_events)\n{}",
                    archived.events,
                    first.from,
                    last.to - 1,
                    archived.partitions.len(),
                    archived.out.display(),
                    render(&archived.partitions)
                ))
            }
        }
    }
    .await;
    if let Some(cluster) = cluster {
        cluster.stop().await?;
    }
    result
}

/// Every partition of the history, oldest first.
pub async fn partitions(store: &Database) -> Result<Vec<Partition>, Error> {
    let client = store.pool().get().await?;
    let rows = client
        .query(
            "SELECT name, from_position, to_position, archived_at, archive FROM event_partitions \
             ORDER BY from_position",
            &[],
        )
        .await?;
    let partition = |row: &tokio_postgres::Row| -> Result<Partition, tokio_postgres::Error> {
        let archived_at: Option<OffsetDateTime> = row.try_get(3)?;
        let archive: Option<String> = row.try_get(4)?;
        Ok(Partition {
            name: row.try_get(0)?,
            from: row.try_get(1)?,
            to: row.try_get(2)?,
            archived: archived_at.zip(archive),
        })
    };
    Ok(rows.iter().map(partition).collect::<Result<_, _>>()?)
}

/// Archives every hot partition that ends at or before `before` (positions below it), oldest first: writes
/// their Parquet copy into the export directory `out` (going on from what it holds), then moves each one to
/// the cold tier in a transaction of its own. A partition must be full, with the head past it, so that the hot
/// table always holds the newest event. Fails, having moved nothing, if no partition ends by `before`, or if
/// another archive run is under way.
pub async fn archive_before(store: &Database, before: i64, out: &Path) -> Result<Archived, Error> {
    // Held by this connection until it closes, at the end of this function.
    let lock = store.connect_single().await?;
    let alone: bool = lock.query_one("SELECT pg_try_advisory_lock($1)", &[&ARCHIVE_LOCK_KEY]).await?.try_get(0)?;
    if !alone {
        return Err(Error::Config(
            "another `learnlog archive` is running on this store; try again when it ends".into(),
        ));
    }
    let head = event_store::history::head(store).await?;
    let hot: Vec<Partition> =
        partitions(store).await?.into_iter().filter(|partition| partition.archived.is_none()).collect();
    let chosen: Vec<Partition> =
        hot.iter().take_while(|partition| partition.to <= before && partition.to <= head).cloned().collect();
    let (Some(first), Some(last)) = (chosen.first(), chosen.last()) else {
        return Err(Error::Config(match hot.first() {
            Some(oldest) if oldest.to > before => format!(
                "nothing to archive before position {before}: the oldest hot partition, {}, holds positions {} to {} \
                 (archiving moves whole partitions)",
                oldest.name,
                oldest.from,
                oldest.to - 1
            ),
            Some(oldest) => format!(
                "nothing to archive before position {before}: the oldest hot partition, {}, ends at position {}, \
                 and the head ({head}) must be past it",
                oldest.name,
                oldest.to - 1
            ),
            None => "nothing to archive: the history has no partition yet".to_owned(),
        }));
    };
    let options = ExportOptions {
        format: Format::Parquet,
        out: out.to_owned(),
        after: Some(first.from - 1),
        until: None,
        before: Some(last.to),
        types: Vec::new(),
    };
    let run = export::export(store, &options, &mut |_| {}).await.map_err(|error| Error::Config(error.to_string()))?;
    // A directory that already held these positions (a run stopped after its export) goes on from further.
    if run.through < last.to - 1 {
        return Err(Error::Config(format!(
            "the Parquet copy in {} ends at position {}, before the archived range's last position {}",
            out.display(),
            run.through,
            last.to - 1
        )));
    }
    let shown = std::path::absolute(out).unwrap_or_else(|_| out.to_owned()).display().to_string();
    let mut events = 0;
    for partition in &chosen {
        events += move_to_cold_tier(store, &partition.name, &shown).await?;
    }
    let archived_names: Vec<&str> = chosen.iter().map(|partition| partition.name.as_str()).collect();
    let partitions = partitions(store)
        .await?
        .into_iter()
        .filter(|partition| archived_names.contains(&partition.name.as_str()))
        .collect();
    drop(lock);
    Ok(Archived { partitions, events, out: out.to_owned() })
}

/// Moves one partition to the cold tier (`learnlog_archive_event_partition`), trying again if it could not
/// hold `events` alone within the lock timeout. Returns the number of its events.
async fn move_to_cold_tier(store: &Database, name: &str, archive: &str) -> Result<i64, Error> {
    let mut client = store.pool().get().await?;
    let mut attempt = 1;
    loop {
        let transaction = client.transaction().await?;
        transaction.batch_execute(&format!("SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")).await?;
        let moved = transaction.query_one("SELECT learnlog_archive_event_partition($1, $2)", &[&name, &archive]).await;
        match moved {
            Ok(row) => {
                let events: i64 = row.try_get(0)?;
                transaction.commit().await?;
                return Ok(events);
            }
            Err(error) if error.code() == Some(&SqlState::LOCK_NOT_AVAILABLE) && attempt < ATTEMPTS => {
                drop(transaction);
                tracing::warn!(partition = name, attempt, "the events table was busy; archiving again shortly");
                tokio::time::sleep(Duration::from_secs(1)).await;
                attempt += 1;
            }
            Err(error) => return Err(error.into()),
        }
    }
}

fn render(partitions: &[Partition]) -> String {
    let mut text = String::from("partition\tpositions\ttier\tarchived at\tParquet copy");
    for partition in partitions {
        let (tier, at, copy) = match &partition.archived {
            Some((at, copy)) => ("archived", at.format(&Rfc3339).unwrap_or_default(), copy.as_str()),
            None => ("hot", String::new(), ""),
        };
        text.push_str(&format!("\n{}\t{}-{}\t{tier}\t{at}\t{copy}", partition.name, partition.from, partition.to - 1));
    }
    text
}
