//! A course's content: sections with lessons and exercises, the exam, the FAQ and announcements. Who may
//! change a course is checked by `course::decide`; this module decides what a change records.

use events::Event;
use events::content::{
    AnnouncementEdited, AnnouncementPosted, AnnouncementRemoved, CourseExamSet, ExerciseAdded, ExerciseQuestionAdded,
    ExerciseQuestionRemoved, ExerciseQuestionUpdated, ExerciseRemoved, FaqAdded, FaqRemoved, FaqUpdated, LessonAdded,
    LessonRemoved, LessonUpdated, Question, SectionAdded, SectionRemoved, SectionUpdated,
};
use uuid::Uuid;

use super::Violation;
use super::youtube::embed_url;
use crate::families::CourseEvent;

pub const PART_TITLE_MAX_CHARS: usize = 200;
pub const PART_TEXT_MAX_CHARS: usize = 5_000;
/// Bounds that keep one course's stream and page a sensible size.
pub const MAX_SECTIONS: usize = 100;
pub const MAX_LESSONS_PER_SECTION: usize = 200;
pub const MAX_EXERCISES_PER_SECTION: usize = 50;
pub const MAX_QUESTIONS: usize = 100;
pub const MAX_OPTIONS: usize = 10;
pub const MAX_FAQS: usize = 100;
pub const MAX_ANNOUNCEMENTS: usize = 500;
/// A lesson lasts at most a day.
pub const MAX_LESSON_MINUTES: i64 = 1_440;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Lesson {
    pub id: Uuid,
    pub minutes: u32,
    /// Its video's embed URL.
    pub video_url: String,
}

/// A question as a trainee's answer is judged: how many options it offers and which one is right.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Answerable {
    pub id: Uuid,
    pub options: u32,
    pub answer_index: u32,
}

