//! The process managers (DOMAIN.md, "Sagas"): loops that follow the event feed from a stored checkpoint and
//! answer some events with commands, sent through the command API's one pipeline. They decide nothing a
//! decider should: they only know which command follows which event.
//!
//! Invariants (ARCHITECTURE.md, "Sagas"):
//! - at least once: the checkpoint moves only after every event before it was handled, so a crash re-runs
//!   the events since the last checkpoint;
//! - harmless redelivery: every command carries an Idempotency-Key derived from the causing event's id and
//!   the step, and every step's decider changes nothing when the step already happened;
//! - a stream's events are handled in order; different streams' events at the same time;
//! - nothing stalls everything: an event whose command is refused for good, or that does not decode, parks
//!   its stream in `dead_letters` (its later events wait behind it); transient failures (a database
//!   down, a lost race) are retried with backoff.

mod access;
mod accounts;
mod catalogue;
mod certificates;
mod checkout;
mod handled;
pub mod lessons;
mod newsletter;
mod pictures;
mod progress;
mod recovery;
mod refunds;

use std::collections::HashSet;
use std::future::Future;
use std::time::Duration;

use command_api::{Cause, Checkout, StepError};
use database::Database;
use events::{Event, RecordedEvent};
use futures_util::StreamExt;
pub use handled::{SUBSCRIBER, SagaCheckpoints};
use subscriptions::dead_letters::DeadLetters;
use subscriptions::{Backoff, EventSource, FeedSource, SourcedEvent, by_stream, next_batch_patiently, patiently};

