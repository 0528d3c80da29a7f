//! The card and wallet checkout sagas (DOMAIN.md sagas 1 and 2): a paid order is fulfilled line by line (enrol, then credit the instructor or
//! refund the line in full), its courses leave the cart and the wishlist, and the order is marked
//! fulfilled; a refunded line's money goes to the wallet.

use command_api::domain::cart::ListKind;
use command_api::{Cause, Checkout};
use events::Event;
use events::commerce::CreditReason;

use crate::Failure;

pub(crate) async fn react(checkout: &Checkout, cause: &Cause, event: &Event) -> Result<(), Failure> {
    match event {
        Event::OrderPaid(paid) => fulfil(checkout, cause, paid.order_id).await?,
        Event::OrderLineRefunded(refunded) => {
            let operation_id = format!("order-{}-line-{}", refunded.order_id, refunded.course_id);
            checkout
                .credit_wallet(
                    cause,
                    refunded.trainee_id,
                    operation_id,
                    refunded.amount_cents,
                    CreditReason::OrderLineRefund,
                )
                .await?;
        }
        _ => {}
    }
    Ok(())
}

/// Fulfils a paid order: each line enrolled, then credited or refunded, the order marked fulfilled, and its
/// courses out of the cart and the wishlist. Every step is idempotent, so running it again changes nothing.
pub(crate) async fn fulfil(checkout: &Checkout, cause: &Cause, order_id: uuid::Uuid) -> Result<(), Failure> {
    let order = checkout.order(order_id).await?;
    let mut lines = Vec::with_capacity(order.lines.len());
    for line in &order.lines {
        lines.push((line.course_id, checkout.enroll(cause, &order, line.course_id).await?));
    }
    checkout.settle(cause, &order, &lines).await?;
    for line in &order.lines {
        for kind in [ListKind::Cart, ListKind::Wishlist] {
            checkout.withdraw(cause, kind, order.trainee_id, line.course_id).await?;
        }
    }
    Ok(())
}
