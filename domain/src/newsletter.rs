//! The Communication aggregates: a newsletter subscription (one per email address, R: `nl-{label}`) and a
//! campaign (`campaign-{id}`), which is queued once to each subscriber of its audience.

use std::collections::HashSet;

use events::Event;
use events::communication::{
    Audience, CampaignCreated, CampaignEmailQueued, NewsletterSubscribed, NewsletterSubscriptionConfirmed,
    NewsletterUnsubscribed,
};
use events::personal::Personal;
use uuid::Uuid;

use super::Aggregate;
use super::account::is_email;
use crate::families::{CampaignEvent, SubscriptionEvent};

pub const SUBJECT_MAX_CHARS: usize = 200;
/// A campaign's HTML, in characters: the longest text any field takes.
pub const HTML_MAX_CHARS: usize = super::LONGEST_TEXT_CHARS;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Subscription {
    pub subscription_id: Option<Uuid>,
    pub active: bool,
    /// The address's owner followed the mailed link since the subscription last began.
    pub confirmed: bool,
}

impl Aggregate for Subscription {
    fn evolve(self, event: &Event) -> Self {
        let Some(event) = SubscriptionEvent::of(event) else { return self };
        match event {
            SubscriptionEvent::NewsletterSubscribed(e) => {
                Subscription { subscription_id: Some(e.subscription_id), active: true, confirmed: false }
            }
            SubscriptionEvent::NewsletterSubscriptionConfirmed(_) => Subscription { confirmed: true, ..self },
            SubscriptionEvent::NewsletterUnsubscribed(_) => Subscription { active: false, confirmed: false, ..self },
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NewsletterRejection {
    InvalidEmail,
    InvalidCampaign(&'static str, String),
    /// No such campaign.
    NoCampaign,
}

/// What happens to one address's subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubscriptionCommand<'a> {
    Subscribe { new_id: Uuid, label: &'a str, email: &'a str },
    Confirm,
    Unsubscribe,
}

pub fn decide_subscription(
    subscription: &Subscription,
    command: SubscriptionCommand<'_>,
) -> Result<Vec<Event>, NewsletterRejection> {
    match command {
        SubscriptionCommand::Subscribe { new_id, label, email } => subscribe(subscription, new_id, label, email),
        SubscriptionCommand::Confirm => Ok(confirm(subscription)),
        SubscriptionCommand::Unsubscribe => Ok(unsubscribe(subscription)),
    }
}

/// Subscribes `email` (normalised: trimmed, lower case), whose stream is named by `label`; an address
/// subscribed already changes nothing, and one that unsubscribed keeps its subscription id.
fn subscribe(
    subscription: &Subscription,
    new_id: Uuid,
    label: &str,
    email: &str,
) -> Result<Vec<Event>, NewsletterRejection> {
    if !is_email(email) {
        return Err(NewsletterRejection::InvalidEmail);
    }
    if subscription.active {
        return Ok(Vec::new());
    }
    let subscription_id = subscription.subscription_id.unwrap_or(new_id);
    let email = Personal::clear(email);
    Ok(vec![Event::NewsletterSubscribed(NewsletterSubscribed { subscription_id, label: label.to_owned(), email })])
}

/// Confirms an active subscription whose owner followed the mailed link; nothing happens for one confirmed
/// already or none (an unsubscribed address must subscribe again).
fn confirm(subscription: &Subscription) -> Vec<Event> {
    match subscription.subscription_id.filter(|_| subscription.active && !subscription.confirmed) {
        Some(subscription_id) => {
            vec![Event::NewsletterSubscriptionConfirmed(NewsletterSubscriptionConfirmed { subscription_id })]
        }
        None => Vec::new(),
    }
}

/// Ends the subscription, if there is an active one.
fn unsubscribe(subscription: &Subscription) -> Vec<Event> {
    match subscription.subscription_id.filter(|_| subscription.active) {
        Some(subscription_id) => vec![Event::NewsletterUnsubscribed(NewsletterUnsubscribed { subscription_id })],
        None => Vec::new(),
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Campaign {
    pub campaign_id: Option<Uuid>,
    pub subject: String,
    pub html: String,
    pub queued: HashSet<Uuid>,
}

impl Aggregate for Campaign {
    fn evolve(mut self, event: &Event) -> Self {
        let Some(event) = CampaignEvent::of(event) else { return self };
        match event {
            CampaignEvent::CampaignCreated(e) => {
                self.campaign_id = Some(e.campaign_id);
                self.subject.clone_from(&e.subject);
                self.html.clone_from(&e.html);
            }
            CampaignEvent::CampaignEmailQueued(e) => {
                self.queued.insert(e.subscription_id);
            }
        }
        self
    }
}

/// What happens to a newsletter campaign.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CampaignCommand<'a> {
    Create {
        campaign_id: Uuid,
        admin_id: Uuid,
        subject: &'a str,
        html: &'a str,
        audience: Audience,
    },
    /// Queues the campaign to one subscriber as email `email_id`.
    Queue {
        subscription_id: Uuid,
        email_id: Uuid,
    },
}

pub fn decide_campaign(campaign: &Campaign, command: CampaignCommand<'_>) -> Result<Vec<Event>, NewsletterRejection> {
    match command {
        CampaignCommand::Create { campaign_id, admin_id, subject, html, audience } => {
            create_campaign(campaign_id, admin_id, subject, html, audience)
        }
        CampaignCommand::Queue { subscription_id, email_id } => queue(campaign, subscription_id, email_id),
    }
}

/// An admin writes a campaign: a subject of 1 to 200 characters and an HTML body of up to 100 Ki characters.
fn create_campaign(
    campaign_id: Uuid,
    admin_id: Uuid,
    subject: &str,
    html: &str,
    audience: Audience,
) -> Result<Vec<Event>, NewsletterRejection> {
    let subject = subject.trim();
    if subject.is_empty() || subject.chars().count() > SUBJECT_MAX_CHARS {
        return Err(NewsletterRejection::InvalidCampaign(
            "subject",
            format!("must be 1 to {SUBJECT_MAX_CHARS} characters"),
        ));
    }
    if html.trim().is_empty() || html.chars().count() > HTML_MAX_CHARS {
        return Err(NewsletterRejection::InvalidCampaign("html", format!("must be 1 to {HTML_MAX_CHARS} characters")));
    }
    Ok(vec![Event::CampaignCreated(CampaignCreated {
        campaign_id,
        admin_id,
        subject: subject.to_owned(),
        html: html.to_owned(),
        audience,
    })])
}

/// Queues the campaign to one subscriber as email `email_id`, once per subscriber.
fn queue(campaign: &Campaign, subscription_id: Uuid, email_id: Uuid) -> Result<Vec<Event>, NewsletterRejection> {
    let campaign_id = campaign.campaign_id.ok_or(NewsletterRejection::NoCampaign)?;
    if campaign.queued.contains(&subscription_id) {
        return Ok(Vec::new());
    }
    Ok(vec![Event::CampaignEmailQueued(CampaignEmailQueued { campaign_id, subscription_id, email_id })])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_subscription_per_address_which_an_unsubscription_keeps() {
        let first =
            subscribe(&Subscription::default(), Uuid::from_u128(1), "l", "ada@example.com").expect("subscribed");
        let subscribed = Subscription::from_events(&first);
        assert_eq!(subscribe(&subscribed, Uuid::from_u128(2), "l", "ada@example.com"), Ok(Vec::new()), "once");
        let gone = unsubscribe(&subscribed);
        let unsubscribed = gone.iter().fold(subscribed, Subscription::evolve);
        assert_eq!(unsubscribe(&unsubscribed), Vec::new(), "once");
        let again = subscribe(&unsubscribed, Uuid::from_u128(3), "l", "ada@example.com").expect("again");
        assert!(matches!(&again[..], [Event::NewsletterSubscribed(s)] if s.subscription_id == Uuid::from_u128(1)));
        assert_eq!(
            subscribe(&Subscription::default(), Uuid::from_u128(1), "l", "not an email"),
            Err(NewsletterRejection::InvalidEmail)
        );
    }

    #[test]
    fn a_subscription_is_confirmed_once_and_again_after_a_new_subscription() {
        let first =
            subscribe(&Subscription::default(), Uuid::from_u128(1), "l", "ada@example.com").expect("subscribed");
        let pending = Subscription::from_events(&first);
        assert!(pending.active && !pending.confirmed, "a subscription waits for its owner");
        let confirmed = confirm(&pending).iter().fold(pending, Subscription::evolve);
        assert!(confirmed.confirmed);
        assert_eq!(confirm(&confirmed), Vec::new(), "once");
        assert_eq!(confirm(&Subscription::default()), Vec::new(), "no subscription, nothing to confirm");
        let gone = unsubscribe(&confirmed).iter().fold(confirmed, Subscription::evolve);
        assert_eq!(confirm(&gone), Vec::new(), "an unsubscribed address subscribes again first");
        let again = subscribe(&gone, Uuid::from_u128(2), "l", "ada@example.com").expect("again");
        let again = again.iter().fold(gone, Subscription::evolve);
        assert!(again.active && !again.confirmed, "and confirms again");
    }

    #[test]
    fn the_deciders_take_each_command_to_its_rule() {
        let subscribe =
            SubscriptionCommand::Subscribe { new_id: Uuid::from_u128(1), label: "l", email: "ada@example.com" };
        let subscribed = decide_subscription(&Subscription::default(), subscribe).expect("subscribed");
        let pending = Subscription::from_events(&subscribed);
        assert_eq!(decide_subscription(&pending, SubscriptionCommand::Confirm), Ok(confirm(&pending)));
        assert_eq!(decide_subscription(&pending, SubscriptionCommand::Unsubscribe), Ok(unsubscribe(&pending)));
        let (campaign_id, admin_id) = (Uuid::from_u128(5), Uuid::from_u128(9));
        let create = CampaignCommand::Create {
            campaign_id,
            admin_id,
            subject: "S",
            html: "<p>H</p>",
            audience: Audience::Subscribers,
        };
        let campaign = Campaign::from_events(&decide_campaign(&Campaign::default(), create).expect("created"));
        let queue_one = CampaignCommand::Queue { subscription_id: Uuid::from_u128(1), email_id: Uuid::from_u128(2) };
        assert_eq!(decide_campaign(&campaign, queue_one), queue(&campaign, Uuid::from_u128(1), Uuid::from_u128(2)));
    }

    #[test]
    fn a_campaign_is_queued_once_to_each_subscriber() {
        let created =
            create_campaign(Uuid::from_u128(5), Uuid::from_u128(9), " News ", "<p>Hi</p>", Audience::Subscribers)
                .expect("created");
        let campaign = Campaign::from_events(&created);
        assert_eq!(campaign.subject, "News");
        let queued = queue(&campaign, Uuid::from_u128(1), Uuid::from_u128(100)).expect("queued");
        let campaign = queued.iter().fold(campaign, Campaign::evolve);
        assert_eq!(queue(&campaign, Uuid::from_u128(1), Uuid::from_u128(101)), Ok(Vec::new()));
        assert_eq!(
            queue(&Campaign::default(), Uuid::from_u128(1), Uuid::from_u128(1)),
            Err(NewsletterRejection::NoCampaign)
        );
        assert!(matches!(
            create_campaign(Uuid::from_u128(5), Uuid::from_u128(9), "", "<p>Hi</p>", Audience::Subscribers),
            Err(NewsletterRejection::InvalidCampaign("subject", _))
        ));
    }
}
