//! Saga 4: a resolved corporate access request enrols its trainee (source CorporateGrant), once: the step's
//! Idempotency-Key comes from the event, and a trainee enrolled already stays as they are.

use command_api::{Cause, Checkout};
use events::Event;
use events::support::TicketStatus;

use crate::Failure;

pub(crate) async fn react(checkout: &Checkout, cause: &Cause, event: &Event) -> Result<(), Failure> {
    let Event::CourseAccessRequestChanged(changed) = event else { return Ok(()) };
    if changed.status != TicketStatus::Resolved {
        return Ok(());
    }
    Ok(checkout.grant_access(cause, changed.trainee_id, changed.course_id, changed.request_id).await?)
}
