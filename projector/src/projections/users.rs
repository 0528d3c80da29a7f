//! `user_directory`: one row per account, as the Identity context describes it. No credentials.

use deadpool_postgres::Transaction;
use events::{Event, RecordedEvent, Role};

pub(super) async fn apply(
    transaction: &Transaction<'_>,
    recorded: &RecordedEvent,
    event: &Event,
) -> Result<(), tokio_postgres::Error> {
    if let Event::IndividualTraineeRegistered(registered) = event {
        let statement = transaction
            .prepare_cached(
                "INSERT INTO user_directory (id, kind, role, email, username, name, country, version, created_at) \
                 VALUES ($1, 'trainee', $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (id) DO NOTHING",
            )
            .await?;
        transaction
            .execute(
                &statement,
                &[
                    &registered.user_id,
                    &Role::IndividualTrainee.as_str(),
                    &registered.email,
                    &registered.username,
                    &registered.name,
                    &registered.country,
                    &recorded.stream_version,
                    &recorded.occurred_at,
                ],
            )
            .await?;
    }
    Ok(())
}
