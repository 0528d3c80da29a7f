//! Events of the Learning context: enrolments (`enrollment-{trainee}-{course}`, one stream per trainee and
//! course, so a second enrolment in the same course meets the first one's stream).

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// How a trainee came to be enrolled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum EnrollmentSource {
    /// Bought in an order, at the line's price (USD cents).
    Purchase { order_id: Uuid, price_cents: i64 },
    /// Granted by an admin.
    AdminGrant { admin_id: Uuid },
    /// Granted on an approved corporate access request.
    CorporateGrant { request_id: Uuid },
}

impl EnrollmentSource {
    pub fn kind(&self) -> &'static str {
        match self {
            EnrollmentSource::Purchase { .. } => "purchase",
            EnrollmentSource::AdminGrant { .. } => "admin_grant",
            EnrollmentSource::CorporateGrant { .. } => "corporate_grant",
        }
    }
}

/// A trainee was enrolled in a course. `instructor_id` is the course's owner at that moment, for the
/// instructors' trainee counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TraineeEnrolled {
    pub trainee_id: Uuid,
    pub course_id: Uuid,
    pub instructor_id: Uuid,
    pub source: EnrollmentSource,
}

/// A trainee opened a lesson for the first time; `progress` is the enrolment's progress after it (R8:
/// trunc(visited / lessons x 100), never lower than before).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LessonViewed {
    pub trainee_id: Uuid,
    pub course_id: Uuid,
    pub lesson_id: Uuid,
    pub progress: u8,
}

/// A trainee opened an enrolled course (the last viewed course; the original did this on a GET).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CourseOpened {
    pub trainee_id: Uuid,
    pub course_id: Uuid,
}

/// The course's lessons changed: the enrolment's progress is recomputed over the lessons that exist now
/// (Saga 8). It may go down; certificates already issued stay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProgressRecomputed {
    pub trainee_id: Uuid,
    pub course_id: Uuid,
    pub progress: u8,
}
