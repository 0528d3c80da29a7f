//! `learnlog replay`: a blue/green rebuild of the read models into a fresh schema, switched to while the
//! query API serves; or a snapshot of them as of a time or a position, served read-only under
//! `/api/v1/as-of/{name}/...`; and the list and removal of such schemas. See `projector::replay`.

use database::Database;
use event_store::keys::KeyRing;
use projector::Selection;
use projector::replay::{self, Built, Until};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::config::Config;
use crate::embedded;
use crate::error::Error;

/// What to build.
#[derive(Debug, Clone, Default)]
pub struct ReplayOptions {
    /// The new schema's name; by default `rm_<time>` for a rebuild and `asof_<time>` for a snapshot.
    pub schema: Option<String>,
    /// A snapshot of the events recorded at or before this time.
    pub as_of: Option<OffsetDateTime>,
    /// A snapshot of the events up to this position.
    pub position: Option<i64>,
    /// Rebuild only these projections (`projector::PROJECTIONS`); the others' tables are taken from the served
    /// schema at the switch. Every projection when empty.
    pub projections: Vec<String>,
}

/// What `learnlog replay` was asked to do.
#[derive(Debug, Clone)]
pub enum ReplayTask {
    Build(ReplayOptions),
    List,
    Drop { name: String },
}

fn failed(error: impl std::fmt::Display) -> Error {
    Error::Config(error.to_string())
}

/// Runs `task` against `DATABASE_URL` and `LEARNLOG_READ_DATABASE_URL`, or the data folder's cluster (also
/// while `learnlog up` runs on it), and returns what to print.
pub async fn replay(config: &Config, task: ReplayTask) -> Result<String, Error> {
    let (cluster, store_url) = embedded::store_url(config).await?;
    let read_url = config.read_database_url.clone().unwrap_or_else(|| store_url.clone());
    let result = async {
        let store = Database::connect(store_url.expose(), 2)?;
        let read = Database::connect(read_url.expose(), 2)?;
        match task {
            ReplayTask::Build(options) => {
                let data_key =
                    std::sync::Arc::new(crate::secret::data_key(config.data_key.as_ref(), &config.data_dir)?);
                build(&store, &read, &KeyRing::new(store.clone(), data_key), &options).await
            }
            ReplayTask::List => list(&read).await,
            ReplayTask::Drop { name } => drop_schema(&read, &name).await,
        }
    }
    .await;
    if let Some(cluster) = cluster {
        cluster.stop().await?;
    }
    result
}

