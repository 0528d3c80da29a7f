//! `course_review`, `instructor_review` and `instructor_rating`: the reviews of each course and instructor
//! (D7) and each instructor's average, 2 decimals, half up (R12). A review event carries the rating it
//! replaces, so the average moves without reading the other reviews. An erased or deleted reviewer's comments go; the
//! ratings stay in the averages.

use super::Writes;
use events::{Event, RecordedEvent};

pub(super) async fn apply(
    writes: &mut Writes<'_, '_>,
    recorded: &RecordedEvent,
    event: &Event,
) -> Result<(), tokio_postgres::Error> {
    if let Some(person) = super::erased_person(event) {
        for table in ["course_review", "instructor_review"] {
            let sql = format!("UPDATE {table} SET comment = NULL WHERE trainee_id = $1");
            writes.execute(&sql, &[&person]).await?;
        }
        return Ok(());
    }
    match event {
        Event::CourseReviewed(e) => {
            let comment = e.comment.text();
            let rating = i16::from(e.rating);
            writes.execute("INSERT INTO course_review (course_id, trainee_id, rating, comment, created_at, updated_at, version) \
                            VALUES ($1, $2, $3, $4, $5, $5, $6) ON CONFLICT (course_id, trainee_id) DO UPDATE \
                            SET rating = $3, comment = $4, updated_at = $5, version = $6 WHERE course_review.version < $6",
                &[&e.course_id, &e.trainee_id, &rating, &comment, &recorded.occurred_at, &recorded.stream_version],
            )
            .await
        }
        Event::CourseReviewDeleted(e) => {
            writes
                .execute(
                    "DELETE FROM course_review WHERE course_id = $1 AND trainee_id = $2 AND version < $3",
                    &[&e.course_id, &e.trainee_id, &recorded.stream_version],
                )
                .await
        }
        Event::InstructorReviewed(e) => {
            let comment = e.comment.text();
            let rating = i16::from(e.rating);
            writes
                .execute(
                    "INSERT INTO instructor_review (instructor_id, trainee_id, course_id, rating, comment, created_at, \
                     updated_at, version) VALUES ($1, $2, $3, $4, $5, $6, $6, $7) \
                     ON CONFLICT (instructor_id, trainee_id) DO UPDATE SET course_id = $3, rating = $4, comment = $5, \
                     updated_at = $6, version = $7 WHERE instructor_review.version < $7",
                    &[
                        &e.instructor_id,
                        &e.trainee_id,
                        &e.course_id,
                        &rating,
                        &comment,
                        &recorded.occurred_at,
                        &recorded.stream_version,
                    ],
                )
                .await?;
            instructor_rating(writes, e.instructor_id, Some(e.rating), e.previous_rating).await
        }
        Event::InstructorReviewDeleted(e) => {
            writes
                .execute(
                    "DELETE FROM instructor_review WHERE instructor_id = $1 AND trainee_id = $2 AND version < $3",
                    &[&e.instructor_id, &e.trainee_id, &recorded.stream_version],
                )
                .await?;
            instructor_rating(writes, e.instructor_id, None, Some(e.previous_rating)).await
        }
        _ => Ok(()),
    }
}

/// Moves an instructor's average by a rating added (`rating`) in place of `previous`.
async fn instructor_rating(
    writes: &mut Writes<'_, '_>,
    instructor_id: uuid::Uuid,
    rating: Option<u8>,
    previous: Option<u8>,
) -> Result<(), tokio_postgres::Error> {
    let (sum, count) = rating_change(rating, previous);
    writes
        .execute(
            "INSERT INTO instructor_rating (instructor_id, rating_sum, rating_count, rating_avg) \
             VALUES ($1, $2, $3, COALESCE(round($2::bigint::numeric / NULLIF($3::integer, 0), 2), 0)) \
             ON CONFLICT (instructor_id) DO UPDATE SET rating_sum = instructor_rating.rating_sum + $2, \
             rating_count = instructor_rating.rating_count + $3, \
             rating_avg = COALESCE(round((instructor_rating.rating_sum + $2)::numeric \
             / NULLIF(instructor_rating.rating_count + $3, 0), 2), 0)",
            &[&instructor_id, &sum, &count],
        )
        .await
}

/// What a review adds to a sum and a count of ratings: its rating in place of the previous one.
pub(super) fn rating_change(rating: Option<u8>, previous: Option<u8>) -> (i64, i32) {
    let sum = i64::from(rating.unwrap_or(0)) - i64::from(previous.unwrap_or(0));
    let count = i32::from(rating.is_some()) - i32::from(previous.is_some());
    (sum, count)
}

#[cfg(test)]
mod tests {
    use super::rating_change;

    #[test]
    fn a_new_review_adds_an_edit_replaces_and_a_deletion_takes_away() {
        assert_eq!(rating_change(Some(4), None), (4, 1));
        assert_eq!(rating_change(Some(2), Some(4)), (-2, 0));
        assert_eq!(rating_change(None, Some(2)), (-2, -1));
    }
}
