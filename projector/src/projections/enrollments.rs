//! `enrollment_view`: each trainee's enrolments, with where they came from and their progress; and
//! `trainee_last_viewed`, the course each trainee opened last.

use deadpool_postgres::Transaction;
use events::learning::EnrollmentSource;
use events::{Event, RecordedEvent};

pub(super) async fn apply(
    transaction: &Transaction<'_>,
    recorded: &RecordedEvent,
    event: &Event,
) -> Result<(), tokio_postgres::Error> {
    match event {
        Event::LessonViewed(viewed) => {
            let statement = transaction
                .prepare_cached(
                    "UPDATE enrollment_view SET progress = $3, visited_lessons = array_append(visited_lessons, $4), \
                     version = $5 WHERE trainee_id = $1 AND course_id = $2 AND version < $5",
                )
                .await?;
            let progress = i16::from(viewed.progress);
            let params: [&(dyn tokio_postgres::types::ToSql + Sync); 5] =
                [&viewed.trainee_id, &viewed.course_id, &progress, &viewed.lesson_id, &recorded.stream_version];
            transaction.execute(&statement, &params).await?;
            return last_viewed(transaction, viewed.trainee_id, viewed.course_id, recorded).await;
        }
        Event::ProgressRecomputed(recomputed) => {
            let statement = transaction
                .prepare_cached(
                    "UPDATE enrollment_view SET progress = $3, version = $4 \
                     WHERE trainee_id = $1 AND course_id = $2 AND version < $4",
                )
                .await?;
            let progress = i16::from(recomputed.progress);
            let params: [&(dyn tokio_postgres::types::ToSql + Sync); 4] =
                [&recomputed.trainee_id, &recomputed.course_id, &progress, &recorded.stream_version];
            return transaction.execute(&statement, &params).await.map(drop);
        }
        Event::CourseOpened(opened) => {
            return last_viewed(transaction, opened.trainee_id, opened.course_id, recorded).await;
        }
        _ => {}
    }
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

async fn last_viewed(
    transaction: &Transaction<'_>,
    trainee_id: uuid::Uuid,
    course_id: uuid::Uuid,
    recorded: &RecordedEvent,
) -> Result<(), tokio_postgres::Error> {
    let statement = transaction
        .prepare_cached(
            "INSERT INTO trainee_last_viewed (trainee_id, course_id, at) VALUES ($1, $2, $3) \
             ON CONFLICT (trainee_id) DO UPDATE SET course_id = $2, at = $3 WHERE trainee_last_viewed.at <= $3",
        )
        .await?;
    transaction.execute(&statement, &[&trainee_id, &course_id, &recorded.occurred_at]).await.map(drop)
}
