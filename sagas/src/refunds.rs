//! Saga 3: an approved refund is carried out, each step idempotent on the refund id: the wallet is credited
//! floor(0.70 x paid) under the operation `refund-{id}` (D5), the instructor's earning of the line is reversed
//! to floor(0.24 x paid) on its order (D3), and the enrolment is revoked and the refund completed in one
//! append (R7).

use command_api::{Cause, Checkout};
use events::Event;
use events::commerce::CreditReason;

use crate::Failure;

pub(crate) async fn react(checkout: &Checkout, cause: &Cause, event: &Event) -> Result<(), Failure> {
    let Event::RefundApproved(approved) = event else { return Ok(()) };
    let operation_id = format!("refund-{}", approved.refund_id);
    checkout
        .credit_wallet(cause, approved.trainee_id, operation_id, approved.refund_cents, CreditReason::Refund)
        .await?;
    checkout.reverse_earning(cause, approved.order_id, approved.course_id, approved.refund_id).await?;
    checkout.learning().complete_refund(cause, approved.trainee_id, approved.course_id, approved.refund_id).await?;
    Ok(())
}
