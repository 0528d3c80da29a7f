//! Saga 6: a certificate is emailed with its PDF. An issued certificate asks for the automatic email
//! (`EmailCertificate(auto)`, which the enrolment's decider lets through once), and every email request,
//! automatic or the trainee's, puts one email with the rendered PDF into the outbox. The email's id is the
//! request event's id, so a redelivered request finds its email there and sends nothing twice.

use command_api::{Cause, Checkout};
use database::Database;
use events::learning::CertificateEmailRequested;
use events::{Event, RecordedEvent};
use mailer::{Attached, OutboxEmail};
use uuid::Uuid;

use crate::Failure;

/// What the certificate saga needs besides the commands.
#[derive(Debug, Clone)]
pub(crate) struct Mailing {
    pub store: Database,
    pub read: Database,
    /// The web frontend, where a certificate's verification page is.
    pub frontend_url: String,
    /// Makes the verification code printed on a certificate.
    pub codes: api_contract::CertificateCodes,
}

pub(crate) async fn react(
    checkout: &Checkout,
    mailing: &Mailing,
    cause: &Cause,
    recorded: &RecordedEvent,
    event: &Event,
) -> Result<(), Failure> {
    match event {
        Event::CertificateIssued(issued) => {
            let learning = checkout.learning();
            Ok(learning.email_certificate_once(cause, issued.trainee_id, issued.course_id).await?)
        }
        Event::CertificateEmailRequested(requested) => send(mailing, recorded.event_id, requested).await,
        _ => Ok(()),
    }
}

async fn send(mailing: &Mailing, event_id: Uuid, requested: &CertificateEmailRequested) -> Result<(), Failure> {
    let transient = |error: &dyn std::fmt::Display| Failure::Transient(error.to_string());
    let recipient = {
        let client = mailing.store.pool().get().await.map_err(|e| transient(&e))?;
        let row = client
            .query_opt("SELECT email FROM user_credentials WHERE user_id = $1", &[&requested.trainee_id])
            .await
            .map_err(|e| transient(&e))?;
        match row {
            Some(row) => row.try_get::<_, String>(0).map_err(|e| transient(&e))?,
            // A deleted or erased account has no address any more: there is no one to send to.
            None => return Ok(()),
        }
    };
    let issued = {
        let client = mailing.read.pool().get().await.map_err(|e| transient(&e))?;
        certificates::issued::find(&client, requested.certificate_id).await.map_err(|e| transient(&e))?
    };
    // The read model follows the events; the certificate is there in a moment.
    let issued = issued.ok_or_else(|| Failure::NotYet("the certificate is not in the read model yet".to_owned()))?;
    let code = mailing.codes.code(issued.certificate_id);
    let verify_url = certificates::verify_url(&mailing.frontend_url, issued.certificate_id, &code);
    let pdf = certificates::render(&issued.certificate(&verify_url)).map_err(|e| Failure::Permanent(e.to_string()))?;
    let greeting = issued.trainee_name.as_deref().map(|name| format!("Congratulations, {name}!")).unwrap_or_default();
    let body = format!(
        "{greeting}\n\nYou completed \"{course}\". Your certificate is attached.\n\n\
         Anyone can check it at {verify_url}\n",
        course = issued.course_title,
    );
    let email = OutboxEmail {
        // One email per request event: its id is the event's.
        id: event_id,
        recipient,
        subject: format!("Your Learnlog certificate: {}", issued.course_title),
        body: body.trim_start().to_owned(),
        html: None,
        attachment: Some(Attached {
            name: format!("certificate-{}.pdf", issued.certificate_id),
            content_type: "application/pdf".to_owned(),
            bytes: pdf,
        }),
    };
    let written = mailer::enqueue_once(&mailing.store, &email).await.map_err(|e| transient(&e))?;
    tracing::info!(certificate = %issued.certificate_id, written, "certificate email queued");
    Ok(())
}
