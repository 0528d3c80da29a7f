//! `catalog_course`: one row per course with its public fields, published or not.

use deadpool_postgres::Transaction;
use events::{Event, RecordedEvent};

pub(super) async fn apply(
    transaction: &Transaction<'_>,
    recorded: &RecordedEvent,
    event: &Event,
) -> Result<(), tokio_postgres::Error> {
    match event {
        Event::CourseCreated(created) => {
            let statement = transaction
                .prepare_cached(
                    "INSERT INTO catalog_course (id, instructor_id, title, summary, category, subcategories, level, \
                     language, base_price_cents, status, version, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'draft', $10, $11, $11) \
                     ON CONFLICT (id) DO NOTHING",
                )
                .await?;
            transaction
                .execute(
                    &statement,
                    &[
                        &created.course_id,
                        &created.instructor_id,
                        &created.title,
                        &created.summary,
                        &created.category,
                        &created.subcategories,
                        &created.level.as_str(),
                        &created.language,
                        &created.base_price_cents,
                        &recorded.stream_version,
                        &recorded.occurred_at,
                    ],
                )
                .await?;
        }
        Event::CoursePublished(published) => {
            let statement = transaction
                .prepare_cached(
                    "UPDATE catalog_course SET status = 'published', published_at = $2, updated_at = $2, version = $3 \
                     WHERE id = $1 AND version < $3",
                )
                .await?;
            transaction
                .execute(&statement, &[&published.course_id, &recorded.occurred_at, &recorded.stream_version])
                .await?;
        }
        Event::CourseDetailsUpdated(updated) => {
            let statement = transaction
                .prepare_cached(
                    "UPDATE catalog_course SET title = COALESCE($2, title), summary = COALESCE($3, summary), \
                     category = COALESCE($4, category), subcategories = COALESCE($5, subcategories), \
                     level = COALESCE($6, level), language = COALESCE($7, language), \
                     version = $8, updated_at = $9 WHERE id = $1 AND version < $8",
                )
                .await?;
            let level = updated.level.map(|level| level.as_str());
            transaction
                .execute(
                    &statement,
                    &[
                        &updated.course_id,
                        &updated.title,
                        &updated.summary,
                        &updated.category,
                        &updated.subcategories,
                        &level,
                        &updated.language,
                        &recorded.stream_version,
                        &recorded.occurred_at,
                    ],
                )
                .await?;
        }
        Event::CourseRetired(retired) => {
            let statement = transaction
                .prepare_cached(
                    "UPDATE catalog_course SET status = 'retired', version = $2, updated_at = $3 \
                     WHERE id = $1 AND version < $2",
                )
                .await?;
            transaction
                .execute(&statement, &[&retired.course_id, &recorded.stream_version, &recorded.occurred_at])
                .await?;
        }
        Event::CoursePriceChanged(changed) => {
            let statement = transaction
                .prepare_cached(
                    "UPDATE catalog_course SET base_price_cents = $2, version = $3, updated_at = $4 \
                     WHERE id = $1 AND version < $3",
                )
                .await?;
            transaction
                .execute(
                    &statement,
                    &[&changed.course_id, &changed.base_price_cents, &recorded.stream_version, &recorded.occurred_at],
                )
                .await?;
        }
        _ => {}
    }
    Ok(())
}
