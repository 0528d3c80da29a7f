//! `learnlog export`: the event history as files analysts open with their own tools. Events come from the
//! store's feed as [`event_store::history`] hands them out (in global order, upcast to current schema
//! versions, personal data sealed or erased, never in clear), a page at a time, so memory stays bounded.
//!
//! - **Parquet** (Apache Arrow's writer): one file per event type and run, `<Type>/part-<first>-<last>.parquet`,
//!   with the envelope's columns and the payload's flattened into typed columns ([`columns`]).
//! - **CSV**: the same tables as CSV with a header.
//! - **NDJSON**: the feed's lines, one file per event type and run.
//!
//! A directory keeps a `manifest.json` of what it holds; a run into the same directory goes on after the last
//! exported position (incremental), with the same format and types. Files are written under temporary names
//! and the manifest last; the next run removes the files a failed run left that the manifest does not list,
//! and exports their events again. `--until` cuts the history before the first event recorded after that
//! time, so that the cut is a prefix of the feed that the next run goes on from. An event that does not decode (a newer release wrote it) goes to
//! `_undecodable/` as its NDJSON line, never dropped.

pub mod columns;
mod table;

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use database::Database;
use event_store::history::{self, HistoryEvent, HistoryQuery};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::table::Table;

/// Events read from the store per round trip.
const PAGE: i64 = 5_000;
/// Rows of one type gathered before they are handed to the file's writer.
const BATCH_ROWS: usize = 8_192;
/// Rows per Parquet row group (what a reader skips or reads at once).
const ROW_GROUP_ROWS: usize = 65_536;
const MANIFEST: &str = "manifest.json";
const UNDECODABLE: &str = "_undecodable";

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("reading the history failed: {0}")]
    Read(#[from] event_store::ReadError),
    #[error("{0}")]
    Arrow(#[from] arrow::error::ArrowError),
    #[error("{0}")]
    Parquet(#[from] parquet::errors::ParquetError),
    #[error("the event at position {position} ({event_type}) does not fit its columns: {reason}")]
    Shape { event_type: String, position: i64, reason: String },
    #[error("{0}")]
    Manifest(String),
    #[error("unknown event type {0:?}")]
    UnknownType(String),
}

/// The file format of an export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Parquet,
    Csv,
    Ndjson,
}

impl Format {
    fn extension(self) -> &'static str {
        match self {
            Format::Parquet => "parquet",
            Format::Csv => "csv",
            Format::Ndjson => "ndjson",
        }
    }
}

/// What to export, and where.
#[derive(Debug, Clone)]
pub struct ExportOptions {
    pub format: Format,
    pub out: PathBuf,
    /// Start after this position (a new directory only; a directory with a manifest goes on from it).
    pub after: Option<i64>,
    /// The history as it stood at this time: the events before the first one recorded after it.
    pub until: Option<OffsetDateTime>,
    /// Only the events before this position.
    pub before: Option<i64>,
    /// Only these event types; every type when empty.
    pub types: Vec<String>,
}

/// What a run wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Run {
    /// The run exported events after this position...
    pub after: i64,
    /// ...up to and including this one (equal to `after` when there was nothing new).
    pub through: i64,
    pub events: u64,
    /// Each file written, by event type, with its rows.
    pub files: BTreeMap<String, FileEntry>,
    pub finished_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    pub path: String,
    pub rows: u64,
}

/// `manifest.json`: the format and types of a directory, where it stands, and every run so far.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: Format,
    pub types: Vec<String>,
    pub position: i64,
    pub runs: Vec<Run>,
}

impl Manifest {
    pub fn read(dir: &Path) -> Result<Option<Manifest>, ExportError> {
        match std::fs::read_to_string(dir.join(MANIFEST)) {
            Ok(text) => serde_json::from_str(&text)
                .map(Some)
                .map_err(|error| ExportError::Manifest(format!("{MANIFEST} is not readable: {error}"))),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(error) => Err(error.into()),
        }
    }
}

