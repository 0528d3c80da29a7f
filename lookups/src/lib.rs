//! The reads other components make of the read models, as a small typed API: the sagas ask who holds a
//! course in a cart or wishlist, who has an open access request for it, who learns it, who gets a campaign and
//! which orders stalled, and never write SQL against the projector's tables. The projections that own those
//! tables (`projector/src/projections`) and these queries change together, in one place; the sagas' scenarios
//! (`commerce.rs`, `learning.rs`, `newsletter.rs`, `support.rs`) run every one of them.
//!
//! Every answer is as of the read models, which follow the events: a caller acts on what may be a moment
//! old, and the write side decides (a saga's command is refused or is a no-op when the truth differs).

use std::time::Duration;

use database::Database;
use events::communication::Audience;
use uuid::Uuid;

/// A read that failed: the read models' database is unavailable or refused the query. Worth trying again.
#[derive(Debug, thiserror::Error)]
#[error("reading the read models failed: {0}")]
pub struct LookupError(String);

impl From<deadpool_postgres::PoolError> for LookupError {
    fn from(error: deadpool_postgres::PoolError) -> Self {
        LookupError(error.to_string())
    }
}

impl From<tokio_postgres::Error> for LookupError {
    fn from(error: tokio_postgres::Error) -> Self {
        LookupError(database::error_summary(&error))
    }
}

/// A trainee's list that can hold a course.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum List {
    Cart,
    Wishlist,
}

/// Where an order stands, for [`Lookups::orders_still`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stalled {
    /// Placed and not settled since.
    Placed,
    /// Paid and not fulfilled since.
    Paid,
}

/// One subscriber a campaign goes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    pub subscription_id: Uuid,
    pub email: String,
    /// The label of the address, for the unsubscribe link.
    pub label: String,
}

/// The typed reads of the read models in one database.
#[derive(Debug, Clone)]
pub struct Lookups {
    read: Database,
}

impl Lookups {
    pub fn new(read: Database) -> Self {
        Lookups { read }
    }

    /// The trainees whose `list` holds `course_id`.
    pub async fn holders(&self, list: List, course_id: Uuid) -> Result<Vec<Uuid>, LookupError> {
        let sql = match list {
            List::Cart => "SELECT trainee_id FROM cart_item WHERE course_id = $1 ORDER BY trainee_id",
            List::Wishlist => "SELECT trainee_id FROM wishlist_item WHERE course_id = $1 ORDER BY trainee_id",
        };
        self.ids(sql, &[&course_id]).await
    }

    /// The trainees with an access request for `course_id` that no one resolved yet.
    pub async fn open_access_requests(&self, course_id: Uuid) -> Result<Vec<Uuid>, LookupError> {
        let sql = "SELECT user_id FROM report_view WHERE course_id = $1 AND kind = 'course_request' \
                   AND status IN ('unseen', 'pending') ORDER BY user_id";
        self.ids(sql, &[&course_id]).await
    }

    /// The trainees with an active enrolment in `course_id`.
    pub async fn active_learners(&self, course_id: Uuid) -> Result<Vec<Uuid>, LookupError> {
        let sql = "SELECT trainee_id FROM enrollment_view WHERE course_id = $1 AND status = 'active' \
                   ORDER BY trainee_id";
        self.ids(sql, &[&course_id]).await
    }

    /// The confirmed newsletter subscribers a campaign for `audience` goes to, by subscription.
    pub async fn campaign_recipients(&self, audience: Audience) -> Result<Vec<Recipient>, LookupError> {
        let roles: &[&str] = match audience {
            Audience::Subscribers => &[],
            Audience::Trainees => &["individual_trainee", "corporate_trainee"],
            Audience::Instructors => &["instructor"],
        };
        let client = self.read.pool().get().await?;
        let rows = client
            .query(
                "SELECT s.subscription_id, s.email, s.label FROM newsletter_subscriber s \
                 WHERE s.confirmed AND (cardinality($1::text[]) = 0 OR EXISTS (SELECT 1 FROM user_directory u \
                     WHERE lower(u.email) = s.email AND u.role = ANY($1))) ORDER BY s.subscription_id",
                &[&roles],
            )
            .await?;
        rows.iter()
            .map(|row| {
                Ok(Recipient { subscription_id: row.try_get(0)?, email: row.try_get(1)?, label: row.try_get(2)? })
            })
            .collect()
    }

    /// Orders still `stalled` longer than `for_longer` after they got there, oldest first, at most `limit`.
    pub async fn orders_still(
        &self,
        stalled: Stalled,
        for_longer: Duration,
        limit: i64,
    ) -> Result<Vec<Uuid>, LookupError> {
        let sql = match stalled {
            Stalled::Placed => {
                "SELECT id FROM order_view WHERE status = 'placed' \
                 AND placed_at < now() - make_interval(secs => $1) ORDER BY placed_at LIMIT $2"
            }
            Stalled::Paid => {
                "SELECT id FROM order_view WHERE status = 'paid' \
                 AND paid_at < now() - make_interval(secs => $1) ORDER BY paid_at LIMIT $2"
            }
        };
        self.ids(sql, &[&for_longer.as_secs_f64(), &limit]).await
    }

    async fn ids(
        &self,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<Vec<Uuid>, LookupError> {
        let client = self.read.pool().get().await?;
        let rows = client.query(sql, params).await?;
        Ok(rows.iter().map(|row| row.try_get(0)).collect::<Result<_, _>>()?)
    }
}
