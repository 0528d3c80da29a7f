//! Saga 7, campaigns: a new campaign is queued to every subscriber of its audience (read from the read
//! models), one command per recipient, each a single outbox email and event that a redelivery does not
//! repeat. The mailer sends them, retrying failures.

use command_api::{Cause, Checkout, Recipient};
use database::Database;
use events::Event;
use events::communication::Audience;

use crate::Failure;

pub(crate) async fn react(checkout: &Checkout, read: &Database, cause: &Cause, event: &Event) -> Result<(), Failure> {
    let Event::CampaignCreated(created) = event else { return Ok(()) };
    let roles: &[&str] = match created.audience {
        Audience::Subscribers => &[],
        Audience::Trainees => &["individual_trainee", "corporate_trainee"],
        Audience::Instructors => &["instructor"],
    };
    let transient = |error: &dyn std::fmt::Display| Failure::Transient(error.to_string());
    let client = read.pool().get().await.map_err(|e| transient(&e))?;
    let roles: Vec<String> = roles.iter().map(|role| (*role).to_owned()).collect();
    let rows = client
        .query(
            "SELECT s.subscription_id, s.email, s.label FROM newsletter_subscriber s \
             WHERE cardinality($1::text[]) = 0 OR EXISTS (SELECT 1 FROM user_directory u \
                 WHERE lower(u.email) = s.email AND u.role = ANY($1)) ORDER BY s.subscription_id",
            &[&roles],
        )
        .await
        .map_err(|e| transient(&e))?;
    drop(client);
    let newsletter = checkout.newsletter();
    for row in rows {
        let recipient = Recipient {
            subscription_id: row.try_get(0).map_err(|e| transient(&e))?,
            email: row.try_get(1).map_err(|e| transient(&e))?,
            label: row.try_get(2).map_err(|e| transient(&e))?,
        };
        newsletter.queue(cause, created.campaign_id, &recipient).await?;
    }
    Ok(())
}