impl Answerable {
    fn of(question: &Question) -> Self {
        let options = u32::try_from(question.options.len()).unwrap_or(u32::MAX);
        Answerable { id: question.question_id, options, answer_index: question.answer_index }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Exercise {
    pub id: Uuid,
    pub questions: Vec<Answerable>,
}

impl Exercise {
    pub fn question(&self, id: Uuid) -> Option<&Answerable> {
        self.questions.iter().find(|question| question.id == id)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Section {
    pub id: Uuid,
    pub lessons: Vec<Lesson>,
    pub exercises: Vec<Exercise>,
}

/// What a decision about content needs to know: which parts exist, and the lessons' minutes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Content {
    pub sections: Vec<Section>,
    /// The final exam; empty when the course has none.
    pub exam: Vec<Answerable>,
    pub faqs: Vec<Uuid>,
    pub announcements: Vec<Uuid>,
}

/// A course's content is folded from the course's stream, within [`crate::course::Course`]; on its own, in
/// the content's tests.
impl crate::Aggregate for Content {
    fn evolve(self, event: &Event) -> Self {
        Content::evolve(self, event)
    }
}

impl Content {
    /// Every lesson's id, section by section.
    pub fn lesson_ids(&self) -> Vec<Uuid> {
        self.sections.iter().flat_map(|section| section.lessons.iter().map(|lesson| lesson.id)).collect()
    }

    /// The exercise `exercise_id`, in whichever section it is.
    pub fn exercise(&self, exercise_id: Uuid) -> Option<&Exercise> {
        self.sections.iter().flat_map(|section| &section.exercises).find(|exercise| exercise.id == exercise_id)
    }

    fn section_mut(&mut self, id: Uuid) -> Option<&mut Section> {
        self.sections.iter_mut().find(|s| s.id == id)
    }

    fn section(&self, id: Uuid) -> Result<&Section, ContentRejection> {
        self.sections.iter().find(|s| s.id == id).ok_or(ContentRejection::NotFound("section"))
    }

    pub fn total_lessons(&self) -> u32 {
        self.sections.iter().map(|s| s.lessons.len() as u32).sum()
    }

    /// R15: hours = max(1, floor(total minutes / 60)) once there is a lesson; 0 without any.
    pub fn duration_hours(&self) -> u32 {
        if self.total_lessons() == 0 {
            return 0;
        }
        let minutes: u32 = self.sections.iter().flat_map(|s| &s.lessons).map(|l| l.minutes).sum();
        (minutes / 60).max(1)
    }

    pub fn evolve(mut self, event: &Event) -> Self {
        let Some(event) = CourseEvent::of(event) else { return self };
        match event {
            CourseEvent::SectionAdded(e) => self.sections.push(Section { id: e.section_id, ..Section::default() }),
            CourseEvent::SectionRemoved(e) => self.sections.retain(|s| s.id != e.section_id),
            CourseEvent::LessonAdded(e) => {
                if let Some(section) = self.section_mut(e.section_id) {
                    section.lessons.push(Lesson {
                        id: e.lesson_id,
                        minutes: e.duration_min,
                        video_url: e.video_url.clone(),
                    });
                }
            }
            CourseEvent::LessonUpdated(e) => {
                let lesson =
                    self.section_mut(e.section_id).and_then(|s| s.lessons.iter_mut().find(|l| l.id == e.lesson_id));
                if let Some(lesson) = lesson {
                    lesson.minutes = e.duration_min.unwrap_or(lesson.minutes);
                    lesson.video_url = e.video_url.clone().unwrap_or(std::mem::take(&mut lesson.video_url));
                }
            }
            CourseEvent::LessonRemoved(e) => {
                if let Some(section) = self.section_mut(e.section_id) {
                    section.lessons.retain(|l| l.id != e.lesson_id);
                }
            }
            CourseEvent::ExerciseAdded(e) => {
                if let Some(section) = self.section_mut(e.section_id) {
                    section.exercises.push(Exercise { id: e.exercise_id, questions: Vec::new() });
                }
            }
            CourseEvent::ExerciseRemoved(e) => {
                if let Some(section) = self.section_mut(e.section_id) {
                    section.exercises.retain(|x| x.id != e.exercise_id);
                }
            }
            CourseEvent::ExerciseQuestionAdded(e) => {
                let exercise =
                    self.section_mut(e.section_id).and_then(|s| s.exercises.iter_mut().find(|x| x.id == e.exercise_id));
                if let Some(exercise) = exercise {
                    exercise.questions.push(Answerable::of(&e.question));
                }
            }
            CourseEvent::ExerciseQuestionUpdated(e) => {
                let question = self
                    .section_mut(e.section_id)
                    .and_then(|s| s.exercises.iter_mut().find(|x| x.id == e.exercise_id))
                    .and_then(|x| x.questions.iter_mut().find(|q| q.id == e.question.question_id));
                if let Some(question) = question {
                    *question = Answerable::of(&e.question);
                }
            }
            CourseEvent::CourseExamSet(e) => self.exam = e.questions.iter().map(Answerable::of).collect(),
            CourseEvent::ExerciseQuestionRemoved(e) => {
                let exercise =
                    self.section_mut(e.section_id).and_then(|s| s.exercises.iter_mut().find(|x| x.id == e.exercise_id));
                if let Some(exercise) = exercise {
                    exercise.questions.retain(|q| q.id != e.question_id);
                }
            }
            CourseEvent::FaqAdded(e) => self.faqs.push(e.faq_id),
            CourseEvent::FaqRemoved(e) => self.faqs.retain(|id| *id != e.faq_id),
            CourseEvent::AnnouncementPosted(e) => self.announcements.push(e.announcement_id),
            CourseEvent::AnnouncementRemoved(e) => self.announcements.retain(|id| *id != e.announcement_id),
            CourseEvent::CourseCreated(_)
            | CourseEvent::CourseDetailsUpdated(_)
            | CourseEvent::CoursePriceChanged(_)
            | CourseEvent::CoursePublished(_)
            | CourseEvent::CourseRetired(_)
            | CourseEvent::CourseDeleted(_)
            | CourseEvent::CourseThumbnailSet(_)
            | CourseEvent::SectionUpdated(_)
            | CourseEvent::FaqUpdated(_)
            | CourseEvent::AnnouncementEdited(_)
            | CourseEvent::DiscountAdded(_)
            | CourseEvent::DiscountUpdated(_)
            | CourseEvent::DiscountRemoved(_) => {}
        }
        self
    }
}

/// R15: a lesson of no minutes (the instructor gave none) takes its video's length, floor(seconds / 60), as
/// YouTube measured `video_url`; a lesson that has minutes, or another video by now, or is gone, is left alone.
pub fn fill_duration(
    course_id: Uuid,
    content: &Content,
    (section_id, lesson_id): (Uuid, Uuid),
    video_url: &str,
    seconds: u64,
) -> Vec<Event> {
    let lesson =
        content.sections.iter().find(|s| s.id == section_id).and_then(|s| s.lessons.iter().find(|l| l.id == lesson_id));
    let Some(lesson) = lesson.filter(|lesson| lesson.minutes == 0 && lesson.video_url == video_url) else {
        return Vec::new();
    };
    let minutes = u32::try_from((seconds / 60).min(MAX_LESSON_MINUTES as u64)).unwrap_or(0);
    if minutes == lesson.minutes {
        return Vec::new();
    }
    let mut updated = LessonUpdated {
        course_id,
        section_id,
        lesson_id,
        title: None,
        description: None,
        video_url: None,
        duration_min: Some(minutes),
        total_lessons: 0,
        course_duration_h: 0,
    };
    let after = content.clone().evolve(&Event::LessonUpdated(updated.clone()));
    (updated.total_lessons, updated.course_duration_h) = (after.total_lessons(), after.duration_hours());
    vec![Event::LessonUpdated(updated)]
}

/// A lesson as the client sent it; the video link is any YouTube link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LessonDraft {
    pub title: String,
    pub description: String,
    pub video_url: String,
    pub duration_min: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LessonPatch {
    pub title: Option<String>,
    pub description: Option<String>,
    pub video_url: Option<String>,
    pub duration_min: Option<i64>,
}

/// A question as the client sent it: the answer is the text of one of the options (R13).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuestionDraft {
    pub question_id: Uuid,
    pub question: String,
    pub options: Vec<String>,
    pub answer: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContentCommand {
    AddSection { section_id: Uuid, title: String, description: String },
    UpdateSection { section_id: Uuid, title: Option<String>, description: Option<String> },
    RemoveSection { section_id: Uuid },
    AddLesson { section_id: Uuid, lesson_id: Uuid, lesson: LessonDraft },
    UpdateLesson { section_id: Uuid, lesson_id: Uuid, patch: LessonPatch },
    RemoveLesson { section_id: Uuid, lesson_id: Uuid },
    AddExercise { section_id: Uuid, exercise_id: Uuid, title: String },
    RemoveExercise { section_id: Uuid, exercise_id: Uuid },
    AddExerciseQuestion { section_id: Uuid, exercise_id: Uuid, question: QuestionDraft },
    UpdateExerciseQuestion { section_id: Uuid, exercise_id: Uuid, question: QuestionDraft },
    RemoveExerciseQuestion { section_id: Uuid, exercise_id: Uuid, question_id: Uuid },
    SetExam { questions: Vec<QuestionDraft> },
    AddFaq { faq_id: Uuid, question: String, answer: String },
    UpdateFaq { faq_id: Uuid, question: Option<String>, answer: Option<String> },
    RemoveFaq { faq_id: Uuid },
    PostAnnouncement { announcement_id: Uuid, title: String, description: String },
    EditAnnouncement { announcement_id: Uuid, title: Option<String>, description: Option<String> },
    RemoveAnnouncement { announcement_id: Uuid },
}

impl ContentCommand {
    /// Announcements still reach the trainees of a retired course; nothing else changes once retired.
    pub fn allowed_when_retired(&self) -> bool {
        matches!(
            self,
            ContentCommand::PostAnnouncement { .. }
                | ContentCommand::EditAnnouncement { .. }
                | ContentCommand::RemoveAnnouncement { .. }
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContentRejection {
    /// The named part (section, lesson, ...) does not exist in this course.
    NotFound(&'static str),
    Invalid(Vec<Violation>),
}

fn text(found: &mut Vec<Violation>, field: &'static str, value: &str, max: usize, required: bool) -> String {
    let value = value.trim();
    if required && value.is_empty() {
        found.push(Violation::new(field, "must not be empty"));
    } else if value.chars().count() > max {
        found.push(Violation::new(field, format!("must be at most {max} characters")));
    }
    value.to_owned()
}

fn optional_text(found: &mut Vec<Violation>, field: &'static str, value: Option<&str>, max: usize) -> Option<String> {
    value.map(|v| text(found, field, v, max, true))
}

fn at_most(found: &mut Vec<Violation>, field: &'static str, count: usize, max: usize) {
    if count >= max {
        found.push(Violation::of_rule("course_full", field, format!("a course holds at most {max} of these")));
    }
}

fn video(found: &mut Vec<Violation>, link: &str) -> String {
    embed_url(link).unwrap_or_else(|| {
        found.push(Violation::new("video_url", "must be a YouTube video link"));
        String::new()
    })
}

fn minutes(found: &mut Vec<Violation>, value: i64) -> u32 {
    match u32::try_from(value) {
        Ok(minutes) if value <= MAX_LESSON_MINUTES => minutes,
        _ => {
            found.push(Violation::new("duration_min", format!("must be from 0 to {MAX_LESSON_MINUTES}")));
            0
        }
    }
}

/// R13: at least two distinct options, and the answer is one of them.
fn question(found: &mut Vec<Violation>, draft: &QuestionDraft) -> Question {
    let question = text(found, "question", &draft.question, PART_TEXT_MAX_CHARS, true);
    let options: Vec<String> = draft.options.iter().map(|o| o.trim().to_owned()).collect();
    if options.len() < 2 || options.len() > MAX_OPTIONS {
        found.push(Violation::new("options", format!("must be 2 to {MAX_OPTIONS} options")));
    }
    if options.iter().any(|o| o.is_empty() || o.chars().count() > PART_TITLE_MAX_CHARS) {
        found.push(Violation::new("options", format!("each must be 1 to {PART_TITLE_MAX_CHARS} characters")));
    }
    if options.iter().enumerate().any(|(i, o)| options[..i].contains(o)) {
        found.push(Violation::of_rule("options_repeated", "options", "must be different from each other"));
    }
    let answer_index = options.iter().position(|o| *o == draft.answer.trim());
    if answer_index.is_none() {
        found.push(Violation::of_rule("answer_not_an_option", "answer", "must be one of the options"));
    }
    Question { question_id: draft.question_id, question, options, answer_index: answer_index.map_or(0, |i| i as u32) }
}

fn valid(found: Vec<Violation>, event: Event) -> Result<Vec<Event>, ContentRejection> {
    if found.is_empty() { Ok(vec![event]) } else { Err(ContentRejection::Invalid(found)) }
}

fn nothing_to_change() -> ContentRejection {
    ContentRejection::Invalid(vec![Violation::of_rule("nothing_to_change", "", "give at least one field to change")])
}

/// What changing `content` of course `course_id` with `command` records: a part of the course's decider
/// (`course::decide`), which checks who asks first.
pub(crate) fn change(
    course_id: Uuid,
    content: &Content,
    command: ContentCommand,
) -> Result<Vec<Event>, ContentRejection> {
    let mut found = Vec::new();
    match command {
        ContentCommand::AddSection { section_id, title, description } => {
            at_most(&mut found, "sections", content.sections.len(), MAX_SECTIONS);
            let title = text(&mut found, "title", &title, PART_TITLE_MAX_CHARS, true);
            let description = text(&mut found, "description", &description, PART_TEXT_MAX_CHARS, false);
            valid(found, Event::SectionAdded(SectionAdded { course_id, section_id, title, description }))
        }
        ContentCommand::UpdateSection { section_id, title, description } => {
            content.section(section_id)?;
            if title.is_none() && description.is_none() {
                return Err(nothing_to_change());
            }
            let title = optional_text(&mut found, "title", title.as_deref(), PART_TITLE_MAX_CHARS);
            let description = description.map(|d| text(&mut found, "description", &d, PART_TEXT_MAX_CHARS, false));
            valid(found, Event::SectionUpdated(SectionUpdated { course_id, section_id, title, description }))
        }
        ContentCommand::RemoveSection { section_id } => {
            content.section(section_id)?;
            let after = content.clone().evolve(&Event::SectionRemoved(SectionRemoved {
                course_id,
                section_id,
                total_lessons: 0,
                course_duration_h: 0,
            }));
            Ok(vec![Event::SectionRemoved(SectionRemoved {
                course_id,
                section_id,
                total_lessons: after.total_lessons(),
                course_duration_h: after.duration_hours(),
            })])
        }
        ContentCommand::AddLesson { section_id, lesson_id, lesson } => {
            let section = content.section(section_id)?;
            at_most(&mut found, "lessons", section.lessons.len(), MAX_LESSONS_PER_SECTION);
            let mut added = LessonAdded {
                course_id,
                section_id,
                lesson_id,
                title: text(&mut found, "title", &lesson.title, PART_TITLE_MAX_CHARS, true),
                description: text(&mut found, "description", &lesson.description, PART_TEXT_MAX_CHARS, false),
                video_url: video(&mut found, &lesson.video_url),
                duration_min: minutes(&mut found, lesson.duration_min),
                total_lessons: 0,
                course_duration_h: 0,
            };
            let after = content.clone().evolve(&Event::LessonAdded(added.clone()));
            (added.total_lessons, added.course_duration_h) = (after.total_lessons(), after.duration_hours());
            valid(found, Event::LessonAdded(added))
        }
        ContentCommand::UpdateLesson { section_id, lesson_id, patch } => {
            let section = content.section(section_id)?;
            if !section.lessons.iter().any(|l| l.id == lesson_id) {
                return Err(ContentRejection::NotFound("lesson"));
            }
            if patch == LessonPatch::default() {
                return Err(nothing_to_change());
            }
            let mut updated = LessonUpdated {
                course_id,
                section_id,
                lesson_id,
                title: optional_text(&mut found, "title", patch.title.as_deref(), PART_TITLE_MAX_CHARS),
                description: patch.description.map(|d| text(&mut found, "description", &d, PART_TEXT_MAX_CHARS, false)),
                video_url: patch.video_url.map(|link| video(&mut found, &link)),
                duration_min: patch.duration_min.map(|m| minutes(&mut found, m)),
                total_lessons: 0,
                course_duration_h: 0,
            };
            let after = content.clone().evolve(&Event::LessonUpdated(updated.clone()));
            (updated.total_lessons, updated.course_duration_h) = (after.total_lessons(), after.duration_hours());
            valid(found, Event::LessonUpdated(updated))
        }
        ContentCommand::RemoveLesson { section_id, lesson_id } => {
            let section = content.section(section_id)?;
            if !section.lessons.iter().any(|l| l.id == lesson_id) {
                return Err(ContentRejection::NotFound("lesson"));
            }
            let mut removed =
                LessonRemoved { course_id, section_id, lesson_id, total_lessons: 0, course_duration_h: 0 };
            let after = content.clone().evolve(&Event::LessonRemoved(removed.clone()));
            (removed.total_lessons, removed.course_duration_h) = (after.total_lessons(), after.duration_hours());
            Ok(vec![Event::LessonRemoved(removed)])
        }
        ContentCommand::AddExercise { section_id, exercise_id, title } => {
            let section = content.section(section_id)?;
            at_most(&mut found, "exercises", section.exercises.len(), MAX_EXERCISES_PER_SECTION);
            let title = text(&mut found, "title", &title, PART_TITLE_MAX_CHARS, true);
            valid(found, Event::ExerciseAdded(ExerciseAdded { course_id, section_id, exercise_id, title }))
        }
        ContentCommand::RemoveExercise { section_id, exercise_id } => {
            exercise(content, section_id, exercise_id)?;
            Ok(vec![Event::ExerciseRemoved(ExerciseRemoved { course_id, section_id, exercise_id })])
        }
        ContentCommand::AddExerciseQuestion { section_id, exercise_id, question: draft } => {
            let exercise = exercise(content, section_id, exercise_id)?;
            at_most(&mut found, "questions", exercise.questions.len(), MAX_QUESTIONS);
            let question = question(&mut found, &draft);
            let added = ExerciseQuestionAdded { course_id, section_id, exercise_id, question };
            valid(found, Event::ExerciseQuestionAdded(added))
        }
        ContentCommand::UpdateExerciseQuestion { section_id, exercise_id, question: draft } => {
            if exercise(content, section_id, exercise_id)?.question(draft.question_id).is_none() {
                return Err(ContentRejection::NotFound("question"));
            }
            let question = question(&mut found, &draft);
            let updated = ExerciseQuestionUpdated { course_id, section_id, exercise_id, question };
            valid(found, Event::ExerciseQuestionUpdated(updated))
        }
        ContentCommand::RemoveExerciseQuestion { section_id, exercise_id, question_id } => {
            if exercise(content, section_id, exercise_id)?.question(question_id).is_none() {
                return Err(ContentRejection::NotFound("question"));
            }
            let removed = ExerciseQuestionRemoved { course_id, section_id, exercise_id, question_id };
            Ok(vec![Event::ExerciseQuestionRemoved(removed)])
        }
        ContentCommand::SetExam { questions: drafts } => {
            if drafts.len() > MAX_QUESTIONS {
                found.push(Violation::new("questions", format!("an exam has at most {MAX_QUESTIONS} questions")));
            }
            let questions = drafts.iter().map(|draft| question(&mut found, draft)).collect();
            valid(found, Event::CourseExamSet(CourseExamSet { course_id, questions }))
        }
        ContentCommand::AddFaq { faq_id, question, answer } => {
            at_most(&mut found, "faq", content.faqs.len(), MAX_FAQS);
            let question = text(&mut found, "question", &question, PART_TEXT_MAX_CHARS, true);
            let answer = text(&mut found, "answer", &answer, PART_TEXT_MAX_CHARS, true);
            valid(found, Event::FaqAdded(FaqAdded { course_id, faq_id, question, answer }))
        }
        ContentCommand::UpdateFaq { faq_id, question, answer } => {
            if !content.faqs.contains(&faq_id) {
                return Err(ContentRejection::NotFound("FAQ entry"));
            }
            if question.is_none() && answer.is_none() {
                return Err(nothing_to_change());
            }
            let question = optional_text(&mut found, "question", question.as_deref(), PART_TEXT_MAX_CHARS);
            let answer = optional_text(&mut found, "answer", answer.as_deref(), PART_TEXT_MAX_CHARS);
            valid(found, Event::FaqUpdated(FaqUpdated { course_id, faq_id, question, answer }))
        }
        ContentCommand::RemoveFaq { faq_id } => {
            if !content.faqs.contains(&faq_id) {
                return Err(ContentRejection::NotFound("FAQ entry"));
            }
            Ok(vec![Event::FaqRemoved(FaqRemoved { course_id, faq_id })])
        }
        ContentCommand::PostAnnouncement { announcement_id, title, description } => {
            at_most(&mut found, "announcements", content.announcements.len(), MAX_ANNOUNCEMENTS);
            let title = text(&mut found, "title", &title, PART_TITLE_MAX_CHARS, true);
            let description = text(&mut found, "description", &description, PART_TEXT_MAX_CHARS, true);
            let posted = AnnouncementPosted { course_id, announcement_id, title, description };
            valid(found, Event::AnnouncementPosted(posted))
        }
        ContentCommand::EditAnnouncement { announcement_id, title, description } => {
            if !content.announcements.contains(&announcement_id) {
                return Err(ContentRejection::NotFound("announcement"));
            }
            if title.is_none() && description.is_none() {
                return Err(nothing_to_change());
            }
            let title = optional_text(&mut found, "title", title.as_deref(), PART_TITLE_MAX_CHARS);
            let description = optional_text(&mut found, "description", description.as_deref(), PART_TEXT_MAX_CHARS);
            let edited = AnnouncementEdited { course_id, announcement_id, title, description };
            valid(found, Event::AnnouncementEdited(edited))
        }
        ContentCommand::RemoveAnnouncement { announcement_id } => {
            if !content.announcements.contains(&announcement_id) {
                return Err(ContentRejection::NotFound("announcement"));
            }
            Ok(vec![Event::AnnouncementRemoved(AnnouncementRemoved { course_id, announcement_id })])
        }
    }
}

fn exercise(content: &Content, section_id: Uuid, exercise_id: Uuid) -> Result<&Exercise, ContentRejection> {
    content
        .section(section_id)?
        .exercises
        .iter()
        .find(|x| x.id == exercise_id)
        .ok_or(ContentRejection::NotFound("exercise"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::given::given_commands;

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    fn course() -> Uuid {
        id(7)
    }

    /// given(commands) applied in order, each of which must be accepted.
    fn given(commands: Vec<ContentCommand>) -> Content {
        given_commands(commands, |content, command| {
            change(course(), content, command).map(crate::effects::Decided::from)
        })
    }

    fn section(n: u128) -> ContentCommand {
        ContentCommand::AddSection { section_id: id(n), title: format!("Section {n}"), description: String::new() }
    }

    fn lesson(section: u128, n: u128, minutes: i64) -> ContentCommand {
        ContentCommand::AddLesson {
            section_id: id(section),
            lesson_id: id(n),
            lesson: LessonDraft {
                title: format!("Lesson {n}"),
                description: String::new(),
                video_url: "https://youtu.be/dQw4w9WgXcQ".into(),
                duration_min: minutes,
            },
        }
    }

    fn question(answer: &str) -> QuestionDraft {
        QuestionDraft {
            question_id: id(50),
            question: "Which keyword declares a constant?".into(),
            options: vec!["let".into(), "const".into()],
            answer: answer.into(),
        }
    }

    #[test]
    fn a_lesson_without_minutes_takes_its_video_s_length_once_and_the_instructor_s_value_stays() {
        let content = given(vec![section(1), lesson(1, 10, 0), lesson(1, 11, 30)]);
        let embed = "https://www.youtube.com/embed/dQw4w9WgXcQ";
        let filled = fill_duration(course(), &content, (id(1), id(10)), embed, 61 * 60 + 59);
        let [Event::LessonUpdated(updated)] = &filled[..] else { panic!("one update: {filled:?}") };
        assert_eq!((updated.duration_min, updated.title.as_ref()), (Some(61), None), "floor(seconds / 60), R15");
        assert_eq!((updated.total_lessons, updated.course_duration_h), (2, 1), "91 minutes: one hour");
        let content = filled.iter().fold(content, |content, event| content.evolve(event));
        assert_eq!(fill_duration(course(), &content, (id(1), id(10)), embed, 120), Vec::new(), "filled already");
        assert_eq!(fill_duration(course(), &content, (id(1), id(11)), embed, 120), Vec::new(), "the instructor's 30");
        let fresh = given(vec![section(1), lesson(1, 10, 0)]);
        let other = "https://www.youtube.com/embed/aaaaaaaaaaa";
        assert_eq!(fill_duration(course(), &fresh, (id(1), id(10)), other, 120), Vec::new(), "another video by now");
        assert_eq!(fill_duration(course(), &fresh, (id(1), id(99)), embed, 120), Vec::new(), "no such lesson");
    }

    #[test]
    fn lessons_store_the_embed_url_and_carry_the_course_totals_of_r15() {
        let content = given(vec![section(1), lesson(1, 10, 30)]);
        assert_eq!(content.duration_hours(), 1, "under an hour still counts as one");
        let events = change(course(), &content, lesson(1, 11, 100)).expect("valid");
        let [Event::LessonAdded(added)] = events.as_slice() else { panic!("{events:?}") };
        assert_eq!(added.video_url, "https://www.youtube.com/embed/dQw4w9WgXcQ");
        assert_eq!((added.total_lessons, added.course_duration_h), (2, 2), "130 minutes are 2 hours");
        let removed = change(course(), &given(vec![section(1), lesson(1, 10, 30), lesson(1, 11, 100)]), {
            ContentCommand::RemoveSection { section_id: id(1) }
        });
        assert!(matches!(&removed.as_deref(), Ok([Event::SectionRemoved(r)]) if r.total_lessons == 0
            && r.course_duration_h == 0));
    }

    #[test]
    fn a_lesson_needs_a_youtube_video_and_a_duration_within_a_day() {
        let content = given(vec![section(1)]);
        let ContentCommand::AddLesson { lesson: draft, .. } = lesson(1, 10, 30) else { unreachable!() };
        let bad = LessonDraft { video_url: "https://vimeo.com/1".into(), duration_min: -1, ..draft };
        let command = ContentCommand::AddLesson { section_id: id(1), lesson_id: id(10), lesson: bad };
        let Err(ContentRejection::Invalid(violations)) = change(course(), &content, command) else { panic!() };
        let fields: Vec<_> = violations.iter().map(|v| v.field).collect();
        assert_eq!(fields, ["video_url", "duration_min"]);
    }

    #[test]
    fn a_change_to_a_missing_part_names_the_part() {
        let content = given(vec![section(1), lesson(1, 10, 30)]);
        let cases = [
            (lesson(2, 11, 5), "section"),
            (ContentCommand::RemoveLesson { section_id: id(1), lesson_id: id(99) }, "lesson"),
            (ContentCommand::RemoveExercise { section_id: id(1), exercise_id: id(99) }, "exercise"),
            (ContentCommand::RemoveFaq { faq_id: id(99) }, "FAQ entry"),
            (ContentCommand::RemoveAnnouncement { announcement_id: id(99) }, "announcement"),
        ];
        for (command, part) in cases {
            assert_eq!(change(course(), &content, command), Err(ContentRejection::NotFound(part)));
        }
        let with_exercise = given(vec![
            section(1),
            ContentCommand::AddExercise { section_id: id(1), exercise_id: id(20), title: "Variables".into() },
        ]);
        let missing_question = ContentCommand::UpdateExerciseQuestion {
            section_id: id(1),
            exercise_id: id(20),
            question: question("const"),
        };
        assert_eq!(change(course(), &with_exercise, missing_question), Err(ContentRejection::NotFound("question")));
    }

    #[test]
    fn the_answer_must_be_one_of_at_least_two_different_options() {
        let exam = |questions| ContentCommand::SetExam { questions };
        let events = change(course(), &Content::default(), exam(vec![question(" const ")])).expect("valid");
        let [Event::CourseExamSet(set)] = events.as_slice() else { panic!("{events:?}") };
        assert_eq!(set.questions[0].answer_index, 1);
        for (options, answer, field) in [
            (vec!["let", "const"], "var", "answer"),
            (vec!["const"], "const", "options"),
            (vec!["const", "const"], "const", "options"),
        ] {
            let draft = QuestionDraft { options: options.into_iter().map(String::from).collect(), ..question(answer) };
            let refused = change(course(), &Content::default(), exam(vec![draft]));
            assert!(matches!(&refused, Err(ContentRejection::Invalid(v)) if v[0].field == field), "{refused:?}");
        }
        assert!(change(course(), &Content::default(), exam(Vec::new())).is_ok(), "an empty exam removes it");
    }

    #[test]
    fn exercises_hold_questions_that_are_replaced_and_removed_by_id() {
        let content = given(vec![
            section(1),
            ContentCommand::AddExercise { section_id: id(1), exercise_id: id(20), title: "Variables".into() },
            ContentCommand::AddExerciseQuestion { section_id: id(1), exercise_id: id(20), question: question("let") },
        ]);
        assert_eq!(content.sections[0].exercises[0].questions.iter().map(|q| q.id).collect::<Vec<_>>(), [id(50)]);
        let replace = ContentCommand::UpdateExerciseQuestion {
            section_id: id(1),
            exercise_id: id(20),
            question: question("const"),
        };
        assert!(change(course(), &content, replace).is_ok());
        let remove =
            ContentCommand::RemoveExerciseQuestion { section_id: id(1), exercise_id: id(20), question_id: id(50) };
        assert!(change(course(), &content, remove).is_ok());
    }

    #[test]
    fn faq_entries_and_announcements_need_their_text_and_a_change() {
        let empty = ContentCommand::AddFaq { faq_id: id(30), question: " ".into(), answer: "Yes".into() };
        assert!(matches!(change(course(), &Content::default(), empty), Err(ContentRejection::Invalid(_))));
        let content = given(vec![ContentCommand::PostAnnouncement {
            announcement_id: id(40),
            title: "Welcome".into(),
            description: "Glad you are here".into(),
        }]);
        let nothing = ContentCommand::EditAnnouncement { announcement_id: id(40), title: None, description: None };
        assert!(matches!(change(course(), &content, nothing), Err(ContentRejection::Invalid(_))));
        let edit = ContentCommand::EditAnnouncement {
            announcement_id: id(40),
            title: Some("Hello".into()),
            description: None,
        };
        assert!(change(course(), &content, edit).is_ok());
    }
}
