//! The projections, one per file. Each applies the events it cares about to its own tables and ignores the
//! rest. Every write is guarded by the stream version, so applying an event twice changes nothing.

mod catalog;
mod commerce;
mod communication;
mod course_document;
mod engagement;
mod enrollments;
mod fx;
mod support;
mod users;

use deadpool_postgres::Transaction;
use events::{Event, RecordedEvent};
use tokio_postgres::types::ToSql;

pub(crate) async fn apply(
    transaction: &Transaction<'_>,
    recorded: &RecordedEvent,
    event: &Event,
) -> Result<(), tokio_postgres::Error> {
    catalog::apply(transaction, recorded, event).await?;
    fx::apply(transaction, recorded, event).await?;
    commerce::apply(transaction, recorded, event).await?;
    enrollments::apply(transaction, recorded, event).await?;
    engagement::apply(transaction, recorded, event).await?;
    support::apply(transaction, recorded, event).await?;
    communication::apply(transaction, recorded, event).await?;
    users::apply(transaction, recorded, event).await
}

/// Whether events of type `next` join a run of `first` that their projection writes many at a time: the same
/// type, and one that only creates rows no other event of the run touches.
pub(crate) fn writes_many(next: &str, first: &str) -> bool {
    next == first && first == "CourseCreated"
}

/// Applies a run of events [`writes_many`] groups, in order, with one statement per projection.
pub(crate) async fn apply_many(
    transaction: &Transaction<'_>,
    run: &[(&RecordedEvent, &Event)],
) -> Result<(), tokio_postgres::Error> {
    let created: Vec<(&RecordedEvent, &events::CourseCreated)> = run
        .iter()
        .filter_map(|(recorded, event)| match event {
            Event::CourseCreated(created) => Some((*recorded, created)),
            _ => None,
        })
        .collect();
    debug_assert_eq!(created.len(), run.len(), "a run holds one type");
    catalog::create_courses(transaction, &created).await
}

/// Runs one statement of a projection, prepared once per connection.
async fn execute(
    transaction: &Transaction<'_>,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<(), tokio_postgres::Error> {
    let statement = transaction.prepare_cached(sql).await?;
    transaction.execute(&statement, params).await.map(drop)
}
