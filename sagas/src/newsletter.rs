//! Saga 7, campaigns: a new campaign is queued to every subscriber of its audience (read from the read
//! models), one command per recipient, each a single outbox email and event that a redelivery does not
//! repeat. The mailer sends them, retrying failures.

use command_api::{Cause, Checkout, Recipient};
use events::Event;
use lookups::Lookups;

use crate::Failure;

pub(crate) async fn react(checkout: &Checkout, read: &Lookups, cause: &Cause, event: &Event) -> Result<(), Failure> {
    let Event::CampaignCreated(created) = event else { return Ok(()) };
    let newsletter = checkout.newsletter();
    for recipient in read.campaign_recipients(created.audience).await? {
        let recipient =
            Recipient { subscription_id: recipient.subscription_id, email: recipient.email, label: recipient.label };
        newsletter.queue(cause, created.campaign_id, &recipient).await?;
    }
    Ok(())
}
