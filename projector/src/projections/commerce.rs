//! Commerce read models: `cart_item`, `wishlist_item`, `order_view`, `wallet_view` with `wallet_txn`, and
//! the instructors' money (`instructor_ledger_view`, `instructor_revenue_monthly`,
//! `instructor_course_earnings`), and the platform's by day (`platform_revenue_daily`). The projector applies each event exactly once (its checkpoints move in the
//! same transaction), so sums are plain additions.

use super::Writes;
use events::commerce::CreditReason;
use events::{Event, RecordedEvent};

pub(super) async fn apply(
    writes: &mut Writes<'_, '_>,
    recorded: &RecordedEvent,
    event: &Event,
) -> Result<(), tokio_postgres::Error> {
    let at = &recorded.occurred_at;
    let version = &recorded.stream_version;
    match event {
        Event::CourseAddedToCart(e) => {
            writes
                .execute(
                    "INSERT INTO cart_item (trainee_id, course_id, added_at, position) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT DO NOTHING",
                    &[&e.trainee_id, &e.course_id, at, &recorded.position],
                )
                .await
        }
        Event::CourseRemovedFromCart(e) => {
            writes
                .execute(
                    "DELETE FROM cart_item WHERE trainee_id = $1 AND course_id = $2",
                    &[&e.trainee_id, &e.course_id],
                )
                .await
        }
        Event::CourseAddedToWishlist(e) => {
            writes
                .execute(
                    "INSERT INTO wishlist_item (trainee_id, course_id, added_at, position) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT DO NOTHING",
                    &[&e.trainee_id, &e.course_id, at, &recorded.position],
                )
                .await
        }
        Event::CourseRemovedFromWishlist(e) => {
            writes
                .execute(
                    "DELETE FROM wishlist_item WHERE trainee_id = $1 AND course_id = $2",
                    &[&e.trainee_id, &e.course_id],
                )
                .await
        }
        Event::OrderPlaced(e) => {
            let lines = serde_json::to_value(&e.lines).unwrap_or_default();
            let method = e.method.as_str();
            writes
                .execute(
                    "INSERT INTO order_view (id, trainee_id, method, status, lines, total_cents, currency, rate_ppm, \
                     placed_at, version) VALUES ($1, $2, $3, 'placed', $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING",
                    &[
                        &e.order_id,
                        &e.trainee_id,
                        &method,
                        &lines,
                        &e.total_cents,
                        &e.currency,
                        &e.rate_ppm,
                        at,
                        version,
                    ],
                )
                .await
        }
        Event::CheckoutSessionCreated(e) => {
            writes
                .execute(
                    "UPDATE order_view SET status = 'awaiting_payment', checkout_url = $2, version = $3 WHERE id = $1",
                    &[&e.order_id, &e.url, version],
                )
                .await
        }
        Event::OrderPaid(e) => {
            // Orders are charged in US dollars (a card order's provider is asked for USD too).
            platform_day(writes, at, Platform { gross: e.amount_cents, ..Platform::default() }).await?;
            writes
                .execute(
                    "UPDATE order_view SET status = 'paid', paid_at = $2, version = $3 WHERE id = $1",
                    &[&e.order_id, at, version],
                )
                .await
        }
        Event::OrderPaymentFailed(e) => {
            writes
                .execute(
                    "UPDATE order_view SET status = 'failed', failure = $2, version = $3 WHERE id = $1",
                    &[&e.order_id, &e.reason, version],
                )
                .await
        }
        Event::OrderExpired(e) => {
            writes
                .execute(
                    "UPDATE order_view SET status = 'expired', version = $2 WHERE id = $1",
                    &[&e.order_id, version],
                )
                .await
        }
        Event::OrderFulfilled(e) => {
            writes
                .execute(
                    "UPDATE order_view SET status = 'fulfilled', version = $2 WHERE id = $1",
                    &[&e.order_id, version],
                )
                .await
        }
        Event::InstructorEarningRecorded(e) => {
            platform_day(writes, at, Platform { instructors: e.amount_cents, ..Platform::default() }).await?;
            let (year, month) = (at.year(), i32::from(u8::from(at.month())));
            writes
                .execute(
                    "INSERT INTO instructor_ledger_view (instructor_id, balance_cents) VALUES ($1, $2) \
                     ON CONFLICT (instructor_id) DO UPDATE SET balance_cents = instructor_ledger_view.balance_cents + $2",
                    &[&e.instructor_id, &e.amount_cents],
                )
                .await?;
            writes
                .execute(
                    "INSERT INTO instructor_revenue_monthly (instructor_id, year, month, gross_cents, refunds_cents) \
                     VALUES ($1, $2, $3, $4, 0) ON CONFLICT (instructor_id, year, month) \
                     DO UPDATE SET gross_cents = instructor_revenue_monthly.gross_cents + $4",
                    &[&e.instructor_id, &year, &month, &e.amount_cents],
                )
                .await?;
            writes.execute("INSERT INTO instructor_course_earnings (instructor_id, course_id, earning_cents) VALUES ($1, $2, $3) \
                            ON CONFLICT (instructor_id, course_id) \
                            DO UPDATE SET earning_cents = instructor_course_earnings.earning_cents + $3",
                &[&e.instructor_id, &e.course_id, &e.amount_cents],
            )
            .await
        }
        // D3: a refund takes back all but floor(0.24 x price) of the line's earning, in the month of the refund.
        Event::InstructorEarningReversed(e) => {
            platform_day(writes, at, Platform { instructors: -e.amount_cents, ..Platform::default() }).await?;
            let (year, month) = (at.year(), i32::from(u8::from(at.month())));
            writes
                .execute(
                    "UPDATE instructor_ledger_view SET balance_cents = balance_cents - $2 WHERE instructor_id = $1",
                    &[&e.instructor_id, &e.amount_cents],
                )
                .await?;
            writes
                .execute(
                    "INSERT INTO instructor_revenue_monthly (instructor_id, year, month, gross_cents, refunds_cents) \
                     VALUES ($1, $2, $3, 0, $4) ON CONFLICT (instructor_id, year, month) \
                     DO UPDATE SET refunds_cents = instructor_revenue_monthly.refunds_cents + $4",
                    &[&e.instructor_id, &year, &month, &e.amount_cents],
                )
                .await?;
            writes
                .execute(
                    "UPDATE instructor_course_earnings SET earning_cents = earning_cents - $3 \
                     WHERE instructor_id = $1 AND course_id = $2",
                    &[&e.instructor_id, &e.course_id, &e.amount_cents],
                )
                .await
        }
        Event::WalletCredited(e) => {
            if matches!(e.reason, CreditReason::Refund | CreditReason::OrderLineRefund) {
                platform_day(writes, at, Platform { refunds: e.amount_cents, ..Platform::default() }).await?;
            }
            let kind = e.reason.as_str();
            wallet(
                writes,
                recorded,
                e.trainee_id,
                &e.operation_id,
                e.amount_cents,
                e.balance_cents,
                kind,
                e.note.as_deref(),
                None,
            )
            .await
        }
        Event::WalletDebited(e) => {
            let delta = -e.amount_cents;
            wallet(
                writes,
                recorded,
                e.trainee_id,
                &e.operation_id,
                delta,
                e.balance_cents,
                "order",
                None,
                Some(e.order_id),
            )
            .await
        }
        // Refused debits change no balance; the order records the failure.
        _ => Ok(()),
    }
}