/// The checkpoint name of the sagas of this version.
pub const SAGAS: &str = "checkout";
/// Events read per round.
const BATCH_SIZE: usize = 200;
/// How often the sagas look for streams an operator asked to retry.
const RETRY_SWEEP: Duration = Duration::from_secs(1);
/// Streams whose events are handled at the same time.
const CONCURRENT_STREAMS: usize = 32;
const RETRY_AFTER: Duration = Duration::from_millis(100);
const RETRY_AT_MOST: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum SagaError {
    #[error("no event store connection: {0}")]
    Pool(#[from] deadpool_postgres::PoolError),
    #[error(transparent)]
    Postgres(#[from] tokio_postgres::Error),
    #[error(transparent)]
    Read(#[from] event_store::ReadError),
}

/// Why handling one event failed.
#[derive(Debug)]
enum Failure {
    /// Worth trying again: a dependency down, a lost race.
    Transient(String),
    /// Will fail again until someone fixes something: park the stream.
    Permanent(String),
    /// What the step needs is on its way (a read model a moment behind the event): tried again shortly,
    /// without a warning.
    NotYet(String),
}

impl From<lookups::LookupError> for Failure {
    fn from(error: lookups::LookupError) -> Self {
        Failure::Transient(error.to_string())
    }
}

impl From<StepError> for Failure {
    /// A command that may go through later (a race lost every time, the store down) is retried; one the
    /// rules refuse, or that cannot be decided, fails again: its stream is parked.
    fn from(error: StepError) -> Self {
        let transient = error.is_transient();
        let text = error
            .map_refusal(|problem| {
                let cause = problem.cause.as_deref().map(|cause| format!(" ({cause})")).unwrap_or_default();
                format!("{} {}: {}{cause}", problem.status.as_u16(), problem.code, problem.detail)
            })
            .to_string();
        if transient { Failure::Transient(text) } else { Failure::Permanent(text) }
    }
}

/// The sagas of one process, over the event store's feed.
#[derive(Debug)]
pub struct Sagas {
    store: Database,
    /// The reads of the read models the sagas make (who holds a course, who learns it, ...).
    read: lookups::Lookups,
    checkout: Checkout,
    stalled_after: Duration,
    /// Whether the sweep also fulfils paid orders whose `OrderPaid` was not handled in time: an operator's
    /// safety net under delivery, counted when it repairs anything; never what makes delivery correct.
    paid_order_sweep: bool,
    mailing: certificates::Mailing,
    dead_letters: DeadLetters,
    /// Where lessons without minutes are measured (R15), if anywhere.
    video_lengths: Option<lessons::VideoLengths>,
}

impl Sagas {
    /// `checkout` sends the commands; `read` answers which carts and wishlists hold a course.
    pub fn new(store: Database, read: Database, checkout: Checkout) -> Self {
        let mailing = certificates::Mailing {
            store: store.clone(),
            read: read.clone(),
            frontend_url: command_api::DEFAULT_FRONTEND_URL.to_owned(),
            codes: checkout.certificate_codes(),
        };
        let dead_letters = DeadLetters::new(store.clone(), handled::SUBSCRIBER);
        Sagas {
            store,
            read: lookups::Lookups::new(read),
            checkout,
            stalled_after: recovery::STALLED_AFTER,
            paid_order_sweep: true,
            mailing,
            dead_letters,
            video_lengths: None,
        }
    }

    /// Lessons without minutes take their video's length from `lengths` (R15).
    pub fn measuring_videos(mut self, lengths: lessons::VideoLengths) -> Self {
        self.video_lengths = Some(lengths);
        self
    }

    /// Links in emails (a certificate's verification page) point to `frontend_url`.
    pub fn linking_to(mut self, frontend_url: &str) -> Self {
        frontend_url.clone_into(&mut self.mailing.frontend_url);
        self
    }

    /// Switches the sweep of paid but unfulfilled orders on or off (`LEARNLOG_PAID_ORDER_SWEEP`).
    pub fn sweeping_paid_orders(self, on: bool) -> Self {
        Sagas { paid_order_sweep: on, ..self }
    }

    /// Finishes stalled orders after `grace` instead of [`recovery::STALLED_AFTER`] (tests).
    pub fn finishing_stalled_orders_after(self, grace: Duration) -> Self {
        Sagas { stalled_after: grace, ..self }
    }

    /// Follows the feed from the stored checkpoint until `shutdown` completes; the event in hand is finished
    /// first.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        let start = loop {
            match handled::feed_position(&self.store).await {
                Ok(position) => break position,
                Err(error) => {
                    tracing::warn!(%error, "cannot read the sagas' checkpoint yet; retrying");
                    tokio::select! {
                        () = &mut shutdown => return,
                        () = tokio::time::sleep(Duration::from_secs(1)) => {}
                    }
                }
            }
        };
        tracing::info!(position = start, "sagas starting on the feed");
        let source = FeedSource::new(self.store.clone(), start);
        self.run_on(source, shutdown).await;
    }

    /// Follows `source` until `shutdown` completes. A batch is acknowledged (Kafka offsets committed, the
    /// feed checkpoint stored) only once every event of it was handled.
    pub async fn run_on(self, source: impl EventSource, shutdown: impl Future<Output = ()>) {
        tokio::select! {
            () = self.follow(source, shutdown) => {}
            () = self.retry_when_asked() => {}
            () = self.finish_stalled_orders() => {}
        }
    }

    /// Finishes orders whose request stopped before settling them, every few seconds.
    async fn finish_stalled_orders(&self) {
        loop {
            tokio::time::sleep(recovery::SWEEP_EVERY.min(self.stalled_after)).await;
            let sweep = recovery::finish_stalled(&self.checkout, &self.read, self.stalled_after, self.paid_order_sweep);
            if let Err(failure) = sweep.await {
                tracing::warn!(?failure, "finishing stalled orders failed; trying again later");
            }
        }
    }

    /// Handles what an operator asked to retry (`learnlog dead-letters retry --subscriber sagas`), once a second.
    async fn retry_when_asked(&self) {
        loop {
            tokio::time::sleep(RETRY_SWEEP).await;
            let streams = match self.dead_letters.to_retry().await {
                Ok(streams) => streams,
                Err(error) => {
                    tracing::warn!(%error, "reading the sagas' retries failed");
                    continue;
                }
            };
            for stream_id in streams {
                if let Err(error) = self.retry_stream(&stream_id).await {
                    tracing::warn!(%error, stream = %stream_id, "retrying a parked stream failed; trying again");
                }
            }
        }
    }

    /// Handles the held-back events of `stream_id` in order, until one fails.
    async fn retry_stream(&self, stream_id: &str) -> Result<(), SagaError> {
        // Events parked by the live loop while this ran are picked up by the next round.
        for recorded in self.dead_letters.held_back(stream_id).await? {
            match self.handle(&recorded).await {
                Ok(()) => self.dead_letters.release(&recorded).await?,
                Err(Failure::Transient(error) | Failure::NotYet(error)) => {
                    tracing::warn!(stream = %stream_id, %error, "a retried event failed; it is tried again later");
                    return Ok(());
                }
                Err(Failure::Permanent(error)) => {
                    tracing::error!(stream = %stream_id, position = recorded.position, %error, "a retried event failed again");
                    return Ok(self.dead_letters.park_again(&recorded, &error).await?);
                }
            }
        }
        tracing::info!(stream = %stream_id, "a parked stream was retried and goes on");
        Ok(())
    }

    async fn follow(&self, mut source: impl EventSource, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        let mut backoff = Backoff::new(RETRY_AFTER, RETRY_AT_MOST);
        loop {
            let Some(batch) = next_batch_patiently(&mut source, BATCH_SIZE, &mut backoff, &mut shutdown).await else {
                return;
            };
            if batch.is_empty() {
                continue;
            }
            // What Kafka delivered again is skipped; records lost on the way are read from the store and
            // handled first (invariant 30).
            let checked = patiently("checking a batch for what was handled", &mut backoff, &mut shutdown, || {
                handled::unhandled(&self.store, &batch)
            });
            let Some(unhandled) = checked.await else { return };
            tokio::select! {
                () = &mut shutdown => return,
                () = self.handle_batch(&unhandled) => {}
            }
            let recorded = patiently("recording what the sagas handled", &mut backoff, &mut shutdown, || {
                handled::record(&self.store, &batch)
            });
            if recorded.await.is_none() {
                return;
            }
            source.acknowledge(&batch).await;
            backoff.reset();
        }
    }

    /// Handles a batch: the events of one stream in order, different streams at the same time (up to
    /// [`CONCURRENT_STREAMS`]), since a stream's events are the only ones whose order a saga relies on.
    async fn handle_batch(&self, batch: &[SourcedEvent]) {
        futures_util::stream::iter(by_stream(batch))
            .for_each_concurrent(CONCURRENT_STREAMS, |events| async move {
                for event in events {
                    self.handle_until_done(event).await;
                }
            })
            .await;
    }

    /// Handles `recorded`, retrying transient failures, parking its stream on a permanent one.
    async fn handle_until_done(&self, recorded: &RecordedEvent) {
        // Most events need no saga: they skip the dead-letter lookup as well.
        if !Reaction::needed_by(recorded) {
            return;
        }
        let mut backoff = Backoff::new(RETRY_AFTER, RETRY_AT_MOST);
        loop {
            let parked: HashSet<String> = match self.dead_letters.held_streams(&[&recorded.stream_id]).await {
                Ok(parked) => parked,
                Err(error) => {
                    tracing::warn!(%error, "reading the sagas' dead letters failed; retrying");
                    tokio::time::sleep(backoff.next_wait()).await;
                    continue;
                }
            };
            let outcome = if parked.contains(&recorded.stream_id) {
                self.dead_letters.park(recorded, None).await.map_err(|e| Failure::Transient(e.to_string()))
            } else {
                self.handle(recorded).await
            };
            match outcome {
                Ok(()) => return,
                Err(Failure::Permanent(error)) => {
                    tracing::error!(
                        stream = %recorded.stream_id,
                        position = recorded.position,
                        event_type = %recorded.event_type,
                        %error,
                        "a saga cannot act on an event; its stream is parked"
                    );
                    match self.dead_letters.park(recorded, Some(&error)).await {
                        Ok(()) => return,
                        Err(error) => tracing::warn!(%error, "parking an event failed; retrying"),
                    }
                }
                Err(Failure::Transient(error)) => {
                    tracing::warn!(stream = %recorded.stream_id, %error, "a saga step failed; retrying");
                }
                Err(Failure::NotYet(error)) => {
                    tracing::debug!(stream = %recorded.stream_id, %error, "a saga step waits; retrying");
                }
            }
            tokio::time::sleep(backoff.next_wait()).await;
        }
    }

    async fn handle(&self, recorded: &RecordedEvent) -> Result<(), Failure> {
        let event = recorded.decode().map_err(|error| Failure::Permanent(error.to_string()))?;
        let cause = Cause { event_id: recorded.event_id, correlation_id: recorded.metadata.correlation_id };
        let reacted = match Reaction::to(&event) {
            Some(Reaction::Checkout) => checkout::react(&self.checkout, &cause, &event).await,
            Some(Reaction::Progress) => progress::react(&self.checkout, &self.read, &cause, &event).await,
            Some(Reaction::Catalogue) => catalogue::react(&self.checkout, &self.read, &cause, &event).await,
            Some(Reaction::Refund) => refunds::react(&self.checkout, &cause, &event).await,
            Some(Reaction::Access) => access::react(&self.checkout, &cause, &event).await,
            Some(Reaction::Campaign) => newsletter::react(&self.checkout, &self.read, &cause, &event).await,
            Some(Reaction::Account) => accounts::react(&self.checkout, &cause, &event).await,
            Some(Reaction::Certificate) => {
                certificates::react(&self.checkout, &self.mailing, &cause, recorded, &event).await
            }
            Some(Reaction::Pictures | Reaction::Lessons) | None => Ok(()),
        };
        reacted?;
        // A lesson without minutes is measured (after its progress step, for a lesson added).
        if let Some(lengths) = &self.video_lengths {
            lessons::react(lengths, &self.checkout, &cause, &event).await?;
        }
        // After the saga the event has, if any: a picture no longer shown leaves storage.
        pictures::react(&self.checkout, &event).await
    }
}

/// Which saga answers an event; most events have none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reaction {
    Checkout,
    Progress,
    Catalogue,
    Certificate,
    Refund,
    Access,
    Campaign,
    Account,
    /// Only the pictures (which every reaction is followed by).
    Pictures,
    /// Only a lesson's length, measured (which every reaction is followed by).
    Lessons,
}

