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

/// Every projection by name, in the order an event is applied to them, with the tables it owns and only it
/// writes (ARCHITECTURE, invariant 19). The other read-model tables are the projector's own: checkpoints,
/// stream versions, dead letters.
pub const PROJECTIONS: &[(&str, &[&str])] = &[
    ("catalog", &["catalog_course", "course_document", "course_discount", "catalog_instructor"]),
    ("fx", &["fx_rates"]),
    (
        "commerce",
        &[
            "cart_item",
            "wishlist_item",
            "order_view",
            "wallet_view",
            "wallet_txn",
            "instructor_ledger_view",
            "instructor_revenue_monthly",
            "instructor_course_earnings",
        ],
    ),
    ("enrollments", &["enrollment_view", "trainee_last_viewed", "trainee_notes", "refund_request_view"]),
    ("engagement", &["course_review", "instructor_review", "instructor_rating"]),
    ("support", &["report_view"]),
    ("communication", &["newsletter_subscriber", "campaign_view"]),
    ("users", &["user_directory"]),
];

/// Which projections apply events: every one, or some (a rebuild of named projections).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Selection(u16);

impl Selection {
    pub const ALL: Selection = Selection((1 << PROJECTIONS.len()) - 1);

    /// The projections named, or the first unknown name.
    pub fn of(names: &[String]) -> Result<Selection, String> {
        let mut bits = 0;
        for name in names {
            let index = PROJECTIONS.iter().position(|(known, _)| known == name).ok_or_else(|| name.clone())?;
            bits |= 1 << index;
        }
        Ok(Selection(bits))
    }

    pub fn has(self, name: &str) -> bool {
        PROJECTIONS.iter().position(|(known, _)| *known == name).is_some_and(|index| self.0 & (1 << index) != 0)
    }

    /// The projections not selected.
    pub fn others(self) -> Selection {
        Selection(Self::ALL.0 & !self.0)
    }

    /// The tables of the selected projections.
    pub fn tables(self) -> Vec<&'static str> {
        PROJECTIONS.iter().filter(|(name, _)| self.has(name)).flat_map(|(_, tables)| tables.iter().copied()).collect()
    }
}

pub(crate) async fn apply(
    transaction: &Transaction<'_>,
    recorded: &RecordedEvent,
    event: &Event,
    selection: Selection,
) -> Result<(), tokio_postgres::Error> {
    if selection.has("catalog") {
        catalog::apply(transaction, recorded, event).await?;
    }
    if selection.has("fx") {
        fx::apply(transaction, recorded, event).await?;
    }
    if selection.has("commerce") {
        commerce::apply(transaction, recorded, event).await?;
    }
    if selection.has("enrollments") {
        enrollments::apply(transaction, recorded, event).await?;
    }
    if selection.has("engagement") {
        engagement::apply(transaction, recorded, event).await?;
    }
    if selection.has("support") {
        support::apply(transaction, recorded, event).await?;
    }
    if selection.has("communication") {
        communication::apply(transaction, recorded, event).await?;
    }
    if selection.has("users") {
        users::apply(transaction, recorded, event).await?;
    }
    Ok(())
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
    selection: Selection,
) -> Result<(), tokio_postgres::Error> {
    if !selection.has("catalog") {
        return Ok(());
    }
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
