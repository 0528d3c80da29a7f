//! The shapes of a course's content as the read side serves it, for the OpenAPI document: the public outline of a
//! course page (no video link, no question) and an enrolled trainee's full view (answers hidden until seen). The
//! JSON itself is the projector's course document (`course_document.doc`); the contract scenario checks real
//! answers against these shapes.

use std::collections::HashMap;

use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::courses::CourseView;

/// A section of a course page: its lessons' titles and durations and its exercises' sizes.
#[derive(Serialize, utoipa::ToSchema)]
#[allow(dead_code)]
pub(crate) struct PublicSection {
    id: Uuid,
    title: String,
    description: String,
    lessons: Vec<PublicLesson>,
    exercises: Vec<PublicExercise>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[allow(dead_code)]
pub(crate) struct PublicLesson {
    id: Uuid,
    title: String,
    description: String,
    duration_min: u32,
}

#[derive(Serialize, utoipa::ToSchema)]
#[allow(dead_code)]
pub(crate) struct PublicExercise {
    id: Uuid,
    title: String,
    question_count: u32,
}

#[derive(Serialize, utoipa::ToSchema)]
#[allow(dead_code)]
pub(crate) struct FaqEntry {
    id: Uuid,
    question: String,
    answer: String,
}

#[derive(Serialize, utoipa::ToSchema)]
#[allow(dead_code)]
pub(crate) struct AnnouncementEntry {
    id: Uuid,
    title: String,
    description: String,
    #[serde(with = "time::serde::rfc3339")]
    posted_at: OffsetDateTime,
}

/// A course as an enrolled trainee learns it: the catalogue fields, every part, and where they stand.
#[derive(Serialize, utoipa::ToSchema)]
#[allow(dead_code)]
pub(crate) struct EnrolledCourse {
    #[serde(flatten)]
    course: CourseView,
    #[serde(flatten)]
    content: FullContent,
    enrollment: Progress,
}

/// Every part of a course.
#[derive(Serialize, utoipa::ToSchema)]
#[allow(dead_code)]
pub(crate) struct FullContent {
    sections: Vec<FullSection>,
    exam: Vec<FullQuestion>,
    faq: Vec<FaqEntry>,
    announcements: Vec<AnnouncementEntry>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[allow(dead_code)]
pub(crate) struct FullSection {
    id: Uuid,
    title: String,
    description: String,
    lessons: Vec<FullLesson>,
    exercises: Vec<FullExercise>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[allow(dead_code)]
pub(crate) struct FullLesson {
    id: Uuid,
    title: String,
    description: String,
    /// The video's embed link.
    video_url: String,
    duration_min: u32,
}

#[derive(Serialize, utoipa::ToSchema)]
#[allow(dead_code)]
pub(crate) struct FullExercise {
    id: Uuid,
    title: String,
    questions: Vec<FullQuestion>,
}

/// A question of an exercise or of the exam, as a trainee (answers hidden until seen) or the instructor sees it.
#[derive(Serialize, utoipa::ToSchema)]
#[allow(dead_code)]
pub(crate) struct FullQuestion {
    question_id: Uuid,
    question: String,
    options: Vec<String>,
    /// The right option: only once the trainee answered the exercise question, or the exam's answers were
    /// revealed.
    #[serde(skip_serializing_if = "Option::is_none")]
    answer_index: Option<u32>,
}

/// Where an enrolled trainee stands in the course.
#[derive(Serialize, utoipa::ToSchema)]
#[allow(dead_code)]
pub(crate) struct Progress {
    /// `active` (only active enrolments are served here).
    status: String,
    /// How the trainee came to the course: `purchase`, `grant`, `access_request`, ...
    source: String,
    /// Percent of the lessons visited.
    progress: i16,
    visited_lessons: Vec<Uuid>,
    /// The trainee's answers to exercise questions, by question id.
    exercise_answers: HashMap<String, serde_json::Value>,
    exam: ExamProgress,
    #[serde(with = "time::serde::rfc3339::option")]
    completed_at: Option<OffsetDateTime>,
    certificate_id: Option<Uuid>,
    refund_status: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[allow(dead_code)]
pub(crate) struct ExamProgress {
    attempts: i16,
    attempts_left: i16,
    best_grade: Option<i16>,
    last_grade: Option<i16>,
    passed: bool,
    /// The answers of the last attempt, by question id.
    last_answers: Option<HashMap<String, serde_json::Value>>,
    answers_revealed: bool,
}

/// A course as its instructor edits it: every part with its answers, and the discounts.
#[derive(Serialize, utoipa::ToSchema)]
#[allow(dead_code)]
pub(crate) struct OwnedCourse {
    #[serde(flatten)]
    course: CourseView,
    #[serde(flatten)]
    details: crate::courses::CourseDetails,
    #[serde(flatten)]
    content: FullContent,
    discounts: Vec<crate::discounts::DiscountView>,
}

/// The course one opened last.
#[derive(Serialize, utoipa::ToSchema)]
#[allow(dead_code)]
pub(crate) struct LastViewed {
    course: CourseView,
    #[serde(with = "time::serde::rfc3339")]
    viewed_at: OffsetDateTime,
}