/// What one event adds to the platform's day, in US cents.
#[derive(Debug, Default)]
struct Platform {
    gross: i64,
    refunds: i64,
    instructors: i64,
}

async fn platform_day(
    writes: &mut Writes<'_, '_>,
    at: &time::OffsetDateTime,
    add: Platform,
) -> Result<(), tokio_postgres::Error> {
    let day = at.to_offset(time::UtcOffset::UTC).date();
    writes
        .execute(
            "INSERT INTO platform_revenue_daily (day, gross_cents, refunds_cents, instructor_cents)              VALUES ($1, $2, $3, $4) ON CONFLICT (day) DO UPDATE SET              gross_cents = platform_revenue_daily.gross_cents + $2,              refunds_cents = platform_revenue_daily.refunds_cents + $3,              instructor_cents = platform_revenue_daily.instructor_cents + $4",
            &[&day, &add.gross, &add.refunds, &add.instructors],
        )
        .await
}

/// A credit or debit: the transaction row and the wallet's balance after it.
#[allow(clippy::too_many_arguments)]
async fn wallet(
    writes: &mut Writes<'_, '_>,
    recorded: &RecordedEvent,
    trainee_id: uuid::Uuid,
    operation_id: &str,
    delta_cents: i64,
    balance_cents: i64,
    kind: &str,
    note: Option<&str>,
    order_id: Option<uuid::Uuid>,
) -> Result<(), tokio_postgres::Error> {
    writes
        .execute(
            "INSERT INTO wallet_txn (trainee_id, operation_id, at, delta_cents, balance_cents, kind, note, order_id, \
             position) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING",
            &[
                &trainee_id,
                &operation_id,
                &recorded.occurred_at,
                &delta_cents,
                &balance_cents,
                &kind,
                &note,
                &order_id,
                &recorded.position,
            ],
        )
        .await?;
    writes
        .execute(
            "INSERT INTO wallet_view (trainee_id, balance_cents, version) VALUES ($1, $2, $3) \
             ON CONFLICT (trainee_id) DO UPDATE SET balance_cents = $2, version = $3 WHERE wallet_view.version < $3",
            &[&trainee_id, &balance_cents, &recorded.stream_version],
        )
        .await
}
