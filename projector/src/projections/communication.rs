//! `newsletter_subscriber` (the active subscriptions, with their address and whether their owner confirmed) and `campaign_view` (each
//! campaign and how many copies were queued).

use events::communication::Audience;
use events::{Event, RecordedEvent};

use super::Writes;

pub(super) async fn apply(
    writes: &mut Writes<'_, '_>,
    recorded: &RecordedEvent,
    event: &Event,
) -> Result<(), tokio_postgres::Error> {
    let version = &recorded.stream_version;
    match event {
        Event::NewsletterSubscribed(e) => {
            // An address whose key is gone (replayed after an erasure) is no subscriber any more.
            let Some(email) = e.email.text() else { return Ok(()) };
            writes
                .execute(
                    "INSERT INTO newsletter_subscriber (subscription_id, email, label, subscribed_at, version) \
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (subscription_id) DO UPDATE \
                     SET email = $2, subscribed_at = $4, version = $5, confirmed = false \
                     WHERE newsletter_subscriber.version < $5",
                    &[&e.subscription_id, &email, &e.label, &recorded.occurred_at, version],
                )
                .await
        }
        Event::NewsletterSubscriptionConfirmed(e) => {
            writes
                .execute(
                    "UPDATE newsletter_subscriber SET confirmed = true, version = $2 \
                     WHERE subscription_id = $1 AND version < $2",
                    &[&e.subscription_id, version],
                )
                .await
        }
        Event::NewsletterUnsubscribed(e) => {
            writes
                .execute(
                    "DELETE FROM newsletter_subscriber WHERE subscription_id = $1 AND version < $2",
                    &[&e.subscription_id, version],
                )
                .await
        }
        Event::CampaignCreated(e) => {
            let audience = match e.audience {
                Audience::Subscribers => "subscribers",
                Audience::Trainees => "trainees",
                Audience::Instructors => "instructors",
            };
            writes
                .execute(
                    "INSERT INTO campaign_view (campaign_id, admin_id, subject, audience, created_at, version) \
                     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (campaign_id) DO NOTHING",
                    &[&e.campaign_id, &e.admin_id, &e.subject, &audience, &recorded.occurred_at, version],
                )
                .await
        }
        Event::CampaignEmailQueued(e) => writes
            .execute(
                "UPDATE campaign_view SET queued = queued + 1, version = $2 WHERE campaign_id = $1 AND version < $2",
                &[&e.campaign_id, version],
            )
            .await,
        _ => Ok(()),
    }
}
