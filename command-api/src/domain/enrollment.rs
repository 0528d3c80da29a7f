//! The Enrollment aggregate (stream `enrollment-{trainee}-{course}`): a trainee's access to one course. The
//! stream id is deterministic, so a second enrolment in the same course meets the first (R23): enrolling
//! again for the same reason changes nothing, for another reason it is refused, and the checkout saga then
//! refunds the line. This issue builds enrolling; learning and refunds extend the same aggregate.

use events::Event;
use events::learning::{EnrollmentSource, TraineeEnrolled};
use uuid::Uuid;

use super::Aggregate;
use super::course::{Course, CourseStatus};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EnrollmentStatus {
    #[default]
    Missing,
    Active,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Enrollment {
    pub status: EnrollmentStatus,
    pub source: Option<EnrollmentSource>,
}

impl Aggregate for Enrollment {
    fn evolve(self, event: &Event) -> Self {
        match event {
            Event::TraineeEnrolled(enrolled) => {
                Enrollment { status: EnrollmentStatus::Active, source: Some(enrolled.source.clone()) }
            }
            _ => self,
        }
    }
}

impl Enrollment {
    pub fn is_active(&self) -> bool {
        self.status == EnrollmentStatus::Active
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnrollmentRejection {
    /// The course does not exist or was deleted.
    CourseNotFound,
    /// The trainee holds an active enrolment from another source (another order, a grant).
    AlreadyEnrolled,
}

/// Enrols `trainee_id` in `course` for `source`. A course that exists and is not deleted may be enrolled in,
/// whatever its status: a purchase paid just before the course was retired keeps its access (D4).
pub fn enroll(
    enrollment: &Enrollment,
    course: &Course,
    trainee_id: Uuid,
    source: EnrollmentSource,
) -> Result<Vec<Event>, EnrollmentRejection> {
    if matches!(course.status, CourseStatus::Missing | CourseStatus::Deleted) {
        return Err(EnrollmentRejection::CourseNotFound);
    }
    match &enrollment.source {
        Some(existing) if enrollment.is_active() && *existing == source => Ok(Vec::new()),
        _ if enrollment.is_active() => Err(EnrollmentRejection::AlreadyEnrolled),
        _ => Ok(vec![Event::TraineeEnrolled(TraineeEnrolled {
            trainee_id,
            course_id: course.id,
            instructor_id: course.owner,
            source,
        })]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TRAINEE: Uuid = Uuid::from_u128(1);

    fn course(status: CourseStatus) -> Course {
        Course { id: Uuid::from_u128(2), owner: Uuid::from_u128(3), status, ..Course::default() }
    }

    fn purchase(order: u128) -> EnrollmentSource {
        EnrollmentSource::Purchase { order_id: Uuid::from_u128(order), price_cents: 1999 }
    }

    #[test]
    fn a_purchase_enrols_once_and_the_same_purchase_again_changes_nothing() {
        let events =
            enroll(&Enrollment::default(), &course(CourseStatus::Published), TRAINEE, purchase(9)).expect("enrolled");
        let Event::TraineeEnrolled(enrolled) = &events[0] else { panic!("another event") };
        assert_eq!((enrolled.course_id, enrolled.instructor_id), (Uuid::from_u128(2), Uuid::from_u128(3)));
        let enrollment = Enrollment::from_events(&events);
        assert!(enrollment.is_active());
        assert_eq!(enroll(&enrollment, &course(CourseStatus::Published), TRAINEE, purchase(9)), Ok(Vec::new()));
    }

    #[test]
    fn a_second_order_or_a_grant_for_an_owned_course_is_refused() {
        let enrollment = Enrollment::from_events(
            &enroll(&Enrollment::default(), &course(CourseStatus::Published), TRAINEE, purchase(9)).expect("enrolled"),
        );
        let published = course(CourseStatus::Published);
        assert_eq!(enroll(&enrollment, &published, TRAINEE, purchase(10)), Err(EnrollmentRejection::AlreadyEnrolled));
        let grant = EnrollmentSource::AdminGrant { admin_id: Uuid::from_u128(4) };
        assert_eq!(enroll(&enrollment, &published, TRAINEE, grant), Err(EnrollmentRejection::AlreadyEnrolled));
    }

    #[test]
    fn retired_courses_keep_enrolling_but_deleted_or_unknown_ones_do_not() {
        let fresh = Enrollment::default();
        assert!(enroll(&fresh, &course(CourseStatus::Retired), TRAINEE, purchase(9)).is_ok());
        for status in [CourseStatus::Deleted, CourseStatus::Missing] {
            assert_eq!(enroll(&fresh, &course(status), TRAINEE, purchase(9)), Err(EnrollmentRejection::CourseNotFound));
        }
    }
}
