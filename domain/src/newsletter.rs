//! The Communication aggregates: a newsletter subscription (one per email address, R: `nl-{label}`) and a
//! campaign (`campaign-{id}`), which is queued once to each subscriber of its audience.

use std::collections::HashSet;

use events::Event;
use events::communication::{
    Audience, CampaignCreated, CampaignEmailQueued, NewsletterSubscribed, NewsletterSubscriptionConfirmed,
    NewsletterUnsubscribed,
};
use events::personal::Personal;
use time::OffsetDateTime;
use uuid::Uuid;

use super::Aggregate;
use super::account::is_email;
use crate::effects::{Decided, Effect, Email};
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
    /// `email` subscribes, and is mailed `confirm_url` to confirm it (the mail is not sent after `expires_at`).
    Subscribe {
        new_id: Uuid,
        label: &'a str,
        email: &'a str,
        confirm_url: &'a str,
        expires_at: OffsetDateTime,
    },
    Confirm,
    Unsubscribe,
}

/// Decides `command` on a subscription. A new subscription is mailed a link to confirm it; an unsubscription
/// forgets the address's key, so what the store kept of it is unreadable from then on.
pub fn decide_subscription(
    subscription: &Subscription,
    command: SubscriptionCommand<'_>,
) -> Result<Decided, NewsletterRejection> {
    Ok(match command {
        SubscriptionCommand::Subscribe { new_id, label, email, confirm_url, expires_at } => {
            let events = subscribe(subscription, new_id, label, email)?;
            let body = format!(
                "Someone asked for the Learnlog newsletter at this address.\n\nIf it was you, confirm here:\n\
                 {confirm_url}\n\nIf not, ignore this email: nothing will be sent to you."
            );
            let subject = "Confirm your Learnlog newsletter".to_owned();
            let mail = Email { to: email.to_owned(), subject, body, expires_at: Some(expires_at) };
            let mailed = (!events.is_empty()).then_some(Effect::Email(mail));
            Decided::with(events, mailed)
        }
        SubscriptionCommand::Confirm => confirm(subscription).into(),
        SubscriptionCommand::Unsubscribe => {
            let events = unsubscribe(subscription);
            let forget = subscription.subscription_id.filter(|_| !events.is_empty());
            Decided::with(events, forget.map(|owner| Effect::ForgetKey { owner }))
        }
    })
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
    /// Queues the campaign to one subscriber, at `to`, as email `email_id` with their `unsubscribe_url`.
    Queue {
        subscription_id: Uuid,
        email_id: Uuid,
        to: &'a str,
        unsubscribe_url: &'a str,
    },
}

