//! The newsletter: anyone subscribes an address (`POST /api/v1/newsletter/subscriptions`, one subscription
//! per address), which receives nothing until its owner follows the link mailed to it
//! (`POST /api/v1/newsletter/confirm`, double opt-in); every newsletter carries a signed unsubscribe link
//! (`POST /api/v1/newsletter/unsubscribe`),
//! and admins write campaigns (`POST /api/v1/admin/newsletter/campaigns`) that the sagas queue to each
//! subscriber of the audience, one outbox email and one event per recipient.

use super::rejections::Refusal;
use api_contract::{Authenticated, FieldError, JsonCommand, Problem};
use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use events::communication::Audience;
use events::stream::{campaign_stream, newsletter_stream};
use http::StatusCode;
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::CommandApiState;
use super::execute::{Accepted, Caller, CommandRun, StepError, execute};
use super::headers::CommandHeaders;
use super::limits::Counted;
use super::sessions::ClientIp;
use crate::domain::newsletter::{
    self, Campaign, CampaignCommand, NewsletterRejection, Subscription, SubscriptionCommand,
};

/// What an address's stream is named by, and what unsubscribe links sign.
const EMAIL_LABEL: &str = "newsletter-email";
const UNSUBSCRIBE: &str = "newsletter-unsubscribe";
const CONFIRM: &str = "newsletter-confirm";
/// How long a confirmation link is sent for: an email not sent by then is dropped.
const CONFIRMATION_TTL: time::Duration = time::Duration::days(2);

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SubscribeBody {
    #[schema(schema_with = super::fields::email)]
    email: String,
}

/// The answer to a subscription, the same for every address.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub(crate) struct Subscribed {
    subscribed: bool,
}

/// `POST /api/v1/newsletter/subscriptions`: `202 {data: {subscribed: true}}` whether the address was
/// subscribed already or not, without a version or a consistency token (they would tell the two apart), so
/// the answer says nothing about anyone's address.
pub(crate) async fn subscribe(
    State(state): State<CommandApiState>,
    headers: CommandHeaders,
    ClientIp(ip): ClientIp,
    command: JsonCommand<SubscribeBody>,
) -> Result<Response, Problem> {
    // At most EMAIL_MAX_CHARS as sent, as the document says; an address, once trimmed. Checked before it is
    // counted, so a refused address takes nobody's place (the decider checks it again).
    let email = command.body.email.trim().to_lowercase();
    if command.body.email.chars().count() > crate::domain::account::EMAIL_MAX_CHARS
        || !crate::domain::account::is_email(&email)
    {
        return Err(NewsletterRejection::InvalidEmail.problem());
    }
    let limits = &state.limits;
    limits.take(&[limits.client(Counted::SubscriptionFromClient, ip), limits.mail_to(&email)]).await?;
    let label = state.data_key.label(EMAIL_LABEL, &email);
    let run =
        on_subscription(&label, ip, headers, command.digest, (StatusCode::ACCEPTED, json!({ "subscribed": true })));
    let new_id = Uuid::now_v7();
    // The owner of the address confirms by the mailed link; an address subscribed already gets no mail.
    let link = format!(
        "{}/newsletter/confirm?token={}",
        state.frontend_url.trim_end_matches('/'),
        signed(&state, CONFIRM, &label)
    );
    let expires_at = time::OffsetDateTime::now_utc() + CONFIRMATION_TTL;
    execute(&state, run, |subscription: &Subscription| {
        let subscribe =
            SubscriptionCommand::Subscribe { new_id, label: &label, email: &email, confirm_url: &link, expires_at };
        newsletter::decide_subscription(subscription, subscribe)
    })
    .await?;
    let answer = json!({ "data": Subscribed { subscribed: true } });
    Ok((StatusCode::ACCEPTED, Json(answer)).into_response())
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UnsubscribeBody {
    /// From the link in a newsletter (or, to confirm, in the mail sent at subscription).
    token: String,
}

/// A guest's command on the subscription of the address labelled `label`, answered with `status` and `data`.
fn on_subscription(
    label: &str,
    ip: std::net::IpAddr,
    headers: CommandHeaders,
    digest: String,
    (status, data): (StatusCode, serde_json::Value),
) -> CommandRun {
    CommandRun::new(newsletter_stream(label), Caller::Guest(ip), headers, digest).answering(status, data)
}

/// The unsubscribe token of the address labelled `label`: the label and its signature.
pub fn unsubscribe_token(state: &CommandApiState, label: &str) -> String {
    signed(state, UNSUBSCRIBE, label)
}

/// `label` and its signature for `purpose`.
fn signed(state: &CommandApiState, purpose: &str, label: &str) -> String {
    format!("{label}.{}", state.data_key.label(purpose, label))
}

/// The label a token signed for `purpose` carries, if it is one of ours.
fn opened<'a>(state: &CommandApiState, purpose: &str, token: &'a str) -> Option<&'a str> {
    token.split_once('.').filter(|(label, mac)| state.data_key.is_label(purpose, label, mac)).map(|(label, _)| label)
}

