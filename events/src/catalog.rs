//! Events of the Catalog context (stream `course-{uuid}`).

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Course difficulty, lowercase on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum CourseLevel {
    Beginner,
    Intermediate,
    Advanced,
}

impl CourseLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            CourseLevel::Beginner => "beginner",
            CourseLevel::Intermediate => "intermediate",
            CourseLevel::Advanced => "advanced",
        }
    }
}

/// A draft course was created by an instructor, who owns it. Prices are USD cents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CourseCreated {
    pub course_id: Uuid,
    pub instructor_id: Uuid,
    pub title: String,
    pub summary: String,
    pub category: String,
    pub subcategories: Vec<String>,
    pub level: CourseLevel,
    pub language: String,
    pub base_price_cents: i64,
    /// Version 2: the long description (cards show `summary`), the preview video as its YouTube embed URL,
    /// what the course covers (`outline`), words it is found by (`keywords`) and its captions' languages.
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub preview_video_url: Option<String>,
    #[serde(default)]
    pub outline: Vec<String>,
    #[serde(default)]
    pub keywords: Vec<String>,
    #[serde(default)]
    pub captions: Vec<String>,
}

/// The owner published the course: it shows in the public catalogue from now on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CoursePublished {
    pub course_id: Uuid,
}

/// The owner changed some details of the course; fields left out are unchanged.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CourseDetailsUpdated {
    pub course_id: Uuid,
    pub title: Option<String>,
    pub summary: Option<String>,
    pub category: Option<String>,
    pub subcategories: Option<Vec<String>>,
    pub level: Option<CourseLevel>,
    pub language: Option<String>,
    /// Version 2, as in `CourseCreated`; a preview of `""` removes it.
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub preview_video_url: Option<String>,
    #[serde(default)]
    pub outline: Option<Vec<String>>,
    #[serde(default)]
    pub keywords: Option<Vec<String>>,
    #[serde(default)]
    pub captions: Option<Vec<String>>,
}

/// The owner changed the base price (USD cents).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CoursePriceChanged {
    pub course_id: Uuid,
    pub base_price_cents: i64,
}

/// The owner set (or, with no `picture`, removed) the course's thumbnail; `replaced` is the one it took the
/// place of, which is deleted from storage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CourseThumbnailSet {
    pub course_id: Uuid,
    pub picture: Option<crate::pictures::Picture>,
    pub replaced: Option<crate::pictures::Picture>,
}

/// The owner retired the course: it leaves the public catalogue for good; existing access is kept (D4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CourseRetired {
    pub course_id: Uuid,
}

/// The course was deleted by its owner or an admin; only a course without enrolments is (D4). One-way.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CourseDeleted {
    pub course_id: Uuid,
}
