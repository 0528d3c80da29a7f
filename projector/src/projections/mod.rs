//! The projections, one per file. Each applies the events it cares about to its own tables and ignores the
//! rest. Every write is guarded by the stream version, so applying an event twice changes nothing.
//!
//! A projection queues its statements on [`Writes`], which sends them without waiting for their answers
//! (pipelined), so that a batch of events costs about one round trip, not one per statement. PostgreSQL runs
//! them in the order they were sent, so a projection reads as if each statement ran alone, on one condition:
//! nothing it queues depends on the answer of an earlier one. A write that depends on another is one
//! statement (`WITH claimed AS (UPDATE ... RETURNING ...) INSERT ... FROM claimed`).

mod catalog;
mod commerce;
mod communication;
mod conversations;
mod course_document;
mod engagement;
mod enrollments;
mod fx;
pub(crate) mod live;
mod support;
mod users;

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;

use bytes::BytesMut;
use deadpool_postgres::Transaction;
use events::{Event, RecordedEvent};
use futures_util::future::poll_immediate;
use tokio_postgres::types::{IsNull, ToSql, Type, to_sql_checked};
use uuid::Uuid;

use course_document::CourseDocument;

/// Events a projection writes many at a time, one statement for a run of them (a rebuild meets long runs, a
/// busy projector short ones): a run holds events of one kind, each stream at most once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Run {
    /// The catalogue's course events.
    Catalog(catalog::Run),
    /// `LessonViewed`: the enrolments' progress and the trainees' last viewed course.
    LessonsViewed,
}

impl Run {
    /// The projection that writes the run at once; every other one takes its events one by one.
    fn owner(self) -> &'static str {
        match self {
            Run::Catalog(_) => "catalog",
            Run::LessonsViewed => "enrollments",
        }
    }
}

/// The run events of `event_type` join, if any.
pub(crate) fn run_of(event_type: &str) -> Option<Run> {
    match event_type {
        "LessonViewed" => Some(Run::LessonsViewed),
        other => catalog::run_of(other).map(Run::Catalog),
    }
}

/// Whose personal data an event erases: an erasure, or a trainee's deletion. Both destroy the person's key, so
/// a rebuild reads their sealed words as erased; the live read models forget them the same way, so that they
/// equal a rebuild (ARCHITECTURE, invariant 33).
pub(crate) fn erased_person(event: &Event) -> Option<Uuid> {
    match event {
        Event::AccountErased(erased) => Some(erased.user_id),
        Event::TraineeAccountDeleted(deleted) => Some(deleted.user_id),
        _ => None,
    }
}

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
            "platform_revenue_daily",
        ],
    ),
    ("enrollments", &["enrollment_view", "trainee_last_viewed", "course_note", "refund_request_view"]),
    ("engagement", &["course_review", "instructor_review", "instructor_rating"]),
    ("support", &["report_view"]),
    ("communication", &["newsletter_subscriber", "campaign_view"]),
    ("conversations", &["message_view", "conversation_view"]),
    ("users", &["user_directory"]),
    // What users' open streams are told: its table is beside the read-model schemas (`learnlog_meta`), never
    // rebuilt, and written only by the projector that feeds the served schema (`live.rs`).
    // Last, so that `Selection::LIVE` is the last bit.
    (LIVE, &[]),
];

/// The projection that pushes changes to users' open streams.
const LIVE: &str = "live";

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

    /// The live pushes alone.
    pub const LIVE: Selection = Selection(1 << (PROJECTIONS.len() - 1));

    /// Whether the live pushes are selected.
    pub fn pushes(self) -> bool {
        self.0 & Selection::LIVE.0 != 0
    }

    /// These projections but the live pushes: a rebuild's fill tells nobody anything.
    pub fn quiet(self) -> Selection {
        Selection(self.0 & !Selection::LIVE.0)
    }

    /// The projections not selected.
    pub fn others(self) -> Selection {
        Selection(Self::ALL.0 & !self.0)
    }

    /// These projections but `name`.
    fn without(self, name: &str) -> Selection {
        let index = PROJECTIONS.iter().position(|(known, _)| *known == name);
        Selection(self.0 & !index.map_or(0, |index| 1 << index))
    }

    /// The tables of the selected projections.
    pub fn tables(self) -> Vec<&'static str> {
        PROJECTIONS.iter().filter(|(name, _)| self.has(name)).flat_map(|(_, tables)| tables.iter().copied()).collect()
    }
}