/// `POST /api/v1/newsletter/confirm {token}`: the link mailed at subscription; `200`, also when confirmed
/// already; a token that is not one of ours is `422 invalid_token`.
pub(crate) async fn confirm(
    State(state): State<CommandApiState>,
    headers: CommandHeaders,
    ClientIp(ip): ClientIp,
    command: JsonCommand<UnsubscribeBody>,
) -> Result<Accepted, Problem> {
    let Some(label) = opened(&state, CONFIRM, &command.body.token) else {
        return Err(Problem::rule("invalid_token", "This confirmation link is not valid.")
            .with_errors(vec![FieldError::new("token", "is not a Learnlog confirmation token")]));
    };
    let run = on_subscription(label, ip, headers, command.digest, (StatusCode::OK, json!({ "confirmed": true })));
    execute(&state, run, |subscription: &Subscription| {
        newsletter::decide_subscription(subscription, SubscriptionCommand::Confirm)
    })
    .await
}

/// `POST /api/v1/newsletter/unsubscribe {token}`: `200`; a token that is not one of ours is `400`.
pub(crate) async fn unsubscribe(
    State(state): State<CommandApiState>,
    headers: CommandHeaders,
    ClientIp(ip): ClientIp,
    command: JsonCommand<UnsubscribeBody>,
) -> Result<Accepted, Problem> {
    let token = command.body.token;
    let Some(label) = opened(&state, UNSUBSCRIBE, &token) else {
        return Err(Problem::rule("invalid_token", "This unsubscribe link is not valid.")
            .with_errors(vec![FieldError::new("token", "is not a Learnlog unsubscribe token")]));
    };
    let run = on_subscription(label, ip, headers, command.digest, (StatusCode::OK, json!({ "subscribed": false })));
    execute(&state, run, |subscription: &Subscription| {
        newsletter::decide_subscription(subscription, SubscriptionCommand::Unsubscribe)
    })
    .await
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CampaignBody {
    /// 1 to 200 characters.
    #[schema(schema_with = super::fields::campaign_subject)]
    subject: String,
    /// Up to 102,400 characters of HTML; each copy gets an unsubscribe link added.
    #[schema(schema_with = super::fields::campaign_html)]
    html: String,
    #[schema(value_type = String, pattern = "^(subscribers|trainees|instructors)$")]
    audience: Audience,
}

/// `POST /api/v1/admin/newsletter/campaigns`: `201 {data: {id}}`; the sagas send it.
pub(crate) async fn create_campaign(
    State(state): State<CommandApiState>,
    actor: Authenticated,
    headers: CommandHeaders,
    command: JsonCommand<CampaignBody>,
) -> Result<Accepted, Problem> {
    let campaign_id = Uuid::now_v7();
    let admin_id = actor.user_id;
    let CampaignBody { subject, html, audience } = command.body;
    let run = CommandRun::new(campaign_stream(campaign_id), actor.into(), headers, command.digest)
        .created()
        .with_id(campaign_id);
    let create = CampaignCommand::Create { campaign_id, admin_id, subject: &subject, html: &html, audience };
    execute(&state, run, |campaign: &Campaign| newsletter::decide_campaign(campaign, create)).await
}

/// The sagas' handle on the newsletter.
#[derive(Debug, Clone)]
pub struct Newsletter {
    state: CommandApiState,
}

/// One subscriber a campaign goes to.
#[derive(Debug, Clone)]
pub struct Recipient {
    pub subscription_id: Uuid,
    pub email: String,
    /// The label of the address, for the unsubscribe link.
    pub label: String,
}

impl Newsletter {
    pub fn new(state: CommandApiState) -> Self {
        Newsletter { state }
    }

    /// Queues `campaign_id` to `recipient`: one outbox email, with the unsubscribe link, and its event, once.
    pub async fn queue(&self, cause: &super::Cause, campaign_id: Uuid, recipient: &Recipient) -> Result<(), StepError> {
        let run = CommandRun::new(
            campaign_stream(campaign_id),
            Caller::Saga("newsletter"),
            cause.headers(&format!("queue/{}", recipient.subscription_id)),
            String::new(),
        )
        .with_id(campaign_id);
        let link = format!(
            "{}/newsletter/unsubscribe?token={}",
            self.state.frontend_url.trim_end_matches('/'),
            unsubscribe_token(&self.state, &recipient.label)
        );
        let email_id = Uuid::now_v7();
        super::execute::on_aggregate(&self.state, &run, |campaign: &Campaign| {
            let queue = CampaignCommand::Queue {
                subscription_id: recipient.subscription_id,
                email_id,
                to: &recipient.email,
                unsubscribe_url: &link,
            };
            newsletter::decide_campaign(campaign, queue)
        })
        .await?;
        Ok(())
    }
}
