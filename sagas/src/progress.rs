//! Saga 8: when a course's lessons change, every enrolment in it gets its progress recomputed over the
//! lessons that exist now (it may go down; certificates already issued stay). Which trainees are enrolled is
//! read from the read models.

use command_api::{Cause, Checkout};
use database::Database;
use events::Event;
use uuid::Uuid;

use crate::Failure;

pub(crate) async fn react(checkout: &Checkout, read: &Database, cause: &Cause, event: &Event) -> Result<(), Failure> {
    let course_id = match event {
        Event::LessonAdded(added) => added.course_id,
        Event::LessonRemoved(removed) => removed.course_id,
        Event::SectionRemoved(removed) => removed.course_id,
        _ => return Ok(()),
    };
    let transient = |error: &dyn std::fmt::Display| Failure::Transient(error.to_string());
    let client = read.pool().get().await.map_err(|e| transient(&e))?;
    let rows = client
        .query("SELECT trainee_id FROM enrollment_view WHERE course_id = $1 AND status = 'active'", &[&course_id])
        .await
        .map_err(|e| transient(&e))?;
    drop(client);
    let learning = checkout.learning();
    for row in rows {
        let trainee_id: Uuid = row.try_get(0).map_err(|e| transient(&e))?;
        learning.recompute_progress(cause, trainee_id, course_id).await?;
    }
    Ok(())
}