/// One type's file being written, under its temporary name.
enum Sink {
    Parquet(ArrowWriter<File>),
    Csv(arrow::csv::Writer<File>),
    Ndjson(BufWriter<File>),
}

struct Output {
    /// The file's format: the one asked for, or NDJSON for events without a table (undecodable ones).
    format: Format,
    temporary: PathBuf,
    table: Option<Table>,
    sink: Sink,
    rows: u64,
}

impl Output {
    fn open(dir: &Path, event_type: &str, format: Format, table: Option<Table>) -> Result<Output, ExportError> {
        let format = if table.is_some() { format } else { Format::Ndjson };
        std::fs::create_dir_all(dir.join(event_type))?;
        let temporary = dir.join(event_type).join(format!(".part.{}.tmp", format.extension()));
        let file = File::create(&temporary)?;
        let sink = match (&table, format) {
            (Some(table), Format::Parquet) => {
                let properties = WriterProperties::builder()
                    .set_compression(Compression::SNAPPY)
                    .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
                    .build();
                Sink::Parquet(ArrowWriter::try_new(file, table.schema(), Some(properties))?)
            }
            (Some(_), Format::Csv) => Sink::Csv(arrow::csv::WriterBuilder::new().with_header(true).build(file)),
            _ => Sink::Ndjson(BufWriter::new(file)),
        };
        Ok(Output { format, temporary, table, sink, rows: 0 })
    }

    fn push(&mut self, event: &HistoryEvent) -> Result<(), ExportError> {
        self.rows += 1;
        match (&mut self.sink, &mut self.table, &event.event) {
            (Sink::Ndjson(file), _, _) => Ok(file.write_all(event.ndjson_line().as_bytes())?),
            (_, Some(table), Ok(decoded)) => {
                table.push(event, &decoded.payload())?;
                if table.rows() >= BATCH_ROWS {
                    self.flush()?;
                }
                Ok(())
            }
            _ => unreachable!("tables are made for the types that decode"),
        }
    }

    fn flush(&mut self) -> Result<(), ExportError> {
        let Some(table) = &mut self.table else { return Ok(()) };
        if table.rows() == 0 {
            return Ok(());
        }
        let batch = table.take()?;
        match &mut self.sink {
            Sink::Parquet(writer) => writer.write(&batch)?,
            Sink::Csv(writer) => writer.write(&batch)?,
            Sink::Ndjson(_) => {}
        }
        Ok(())
    }

    /// Finishes the file and gives it its final name; returns that name.
    fn close(mut self, dir: &Path, event_type: &str, first: i64, last: i64) -> Result<String, ExportError> {
        self.flush()?;
        match self.sink {
            Sink::Parquet(writer) => drop(writer.close()?),
            Sink::Csv(writer) => drop(writer.into_inner()),
            Sink::Ndjson(mut file) => file.flush()?,
        }
        let name = format!("{event_type}/part-{first:012}-{last:012}.{}", self.format.extension());
        std::fs::rename(&self.temporary, dir.join(&name))?;
        Ok(name)
    }
}

/// Where a run stands, for a progress bar: the last position read, and the head of the feed when it started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    pub after: i64,
    pub position: i64,
    pub head: i64,
    pub events: u64,
}

/// Removes what a run that failed left behind: files of ours (`part-…` and temporary ones) in the types'
/// folders that the manifest does not list. Their events are exported again by this run.
fn remove_unlisted_parts(dir: &Path, manifest: &Manifest) -> Result<(), ExportError> {
    let listed: std::collections::HashSet<PathBuf> =
        manifest.runs.iter().flat_map(|run| run.files.values()).map(|file| dir.join(&file.path)).collect();
    let folders = events::Event::TYPES.iter().copied().chain([UNDECODABLE]);
    for folder in folders.map(|name| dir.join(name)).filter(|folder| folder.is_dir()) {
        for entry in std::fs::read_dir(&folder)? {
            let path = entry?.path();
            let name = path.file_name().and_then(|name| name.to_str()).unwrap_or_default();
            let ours = name.starts_with("part-") || (name.starts_with(".part.") && name.ends_with(".tmp"));
            if ours && !listed.contains(&path) {
                tracing::warn!(file = %path.display(), "removing a file a failed export left behind");
                std::fs::remove_file(&path)?;
            }
        }
    }
    Ok(())
}

