//! Events of a course's content (stream `course-{uuid}`): sections with their lessons and exercises, the exam,
//! the FAQ, announcements and discounts. Ids of parts are chosen by the server when a part is added.

use serde::{Deserialize, Serialize};
use time::Date;
use uuid::Uuid;

// ISO 8601 calendar dates (`2026-11-22`), for every date field of the API and of events.
time::serde::format_description!(pub iso_date, Date, "[year]-[month]-[day]");

/// A multiple-choice question of an exercise or the exam. The right answer is one of the options (R13),
/// kept by index; it is never shown to a trainee who has not answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Question {
    pub question_id: Uuid,
    pub question: String,
    pub options: Vec<String>,
    pub answer_index: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SectionAdded {
    pub course_id: Uuid,
    pub section_id: Uuid,
    pub title: String,
    pub description: String,
}

/// Fields left out are unchanged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SectionUpdated {
    pub course_id: Uuid,
    pub section_id: Uuid,
    pub title: Option<String>,
    pub description: Option<String>,
}

/// The section went with its lessons and exercises; the totals are the course's after the removal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SectionRemoved {
    pub course_id: Uuid,
    pub section_id: Uuid,
    pub total_lessons: u32,
    pub course_duration_h: u32,
}

/// A lesson's video is a YouTube embed URL; its duration is in minutes. The totals are the course's after
/// the change (R15: hours = max(1, floor(minutes / 60)) once there is a lesson, 0 without any).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LessonAdded {
    pub course_id: Uuid,
    pub section_id: Uuid,
    pub lesson_id: Uuid,
    pub title: String,
    pub description: String,
    pub video_url: String,
    pub duration_min: u32,
    pub total_lessons: u32,
    pub course_duration_h: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LessonUpdated {
    pub course_id: Uuid,
    pub section_id: Uuid,
    pub lesson_id: Uuid,
    pub title: Option<String>,
    pub description: Option<String>,
    pub video_url: Option<String>,
    pub duration_min: Option<u32>,
    pub total_lessons: u32,
    pub course_duration_h: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LessonRemoved {
    pub course_id: Uuid,
    pub section_id: Uuid,
    pub lesson_id: Uuid,
    pub total_lessons: u32,
    pub course_duration_h: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExerciseAdded {
    pub course_id: Uuid,
    pub section_id: Uuid,
    pub exercise_id: Uuid,
    pub title: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExerciseRemoved {
    pub course_id: Uuid,
    pub section_id: Uuid,
    pub exercise_id: Uuid,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExerciseQuestionAdded {
    pub course_id: Uuid,
    pub section_id: Uuid,
    pub exercise_id: Uuid,
    pub question: Question,
}

/// The question is replaced whole; its id stays.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExerciseQuestionUpdated {
    pub course_id: Uuid,
    pub section_id: Uuid,
    pub exercise_id: Uuid,
    pub question: Question,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExerciseQuestionRemoved {
    pub course_id: Uuid,
    pub section_id: Uuid,
    pub exercise_id: Uuid,
    pub question_id: Uuid,
}

/// The course's one final exam, replaced whole (an empty list removes it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CourseExamSet {
    pub course_id: Uuid,
    pub questions: Vec<Question>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FaqAdded {
    pub course_id: Uuid,
    pub faq_id: Uuid,
    pub question: String,
    pub answer: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FaqUpdated {
    pub course_id: Uuid,
    pub faq_id: Uuid,
    pub question: Option<String>,
    pub answer: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FaqRemoved {
    pub course_id: Uuid,
    pub faq_id: Uuid,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnnouncementPosted {
    pub course_id: Uuid,
    pub announcement_id: Uuid,
    pub title: String,
    pub description: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnnouncementEdited {
    pub course_id: Uuid,
    pub announcement_id: Uuid,
    pub title: Option<String>,
    pub description: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnnouncementRemoved {
    pub course_id: Uuid,
    pub announcement_id: Uuid,
}

/// Who granted a discount, derived from the actor's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DiscountIssuer {
    Instructor,
    Admin,
}

/// A discount of `percent` (0..=100) on the base price from `starts_on` to `ends_on`, both days included
/// (R11). Windows of one course never overlap.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DiscountAdded {
    pub course_id: Uuid,
    pub discount_id: Uuid,
    pub percent: u8,
    #[serde(with = "iso_date")]
    pub starts_on: Date,
    #[serde(with = "iso_date")]
    pub ends_on: Date,
    pub issued_by: DiscountIssuer,
}

/// The discount's percent and window, replaced whole.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DiscountUpdated {
    pub course_id: Uuid,
    pub discount_id: Uuid,
    pub percent: u8,
    #[serde(with = "iso_date")]
    pub starts_on: Date,
    #[serde(with = "iso_date")]
    pub ends_on: Date,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DiscountRemoved {
    pub course_id: Uuid,
    pub discount_id: Uuid,
}
