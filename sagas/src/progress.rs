//! Saga 8: when a course's lessons change, every enrolment in it gets its progress recomputed over the
//! lessons that exist now (it may go down; certificates already issued stay). Which trainees are enrolled is
//! read from the read models.

use command_api::{Cause, Checkout};
use events::Event;
use lookups::Lookups;

use crate::Failure;

pub(crate) async fn react(checkout: &Checkout, read: &Lookups, cause: &Cause, event: &Event) -> Result<(), Failure> {
    let course_id = match event {
        Event::LessonAdded(added) => added.course_id,
        Event::LessonRemoved(removed) => removed.course_id,
        Event::SectionRemoved(removed) => removed.course_id,
        _ => return Ok(()),
    };
    let learning = checkout.learning();
    for trainee_id in read.active_learners(course_id).await? {
        learning.recompute_progress(cause, trainee_id, course_id).await?;
    }
    Ok(())
}
