//! Events of the Communication context: newsletter subscriptions (`nl-{label}`, one stream per email
//! address, named by a keyed label of it, never the address) and campaigns (`campaign-{id}`, with one event
//! per recipient queued), and conversations between two people (`conv-{a}-{b}`). A subscriber's address is
//! personal data, sealed with a key of the subscription's own (a guest has no account); a message's text is
//! its sender's.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::personal::Personal;

/// An address subscribed to the newsletter (again, after an unsubscription: the same subscription).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewsletterSubscribed {
    pub subscription_id: Uuid,
    /// The keyed label of the address that names the stream; unsubscribe links carry it.
    pub label: String,
    pub email: Personal,
}

/// The address's owner followed the link mailed to it: only now does the subscription receive newsletters
/// (double opt-in).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewsletterSubscriptionConfirmed {
    pub subscription_id: Uuid,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewsletterUnsubscribed {
    pub subscription_id: Uuid,
}

/// Who among the subscribers a campaign goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Audience {
    /// Every subscriber.
    Subscribers,
    /// Subscribers with a trainee account.
    Trainees,
    /// Subscribers with an instructor account.
    Instructors,
}

/// An admin wrote a newsletter campaign; the sagas queue it to every subscriber of its audience.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CampaignCreated {
    pub campaign_id: Uuid,
    pub admin_id: Uuid,
    pub subject: String,
    pub html: String,
    pub audience: Audience,
}

/// One subscriber's copy of a campaign went into the outbox as email `email_id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CampaignEmailQueued {
    pub campaign_id: Uuid,
    pub subscription_id: Uuid,
    pub email_id: Uuid,
}

/// One person wrote to another (`SendMessage`), in their conversation `conv-{min(a,b)}-{max(a,b)}`. The text is
/// the sender's, sealed with their key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MessageSent {
    pub message_id: Uuid,
    pub sender_id: Uuid,
    pub recipient_id: Uuid,
    /// The course a trainee and its instructor write about; none when an admin is one of them.
    pub course_id: Option<Uuid>,
    /// The message's place in its conversation, from 1.
    pub number: u32,
    pub text: Personal,
}

/// A participant read their conversation with `other_id` up to message `up_to`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConversationRead {
    pub reader_id: Uuid,
    pub other_id: Uuid,
    pub up_to: u32,
}
