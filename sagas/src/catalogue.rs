//! Saga 5: a retired or deleted course leaves every cart and wishlist, and a deleted course's open access
//! requests are rejected (D4 keeps a course with enrolments, hence with refund requests, from being
//! deleted). Which lists and requests hold it is read from the read models; a list that took the course
//! while the read models lagged keeps it until the trainee orders, and the order refuses a course that is
//! not for sale.

use command_api::domain::cart::ListKind;
use command_api::{Cause, Checkout};
use events::Event;
use lookups::{List, Lookups};

use crate::Failure;

pub(crate) async fn react(checkout: &Checkout, read: &Lookups, cause: &Cause, event: &Event) -> Result<(), Failure> {
    let course_id = match event {
        Event::CourseRetired(retired) => retired.course_id,
        Event::CourseDeleted(deleted) => deleted.course_id,
        _ => return Ok(()),
    };
    for (kind, list) in [(ListKind::Cart, List::Cart), (ListKind::Wishlist, List::Wishlist)] {
        for trainee_id in read.holders(list, course_id).await? {
            checkout.withdraw(cause, kind, trainee_id, course_id).await?;
        }
    }
    if matches!(event, Event::CourseDeleted(_)) {
        for trainee_id in read.open_access_requests(course_id).await? {
            checkout.close_access_request(cause, trainee_id, course_id).await?;
        }
    }
    Ok(())
}