pub(crate) async fn apply(
    writes: &mut Writes<'_, '_>,
    recorded: &RecordedEvent,
    event: &Event,
    selection: Selection,
) -> Result<(), tokio_postgres::Error> {
    if selection.has("catalog") {
        catalog::apply(writes, recorded, event).await?;
    }
    apply_beside_catalog(writes, recorded, event, selection).await
}

/// Applies `event` to every selected projection but the catalogue.
async fn apply_beside_catalog(
    writes: &mut Writes<'_, '_>,
    recorded: &RecordedEvent,
    event: &Event,
    selection: Selection,
) -> Result<(), tokio_postgres::Error> {
    if selection.has("fx") {
        fx::apply(writes, recorded, event).await?;
    }
    if selection.has("commerce") {
        commerce::apply(writes, recorded, event).await?;
    }
    if selection.has("enrollments") {
        enrollments::apply(writes, recorded, event).await?;
    }
    if selection.has("engagement") {
        engagement::apply(writes, recorded, event).await?;
    }
    if selection.has("support") {
        support::apply(writes, recorded, event).await?;
    }
    if selection.has("communication") {
        communication::apply(writes, recorded, event).await?;
    }
    if selection.has("conversations") {
        conversations::apply(writes, recorded, event).await?;
    }
    if selection.has("users") {
        users::apply(writes, recorded, event).await?;
    }
    // Last: a push announces what the projections above wrote.
    if selection.has(LIVE) {
        live::apply(writes, recorded, event).await?;
    }
    Ok(())
}

/// Applies a run of events (of one kind by [`run_of`], each stream once, in order): the projection that owns
/// the run writes it in one statement; the other projections take each event as it comes.
pub(crate) async fn apply_many(
    writes: &mut Writes<'_, '_>,
    run: &[(&RecordedEvent, &Event)],
    selection: Selection,
) -> Result<(), tokio_postgres::Error> {
    let kind = run.first().and_then(|(recorded, _)| run_of(&recorded.event_type));
    let mut others = selection;
    if let Some(kind) = kind.filter(|kind| selection.has(kind.owner())) {
        match kind {
            Run::Catalog(_) => catalog::apply_many(writes, run).await?,
            Run::LessonsViewed => enrollments::lessons_viewed(writes, run).await?,
        }
        others = selection.without(kind.owner());
    }
    for (recorded, event) in run {
        apply(writes, recorded, event, others).await?;
    }
    Ok(())
}

/// Statements that may be sent before the answers to the earlier ones come back; beyond, [`Writes`] waits.
const IN_FLIGHT: usize = 1024;

type Pending<'a> = Pin<Box<dyn Future<Output = Result<u64, tokio_postgres::Error>> + Send + 'a>>;

/// The writes of the projections in one transaction, sent in order without waiting for each answer. A
/// failure is reported by a later call, at the latest by [`Writes::flush`], which waits for every answer in
/// order and returns the first failure (the statements after it fail too: the transaction is aborted).
/// Anything else run on the transaction waits for [`Writes::flush`] first: awaiting an answer while earlier
/// ones are unread could stall the connection.
pub(crate) struct Writes<'a, 't> {
    transaction: &'a Transaction<'t>,
    pending: Vec<Pending<'a>>,
    /// The course documents read in this transaction, as the writes sent so far leave them: the version of
    /// the last event that changed each, and the document (`None`: the stored one does not decode).
    documents: HashMap<Uuid, (i64, Option<CourseDocument>)>,
}

