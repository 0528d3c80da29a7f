//! The content of one course as a document: sections with lessons and exercises, the exam, FAQ and
//! announcements. Pure: `evolve` folds an event into the document, `public` is what anyone may see (no video
//! URLs, no answers, DOMAIN.md defect 6).

use events::Event;
use events::content::Question;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use time::OffsetDateTime;
use uuid::Uuid;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Lesson {
    id: Uuid,
    title: String,
    description: String,
    video_url: String,
    duration_min: u32,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Exercise {
    id: Uuid,
    title: String,
    questions: Vec<Question>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Section {
    id: Uuid,
    title: String,
    description: String,
    lessons: Vec<Lesson>,
    exercises: Vec<Exercise>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Faq {
    id: Uuid,
    question: String,
    answer: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Announcement {
    id: Uuid,
    title: String,
    description: String,
    #[serde(with = "time::serde::rfc3339")]
    posted_at: OffsetDateTime,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct CourseDocument {
    sections: Vec<Section>,
    exam: Vec<Question>,
    faq: Vec<Faq>,
    announcements: Vec<Announcement>,
}

fn set<T>(target: &mut T, value: &Option<T>)
where
    T: Clone,
{
    if let Some(value) = value {
        target.clone_from(value);
    }
}

impl CourseDocument {
    fn section(&mut self, id: Uuid) -> Option<&mut Section> {
        self.sections.iter_mut().find(|s| s.id == id)
    }

    fn exercise(&mut self, section: Uuid, exercise: Uuid) -> Option<&mut Exercise> {
        self.section(section)?.exercises.iter_mut().find(|x| x.id == exercise)
    }

    /// Whether `event` changes a course document at all.
    pub(crate) fn cares_about(event: &Event) -> bool {
        CourseDocument::default().evolve(event, OffsetDateTime::UNIX_EPOCH).is_some()
    }

    /// The document after `event`, which happened at `at`; `None` for events that do not touch content.
    pub(crate) fn evolve(mut self, event: &Event, at: OffsetDateTime) -> Option<Self> {
        match event {
            Event::SectionAdded(e) => self.sections.push(Section {
                id: e.section_id,
                title: e.title.clone(),
                description: e.description.clone(),
                ..Section::default()
            }),
            Event::SectionUpdated(e) => {
                if let Some(section) = self.section(e.section_id) {
                    set(&mut section.title, &e.title);
                    set(&mut section.description, &e.description);
                }
            }
            Event::SectionRemoved(e) => self.sections.retain(|s| s.id != e.section_id),
            Event::LessonAdded(e) => {
                if let Some(section) = self.section(e.section_id) {
                    section.lessons.push(Lesson {
                        id: e.lesson_id,
                        title: e.title.clone(),
                        description: e.description.clone(),
                        video_url: e.video_url.clone(),
                        duration_min: e.duration_min,
                    });
                }
            }
            Event::LessonUpdated(e) => {
                let lesson =
                    self.section(e.section_id).and_then(|s| s.lessons.iter_mut().find(|l| l.id == e.lesson_id));
                if let Some(lesson) = lesson {
                    set(&mut lesson.title, &e.title);
                    set(&mut lesson.description, &e.description);
                    set(&mut lesson.video_url, &e.video_url);
                    set(&mut lesson.duration_min, &e.duration_min);
                }
            }
            Event::LessonRemoved(e) => {
                if let Some(section) = self.section(e.section_id) {
                    section.lessons.retain(|l| l.id != e.lesson_id);
                }
            }
            Event::ExerciseAdded(e) => {
                if let Some(section) = self.section(e.section_id) {
                    section.exercises.push(Exercise { id: e.exercise_id, title: e.title.clone(), questions: vec![] });
                }
            }
            Event::ExerciseRemoved(e) => {
                if let Some(section) = self.section(e.section_id) {
                    section.exercises.retain(|x| x.id != e.exercise_id);
                }
            }
            Event::ExerciseQuestionAdded(e) => {
                if let Some(exercise) = self.exercise(e.section_id, e.exercise_id) {
                    exercise.questions.push(e.question.clone());
                }
            }
            Event::ExerciseQuestionUpdated(e) => {
                let question = self
                    .exercise(e.section_id, e.exercise_id)
                    .and_then(|x| x.questions.iter_mut().find(|q| q.question_id == e.question.question_id));
                if let Some(question) = question {
                    *question = e.question.clone();
                }
            }
            Event::ExerciseQuestionRemoved(e) => {
                if let Some(exercise) = self.exercise(e.section_id, e.exercise_id) {
                    exercise.questions.retain(|q| q.question_id != e.question_id);
                }
            }
            Event::CourseExamSet(e) => self.exam.clone_from(&e.questions),
            Event::FaqAdded(e) => {
                self.faq.push(Faq { id: e.faq_id, question: e.question.clone(), answer: e.answer.clone() })
            }
            Event::FaqUpdated(e) => {
                if let Some(faq) = self.faq.iter_mut().find(|f| f.id == e.faq_id) {
                    set(&mut faq.question, &e.question);
                    set(&mut faq.answer, &e.answer);
                }
            }
            Event::FaqRemoved(e) => self.faq.retain(|f| f.id != e.faq_id),
            Event::AnnouncementPosted(e) => self.announcements.push(Announcement {
                id: e.announcement_id,
                title: e.title.clone(),
                description: e.description.clone(),
                posted_at: at,
            }),
            Event::AnnouncementEdited(e) => {
                if let Some(announcement) = self.announcements.iter_mut().find(|a| a.id == e.announcement_id) {
                    set(&mut announcement.title, &e.title);
                    set(&mut announcement.description, &e.description);
                }
            }
            Event::AnnouncementRemoved(e) => self.announcements.retain(|a| a.id != e.announcement_id),
            _ => return None,
        }
        Some(self)
    }

    /// What anyone may see: titles, descriptions and durations; no video URL, no question or answer.
    pub(crate) fn public(&self) -> Value {
        let sections: Vec<Value> = self
            .sections
            .iter()
            .map(|s| {
                let lessons: Vec<Value> = s
                    .lessons
                    .iter()
                    .map(|l| {
                        json!({ "id": l.id, "title": l.title, "description": l.description,
                                     "duration_min": l.duration_min })
                    })
                    .collect();
                let exercises: Vec<Value> = s
                    .exercises
                    .iter()
                    .map(|x| json!({ "id": x.id, "title": x.title, "question_count": x.questions.len() }))
                    .collect();
                json!({ "id": s.id, "title": s.title, "description": s.description, "lessons": lessons,
                        "exercises": exercises })
            })
            .collect();
        json!({
            "sections": sections,
            "exam": { "question_count": self.exam.len() },
            "faq": self.faq,
            "announcements": self.announcements,
        })
    }
}