/// Decides `command` on a campaign; a copy queued once is one outbox email, with an HTML and a text part that
/// both end with the subscriber's unsubscribe link.
pub fn decide_campaign(campaign: &Campaign, command: CampaignCommand<'_>) -> Result<Decided, NewsletterRejection> {
    Ok(match command {
        CampaignCommand::Create { campaign_id, admin_id, subject, html, audience } => {
            create_campaign(campaign_id, admin_id, subject, html, audience)?.into()
        }
        CampaignCommand::Queue { subscription_id, email_id, to, unsubscribe_url } => {
            let events = queue(campaign, subscription_id, email_id)?;
            let copy = campaign.campaign_id.filter(|_| !events.is_empty()).map(|campaign_id| {
                let link = unsubscribe_url;
                Effect::CampaignEmail {
                    campaign_id,
                    email_id,
                    to: to.to_owned(),
                    subject: campaign.subject.clone(),
                    text: format!("{}\n\nUnsubscribe: {link}\n", text_of_html(&campaign.html)),
                    html: format!(
                        "{}<p style=\"font-size: small\"><a href=\"{link}\">Unsubscribe</a> from the Learnlog \
                         newsletter.</p>",
                        campaign.html
                    ),
                }
            });
            Decided::with(events, copy)
        }
    })
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

/// The plain-text part of an HTML newsletter: the text between the tags, a line per block element.
fn text_of_html(html: &str) -> String {
    let mut text = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        text.push_str(&rest[..open]);
        let Some(close) = rest[open..].find('>') else { break };
        let tag = rest[open + 1..open + close].trim_start_matches('/').to_ascii_lowercase();
        if ["p", "br", "div", "h1", "h2", "h3", "li", "tr"]
            .iter()
            .any(|block| tag.split([' ', '/']).next() == Some(block))
        {
            text.push('\n');
        }
        rest = &rest[open + close + 1..];
    }
    text.push_str(rest);
    let decoded = text
        .replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&amp;", "&");
    decoded.lines().map(str::trim).filter(|line| !line.is_empty()).collect::<Vec<_>>().join("\n")
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
    fn a_subscription_is_mailed_its_link_once_and_an_unsubscription_forgets_the_address() {
        let at = OffsetDateTime::UNIX_EPOCH;
        let subscribe = SubscriptionCommand::Subscribe {
            new_id: Uuid::from_u128(1),
            label: "l",
            email: "ada@example.com",
            confirm_url: "https://learnlog.test/newsletter/confirm?token=t",
            expires_at: at,
        };
        let subscribed = decide_subscription(&Subscription::default(), subscribe).expect("subscribed");
        let [Effect::Email(mail)] = &subscribed.effects[..] else { panic!("{:?}", subscribed.effects) };
        assert_eq!((mail.to.as_str(), mail.expires_at), ("ada@example.com", Some(at)));
        assert!(mail.body.contains("https://learnlog.test/newsletter/confirm?token=t"), "{}", mail.body);
        let pending = Subscription::from_events(&subscribed.events);
        let again = decide_subscription(&pending, subscribe).expect("subscribed already");
        assert_eq!(again, Decided::default(), "subscribed already: no event, no second mail");
        assert_eq!(decide_subscription(&pending, SubscriptionCommand::Confirm), Ok(confirm(&pending).into()));
        let gone = decide_subscription(&pending, SubscriptionCommand::Unsubscribe).expect("unsubscribed");
        assert_eq!(gone, Decided::with(unsubscribe(&pending), [Effect::ForgetKey { owner: Uuid::from_u128(1) }]));
    }

    #[test]
    fn a_queued_copy_is_one_email_with_the_unsubscribe_link_in_both_parts() {
        let (campaign_id, admin_id) = (Uuid::from_u128(5), Uuid::from_u128(9));
        let create = CampaignCommand::Create {
            campaign_id,
            admin_id,
            subject: "S",
            html: "<p>H</p>",
            audience: Audience::Subscribers,
        };
        let created = decide_campaign(&Campaign::default(), create).expect("created");
        let campaign = Campaign::from_events(&created.events);
        let queue_one = CampaignCommand::Queue {
            subscription_id: Uuid::from_u128(1),
            email_id: Uuid::from_u128(2),
            to: "ada@example.com",
            unsubscribe_url: "https://learnlog.test/u",
        };
        let queued = decide_campaign(&campaign, queue_one).expect("queued");
        assert_eq!(queued.events, queue(&campaign, Uuid::from_u128(1), Uuid::from_u128(2)).expect("queued"));
        let [Effect::CampaignEmail { to, text, html, .. }] = &queued.effects[..] else {
            panic!("{:?}", queued.effects)
        };
        assert_eq!(to, "ada@example.com");
        assert!(text.starts_with("H\n") && text.contains("https://learnlog.test/u"), "{text}");
        assert!(html.starts_with("<p>H</p>") && html.contains("href=\"https://learnlog.test/u\""), "{html}");
        let after = queued.events.iter().fold(campaign, Campaign::evolve);
        assert_eq!(decide_campaign(&after, queue_one), Ok(Decided::default()), "once: no second copy");
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

    #[test]
    fn the_text_part_keeps_the_words_and_a_line_per_block() {
        assert_eq!(text_of_html("<h1>News</h1><p>Rust &amp; <b>you</b></p><p>Bye</p>"), "News\nRust & you\nBye");
    }
}
