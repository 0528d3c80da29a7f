//! The Course aggregate (stream `course-{uuid}`): a draft created by an instructor, who alone changes its
//! details and content, publishes and retires it. Admins may also grant discounts and delete a course
//! without enrolments (D4).

use crate::effects::Decided;
use events::catalog::CourseThumbnailSet;
use events::content::DiscountIssuer;
use events::pictures::Picture;
use events::taxonomy::subcategories_of;
use events::{
    Actor, CourseCreated, CourseDeleted, CourseDetailsUpdated, CourseLevel, CoursePriceChanged, CoursePublished,
    CourseRetired, Event, Role,
};
use uuid::Uuid;

use super::course_content::{self, Content, ContentCommand, ContentRejection};
use super::discount::{self, Discount, DiscountChange, DiscountCommand, DiscountRejection};
use super::{Aggregate, Violation};
use crate::families::CourseEvent;

/// Limits on free text, so that one course cannot bloat every page that lists it.
pub const TITLE_MAX_CHARS: usize = 200;
pub const SUMMARY_MAX_CHARS: usize = 2_000;
/// The most a course may cost: USD 100,000.00.
pub const PRICE_MAX_CENTS: i64 = 10_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CourseStatus {
    #[default]
    Missing,
    Draft,
    Published,
    /// One-way: out of the catalogue for good, existing access kept (D4).
    Retired,
    /// One-way, and only without enrolments (D4): the course answers as unknown from then on.
    Deleted,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Course {
    pub id: Uuid,
    pub owner: Uuid,
    pub status: CourseStatus,
    /// What an order line names and charges (before the day's discount).
    pub title: String,
    pub price_cents: i64,
    /// Kept to check a change of category against the subcategories that remain.
    pub category: String,
    pub subcategories: Vec<String>,
    pub content: Content,
    pub discounts: Vec<Discount>,
    /// The thumbnail shown on the course's card and page.
    pub thumbnail: Option<Picture>,
}

impl Aggregate for Course {
    fn evolve(self, event: &Event) -> Self {
        let Some(course_event) = CourseEvent::of(event) else { return self };
        match course_event {
            CourseEvent::CourseCreated(created) => Course {
                id: created.course_id,
                owner: created.instructor_id,
                status: CourseStatus::Draft,
                title: created.title.clone(),
                price_cents: created.base_price_cents,
                category: created.category.clone(),
                subcategories: created.subcategories.clone(),
                ..Course::default()
            },
            CourseEvent::CoursePublished(_) => Course { status: CourseStatus::Published, ..self },
            CourseEvent::CourseRetired(_) => Course { status: CourseStatus::Retired, ..self },
            CourseEvent::CourseDeleted(_) => Course { status: CourseStatus::Deleted, ..self },
            CourseEvent::CourseThumbnailSet(set) => Course { thumbnail: set.picture.clone(), ..self },
            CourseEvent::CoursePriceChanged(changed) => Course { price_cents: changed.base_price_cents, ..self },
            CourseEvent::CourseDetailsUpdated(updated) => Course {
                title: updated.title.clone().unwrap_or(self.title),
                category: updated.category.clone().unwrap_or(self.category),
                subcategories: updated.subcategories.clone().unwrap_or(self.subcategories),
                ..self
            },
            CourseEvent::DiscountAdded(e) => {
                Course { discounts: discount::evolve(self.discounts, DiscountChange::Added(e)), ..self }
            }
            CourseEvent::DiscountUpdated(e) => {
                Course { discounts: discount::evolve(self.discounts, DiscountChange::Updated(e)), ..self }
            }
            CourseEvent::DiscountRemoved(e) => {
                Course { discounts: discount::evolve(self.discounts, DiscountChange::Removed(e)), ..self }
            }
            CourseEvent::SectionAdded(_)
            | CourseEvent::SectionUpdated(_)
            | CourseEvent::SectionRemoved(_)
            | CourseEvent::LessonAdded(_)
            | CourseEvent::LessonUpdated(_)
            | CourseEvent::LessonRemoved(_)
            | CourseEvent::ExerciseAdded(_)
            | CourseEvent::ExerciseRemoved(_)
            | CourseEvent::ExerciseQuestionAdded(_)
            | CourseEvent::ExerciseQuestionUpdated(_)
            | CourseEvent::ExerciseQuestionRemoved(_)
            | CourseEvent::CourseExamSet(_)
            | CourseEvent::FaqAdded(_)
            | CourseEvent::FaqUpdated(_)
            | CourseEvent::FaqRemoved(_)
            | CourseEvent::AnnouncementPosted(_)
            | CourseEvent::AnnouncementEdited(_)
            | CourseEvent::AnnouncementRemoved(_) => Course { content: self.content.evolve(event), ..self },
        }
    }
}

/// The details of a new course, as the client sent them (already of the right JSON types).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CourseDraft {
    pub title: String,
    pub summary: String,
    pub category: String,
    pub subcategories: Vec<String>,
    pub level: CourseLevel,
    pub language: String,
    pub price_cents: i64,
    pub currency: String,
    /// The long description; may be empty.
    pub description: String,
    /// A YouTube link (watch, short or embed), kept as its embed URL.
    pub preview_video: Option<String>,
    pub outline: Vec<String>,
    pub keywords: Vec<String>,
    pub captions: Vec<String>,
}

