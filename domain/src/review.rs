//! The Review aggregates (Engagement, D7, R12): a trainee's one review of a course (`creview-{course}-
//! {trainee}`) and of an instructor (`ireview-{instructor}-{trainee}`), rated 1 to 5 with a comment of up to
//! 2,000 characters, editable and deletable. Only a trainee who learns the course, or completed it, reviews
//! it; an instructor is reviewed through a course of theirs the trainee learns or completed.

use crate::effects::Decided;
use events::Event;
use events::engagement::{CourseReviewDeleted, CourseReviewed, InstructorReviewDeleted, InstructorReviewed};
use events::personal::Personal;
use uuid::Uuid;

use super::Aggregate;
use super::course::Course;
use super::enrollment::Enrollment;
use crate::families::ReviewEvent;

pub const COMMENT_MAX_CHARS: usize = 2_000;
pub const RATINGS: std::ops::RangeInclusive<u8> = 1..=5;

/// A review's current rating; `None` while there is none (never written, or deleted).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Review {
    pub rating: Option<u8>,
}

impl Aggregate for Review {
    fn evolve(self, event: &Event) -> Self {
        let Some(event) = ReviewEvent::of(event) else { return self };
        match event {
            ReviewEvent::CourseReviewed(e) => Review { rating: Some(e.rating) },
            ReviewEvent::InstructorReviewed(e) => Review { rating: Some(e.rating) },
            ReviewEvent::CourseReviewDeleted(_) | ReviewEvent::InstructorReviewDeleted(_) => Review { rating: None },
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReviewRejection {
    /// D7: only a trainee with an active or completed enrolment reviews.
    NotALearner,
    /// The course named as the instructor's is not theirs.
    NotTheirCourse,
    InvalidRating(u8),
    CommentTooLong {
        chars: usize,
    },
    /// There is no review to delete.
    NoReview,
}

/// Learns the course now, or completed it (a completed course may have been refunded or revoked since: the
/// trainee still took it).
fn learner(enrollment: &Enrollment) -> Result<(), ReviewRejection> {
    if enrollment.is_active() || enrollment.completed { Ok(()) } else { Err(ReviewRejection::NotALearner) }
}

fn checked(rating: u8, comment: &str) -> Result<Personal, ReviewRejection> {
    if !RATINGS.contains(&rating) {
        return Err(ReviewRejection::InvalidRating(rating));
    }
    let comment = comment.trim();
    let chars = comment.chars().count();
    if chars > COMMENT_MAX_CHARS {
        return Err(ReviewRejection::CommentTooLong { chars });
    }
    Ok(Personal::clear(comment))
}

/// What a trainee does with one of their reviews. A review rests on what the trainee learned, loaded first:
/// the enrolment in the course (and, for an instructor, the course that makes them its instructor).
#[derive(Debug, Clone, Copy)]
pub enum ReviewCommand<'a> {
    /// Writes or replaces the trainee's review of the course they learn in `enrollment`.
    ReviewCourse {
        course_id: Uuid,
        trainee_id: Uuid,
        enrollment: &'a Enrollment,
        rating: u8,
        comment: &'a str,
    },
    DeleteCourseReview {
        course_id: Uuid,
        trainee_id: Uuid,
    },
    /// Writes or replaces the trainee's review of `instructor_id`, who owns `course`, a course they learn in
    /// `enrollment`.
    ReviewInstructor {
        instructor_id: Uuid,
        trainee_id: Uuid,
        course: &'a Course,
        enrollment: &'a Enrollment,
        rating: u8,
        comment: &'a str,
    },
    DeleteInstructorReview {
        instructor_id: Uuid,
        trainee_id: Uuid,
    },
}

pub fn decide(review: &Review, command: ReviewCommand<'_>) -> Result<Decided, ReviewRejection> {
    match command {
        ReviewCommand::ReviewCourse { course_id, trainee_id, enrollment, rating, comment } => {
            learner(enrollment)?;
            let comment = checked(rating, comment)?;
            let previous_rating = review.rating;
            Ok(vec![Event::CourseReviewed(CourseReviewed { course_id, trainee_id, rating, comment, previous_rating })])
        }
        ReviewCommand::DeleteCourseReview { course_id, trainee_id } => {
            let previous_rating = review.rating.ok_or(ReviewRejection::NoReview)?;
            Ok(vec![Event::CourseReviewDeleted(CourseReviewDeleted { course_id, trainee_id, previous_rating })])
        }
        ReviewCommand::ReviewInstructor { instructor_id, trainee_id, course, enrollment, rating, comment } => {
            if course.owner != instructor_id {
                return Err(ReviewRejection::NotTheirCourse);
            }
            learner(enrollment)?;
            let comment = checked(rating, comment)?;
            Ok(vec![Event::InstructorReviewed(InstructorReviewed {
                instructor_id,
                trainee_id,
                course_id: course.id,
                rating,
                comment,
                previous_rating: review.rating,
            })])
        }
        ReviewCommand::DeleteInstructorReview { instructor_id, trainee_id } => {
            let previous_rating = review.rating.ok_or(ReviewRejection::NoReview)?;
            let deleted = InstructorReviewDeleted { instructor_id, trainee_id, previous_rating };
            Ok(vec![Event::InstructorReviewDeleted(deleted)])
        }
    }
    .map(Decided::from)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::course::CourseStatus;
    use crate::given::when;
    use events::learning::{EnrollmentRevoked, EnrollmentSource, RevocationReason, TraineeEnrolled};

    const COURSE: Uuid = Uuid::from_u128(2);
    const TRAINEE: Uuid = Uuid::from_u128(1);
    const INSTRUCTOR: Uuid = Uuid::from_u128(3);

    fn enrolled() -> Enrollment {
        let source = EnrollmentSource::AdminGrant { admin_id: Uuid::from_u128(9) };
        Enrollment::from_events(&[Event::TraineeEnrolled(TraineeEnrolled {
            trainee_id: TRAINEE,
            course_id: COURSE,
            instructor_id: INSTRUCTOR,
            source,
        })])
    }

    fn course_review<'a>(enrollment: &'a Enrollment, rating: u8, comment: &'a str) -> ReviewCommand<'a> {
        ReviewCommand::ReviewCourse { course_id: COURSE, trainee_id: TRAINEE, enrollment, rating, comment }
    }

    fn revoked(completed: bool) -> Enrollment {
        let reason = RevocationReason::AdminAction { admin_id: Uuid::from_u128(9) };
        let revoked = Event::EnrollmentRevoked(EnrollmentRevoked { trainee_id: TRAINEE, course_id: COURSE, reason });
        Enrollment { completed, ..enrolled().evolve(&revoked) }
    }

    #[test]
    fn a_learner_rates_a_course_once_edits_it_and_deletes_it() {
        let learned = enrolled();
        let first = when(decide(&Review::default(), course_review(&learned, 4, " Clear "))).expect("rated");
        assert!(matches!(&first[..], [Event::CourseReviewed(r)]
            if r.rating == 4 && r.previous_rating.is_none() && r.comment.text() == Some("Clear")));
        let review = Review::from_events(&first);
        let edited = when(decide(&review, course_review(&enrolled(), 2, ""))).expect("edited");
        assert!(matches!(&edited[..], [Event::CourseReviewed(r)] if r.previous_rating == Some(4)));
        let deleted =
            when(decide(&review, ReviewCommand::DeleteCourseReview { course_id: COURSE, trainee_id: TRAINEE }))
                .expect("deleted");
        assert!(matches!(&deleted[..], [Event::CourseReviewDeleted(d)] if d.previous_rating == 4));
        let gone = Review::from_events(&[first, deleted].concat());
        assert_eq!(
            when(decide(&gone, ReviewCommand::DeleteCourseReview { course_id: COURSE, trainee_id: TRAINEE })),
            Err(ReviewRejection::NoReview)
        );
    }

    #[test]
    fn ratings_are_1_to_5_comments_bounded_and_only_learners_review() {
        let none = Review::default();
        for rating in [0, 6] {
            let refused = when(decide(&none, course_review(&enrolled(), rating, "")));
            assert_eq!(refused, Err(ReviewRejection::InvalidRating(rating)));
        }
        let long = "é".repeat(COMMENT_MAX_CHARS + 1);
        assert_eq!(
            when(decide(&none, course_review(&enrolled(), 5, &long))),
            Err(ReviewRejection::CommentTooLong { chars: COMMENT_MAX_CHARS + 1 })
        );
        assert!(when(decide(&none, course_review(&enrolled(), 5, &long[2..]))).is_ok(), "2,000 characters");
        let stranger = Enrollment::default();
        assert_eq!(when(decide(&none, course_review(&stranger, 5, ""))), Err(ReviewRejection::NotALearner));
        assert_eq!(when(decide(&none, course_review(&revoked(false), 5, ""))), Err(ReviewRejection::NotALearner));
        assert!(when(decide(&none, course_review(&revoked(true), 5, ""))).is_ok(), "completed, then revoked");
    }

    #[test]
    fn an_instructor_is_reviewed_through_a_course_of_theirs_the_trainee_learns() {
        let course = Course { id: COURSE, owner: INSTRUCTOR, status: CourseStatus::Published, ..Course::default() };
        let none = Review::default();
        let learned = enrolled();
        let of = |instructor_id, enrollment| ReviewCommand::ReviewInstructor {
            instructor_id,
            trainee_id: TRAINEE,
            course: &course,
            enrollment,
            rating: 5,
            comment: "Patient",
        };
        let rated = when(decide(&none, of(INSTRUCTOR, &learned))).expect("rated");
        assert!(matches!(&rated[..], [Event::InstructorReviewed(r)] if r.course_id == COURSE && r.rating == 5));
        let other = Uuid::from_u128(4);
        assert_eq!(when(decide(&none, of(other, &learned))), Err(ReviewRejection::NotTheirCourse));
        assert_eq!(when(decide(&none, of(INSTRUCTOR, &Enrollment::default()))), Err(ReviewRejection::NotALearner));
        let review = Review::from_events(&rated);
        assert!(
            when(decide(
                &review,
                ReviewCommand::DeleteInstructorReview { instructor_id: INSTRUCTOR, trainee_id: TRAINEE }
            ))
            .is_ok()
        );
        assert_eq!(
            when(decide(
                &none,
                ReviewCommand::DeleteInstructorReview { instructor_id: INSTRUCTOR, trainee_id: TRAINEE }
            )),
            Err(ReviewRejection::NoReview)
        );
    }
}
