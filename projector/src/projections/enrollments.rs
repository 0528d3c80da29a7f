//! `enrollment_view`: each trainee's enrolments, with where they came from.

use deadpool_postgres::Transaction;
use events::learning::EnrollmentSource;
use events::{Event, RecordedEvent};

pub(super) async fn apply(
    transaction: &Transaction<'_>,
    recorded: &RecordedEvent,
    event: &Event,
) -> Result<(), tokio_postgres::Error> {
    let Event::TraineeEnrolled(enrolled) = event else { return Ok(()) };
    let (order_id, price_cents) = match &enrolled.source {
        EnrollmentSource::Purchase { order_id, price_cents } => (Some(*order_id), Some(*price_cents)),
        EnrollmentSource::AdminGrant { .. } | EnrollmentSource::CorporateGrant { .. } => (None, None),
    };
    let statement = transaction
        .prepare_cached(
            "INSERT INTO enrollment_view (trainee_id, course_id, status, source, order_id, price_cents, enrolled_at, \
             version) VALUES ($1, $2, 'active', $3, $4, $5, $6, $7) \
             ON CONFLICT (trainee_id, course_id) DO UPDATE SET status = 'active', source = $3, order_id = $4, \
             price_cents = $5, enrolled_at = $6, version = $7 WHERE enrollment_view.version < $7",
        )
        .await?;
    let source = enrolled.source.kind();
    transaction
        .execute(
            &statement,
            &[
                &enrolled.trainee_id,
                &enrolled.course_id,
                &source,
                &order_id,
                &price_cents,
                &recorded.occurred_at,
                &recorded.stream_version,
            ],
        )
        .await
        .map(drop)
}
