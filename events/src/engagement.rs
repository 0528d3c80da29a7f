//! Events of the Engagement context: reviews (D7, R12). A trainee has at most one review per course
//! (`creview-{course}-{trainee}`) and one per instructor (`ireview-{instructor}-{trainee}`), editable and
//! deletable. Each event carries the rating it replaces, so averages move without reading other reviews. The
//! comment is the trainee's own text: personal data, sealed with their key.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::personal::Personal;

/// A trainee rated a course they learn or completed, 1 to 5, with a comment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CourseReviewed {
    pub course_id: Uuid,
    pub trainee_id: Uuid,
    pub rating: u8,
    pub comment: Personal,
    /// The rating of the review this one replaces, if any.
    pub previous_rating: Option<u8>,
}

/// A trainee deleted their review of a course.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CourseReviewDeleted {
    pub course_id: Uuid,
    pub trainee_id: Uuid,
    pub previous_rating: u8,
}

/// A trainee rated an instructor who teaches them (`course_id`: the course that shows it), 1 to 5.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InstructorReviewed {
    pub instructor_id: Uuid,
    pub trainee_id: Uuid,
    pub course_id: Uuid,
    pub rating: u8,
    pub comment: Personal,
    pub previous_rating: Option<u8>,
}

/// A trainee deleted their review of an instructor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InstructorReviewDeleted {
    pub instructor_id: Uuid,
    pub trainee_id: Uuid,
    pub previous_rating: u8,
}