impl Reaction {
    fn to(event: &Event) -> Option<Reaction> {
        match event {
            Event::OrderPaid(_) | Event::OrderLineRefunded(_) => Some(Reaction::Checkout),
            Event::LessonAdded(_) | Event::LessonRemoved(_) | Event::SectionRemoved(_) => Some(Reaction::Progress),
            Event::CourseRetired(_) | Event::CourseDeleted(_) => Some(Reaction::Catalogue),
            Event::CertificateIssued(_) | Event::CertificateEmailRequested(_) => Some(Reaction::Certificate),
            Event::RefundApproved(_) => Some(Reaction::Refund),
            Event::CourseAccessRequestChanged(_) => Some(Reaction::Access),
            Event::CampaignCreated(_) => Some(Reaction::Campaign),
            Event::TraineeAccountDeleted(_) | Event::AccountErased(_) => Some(Reaction::Account),
            Event::ProfilePictureSet(_) | Event::CourseThumbnailSet(_) => Some(Reaction::Pictures),
            Event::LessonUpdated(_) if lessons::wanted(event).is_some() => Some(Reaction::Lessons),
            _ => None,
        }
    }

    /// Whether `recorded` needs a saga at all. A type this version cannot read might: it parks its stream.
    fn needed_by(recorded: &RecordedEvent) -> bool {
        recorded.decode().map_or(true, |event| Reaction::to(&event).is_some())
    }
}
