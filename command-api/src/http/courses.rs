//! Course commands: create a draft, change its details and price, publish, retire and delete it.

use api_contract::{Authenticated, EmptyCommand, JsonCommand, PathId, Problem};
use axum::extract::State;
use event_store::Guard;
use events::CourseLevel;
use events::stream::{ENROLLMENT_PREFIX, course_stream};
use http::StatusCode;
use serde::Deserialize;
use uuid::Uuid;

use super::CommandApiState;
use super::execute::{Accepted, CommandRun, Decision, Trust, execute, execute_loading};
use super::headers::CommandHeaders;
use crate::domain::course::{Course, CourseCommand, CourseDraft, CoursePatch, CourseRejection, decide};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct MoneyBody {
    #[schema(minimum = 0, maximum = 10_000_000)]
    amount_cents: i64,
    #[schema(schema_with = super::fields::price_currency)]
    currency: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateCourseBody {
    #[schema(schema_with = super::fields::course_title)]
    title: String,
    #[schema(schema_with = super::fields::course_summary)]
    summary: String,
    #[schema(schema_with = super::fields::category)]
    category: String,
    /// Subcategories of `category` (`422 not_in_category` for another's).
    #[serde(default)]
    #[schema(schema_with = super::fields::subcategories)]
    subcategories: Vec<String>,
    #[schema(value_type = String, pattern = "^(beginner|intermediate|advanced)$")]
    level: CourseLevel,
    #[serde(default = "default_language")]
    #[schema(schema_with = super::fields::language)]
    language: String,
    price: MoneyBody,
    /// The long description (cards show `summary`).
    #[serde(default)]
    #[schema(schema_with = super::fields::course_description)]
    description: String,
    /// The preview video: a YouTube link, kept as its embed URL.
    #[serde(default)]
    #[schema(schema_with = super::fields::video_url_or_null)]
    preview_video_url: Option<String>,
    /// What the course covers, in order.
    #[serde(default)]
    #[schema(schema_with = super::fields::phrases)]
    outline: Vec<String>,
    /// Words the course is found by.
    #[serde(default)]
    #[schema(schema_with = super::fields::phrases)]
    keywords: Vec<String>,
    /// The languages of its captions.
    #[serde(default)]
    #[schema(schema_with = super::fields::phrases)]
    captions: Vec<String>,
}

fn default_language() -> String {
    "English".to_owned()
}

impl From<CreateCourseBody> for CourseDraft {
    fn from(body: CreateCourseBody) -> Self {
        CourseDraft {
            title: body.title,
            summary: body.summary,
            category: body.category,
            subcategories: body.subcategories,
            level: body.level,
            language: body.language,
            price_cents: body.price.amount_cents,
            currency: body.price.currency,
            description: body.description,
            preview_video: body.preview_video_url,
            outline: body.outline,
            keywords: body.keywords,
            captions: body.captions,
        }
    }
}

/// `POST /api/v1/courses`: an instructor creates a draft course.
pub(crate) async fn create(
    State(state): State<CommandApiState>,
    actor: Authenticated,
    headers: CommandHeaders,
    command: JsonCommand<CreateCourseBody>,
) -> Result<Accepted, Problem> {
    let course_id = Uuid::now_v7();
    let draft = CourseDraft::from(command.body);
    let run =
        CommandRun::new(course_stream(course_id), actor.into(), headers, command.digest).created().with_id(course_id);
    let actor = actor.actor();
    execute(&state, run, |course: &Course| {
        decide(course, CourseCommand::Create { actor, course_id, draft: draft.clone() })
    })
    .await
}

/// `POST /api/v1/courses/{id}/publish`: the owner publishes a draft.
pub(crate) async fn publish(
    State(state): State<CommandApiState>,
    actor: Authenticated,
    PathId(course_id): PathId,
    headers: CommandHeaders,
    command: EmptyCommand,
) -> Result<Accepted, Problem> {
    on_course(
        &state,
        actor,
        CourseRequest::bodiless(course_id, headers, command),
        CourseCommand::Publish { actor: actor.actor() },
    )
    .await
}

/// What one command on an existing course answers when it succeeds.
#[derive(Debug)]
pub(super) struct CourseRequest {
    pub course_id: Uuid,
    pub headers: CommandHeaders,
    pub digest: String,
    pub status: StatusCode,
    pub data: serde_json::Value,
}

impl CourseRequest {
    /// A change of the course itself: 200 with the course's id.
    pub fn change(course_id: Uuid, headers: CommandHeaders, digest: String) -> Self {
        let data = serde_json::json!({ "id": course_id });
        CourseRequest { course_id, headers, digest, status: StatusCode::OK, data }
    }

    /// A bodiless change (publish, retire, delete, removing a part), digested from its method and path.
    pub fn bodiless(course_id: Uuid, headers: CommandHeaders, command: EmptyCommand) -> Self {
        Self::change(course_id, headers, command.digest)
    }

    /// A new part of the course (section, lesson, ...): 201 with the part's id.
    pub fn new_part(course_id: Uuid, headers: CommandHeaders, digest: String, part_id: Uuid) -> Self {
        let data = serde_json::json!({ "id": part_id, "course_id": course_id });
        CourseRequest { course_id, headers, digest, status: StatusCode::CREATED, data }
    }
}

/// Decides and appends `command` on the course of `request`.
pub(super) async fn on_course(
    state: &CommandApiState,
    actor: Authenticated,
    request: CourseRequest,
    command: CourseCommand,
) -> Result<Accepted, Problem> {
    let run = CommandRun::new(course_stream(request.course_id), actor.into(), request.headers, request.digest)
        .answering(request.status, request.data);
    execute(state, run, |course: &Course| decide(course, command.clone())).await
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UpdateCourseBody {
    #[serde(default)]
    #[schema(schema_with = super::fields::course_title_or_null)]
    title: Option<String>,
    #[serde(default)]
    #[schema(schema_with = super::fields::course_summary_or_null)]
    summary: Option<String>,
    #[serde(default)]
    #[schema(schema_with = super::fields::category_or_null)]
    category: Option<String>,
    /// Subcategories of the category, given or kept (`422 not_in_category` for another's).
    #[serde(default)]
    #[schema(schema_with = super::fields::subcategories_or_null)]
    subcategories: Option<Vec<String>>,
    #[serde(default)]
    #[schema(value_type = Option<String>, pattern = "^(beginner|intermediate|advanced)$")]
    level: Option<CourseLevel>,
    #[serde(default)]
    #[schema(schema_with = super::fields::language_or_null)]
    language: Option<String>,
    #[serde(default)]
    price: Option<MoneyBody>,
    #[serde(default)]
    #[schema(schema_with = super::fields::course_description_or_null)]
    description: Option<String>,
    /// A YouTube link; `""` removes the preview.
    #[serde(default)]
    #[schema(schema_with = super::fields::preview_or_null)]
    preview_video_url: Option<String>,
    #[serde(default)]
    #[schema(schema_with = super::fields::phrases_or_null)]
    outline: Option<Vec<String>>,
    #[serde(default)]
    #[schema(schema_with = super::fields::phrases_or_null)]
    keywords: Option<Vec<String>>,
    #[serde(default)]
    #[schema(schema_with = super::fields::phrases_or_null)]
    captions: Option<Vec<String>>,
}

/// `PATCH /api/v1/courses/{id}`: the owner changes details and the base price.
pub(crate) async fn update(
    State(state): State<CommandApiState>,
    actor: Authenticated,
    PathId(course_id): PathId,
    headers: CommandHeaders,
    command: JsonCommand<UpdateCourseBody>,
) -> Result<Accepted, Problem> {
    let body = command.body;
    let patch = CoursePatch {
        title: body.title,
        summary: body.summary,
        category: body.category,
        subcategories: body.subcategories,
        level: body.level,
        language: body.language,
        price: body.price.map(|price| (price.amount_cents, price.currency)),
        description: body.description,
        preview_video: body.preview_video_url,
        outline: body.outline,
        keywords: body.keywords,
        captions: body.captions,
    };
    let update = CourseCommand::Update { actor: actor.actor(), patch };
    on_course(&state, actor, CourseRequest::change(course_id, headers, command.digest), update).await
}

/// `POST /api/v1/courses/{id}/retire`: the owner takes a published course out of the catalogue for good.
pub(crate) async fn retire(
    State(state): State<CommandApiState>,
    actor: Authenticated,
    PathId(course_id): PathId,
    headers: CommandHeaders,
    command: EmptyCommand,
) -> Result<Accepted, Problem> {
    on_course(
        &state,
        actor,
        CourseRequest::bodiless(course_id, headers, command),
        CourseCommand::Retire { actor: actor.actor() },
    )
    .await
}

/// `DELETE /api/v1/courses/{id}`: the owner or an admin deletes a course without enrolments (D4).
pub(crate) async fn delete(
    State(state): State<CommandApiState>,
    actor: Authenticated,
    PathId(course_id): PathId,
    headers: CommandHeaders,
    command: EmptyCommand,
) -> Result<Accepted, Problem> {
    let suffix = format!("-{course_id}");
    let request = CourseRequest::bodiless(course_id, headers, command);
    let run = CommandRun::new(course_stream(course_id), actor.into(), request.headers, request.digest)
        .answering(request.status, request.data);
    let actor = actor.actor();
    let enrolments = |_: Trust| async {
        state
            .write
            .store()
            .events()
            .any_stream(ENROLLMENT_PREFIX, &suffix)
            .await
            .map_err(|error| Problem::unavailable().because(format!("looking for enrolments failed: {error}")))
    };
    // D4 rests on the enrolment streams: the guard checks again, under the append lock, that none appeared
    // since, so a purchase fulfilled at the same moment either wins (and the deletion is refused) or sees
    // the course deleted (its enrolment guards the course's version).
    execute_loading(&state, run, enrolments, |course: &Course, has_enrolments: &bool| {
        let decided = decide(course, CourseCommand::Delete { actor, has_enrolments: *has_enrolments })?;
        let guards = vec![Guard::NoStreamLike { prefix: ENROLLMENT_PREFIX.to_owned(), suffix: suffix.clone() }];
        Ok::<_, CourseRejection>(Decision { guards, ..decided.into() })
    })
    .await
}
