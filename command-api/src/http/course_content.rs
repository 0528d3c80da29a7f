//! Course content commands: sections, lessons, exercises and their questions, the exam, FAQ,
//! announcements and discounts. Each builds one command and runs it through `courses::on_course`, which
//! checks ownership and appends.

use api_contract::{Authenticated, EmptyCommand, JsonCommand, PathId, PathIds, Problem};
use axum::extract::State;
use serde::Deserialize;
use time::Date;
use uuid::Uuid;

use super::CommandApiState;
use super::courses::{CourseRequest, on_course};
use super::execute::Accepted;
use super::headers::CommandHeaders;
use crate::domain::course::{CourseCommand, discount_issuer};
use crate::domain::course_content::{ContentCommand, LessonDraft, LessonPatch, QuestionDraft};
use crate::domain::discount::{DiscountCommand, Window};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SectionBody {
    #[schema(schema_with = super::fields::part_title)]
    title: String,
    #[serde(default)]
    #[schema(schema_with = super::fields::part_text)]
    description: String,
}

/// A title and a text, both optional: the patch body of sections, FAQ entries and announcements.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SectionPatchBody {
    #[schema(schema_with = super::fields::part_title_or_null)]
    title: Option<String>,
    #[schema(schema_with = super::fields::part_text_or_null)]
    description: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct LessonBody {
    #[schema(schema_with = super::fields::part_title)]
    title: String,
    #[serde(default)]
    #[schema(schema_with = super::fields::part_text)]
    description: String,
    #[schema(schema_with = super::fields::video_url)]
    video_url: String,
    /// Minutes, 0 to 1,440. Left out (or 0), the lesson takes its video's length from YouTube once measured,
    /// where a YouTube Data API key is configured (R15).
    #[schema(minimum = 0, maximum = 1_440)]
    #[serde(default)]
    duration_min: i64,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct LessonPatchBody {
    #[schema(schema_with = super::fields::part_title_or_null)]
    title: Option<String>,
    #[schema(schema_with = super::fields::part_text_or_null)]
    description: Option<String>,
    #[schema(schema_with = super::fields::video_url_or_null)]
    video_url: Option<String>,
    #[schema(minimum = 0, maximum = 1_440)]
    duration_min: Option<i64>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ExerciseBody {
    #[schema(schema_with = super::fields::part_title)]
    title: String,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct QuestionBody {
    #[schema(schema_with = super::fields::part_text_filled)]
    question: String,
    /// Different from each other once trimmed (`422 options_repeated`).
    #[schema(schema_with = super::fields::options)]
    options: Vec<String>,
    /// One of the options (`422 answer_not_an_option`).
    answer: String,
}

impl QuestionBody {
    fn draft(self, question_id: Uuid) -> QuestionDraft {
        QuestionDraft { question_id, question: self.question, options: self.options, answer: self.answer }
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ExamBody {
    #[schema(max_items = 100)]
    questions: Vec<QuestionBody>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct FaqBody {
    #[schema(schema_with = super::fields::part_text_filled)]
    question: String,
    #[schema(schema_with = super::fields::part_text_filled)]
    answer: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct FaqPatchBody {
    #[schema(schema_with = super::fields::part_text_filled_or_null)]
    question: Option<String>,
    #[schema(schema_with = super::fields::part_text_filled_or_null)]
    answer: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AnnouncementBody {
    #[schema(schema_with = super::fields::part_title)]
    title: String,
    #[schema(schema_with = super::fields::part_text_filled)]
    description: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct DiscountBody {
    #[schema(minimum = 0, maximum = 100)]
    percent: i64,
    #[serde(with = "events::content::iso_date")]
    starts_on: Date,
    #[serde(with = "events::content::iso_date")]
    ends_on: Date,
}

impl DiscountBody {
    fn window(&self) -> Window {
        Window { starts_on: self.starts_on, ends_on: self.ends_on }
    }
}

/// Runs a content command that adds a part with a new id (answered 201 with that id).
async fn add(
    state: &CommandApiState,
    actor: Authenticated,
    course_id: Uuid,
    headers: CommandHeaders,
    digest: String,
    make: impl FnOnce(Uuid) -> ContentCommand,
) -> Result<Accepted, Problem> {
    let part_id = Uuid::now_v7();
    let request = CourseRequest::new_part(course_id, headers, digest, part_id);
    on_course(state, actor, request, CourseCommand::Content { actor: actor.actor(), change: make(part_id) }).await
}

/// Runs a content command that changes or removes an existing part (answered 200).
async fn change(
    state: &CommandApiState,
    actor: Authenticated,
    request: CourseRequest,
    command: ContentCommand,
) -> Result<Accepted, Problem> {
    on_course(state, actor, request, CourseCommand::Content { actor: actor.actor(), change: command }).await
}

/// `POST /courses/{id}/sections`
pub(crate) async fn add_section(
    State(state): State<CommandApiState>,
    actor: Authenticated,
    PathId(course_id): PathId,
    headers: CommandHeaders,
    command: JsonCommand<SectionBody>,
) -> Result<Accepted, Problem> {
    let SectionBody { title, description } = command.body;
    add(&state, actor, course_id, headers, command.digest, |section_id| ContentCommand::AddSection {
        section_id,
        title,
        description,
    })
    .await
}

/// `PATCH /courses/{id}/sections/{section_id}`
pub(crate) async fn update_section(
    State(state): State<CommandApiState>,
    actor: Authenticated,
    PathIds([course_id, section_id]): PathIds<2>,
    headers: CommandHeaders,
    command: JsonCommand<SectionPatchBody>,
) -> Result<Accepted, Problem> {
    let SectionPatchBody { title, description } = command.body;
    let request = CourseRequest::change(course_id, headers, command.digest);
    change(&state, actor, request, ContentCommand::UpdateSection { section_id, title, description }).await
}

/// `DELETE /courses/{id}/sections/{section_id}`: the section goes with its lessons and exercises.
pub(crate) async fn remove_section(
    State(state): State<CommandApiState>,
    actor: Authenticated,
    PathIds([course_id, section_id]): PathIds<2>,
    headers: CommandHeaders,
    command: EmptyCommand,
) -> Result<Accepted, Problem> {
    let request = CourseRequest::bodiless(course_id, headers, command);
    change(&state, actor, request, ContentCommand::RemoveSection { section_id }).await
}

/// `POST /courses/{id}/sections/{section_id}/lessons`
pub(crate) async fn add_lesson(
    State(state): State<CommandApiState>,
    actor: Authenticated,
    PathIds([course_id, section_id]): PathIds<2>,
    headers: CommandHeaders,
    command: JsonCommand<LessonBody>,
) -> Result<Accepted, Problem> {
    let LessonBody { title, description, video_url, duration_min } = command.body;
    let lesson = LessonDraft { title, description, video_url, duration_min };
    add(&state, actor, course_id, headers, command.digest, |lesson_id| ContentCommand::AddLesson {
        section_id,
        lesson_id,
        lesson,
    })
    .await
}

/// `PATCH /courses/{id}/sections/{section_id}/lessons/{lesson_id}`
pub(crate) async fn update_lesson(
    State(state): State<CommandApiState>,
    actor: Authenticated,
    PathIds([course_id, section_id, lesson_id]): PathIds<3>,
    headers: CommandHeaders,
    command: JsonCommand<LessonPatchBody>,
) -> Result<Accepted, Problem> {
    let LessonPatchBody { title, description, video_url, duration_min } = command.body;
    let patch = LessonPatch { title, description, video_url, duration_min };
    let request = CourseRequest::change(course_id, headers, command.digest);
    change(&state, actor, request, ContentCommand::UpdateLesson { section_id, lesson_id, patch }).await
}

/// `DELETE /courses/{id}/sections/{section_id}/lessons/{lesson_id}`
pub(crate) async fn remove_lesson(
    State(state): State<CommandApiState>,
    actor: Authenticated,
    PathIds([course_id, section_id, lesson_id]): PathIds<3>,
    headers: CommandHeaders,
    command: EmptyCommand,
) -> Result<Accepted, Problem> {
    let request = CourseRequest::bodiless(course_id, headers, command);
    change(&state, actor, request, ContentCommand::RemoveLesson { section_id, lesson_id }).await
}

/// `POST /courses/{id}/sections/{section_id}/exercises`
pub(crate) async fn add_exercise(
    State(state): State<CommandApiState>,
    actor: Authenticated,
    PathIds([course_id, section_id]): PathIds<2>,
    headers: CommandHeaders,
    command: JsonCommand<ExerciseBody>,
) -> Result<Accepted, Problem> {
    let title = command.body.title;
    add(&state, actor, course_id, headers, command.digest, |exercise_id| ContentCommand::AddExercise {
        section_id,
        exercise_id,
        title,
    })
    .await
}

/// `DELETE /courses/{id}/sections/{section_id}/exercises/{exercise_id}`
pub(crate) async fn remove_exercise(
    State(state): State<CommandApiState>,
    actor: Authenticated,
    PathIds([course_id, section_id, exercise_id]): PathIds<3>,
    headers: CommandHeaders,
    command: EmptyCommand,
) -> Result<Accepted, Problem> {
    let request = CourseRequest::bodiless(course_id, headers, command);
    change(&state, actor, request, ContentCommand::RemoveExercise { section_id, exercise_id }).await
}

/// `POST /courses/{id}/sections/{section_id}/exercises/{exercise_id}/questions`
pub(crate) async fn add_question(
    State(state): State<CommandApiState>,
    actor: Authenticated,
    PathIds([course_id, section_id, exercise_id]): PathIds<3>,
    headers: CommandHeaders,
    command: JsonCommand<QuestionBody>,
) -> Result<Accepted, Problem> {
    let body = command.body;
    add(&state, actor, course_id, headers, command.digest, |question_id| ContentCommand::AddExerciseQuestion {
        section_id,
        exercise_id,
        question: body.draft(question_id),
    })
    .await
}

/// `PUT /courses/{id}/sections/{section_id}/exercises/{exercise_id}/questions/{question_id}`
pub(crate) async fn replace_question(
    State(state): State<CommandApiState>,
    actor: Authenticated,
    PathIds([course_id, section_id, exercise_id, question_id]): PathIds<4>,
    headers: CommandHeaders,
    command: JsonCommand<QuestionBody>,
) -> Result<Accepted, Problem> {
    let question = command.body.draft(question_id);
    let request = CourseRequest::change(course_id, headers, command.digest);
    change(&state, actor, request, ContentCommand::UpdateExerciseQuestion { section_id, exercise_id, question }).await
}

/// `DELETE /courses/{id}/sections/{section_id}/exercises/{exercise_id}/questions/{question_id}`
pub(crate) async fn remove_question(
    State(state): State<CommandApiState>,
    actor: Authenticated,
    PathIds([course_id, section_id, exercise_id, question_id]): PathIds<4>,
    headers: CommandHeaders,
    command: EmptyCommand,
) -> Result<Accepted, Problem> {
    let request = CourseRequest::bodiless(course_id, headers, command);
    let command = ContentCommand::RemoveExerciseQuestion { section_id, exercise_id, question_id };
    change(&state, actor, request, command).await
}

/// `PUT /courses/{id}/exam`: replaces the exam; every question gets a new id.
pub(crate) async fn set_exam(
    State(state): State<CommandApiState>,
    actor: Authenticated,
    PathId(course_id): PathId,
    headers: CommandHeaders,
    command: JsonCommand<ExamBody>,
) -> Result<Accepted, Problem> {
    let questions = command.body.questions.into_iter().map(|q| q.draft(Uuid::now_v7())).collect();
    let request = CourseRequest::change(course_id, headers, command.digest);
    change(&state, actor, request, ContentCommand::SetExam { questions }).await
}

/// `POST /courses/{id}/faq`
pub(crate) async fn add_faq(
    State(state): State<CommandApiState>,
    actor: Authenticated,
    PathId(course_id): PathId,
    headers: CommandHeaders,
    command: JsonCommand<FaqBody>,
) -> Result<Accepted, Problem> {
    let FaqBody { question, answer } = command.body;
    add(&state, actor, course_id, headers, command.digest, |faq_id| ContentCommand::AddFaq { faq_id, question, answer })
        .await
}

/// `PATCH /courses/{id}/faq/{faq_id}`
pub(crate) async fn update_faq(
    State(state): State<CommandApiState>,
    actor: Authenticated,
    PathIds([course_id, faq_id]): PathIds<2>,
    headers: CommandHeaders,
    command: JsonCommand<FaqPatchBody>,
) -> Result<Accepted, Problem> {
    let FaqPatchBody { question, answer } = command.body;
    let request = CourseRequest::change(course_id, headers, command.digest);
    change(&state, actor, request, ContentCommand::UpdateFaq { faq_id, question, answer }).await
}

/// `DELETE /courses/{id}/faq/{faq_id}`
pub(crate) async fn remove_faq(
    State(state): State<CommandApiState>,
    actor: Authenticated,
    PathIds([course_id, faq_id]): PathIds<2>,
    headers: CommandHeaders,
    command: EmptyCommand,
) -> Result<Accepted, Problem> {
    let request = CourseRequest::bodiless(course_id, headers, command);
    change(&state, actor, request, ContentCommand::RemoveFaq { faq_id }).await
}

/// `POST /courses/{id}/announcements`
pub(crate) async fn post_announcement(
    State(state): State<CommandApiState>,
    actor: Authenticated,
    PathId(course_id): PathId,
    headers: CommandHeaders,
    command: JsonCommand<AnnouncementBody>,
) -> Result<Accepted, Problem> {
    let AnnouncementBody { title, description } = command.body;
    add(&state, actor, course_id, headers, command.digest, |announcement_id| ContentCommand::PostAnnouncement {
        announcement_id,
        title,
        description,
    })
    .await
}

/// `PATCH /courses/{id}/announcements/{announcement_id}`
pub(crate) async fn edit_announcement(
    State(state): State<CommandApiState>,
    actor: Authenticated,
    PathIds([course_id, announcement_id]): PathIds<2>,
    headers: CommandHeaders,
    command: JsonCommand<SectionPatchBody>,
) -> Result<Accepted, Problem> {
    let SectionPatchBody { title, description } = command.body;
    let request = CourseRequest::change(course_id, headers, command.digest);
    change(&state, actor, request, ContentCommand::EditAnnouncement { announcement_id, title, description }).await
}

/// `DELETE /courses/{id}/announcements/{announcement_id}`
pub(crate) async fn remove_announcement(
    State(state): State<CommandApiState>,
    actor: Authenticated,
    PathIds([course_id, announcement_id]): PathIds<2>,
    headers: CommandHeaders,
    command: EmptyCommand,
) -> Result<Accepted, Problem> {
    let request = CourseRequest::bodiless(course_id, headers, command);
    change(&state, actor, request, ContentCommand::RemoveAnnouncement { announcement_id }).await
}

/// `POST /courses/{id}/discounts`: the owner or an admin; the issuer is recorded from the role.
pub(crate) async fn add_discount(
    State(state): State<CommandApiState>,
    actor: Authenticated,
    PathId(course_id): PathId,
    headers: CommandHeaders,
    command: JsonCommand<DiscountBody>,
) -> Result<Accepted, Problem> {
    let discount_id = Uuid::now_v7();
    let body = command.body;
    let issued_by = discount_issuer(actor.actor().role);
    let add = DiscountCommand::Add { discount_id, percent: body.percent, window: body.window(), issued_by };
    let request = CourseRequest::new_part(course_id, headers, command.digest, discount_id);
    on_course(&state, actor, request, CourseCommand::Discount { actor: actor.actor(), change: add }).await
}

/// `PUT /courses/{id}/discounts/{discount_id}`: a new percent and window, checked against the others.
pub(crate) async fn replace_discount(
    State(state): State<CommandApiState>,
    actor: Authenticated,
    PathIds([course_id, discount_id]): PathIds<2>,
    headers: CommandHeaders,
    command: JsonCommand<DiscountBody>,
) -> Result<Accepted, Problem> {
    let body = command.body;
    let update = DiscountCommand::Update { discount_id, percent: body.percent, window: body.window() };
    let request = CourseRequest::change(course_id, headers, command.digest);
    on_course(&state, actor, request, CourseCommand::Discount { actor: actor.actor(), change: update }).await
}

/// `DELETE /courses/{id}/discounts/{discount_id}`
pub(crate) async fn remove_discount(
    State(state): State<CommandApiState>,
    actor: Authenticated,
    PathIds([course_id, discount_id]): PathIds<2>,
    headers: CommandHeaders,
    command: EmptyCommand,
) -> Result<Accepted, Problem> {
    let request = CourseRequest::bodiless(course_id, headers, command);
    let change = DiscountCommand::Remove { discount_id };
    on_course(&state, actor, request, CourseCommand::Discount { actor: actor.actor(), change }).await
}