/// Builds a schema and, for a rebuild, switches to it. Used by the command and the benchmark.
pub async fn build(
    store: &Database,
    read: &Database,
    keyring: &KeyRing,
    options: &ReplayOptions,
) -> Result<String, Error> {
    let until = match (options.as_of, options.position) {
        (Some(_), Some(_)) => return Err(Error::Config("give --as-of or --position, not both".into())),
        (Some(at), None) => Until::Time(at),
        (None, Some(position)) => Until::Position(position),
        (None, None) => Until::Head,
    };
    let snapshot = until != Until::Head;
    let selection = match options.projections.is_empty() {
        true => Selection::ALL,
        false => Selection::of(&options.projections).map_err(|unknown| {
            let known: Vec<&str> = projector::PROJECTIONS.iter().map(|(name, _)| *name).collect();
            Error::Config(format!("there is no projection {unknown:?}; there are {}", known.join(", ")))
        })?,
    };
    if snapshot && selection != Selection::ALL {
        return Err(Error::Config("a snapshot holds every projection; leave out --projections".into()));
    }
    let now = OffsetDateTime::now_utc();
    let stamp = format!(
        "{:04}{:02}{:02}_{:02}{:02}{:02}",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second()
    );
    let name = options.schema.clone().unwrap_or_else(|| format!("{}_{stamp}", if snapshot { "asof" } else { "rm" }));
    if !migrations::is_schema_name(&name) || name == "public" {
        return Err(Error::Config(format!(
            "{name:?} cannot name a schema: use lower-case letters, digits and _, starting with a letter"
        )));
    }
    let mut client = read.connect_single().await?;
    migrations::create_read_schema(&mut client, &name).await?;
    // Built after the fill, before the switch: a GIN index takes a fill's rows faster in one build.
    let deferred = migrations::defer_gin_indexes(&client, &name).await?;
    // Listed before it is filled: erasures reach it from the start, and a build that fails shows in
    // `learnlog replay list` and can be dropped.
    let mut built = Built {
        name: name.clone(),
        kind: "building".to_owned(),
        as_of: options.as_of,
        position: 0,
        events: 0,
        built_at: OffsetDateTime::now_utc(),
    };
    replay::record(read, &built).await.map_err(failed)?;
    let bar = crate::analytics::progress_bar("{bar:40} {pos}/{len} positions ({per_sec}, eta {eta})");
    let mut report = |position: i64, head: i64| {
        bar.set_length(u64::try_from(head).unwrap_or(0));
        bar.set_position(u64::try_from(position).unwrap_or(0));
    };
    let filled = replay::fill(store, read, keyring, &name, until, selection, &mut report).await.map_err(failed)?;
    bar.finish_and_clear();
    migrations::build_indexes(&client, deferred).await?;
    drop(client);
    let rate = filled.events as f64 / filled.seconds.max(0.001);
    let mut text = format!(
        "built {name}: {} events up to position {} in {:.1} s ({rate:.0} events/s)",
        filled.events, filled.position, filled.seconds
    );
    built.kind = if snapshot { "snapshot" } else { "rebuild" }.to_owned();
    built.position = filled.position;
    built.events = i64::try_from(filled.events).unwrap_or(i64::MAX);
    built.built_at = OffsetDateTime::now_utc();
    if !snapshot {
        // What came during the fill, outside the switch's lock, so that the lock is held briefly.
        let more =
            replay::fill(store, read, keyring, &name, Until::Head, selection, &mut |_, _| {}).await.map_err(failed)?;
        let switched = replay::switch(store, read, keyring, &name, selection).await.map_err(failed)?;
        built.position = switched.position;
        built.events += i64::try_from(more.events + switched.caught_up).unwrap_or(0);
        let kept = match switched.previous.as_str() {
            "public" => "public keeps its read-model tables, no longer served or fed (it is never dropped)".to_owned(),
            previous => format!("{previous} stays until `learnlog replay drop {previous}`"),
        };
        text.push_str(&format!(
            "\nswitched from {} to {name} at position {} ({} events applied under the lock); {kept}",
            switched.previous, switched.position, switched.caught_up
        ));
    } else {
        text.push_str(&format!("\nserved read-only under /api/v1/as-of/{name}/"));
    }
    replay::record(read, &built).await.map_err(failed)?;
    Ok(text)
}

async fn list(read: &Database) -> Result<String, Error> {
    let (served, built) = replay::schemas(read).await.map_err(failed)?;
    let mut text = format!("served: {served}\nname\tkind\tas of\tposition\tevents\tbuilt at");
    for schema in built {
        let time =
            |at: Option<OffsetDateTime>| at.and_then(|at| at.format(&Rfc3339).ok()).unwrap_or_else(|| "-".into());
        text.push_str(&format!(
            "\n{}\t{}\t{}\t{}\t{}\t{}",
            schema.name,
            schema.kind,
            time(schema.as_of),
            schema.position,
            schema.events,
            time(Some(schema.built_at))
        ));
    }
    Ok(text)
}

async fn drop_schema(read: &Database, name: &str) -> Result<String, Error> {
    if !migrations::is_schema_name(name) || name == "public" {
        return Err(Error::Config(format!("{name:?} is not a schema `learnlog replay` built")));
    }
    let (served, built) = replay::schemas(read).await.map_err(failed)?;
    if served == name {
        return Err(Error::Config(format!("{name} is served; switch to another schema first")));
    }
    if !built.iter().any(|schema| schema.name == name) {
        return Err(Error::Config(format!(
            "{name} is not a schema `learnlog replay` built (see `learnlog replay list`)"
        )));
    }
    let mut client = read.connect_single().await?;
    migrations::drop_read_schema(&mut client, name).await?;
    Ok(format!("dropped {name}"))
}
