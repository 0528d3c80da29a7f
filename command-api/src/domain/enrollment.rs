//! The Enrollment aggregate (stream `enrollment-{trainee}-{course}`): a trainee's access to one course. The
//! stream id is deterministic, so a second enrolment in the same course meets the first (R23): enrolling
//! again for the same reason changes nothing, for another reason it is refused, and the checkout saga then
//! refunds the line. This issue builds enrolling; learning and refunds extend the same aggregate.

use events::Event;
use events::learning::{CourseOpened, EnrollmentSource, LessonViewed, ProgressRecomputed, TraineeEnrolled};
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
    /// Lessons opened at least once, in the order they were first opened.
    pub visited: Vec<Uuid>,
    pub progress: u8,
}

impl Aggregate for Enrollment {
    fn evolve(self, event: &Event) -> Self {
        match event {
            Event::TraineeEnrolled(enrolled) => Enrollment {
                status: EnrollmentStatus::Active,
                source: Some(enrolled.source.clone()),
                ..Enrollment::default()
            },
            Event::ProgressRecomputed(recomputed) => Enrollment { progress: recomputed.progress, ..self },
            Event::LessonViewed(viewed) => {
                let mut visited = self.visited;
                visited.push(viewed.lesson_id);
                Enrollment { visited, progress: viewed.progress, ..self }
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

/// Why a learning command is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LearningRejection {
    /// Not enrolled in the course (404: it says nothing about the course).
    NotEnrolled,
    /// The course has no such lesson now.
    LessonNotFound,
}

/// R8: trunc(|visited lessons that still exist| / |lessons| x 100).
pub fn progress_of(visited: &[Uuid], lessons: &[Uuid]) -> u8 {
    if lessons.is_empty() {
        return 0;
    }
    let seen = lessons.iter().filter(|lesson| visited.contains(lesson)).count();
    u8::try_from(seen * 100 / lessons.len()).unwrap_or(100)
}

/// Records the first view of `lesson_id` (a lesson of the course now, `lessons`); a lesson seen before
/// changes nothing. Progress never goes down on a view.
pub fn view_lesson(
    enrollment: &Enrollment,
    lessons: &[Uuid],
    trainee_id: Uuid,
    course_id: Uuid,
    lesson_id: Uuid,
) -> Result<Vec<Event>, LearningRejection> {
    if !enrollment.is_active() {
        return Err(LearningRejection::NotEnrolled);
    }
    if !lessons.contains(&lesson_id) {
        return Err(LearningRejection::LessonNotFound);
    }
    if enrollment.visited.contains(&lesson_id) {
        return Ok(Vec::new());
    }
    let mut visited = enrollment.visited.clone();
    visited.push(lesson_id);
    let progress = progress_of(&visited, lessons).max(enrollment.progress);
    Ok(vec![Event::LessonViewed(LessonViewed { trainee_id, course_id, lesson_id, progress })])
}

/// Saga 8: the progress over the course's lessons as they are now (`lessons`), recorded only when it
/// changed; nothing for an enrolment that is not active.
pub fn recompute_progress(enrollment: &Enrollment, lessons: &[Uuid], trainee_id: Uuid, course_id: Uuid) -> Vec<Event> {
    let progress = progress_of(&enrollment.visited, lessons);
    if !enrollment.is_active() || progress == enrollment.progress {
        return Vec::new();
    }
    vec![Event::ProgressRecomputed(ProgressRecomputed { trainee_id, course_id, progress })]
}

/// Records that the trainee opened the course (the last viewed course).
pub fn open_course(
    enrollment: &Enrollment,
    trainee_id: Uuid,
    course_id: Uuid,
) -> Result<Vec<Event>, LearningRejection> {
    if !enrollment.is_active() {
        return Err(LearningRejection::NotEnrolled);
    }
    Ok(vec![Event::CourseOpened(CourseOpened { trainee_id, course_id })])
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
    fn a_lesson_counts_once_and_progress_is_the_share_of_lessons_seen() {
        let (a, b, c) = (Uuid::from_u128(20), Uuid::from_u128(21), Uuid::from_u128(22));
        let lessons = [a, b, c];
        let enrolled = Enrollment::from_events(
            &enroll(&Enrollment::default(), &course(CourseStatus::Published), TRAINEE, purchase(9)).expect("enrolled"),
        );
        let course_id = Uuid::from_u128(2);
        let first = view_lesson(&enrolled, &lessons, TRAINEE, course_id, a).expect("viewed");
        assert!(matches!(&first[..], [Event::LessonViewed(v)] if v.progress == 33), "trunc(1/3 x 100)");
        let seen = first.iter().fold(enrolled.clone(), Enrollment::evolve);
        assert_eq!(view_lesson(&seen, &lessons, TRAINEE, course_id, a), Ok(Vec::new()), "a second view counts nothing");
        let second = view_lesson(&seen, &lessons, TRAINEE, course_id, b).expect("viewed");
        assert!(matches!(&second[..], [Event::LessonViewed(v)] if v.progress == 66));
        assert_eq!(
            view_lesson(&seen, &lessons, TRAINEE, course_id, Uuid::from_u128(99)),
            Err(LearningRejection::LessonNotFound)
        );
        assert_eq!(
            view_lesson(&Enrollment::default(), &lessons, TRAINEE, course_id, a),
            Err(LearningRejection::NotEnrolled)
        );
        assert_eq!(open_course(&Enrollment::default(), TRAINEE, course_id), Err(LearningRejection::NotEnrolled));
        assert!(open_course(&enrolled, TRAINEE, course_id).is_ok());
    }

    #[test]
    fn progress_never_goes_down_on_a_view_even_after_lessons_were_added() {
        let (a, b) = (Uuid::from_u128(20), Uuid::from_u128(21));
        let mut enrollment = Enrollment::from_events(
            &enroll(&Enrollment::default(), &course(CourseStatus::Published), TRAINEE, purchase(9)).expect("enrolled"),
        );
        enrollment.visited = vec![a];
        enrollment.progress = 100;
        let more = [a, b, Uuid::from_u128(22), Uuid::from_u128(23)];
        let viewed = view_lesson(&enrollment, &more, TRAINEE, Uuid::from_u128(2), b).expect("viewed");
        assert!(matches!(&viewed[..], [Event::LessonViewed(v)] if v.progress == 100));
        assert_eq!(progress_of(&[a, b], &more), 50);
        assert_eq!(progress_of(&[a], &[]), 0);
    }

    #[test]
    fn progress_is_recomputed_over_the_lessons_that_exist_now_and_only_when_it_changes() {
        let (a, b, c) = (Uuid::from_u128(20), Uuid::from_u128(21), Uuid::from_u128(22));
        let mut enrollment = Enrollment::from_events(
            &enroll(&Enrollment::default(), &course(CourseStatus::Published), TRAINEE, purchase(9)).expect("enrolled"),
        );
        enrollment.visited = vec![a];
        enrollment.progress = 50;
        let course_id = Uuid::from_u128(2);
        let removed = recompute_progress(&enrollment, &[a], TRAINEE, course_id);
        assert!(
            matches!(&removed[..], [Event::ProgressRecomputed(p)] if p.progress == 100),
            "the unseen lesson was removed"
        );
        let added = recompute_progress(&enrollment, &[a, b, c], TRAINEE, course_id);
        assert!(matches!(&added[..], [Event::ProgressRecomputed(p)] if p.progress == 33), "lessons were added");
        assert_eq!(recompute_progress(&enrollment, &[a, b], TRAINEE, course_id), Vec::new(), "unchanged");
        assert_eq!(recompute_progress(&Enrollment::default(), &[a], TRAINEE, course_id), Vec::new(), "not enrolled");
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