impl<'a, 't> Writes<'a, 't> {
    pub(crate) fn new(transaction: &'a Transaction<'t>) -> Self {
        Writes { transaction, pending: Vec::new(), documents: HashMap::new() }
    }

    /// Sends `sql` with `params`, prepared once per connection, without waiting for its answer.
    pub(crate) async fn execute(
        &mut self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<(), tokio_postgres::Error> {
        let transaction = self.transaction;
        let prepare = transaction.prepare_cached(sql);
        tokio::pin!(prepare);
        let statement = match poll_immediate(prepare.as_mut()).await {
            Some(prepared) => prepared?,
            // Not prepared on this connection yet: its answer comes after those of the writes sent before.
            None => {
                self.flush().await?;
                prepare.await?
            }
        };
        // The values are encoded now, so that the statement can be sent after the borrow of them ends.
        let values: Vec<Encoded> = params
            .iter()
            .enumerate()
            .map(|(index, value)| Encoded::new(*value, statement.params().get(index)))
            .collect();
        let mut write: Pending<'a> = Box::pin(async move { transaction.execute_raw(&statement, values).await });
        // The first poll sends it. A failure already (a value its type refuses) comes after those sent before.
        if let Some(done) = poll_immediate(write.as_mut()).await {
            return self.settle(done.map(drop)).await;
        } else {
            self.pending.push(write);
        }
        if self.pending.len() >= IN_FLIGHT {
            self.flush().await?;
        }
        Ok(())
    }

    /// Waits for the answers to every write sent, in order; the first failure, if any.
    pub(crate) async fn flush(&mut self) -> Result<(), tokio_postgres::Error> {
        for write in self.pending.drain(..) {
            write.await?;
        }
        Ok(())
    }

    /// `outcome`, once every write sent before it is answered: the first failure in order wins, as if each
    /// statement had run alone (a failure of the writes before it comes first).
    pub(crate) async fn settle<E: From<tokio_postgres::Error>>(&mut self, outcome: Result<(), E>) -> Result<(), E> {
        match self.flush().await {
            Err(earlier) => Err(earlier.into()),
            Ok(()) => outcome,
        }
    }

    /// The transaction, for a read, once every write sent has been answered.
    async fn read(&mut self) -> Result<&'a Transaction<'t>, tokio_postgres::Error> {
        self.flush().await?;
        Ok(self.transaction)
    }

    /// Forgets what was read, once every write is answered: the writes since were rolled back (to a savepoint).
    pub(crate) fn forget(&mut self) {
        debug_assert!(self.pending.is_empty(), "flushed before a rollback");
        self.documents.clear();
    }
}

/// A statement's value, already in PostgreSQL's binary form for its parameter's type (or why it cannot be).
#[derive(Debug)]
struct Encoded(Result<Option<BytesMut>, String>);

impl Encoded {
    fn new(value: &(dyn ToSql + Sync), ty: Option<&Type>) -> Self {
        let Some(ty) = ty else { return Encoded(Ok(None)) };
        let mut out = BytesMut::new();
        Encoded(match value.to_sql_checked(ty, &mut out) {
            Ok(IsNull::Yes) => Ok(None),
            Ok(IsNull::No) => Ok(Some(out)),
            Err(error) => Err(error.to_string()),
        })
    }
}

impl ToSql for Encoded {
    fn to_sql(&self, _ty: &Type, out: &mut BytesMut) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match &self.0 {
            Ok(None) => Ok(IsNull::Yes),
            Ok(Some(bytes)) => {
                out.extend_from_slice(bytes);
                Ok(IsNull::No)
            }
            Err(error) => Err(error.clone().into()),
        }
    }

    /// Encoded for its parameter's type already.
    fn accepts(_ty: &Type) -> bool {
        true
    }

    to_sql_checked!();
}