/// The longest long description of a course, in characters.
pub const DESCRIPTION_MAX_CHARS: usize = 10_000;
/// An outline item, a keyword or a caption's language: at most this many characters, and this many of each.
pub const PHRASE_MAX_CHARS: usize = 120;
pub const PHRASES_MAX: usize = 30;

/// At most `max` characters once trimmed, possibly none.
fn check_optional_text(found: &mut Vec<Violation>, field: &'static str, text: &str, max: usize) {
    if text.trim().chars().count() > max {
        found.push(Violation::new(field, format!("must be at most {max} characters")));
    }
}

/// At most [`PHRASES_MAX`] phrases, each of 1 to [`PHRASE_MAX_CHARS`] characters once trimmed.
fn check_phrases(found: &mut Vec<Violation>, field: &'static str, phrases: &[String]) {
    if phrases.len() > PHRASES_MAX {
        found.push(Violation::new(field, format!("must have at most {PHRASES_MAX} items")));
    }
    if phrases.iter().any(|phrase| phrase.trim().is_empty() || phrase.trim().chars().count() > PHRASE_MAX_CHARS) {
        found.push(Violation::new(field, format!("items must be 1 to {PHRASE_MAX_CHARS} characters")));
    }
}

/// The embed URL of a preview link; a violation for anything but a YouTube link.
fn check_preview(found: &mut Vec<Violation>, link: &str) -> Option<String> {
    let embed = crate::youtube::embed_url(link);
    if embed.is_none() {
        found.push(Violation::new("preview_video_url", "must be a YouTube link"));
    }
    embed
}

fn trimmed_all(phrases: &[String]) -> Vec<String> {
    phrases.iter().map(|phrase| phrase.trim().to_owned()).collect()
}

/// Non-empty, trimmed text of at most `max` characters.
fn check_text(found: &mut Vec<Violation>, field: &'static str, text: &str, max: usize) {
    let text = text.trim();
    if text.is_empty() {
        found.push(Violation::new(field, "must not be empty"));
    } else if text.chars().count() > max {
        found.push(Violation::new(field, format!("must be at most {max} characters")));
    }
}

/// The category is in the taxonomy (R14) and every subcategory belongs to it.
fn check_taxonomy(found: &mut Vec<Violation>, category: &str, subcategories: &[String]) {
    match subcategories_of(category) {
        None => found.push(Violation::new("category", "must be one of the catalogue's categories")),
        Some(allowed) => {
            if let Some(unknown) = subcategories.iter().find(|s| !allowed.contains(&s.as_str())) {
                let message = format!("{unknown:?} is not a subcategory of {category:?}");
                found.push(Violation::of_rule("not_in_category", "subcategories", message));
            }
        }
    }
}

fn check_price(found: &mut Vec<Violation>, cents: i64, currency: &str) {
    if cents < 0 {
        found.push(Violation::new("price.amount_cents", "must be >= 0"));
    } else if cents > PRICE_MAX_CENTS {
        found.push(Violation::new("price.amount_cents", format!("must be <= {PRICE_MAX_CENTS}")));
    }
    if currency != "USD" {
        found.push(Violation::new("price.currency", "prices are set in USD"));
    }
}

impl CourseDraft {
    /// Checks every field, reporting all violations at once.
    pub fn violations(&self) -> Vec<Violation> {
        let mut found = Vec::new();
        check_text(&mut found, "title", &self.title, TITLE_MAX_CHARS);
        check_text(&mut found, "summary", &self.summary, SUMMARY_MAX_CHARS);
        check_taxonomy(&mut found, &self.category, &self.subcategories);
        check_text(&mut found, "language", &self.language, TITLE_MAX_CHARS);
        check_price(&mut found, self.price_cents, &self.currency);
        check_optional_text(&mut found, "description", &self.description, DESCRIPTION_MAX_CHARS);
        if let Some(link) = &self.preview_video {
            check_preview(&mut found, link);
        }
        check_phrases(&mut found, "outline", &self.outline);
        check_phrases(&mut found, "keywords", &self.keywords);
        check_phrases(&mut found, "captions", &self.captions);
        found
    }
}

