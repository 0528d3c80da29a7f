//! The analysts' command: `learnlog export`, the event history as Parquet, CSV or NDJSON files (see the
//! `export` crate), with a progress bar on a terminal. It reaches `DATABASE_URL`, or the data folder's
//! embedded cluster, also while `learnlog up` runs on it.

use std::io::IsTerminal;

use database::Database;
use export::{ExportOptions, Progress, Run};

use crate::config::Config;
use crate::embedded;
use crate::error::Error;

/// Runs an export and returns what to print.
pub async fn export(config: &Config, options: &ExportOptions) -> Result<String, Error> {
    let (cluster, store_url) = embedded::store_url(config).await?;
    let result = async {
        let store = Database::connect(store_url.expose(), 2)?;
        let bar = progress_bar("{bar:40} {pos}/{len} positions, {msg} ({per_sec}, eta {eta})");
        let mut report = |progress: Progress| {
            bar.set_length(u64::try_from(progress.head.saturating_sub(progress.after)).unwrap_or(0));
            bar.set_position(u64::try_from(progress.position.saturating_sub(progress.after)).unwrap_or(0));
            bar.set_message(format!("{} events", progress.events));
        };
        let run = export::export(&store, options, &mut report).await.map_err(|e| Error::Config(e.to_string()))?;
        bar.finish_and_clear();
        Ok(summary(options, &run))
    }
    .await;
    if let Some(cluster) = cluster {
        cluster.stop().await?;
    }
    result
}

/// A progress bar in `template` on standard error when it is a terminal, and nothing otherwise (a log, a
/// pipe): `export` and `replay` report through it.
pub(crate) fn progress_bar(template: &str) -> indicatif::ProgressBar {
    let bar = match std::io::stderr().is_terminal() {
        true => indicatif::ProgressBar::new(0),
        false => indicatif::ProgressBar::hidden(),
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template(template).unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar
}

fn summary(options: &ExportOptions, run: &Run) -> String {
    let mut text = format!(
        "exported {} events (positions {} to {}) into {}",
        run.events,
        run.after + 1,
        run.through,
        options.out.display()
    );
    if run.events == 0 {
        text = format!("nothing new after position {} in {}", run.after, options.out.display());
    }
    for (event_type, file) in &run.files {
        text.push_str(&format!("\n{event_type}\t{}\t{} rows", file.path, file.rows));
    }
    text
}
