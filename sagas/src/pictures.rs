//! Pictures no longer shown leave storage: the one a new profile picture or thumbnail replaced, a deleted or
//! erased person's profile picture (what they put here goes with them), and a deleted course's thumbnail.
//! Deleting is idempotent, so a redelivered event changes nothing; a replaced picture that is in use again by
//! the time its event is handled is kept.

use command_api::Checkout;
use events::Event;
use events::catalog::CourseThumbnailSet;
use events::identity::ProfilePictureSet;

use crate::Failure;

pub(crate) async fn react(checkout: &Checkout, event: &Event) -> Result<(), Failure> {
    let pictures = checkout.pictures();
    match event {
        Event::ProfilePictureSet(ProfilePictureSet { user_id, replaced: Some(replaced), .. }) => {
            pictures.replaced_portrait(*user_id, replaced).await?
        }
        Event::CourseThumbnailSet(CourseThumbnailSet { course_id, replaced: Some(replaced), .. }) => {
            pictures.replaced_thumbnail(*course_id, replaced).await?
        }
        Event::TraineeAccountDeleted(deleted) => pictures.forget_person(deleted.user_id).await?,
        Event::AccountErased(erased) => pictures.forget_person(erased.user_id).await?,
        Event::CourseDeleted(deleted) => pictures.forget_course(deleted.course_id).await?,
        _ => {}
    }
    Ok(())
}