/// A change of details and price; fields left out stay as they are.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CoursePatch {
    pub title: Option<String>,
    pub summary: Option<String>,
    pub category: Option<String>,
    pub subcategories: Option<Vec<String>>,
    pub level: Option<CourseLevel>,
    pub language: Option<String>,
    /// Amount in cents and currency.
    pub price: Option<(i64, String)>,
    pub description: Option<String>,
    /// A YouTube link; an empty one removes the preview.
    pub preview_video: Option<String>,
    pub outline: Option<Vec<String>>,
    pub keywords: Option<Vec<String>>,
    pub captions: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CourseCommand {
    Create {
        actor: Actor,
        course_id: Uuid,
        draft: CourseDraft,
    },
    Publish {
        actor: Actor,
    },
    Update {
        actor: Actor,
        patch: CoursePatch,
    },
    Retire {
        actor: Actor,
    },
    /// `has_enrolments` is read by the caller from the Learning context before deciding.
    Delete {
        actor: Actor,
        has_enrolments: bool,
    },
    Content {
        actor: Actor,
        change: ContentCommand,
    },
    Discount {
        actor: Actor,
        change: DiscountCommand,
    },
    /// The owner sets the course's thumbnail, or removes it (`None`).
    SetThumbnail {
        actor: Actor,
        picture: Option<Picture>,
    },
    /// R15: YouTube measured a lesson's video (`seconds` long): a lesson without minutes takes them.
    FillLessonDuration {
        section_id: Uuid,
        lesson_id: Uuid,
        video_url: String,
        seconds: u64,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CourseRejection {
    /// Only instructors create courses.
    NotAnInstructor,
    /// Only the owning instructor changes a course.
    NotTheOwner,
    NotFound,
    AlreadyExists,
    AlreadyPublished,
    /// Retiring is one-way, and only a published course can be retired.
    NotPublished,
    Retired,
    Invalid(Vec<Violation>),
    /// A section, lesson, exercise, question, FAQ entry, announcement or discount that the course lacks.
    PartNotFound(&'static str),
    DiscountOverlaps(Uuid),
    /// D4: a course with enrolments is retired, not deleted.
    HasEnrolments,
}

/// Decides what `command` (its actor's, or the sagas' measurement) records on `course`.
pub fn decide(course: &Course, command: CourseCommand) -> Result<Decided, CourseRejection> {
    match command {
        CourseCommand::Create { actor, course_id, draft } => {
            if actor.role != Role::Instructor {
                return Err(CourseRejection::NotAnInstructor);
            }
            if course.status != CourseStatus::Missing {
                return Err(CourseRejection::AlreadyExists);
            }
            let violations = draft.violations();
            if !violations.is_empty() {
                return Err(CourseRejection::Invalid(violations));
            }
            Ok(vec![Event::CourseCreated(CourseCreated {
                course_id,
                instructor_id: actor.user_id,
                title: draft.title.trim().to_owned(),
                summary: draft.summary.trim().to_owned(),
                category: draft.category,
                subcategories: draft.subcategories,
                level: draft.level,
                language: draft.language.trim().to_owned(),
                base_price_cents: draft.price_cents,
                description: draft.description.trim().to_owned(),
                preview_video_url: draft.preview_video.as_deref().and_then(crate::youtube::embed_url),
                outline: trimmed_all(&draft.outline),
                keywords: trimmed_all(&draft.keywords),
                captions: trimmed_all(&draft.captions),
            })])
        }
        CourseCommand::Publish { actor } => {
            match course.status {
                CourseStatus::Missing | CourseStatus::Deleted => return Err(CourseRejection::NotFound),
                _ if course.owner != actor.user_id => return Err(CourseRejection::NotTheOwner),
                CourseStatus::Published => return Err(CourseRejection::AlreadyPublished),
                CourseStatus::Retired => return Err(CourseRejection::Retired),
                CourseStatus::Draft => {}
            }
            Ok(vec![Event::CoursePublished(CoursePublished { course_id: course.id })])
        }
        CourseCommand::Update { actor, patch } => update(course, &actor, patch),
        CourseCommand::Delete { actor, has_enrolments } => {
            existing(course)?;
            if course.owner != actor.user_id && actor.role != Role::Admin {
                return Err(CourseRejection::NotTheOwner);
            }
            if has_enrolments {
                return Err(CourseRejection::HasEnrolments);
            }
            Ok(vec![Event::CourseDeleted(CourseDeleted { course_id: course.id })])
        }
        // The sagas' measurement: for a course that is gone, or a lesson changed meanwhile, nothing.
        CourseCommand::FillLessonDuration { section_id, lesson_id, video_url, seconds } => {
            if existing(course).is_err() {
                return Ok(Decided::default());
            }
            let lesson = (section_id, lesson_id);
            Ok(course_content::fill_duration(course.id, &course.content, lesson, &video_url, seconds))
        }
        CourseCommand::Content { actor, change: command } => {
            existing(course)?;
            if course.owner != actor.user_id {
                return Err(CourseRejection::NotTheOwner);
            }
            if course.status == CourseStatus::Retired && !command.allowed_when_retired() {
                return Err(CourseRejection::Retired);
            }
            course_content::change(course.id, &course.content, command).map_err(|rejection| match rejection {
                ContentRejection::NotFound(part) => CourseRejection::PartNotFound(part),
                ContentRejection::Invalid(violations) => CourseRejection::Invalid(violations),
            })
        }
        CourseCommand::Discount { actor, change: command } => {
            existing(course)?;
            if course.owner != actor.user_id && actor.role != Role::Admin {
                return Err(CourseRejection::NotTheOwner);
            }
            if course.status == CourseStatus::Retired {
                return Err(CourseRejection::Retired);
            }
            discount::change(course.id, &course.discounts, command).map_err(|rejection| match rejection {
                DiscountRejection::NotFound => CourseRejection::PartNotFound("discount"),
                DiscountRejection::Invalid(violations) => CourseRejection::Invalid(violations),
                DiscountRejection::Overlaps(other) => CourseRejection::DiscountOverlaps(other),
            })
        }
        CourseCommand::SetThumbnail { actor, picture } => {
            existing(course)?;
            if course.owner != actor.user_id {
                return Err(CourseRejection::NotTheOwner);
            }
            if course.thumbnail == picture {
                return Ok(Decided::default());
            }
            let replaced = course.thumbnail.clone();
            Ok(vec![Event::CourseThumbnailSet(CourseThumbnailSet { course_id: course.id, picture, replaced })])
        }
        CourseCommand::Retire { actor } => match course.status {
            CourseStatus::Missing | CourseStatus::Deleted => Err(CourseRejection::NotFound),
            _ if course.owner != actor.user_id => Err(CourseRejection::NotTheOwner),
            CourseStatus::Published => Ok(vec![Event::CourseRetired(CourseRetired { course_id: course.id })]),
            CourseStatus::Draft => Err(CourseRejection::NotPublished),
            CourseStatus::Retired => Err(CourseRejection::Retired),
        },
    }
    .map(Decided::from)
}

/// The issuer a discount records, from the actor's role.
pub fn discount_issuer(role: Role) -> DiscountIssuer {
    if role == Role::Admin { DiscountIssuer::Admin } else { DiscountIssuer::Instructor }
}

/// A course that was never created, or was deleted, is not found.
fn existing(course: &Course) -> Result<(), CourseRejection> {
    match course.status {
        CourseStatus::Missing | CourseStatus::Deleted => Err(CourseRejection::NotFound),
        _ => Ok(()),
    }
}

fn update(course: &Course, actor: &Actor, patch: CoursePatch) -> Result<Vec<Event>, CourseRejection> {
    existing(course)?;
    if course.owner != actor.user_id {
        return Err(CourseRejection::NotTheOwner);
    }
    if course.status == CourseStatus::Retired {
        return Err(CourseRejection::Retired);
    }
    if patch == CoursePatch::default() {
        return Err(CourseRejection::Invalid(vec![Violation::of_rule(
            "nothing_to_change",
            "",
            "give at least one field to change",
        )]));
    }
    let mut found = Vec::new();
    let trimmed = |text: &Option<String>| text.as_ref().map(|t| t.trim().to_owned());
    if let Some(title) = &patch.title {
        check_text(&mut found, "title", title, TITLE_MAX_CHARS);
    }
    if let Some(summary) = &patch.summary {
        check_text(&mut found, "summary", summary, SUMMARY_MAX_CHARS);
    }
    if let Some(language) = &patch.language {
        check_text(&mut found, "language", language, TITLE_MAX_CHARS);
    }
    if patch.category.is_some() || patch.subcategories.is_some() {
        let category = patch.category.as_deref().unwrap_or(&course.category);
        let subcategories = patch.subcategories.as_deref().unwrap_or(&course.subcategories);
        check_taxonomy(&mut found, category, subcategories);
    }
    if let Some((cents, currency)) = &patch.price {
        check_price(&mut found, *cents, currency);
    }
    if let Some(description) = &patch.description {
        check_optional_text(&mut found, "description", description, DESCRIPTION_MAX_CHARS);
    }
    // An empty link removes the preview.
    let preview = match patch.preview_video.as_deref().map(str::trim) {
        None => None,
        Some("") => Some(String::new()),
        Some(link) => check_preview(&mut found, link),
    };
    for (field, phrases) in [("outline", &patch.outline), ("keywords", &patch.keywords), ("captions", &patch.captions)]
    {
        if let Some(phrases) = phrases {
            check_phrases(&mut found, field, phrases);
        }
    }
    if !found.is_empty() {
        return Err(CourseRejection::Invalid(found));
    }
    let mut events = Vec::new();
    let details = CourseDetailsUpdated {
        course_id: course.id,
        title: trimmed(&patch.title),
        summary: trimmed(&patch.summary),
        category: patch.category,
        subcategories: patch.subcategories,
        level: patch.level,
        language: trimmed(&patch.language),
        description: trimmed(&patch.description),
        preview_video_url: preview,
        outline: patch.outline.as_deref().map(trimmed_all),
        keywords: patch.keywords.as_deref().map(trimmed_all),
        captions: patch.captions.as_deref().map(trimmed_all),
    };
    let unchanged = CourseDetailsUpdated { course_id: course.id, ..CourseDetailsUpdated::default() };
    let has_details = details != unchanged;
    if has_details {
        events.push(Event::CourseDetailsUpdated(details));
    }
    if let Some((base_price_cents, _)) = patch.price {
        events.push(Event::CoursePriceChanged(CoursePriceChanged { course_id: course.id, base_price_cents }));
    }
    Ok(events)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::given::{given, when};

    fn instructor() -> Actor {
        Actor { user_id: Uuid::from_u128(1), role: Role::Instructor }
    }

    fn draft() -> CourseDraft {
        CourseDraft {
            title: "Rust for web services".into(),
            summary: "Build and run HTTP services".into(),
            category: "Web Development".into(),
            subcategories: vec!["Backend".into()],
            level: CourseLevel::Beginner,
            language: "English".into(),
            price_cents: 1999,
            currency: "USD".into(),
            description: String::new(),
            preview_video: None,
            outline: Vec::new(),
            keywords: Vec::new(),
            captions: Vec::new(),
        }
    }

    #[test]
    fn a_course_keeps_its_preview_as_the_embed_url_and_its_phrases_trimmed() {
        let described = CourseDraft {
            description: " From a first route to production. ".into(),
            preview_video: Some("https://youtu.be/dQw4w9WgXcQ?t=3".into()),
            outline: vec![" Routing ".into(), "State".into()],
            keywords: vec!["rust".into()],
            captions: vec!["English".into(), "French".into()],
            ..draft()
        };
        let create = CourseCommand::Create { actor: instructor(), course_id: course_id(), draft: described };
        let created = when(decide(&Course::default(), create));
        let Ok(events) = created else { panic!("{created:?}") };
        let [Event::CourseCreated(created)] = events.as_slice() else { panic!("{events:?}") };
        assert_eq!(created.preview_video_url.as_deref(), Some("https://www.youtube.com/embed/dQw4w9WgXcQ"));
        assert_eq!(
            (created.description.as_str(), created.outline.clone()),
            ("From a first route to production.", vec!["Routing".to_owned(), "State".to_owned()])
        );
        let bad = CourseDraft {
            preview_video: Some("https://vimeo.com/1".into()),
            outline: vec!["x".into(); PHRASES_MAX + 1],
            keywords: vec![" ".into()],
            ..draft()
        };
        let fields: Vec<&str> = bad.violations().iter().map(|violation| violation.field).collect();
        assert_eq!(fields, ["preview_video_url", "outline", "keywords"]);
        let course = given::<Course>(&events);
        let remove = CoursePatch { preview_video: Some(String::new()), ..CoursePatch::default() };
        let Ok(changed) = when(decide(&course, CourseCommand::Update { actor: instructor(), patch: remove })) else {
            panic!("refused")
        };
        let [Event::CourseDetailsUpdated(updated)] = changed.as_slice() else { panic!("{changed:?}") };
        assert_eq!(updated.preview_video_url.as_deref(), Some(""), "an empty preview removes it");
        let wrong = CoursePatch { preview_video: Some("not a link".into()), ..CoursePatch::default() };
        assert!(matches!(
            when(decide(&course, CourseCommand::Update { actor: instructor(), patch: wrong })),
            Err(CourseRejection::Invalid(_))
        ));
    }

    fn course_id() -> Uuid {
        Uuid::from_u128(7)
    }

    fn created_by(actor: &Actor) -> Event {
        let create = CourseCommand::Create { actor: *actor, course_id: course_id(), draft: draft() };
        when(decide(&Course::default(), create)).expect("valid course").remove(0)
    }

    #[test]
    fn the_owner_sets_a_thumbnail_which_says_which_one_it_replaces() {
        let course = given::<Course>(&[created_by(&instructor())]);
        let picture = |id: &str| Picture { id: id.repeat(64), format: "jpg".to_owned() };
        let set =
            when(decide(&course, CourseCommand::SetThumbnail { actor: instructor(), picture: Some(picture("a")) }))
                .expect("set");
        let expected = CourseThumbnailSet { course_id: course_id(), picture: Some(picture("a")), replaced: None };
        assert_eq!(set, [Event::CourseThumbnailSet(expected)]);
        let with = given::<Course>(&[created_by(&instructor()), set[0].clone()]);
        assert_eq!(with.thumbnail, Some(picture("a")));
        assert_eq!(
            when(decide(&with, CourseCommand::SetThumbnail { actor: instructor(), picture: Some(picture("a")) })),
            Ok(Vec::new())
        );
        let replaced =
            when(decide(&with, CourseCommand::SetThumbnail { actor: instructor(), picture: Some(picture("b")) }))
                .expect("set");
        let expected =
            CourseThumbnailSet { course_id: course_id(), picture: Some(picture("b")), replaced: Some(picture("a")) };
        assert_eq!(replaced, [Event::CourseThumbnailSet(expected)]);
        let other = Actor { user_id: Uuid::from_u128(2), role: Role::Instructor };
        assert_eq!(
            when(decide(&with, CourseCommand::SetThumbnail { actor: other, picture: None })),
            Err(CourseRejection::NotTheOwner)
        );
        assert_eq!(
            when(decide(&Course::default(), CourseCommand::SetThumbnail { actor: instructor(), picture: None })),
            Err(CourseRejection::NotFound)
        );
    }

    #[test]
    fn an_instructor_creates_a_draft_course_that_they_own() {
        let events = when(decide(
            &given(&[]),
            CourseCommand::Create { actor: instructor(), course_id: course_id(), draft: draft() },
        ));
        let Ok(events) = events else { panic!("rejected: {events:?}") };
        let [Event::CourseCreated(created)] = events.as_slice() else { panic!("{events:?}") };
        assert_eq!(created.instructor_id, instructor().user_id);
        assert_eq!(created.base_price_cents, 1999);
        assert_eq!(given::<Course>(&events).status, CourseStatus::Draft);
    }

    #[test]
    fn only_instructors_create_courses() {
        for role in [Role::Admin, Role::IndividualTrainee, Role::CorporateTrainee] {
            let actor = Actor { user_id: Uuid::from_u128(2), role };
            let result =
                when(decide(&given(&[]), CourseCommand::Create { actor, course_id: course_id(), draft: draft() }));
            assert_eq!(result, Err(CourseRejection::NotAnInstructor), "{role:?}");
        }
    }

    #[test]
    fn a_course_id_is_never_created_twice() {
        let history = [created_by(&instructor())];
        let result = when(decide(
            &given(&history),
            CourseCommand::Create { actor: instructor(), course_id: course_id(), draft: draft() },
        ));
        assert_eq!(result, Err(CourseRejection::AlreadyExists));
    }

    #[test]
    fn every_invalid_field_is_reported_at_once() {
        let draft = CourseDraft {
            title: "   ".into(),
            summary: String::new(),
            category: "Cooking".into(),
            language: " ".into(),
            price_cents: -1,
            currency: "EUR".into(),
            ..draft()
        };
        let result =
            when(decide(&given(&[]), CourseCommand::Create { actor: instructor(), course_id: course_id(), draft }));
        let Err(CourseRejection::Invalid(violations)) = result else { panic!("{result:?}") };
        let fields: Vec<_> = violations.iter().map(|v| v.field).collect();
        assert_eq!(fields, ["title", "summary", "category", "language", "price.amount_cents", "price.currency"]);
    }

    #[test]
    fn a_subcategory_must_belong_to_the_category() {
        let draft = CourseDraft { subcategories: vec!["Flutter".into()], ..draft() };
        let result =
            when(decide(&given(&[]), CourseCommand::Create { actor: instructor(), course_id: course_id(), draft }));
        assert!(matches!(result, Err(CourseRejection::Invalid(v)) if v[0].field == "subcategories"));
    }

    #[test]
    fn titles_and_prices_have_upper_bounds() {
        let long = CourseDraft { title: "x".repeat(TITLE_MAX_CHARS + 1), price_cents: PRICE_MAX_CENTS + 1, ..draft() };
        let result = when(decide(
            &given(&[]),
            CourseCommand::Create { actor: instructor(), course_id: course_id(), draft: long },
        ));
        assert!(matches!(result, Err(CourseRejection::Invalid(v)) if v.len() == 2));
        let free = CourseDraft { price_cents: 0, ..draft() };
        assert!(
            when(decide(
                &given(&[]),
                CourseCommand::Create { actor: instructor(), course_id: course_id(), draft: free }
            ))
            .is_ok()
        );
    }

    #[test]
    fn the_owner_publishes_a_draft() {
        let history = [created_by(&instructor())];
        let events = when(decide(&given(&history), CourseCommand::Publish { actor: instructor() }));
        assert_eq!(events, Ok(vec![Event::CoursePublished(CoursePublished { course_id: course_id() })]));
    }

    #[test]
    fn nobody_else_publishes_it_not_even_an_admin() {
        let history = [created_by(&instructor())];
        for actor in [
            Actor { user_id: Uuid::from_u128(99), role: Role::Instructor },
            Actor { user_id: Uuid::from_u128(98), role: Role::Admin },
        ] {
            assert_eq!(
                when(decide(&given(&history), CourseCommand::Publish { actor })),
                Err(CourseRejection::NotTheOwner)
            );
        }
    }

    #[test]
    fn a_published_course_is_not_published_again() {
        let history = [created_by(&instructor()), Event::CoursePublished(CoursePublished { course_id: course_id() })];
        assert_eq!(
            when(decide(&given(&history), CourseCommand::Publish { actor: instructor() })),
            Err(CourseRejection::AlreadyPublished)
        );
    }

    #[test]
    fn the_owner_changes_details_and_price_and_nobody_else_does() {
        let history = [created_by(&instructor())];
        let patch = CoursePatch {
            title: Some(" Second edition ".into()),
            price: Some((2999, "USD".into())),
            ..CoursePatch::default()
        };
        let events =
            when(decide(&given(&history), CourseCommand::Update { actor: instructor(), patch: patch.clone() }))
                .expect("valid");
        assert!(matches!(&events[..], [Event::CourseDetailsUpdated(d), Event::CoursePriceChanged(p)]
            if d.title.as_deref() == Some("Second edition") && p.base_price_cents == 2999));
        let other = Actor { user_id: Uuid::from_u128(99), role: Role::Instructor };
        assert_eq!(
            when(decide(&given(&history), CourseCommand::Update { actor: other, patch })),
            Err(CourseRejection::NotTheOwner)
        );
    }

    #[test]
    fn a_new_category_must_fit_the_subcategories_that_remain() {
        let history = [created_by(&instructor())];
        let move_only = CoursePatch { category: Some("Database".into()), ..CoursePatch::default() };
        let refused = when(decide(&given(&history), CourseCommand::Update { actor: instructor(), patch: move_only }));
        assert!(matches!(refused, Err(CourseRejection::Invalid(v)) if v[0].field == "subcategories"));
        let moved = CoursePatch {
            category: Some("Database".into()),
            subcategories: Some(vec!["PostgreSQL".into()]),
            ..CoursePatch::default()
        };
        let events =
            when(decide(&given(&history), CourseCommand::Update { actor: instructor(), patch: moved })).expect("valid");
        assert_eq!(given::<Course>(&[history[0].clone(), events[0].clone()]).category, "Database");
        let empty = when(decide(
            &given(&history),
            CourseCommand::Update { actor: instructor(), patch: CoursePatch::default() },
        ));
        assert!(matches!(empty, Err(CourseRejection::Invalid(_))));
        let negative = CoursePatch { price: Some((-5, "USD".into())), ..CoursePatch::default() };
        assert!(
            when(decide(&given(&history), CourseCommand::Update { actor: instructor(), patch: negative })).is_err()
        );
    }

    #[test]
    fn only_a_published_course_is_retired_and_retiring_is_for_good() {
        let created = created_by(&instructor());
        assert_eq!(
            when(decide(&given(std::slice::from_ref(&created)), CourseCommand::Retire { actor: instructor() })),
            Err(CourseRejection::NotPublished)
        );
        let published = Event::CoursePublished(CoursePublished { course_id: course_id() });
        let events =
            when(decide(&given(&[created.clone(), published.clone()]), CourseCommand::Retire { actor: instructor() }))
                .expect("retires");
        let retired = [created, published, events[0].clone()];
        assert_eq!(
            when(decide(&given(&retired), CourseCommand::Retire { actor: instructor() })),
            Err(CourseRejection::Retired)
        );
        assert_eq!(
            when(decide(&given(&retired), CourseCommand::Publish { actor: instructor() })),
            Err(CourseRejection::Retired)
        );
        let patch = CoursePatch { title: Some("Back".into()), ..CoursePatch::default() };
        assert_eq!(
            when(decide(&given(&retired), CourseCommand::Update { actor: instructor(), patch })),
            Err(CourseRejection::Retired)
        );
    }

    #[test]
    fn publishing_an_unknown_course_is_not_found() {
        assert_eq!(
            when(decide(&given(&[]), CourseCommand::Publish { actor: instructor() })),
            Err(CourseRejection::NotFound)
        );
    }

    fn admin() -> Actor {
        Actor { user_id: Uuid::from_u128(98), role: Role::Admin }
    }

    fn add_section(actor: Actor) -> CourseCommand {
        let change = ContentCommand::AddSection {
            section_id: Uuid::from_u128(11),
            title: "Basics".into(),
            description: String::new(),
        };
        CourseCommand::Content { actor, change }
    }

    fn add_discount(actor: Actor) -> CourseCommand {
        let window = discount::Window {
            starts_on: time::macros::date!(2026 - 11 - 01),
            ends_on: time::macros::date!(2026 - 11 - 30),
        };
        let change = DiscountCommand::Add {
            discount_id: Uuid::from_u128(12),
            percent: 20,
            window,
            issued_by: DiscountIssuer::Admin,
        };
        CourseCommand::Discount { actor, change }
    }

    #[test]
    fn only_the_owner_changes_content_while_an_admin_may_grant_discounts() {
        let history = [created_by(&instructor())];
        let other = Actor { user_id: Uuid::from_u128(99), role: Role::Instructor };
        assert_eq!(when(decide(&given(&history), add_section(other))), Err(CourseRejection::NotTheOwner));
        assert_eq!(when(decide(&given(&history), add_section(admin()))), Err(CourseRejection::NotTheOwner));
        assert!(when(decide(&given(&history), add_section(instructor()))).is_ok());
        assert_eq!(when(decide(&given(&history), add_discount(other))), Err(CourseRejection::NotTheOwner));
        let granted = when(decide(&given(&history), add_discount(admin()))).expect("admins grant discounts");
        assert!(matches!(&granted[..], [Event::DiscountAdded(d)] if d.issued_by == DiscountIssuer::Admin));
        assert_eq!(discount_issuer(Role::Instructor), DiscountIssuer::Instructor);
    }

    #[test]
    fn a_retired_course_takes_announcements_only() {
        let retired = [
            created_by(&instructor()),
            Event::CoursePublished(CoursePublished { course_id: course_id() }),
            Event::CourseRetired(CourseRetired { course_id: course_id() }),
        ];
        assert_eq!(when(decide(&given(&retired), add_section(instructor()))), Err(CourseRejection::Retired));
        assert_eq!(when(decide(&given(&retired), add_discount(admin()))), Err(CourseRejection::Retired));
        let change = ContentCommand::PostAnnouncement {
            announcement_id: Uuid::from_u128(13),
            title: "Still here".into(),
            description: "The course is retired, your access stays.".into(),
        };
        assert!(when(decide(&given(&retired), CourseCommand::Content { actor: instructor(), change })).is_ok());
    }

    #[test]
    fn a_course_without_enrolments_is_deleted_by_its_owner_or_an_admin_and_is_gone_for_good() {
        let history = [created_by(&instructor())];
        let delete = |actor, has_enrolments| CourseCommand::Delete { actor, has_enrolments };
        assert_eq!(when(decide(&given(&history), delete(instructor(), true))), Err(CourseRejection::HasEnrolments));
        let other = Actor { user_id: Uuid::from_u128(99), role: Role::Instructor };
        assert_eq!(when(decide(&given(&history), delete(other, false))), Err(CourseRejection::NotTheOwner));
        for actor in [instructor(), admin()] {
            let events = when(decide(&given(&history), delete(actor, false))).expect("deletes");
            let deleted = [history[0].clone(), events[0].clone()];
            let by = instructor();
            for command in [delete(by, false), CourseCommand::Publish { actor: by }, add_section(by), add_discount(by)]
            {
                assert_eq!(when(decide(&given(&deleted), command)), Err(CourseRejection::NotFound));
            }
        }
    }
}
