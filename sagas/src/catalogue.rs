//! Saga 5: a retired or deleted course leaves every cart and wishlist, and a deleted course's open access
//! requests are rejected (D4 keeps a course with enrolments, hence with refund requests, from being
//! deleted). Which lists and requests hold it is read from the read models; a list that took the course
//! while the read models lagged keeps it until the trainee orders, and the order refuses a course that is
//! not for sale.

use command_api::domain::cart::ListKind;
use command_api::{Cause, Checkout};
use database::Database;
use events::Event;
use uuid::Uuid;

use crate::Failure;

pub(crate) async fn react(checkout: &Checkout, read: &Database, cause: &Cause, event: &Event) -> Result<(), Failure> {
    let course_id = match event {
        Event::CourseRetired(retired) => retired.course_id,
        Event::CourseDeleted(deleted) => deleted.course_id,
        _ => return Ok(()),
    };
    for (kind, table) in [(ListKind::Cart, "cart_item"), (ListKind::Wishlist, "wishlist_item")] {
        let sql = format!("SELECT trainee_id FROM {table} WHERE course_id = $1");
        for trainee_id in holders(read, &sql, course_id).await? {
            checkout.withdraw(cause, kind, trainee_id, course_id).await?;
        }
    }
    if matches!(event, Event::CourseDeleted(_)) {
        let open = "SELECT user_id FROM report_view WHERE course_id = $1 AND kind = 'course_request' \
                    AND status IN ('unseen', 'pending')";
        for trainee_id in holders(read, open, course_id).await? {
            checkout.close_access_request(cause, trainee_id, course_id).await?;
        }
    }
    Ok(())
}

async fn holders(read: &Database, sql: &str, course_id: Uuid) -> Result<Vec<Uuid>, Failure> {
    let transient = |error: &dyn std::fmt::Display| Failure::Transient(error.to_string());
    let client = read.pool().get().await.map_err(|e| transient(&e))?;
    let rows = client.query(sql, &[&course_id]).await.map_err(|e| transient(&e))?;
    rows.iter().map(|row| row.try_get(0).map_err(|e| transient(&e))).collect()
}