/// Exports the history into `options.out` and returns what this run wrote (also added to the manifest).
pub async fn export(
    store: &Database,
    options: &ExportOptions,
    progress: &mut dyn FnMut(Progress),
) -> Result<Run, ExportError> {
    let dir = &options.out;
    let mut types = options.types.clone();
    types.sort();
    types.dedup();
    if let Some(unknown) = types.iter().find(|t| !events::Event::TYPES.contains(&t.as_str())) {
        return Err(ExportError::UnknownType(unknown.clone()));
    }
    std::fs::create_dir_all(dir)?;
    let manifest = match Manifest::read(dir)? {
        Some(manifest) if manifest.format != options.format || manifest.types != types => {
            return Err(ExportError::Manifest(format!(
                "{} holds a {:?} export of {}; export into another directory",
                dir.display(),
                manifest.format,
                if manifest.types.is_empty() { "every type".to_owned() } else { manifest.types.join(", ") }
            )));
        }
        Some(manifest) => manifest,
        None => Manifest {
            format: options.format,
            types: types.clone(),
            position: options.after.unwrap_or(0),
            runs: Vec::new(),
        },
    };
    let after = manifest.position;
    let head = history::head(store).await?;
    let recorded_after = match options.until {
        Some(time) => history::first_recorded_after(store, after, time).await?,
        None => None,
    };
    let before = recorded_after.into_iter().chain(options.before).min();
    remove_unlisted_parts(dir, &manifest)?;
    let mut query = HistoryQuery { after, limit: PAGE, types, stream_prefix: None, before };
    let mut outputs: BTreeMap<String, (Output, i64, i64)> = BTreeMap::new();
    let mut events = 0_u64;
    let mut through = after;
    progress(Progress { after, position: after, head, events });
    loop {
        let page = history::read_page(store, &query).await?;
        for event in &page {
            let key = if event.event.is_ok() { event.event_type.as_str() } else { UNDECODABLE };
            if !outputs.contains_key(key) {
                let table = match (options.format, &event.event) {
                    (Format::Ndjson, _) | (_, Err(_)) => None,
                    (_, Ok(_)) => Some(Table::new(key).ok_or_else(|| ExportError::UnknownType(key.to_owned()))?),
                };
                let output = Output::open(dir, key, options.format, table)?;
                outputs.insert(key.to_owned(), (output, event.position, event.position));
            }
            let (output, _, last) = outputs.get_mut(key).unwrap_or_else(|| unreachable!("opened above"));
            output.push(event)?;
            *last = event.position;
        }
        events += page.len() as u64;
        let Some(last) = page.last() else { break };
        through = last.position;
        query.after = through;
        progress(Progress { after, position: through, head, events });
        if (page.len() as i64) < PAGE {
            break;
        }
    }
    let mut files = BTreeMap::new();
    for (event_type, (output, first, last)) in outputs {
        let rows = output.rows;
        let path = output.close(dir, &event_type, first, last)?;
        files.insert(event_type, FileEntry { path, rows });
    }
    let finished_at = OffsetDateTime::now_utc().format(&Rfc3339).unwrap_or_default();
    let run = Run { after, through, events, files, finished_at };
    let mut manifest = manifest;
    manifest.position = through;
    manifest.runs.push(run.clone());
    let text = serde_json::to_string_pretty(&manifest).map_err(|error| ExportError::Manifest(error.to_string()))?;
    let temporary = dir.join(format!("{MANIFEST}.tmp"));
    std::fs::write(&temporary, text + "\n")?;
    std::fs::rename(&temporary, dir.join(MANIFEST))?;
    Ok(run)
}
