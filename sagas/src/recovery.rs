//! Orders whose request stopped half-way: a wallet order placed but never settled, a card order placed
//! without a checkout session (a crash, a provider down). The order route settles both at once, so the sagas
//! do not race it on `OrderPlaced`; instead, every [`SWEEP_EVERY`], they finish orders still `placed` after
//! a grace period, through the same idempotent steps (keyed by the order id). And orders still `paid` after
//! the grace period, whose `OrderPaid` the sagas should have fulfilled: fulfilled here with a warning, as a
//! safety net under delivery (an event a broker never handed over must not leave a buyer without access).
//! Every repair is counted in [`REPAIRED`]: a paid order the sweep had to fulfil means an `OrderPaid` was
//! not handled, which delivery must never allow; operators alert on it. The paid-order part can be switched
//! off (`LEARNLOG_PAID_ORDER_SWEEP=off`), as the scenarios that prove delivery do.

use std::time::Duration;

use command_api::domain::order::OrderStatus;
use command_api::{Cause, Checkout};
use events::commerce::PaymentMethod;
use lookups::{Lookups, Stalled};

use crate::Failure;

/// Orders the sweep finished, by what it did (`placed`: settled an order whose request stopped; `paid`:
/// fulfilled a paid order whose event was not handled in time).
pub const REPAIRED: &str = "learnlog_saga_sweep_repairs_total";

/// How often the sagas look for stalled orders.
pub(crate) const SWEEP_EVERY: Duration = Duration::from_secs(5);
/// How long an order may stay `placed` before the sagas finish it: longer than any request takes.
pub const STALLED_AFTER: Duration = Duration::from_secs(30);
/// Orders finished per sweep at most.
const SWEEP_LIMIT: i64 = 100;

/// Finishes the orders placed longer than `stalled_after` ago and still unsettled.
pub(crate) async fn finish_stalled(
    checkout: &Checkout,
    read: &Lookups,
    stalled_after: Duration,
    paid_orders: bool,
) -> Result<usize, Failure> {
    let mut finished = 0;
    for order_id in read.orders_still(Stalled::Placed, stalled_after, SWEEP_LIMIT).await? {
        // The read model may lag: the write side says whether the order is still unsettled.
        let order = checkout.order(order_id).await?;
        if order.status != OrderStatus::Placed {
            continue;
        }
        let cause = Cause { event_id: order_id, correlation_id: None };
        match order.method {
            Some(PaymentMethod::Wallet) => drop(checkout.pay_from_wallet(&cause, &order).await?),
            Some(PaymentMethod::Card) => checkout.open_card_checkout(&cause, &order).await?,
            None => continue,
        }
        tracing::info!(order = %order_id, "a stalled order was finished");
        metrics::counter!(REPAIRED, "kind" => "placed").increment(1);
        finished += 1;
    }
    if !paid_orders {
        return Ok(finished);
    }
    Ok(finished + fulfil_paid(checkout, read, stalled_after).await?)
}

/// Fulfils orders paid longer than `stalled_after` ago and still not fulfilled.
async fn fulfil_paid(checkout: &Checkout, read: &Lookups, stalled_after: Duration) -> Result<usize, Failure> {
    let mut fulfilled = 0;
    for order_id in read.orders_still(Stalled::Paid, stalled_after, SWEEP_LIMIT).await? {
        if checkout.order(order_id).await?.status != OrderStatus::Paid {
            continue;
        }
        tracing::warn!(order = %order_id, "a paid order was not fulfilled by its event in time; fulfilling it now");
        let cause = Cause { event_id: order_id, correlation_id: None };
        // One order that cannot be fulfilled does not hold up the others.
        match crate::checkout::fulfil(checkout, &cause, order_id).await {
            Ok(()) => {
                metrics::counter!(REPAIRED, "kind" => "paid").increment(1);
                fulfilled += 1;
            }
            Err(failure) => {
                tracing::warn!(order = %order_id, ?failure, "fulfilling a paid order failed; tried again later")
            }
        }
    }
    Ok(fulfilled)
}
