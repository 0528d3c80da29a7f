//! Saga 9: a trainee whose account is deleted or erased leaves an empty cart and wishlist behind (DOMAIN.md:
//! "saga clears cart and wishlist and keeps the financial history"). The lists are read from the write
//! side, so a course added while the read models lagged goes too.

use command_api::{Cause, Checkout};
use events::Event;

use crate::Failure;

pub(crate) async fn react(checkout: &Checkout, cause: &Cause, event: &Event) -> Result<(), Failure> {
    let user_id = match event {
        Event::TraineeAccountDeleted(deleted) => deleted.user_id,
        Event::AccountErased(erased) => erased.user_id,
        _ => return Ok(()),
    };
    checkout.clear_lists(cause, user_id).await?;
    Ok(())
}
