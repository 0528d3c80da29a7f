//! The Notebook aggregate (stream `notebook-{trainee}`): a trainee's notes, several per course they learn, each
//! with a title, a text and perhaps the lesson it is about (DOMAIN.md, `Note`). Titles and texts are the
//! trainee's own writing, sealed with their key in the events.
//!
//! Before notes had titles, a course's notes were one text, replaced whole (`NotesReplaced`): that text is the
//! course's note whose id is the course's own, titled [`LEGACY_TITLE`], and it is edited and deleted like any.

use crate::effects::Decided;
use std::collections::BTreeMap;

use events::Event;
use events::learning::{NoteCreated, NoteDeleted, NoteUpdated};
use events::personal::Personal;
use uuid::Uuid;

use super::Aggregate;
use super::course::Course;
use super::enrollment::{Enrollment, LearningRejection};
use crate::families::NotebookEvent;

/// The most one note's text may hold, in characters: the longest text any field takes.
pub const NOTES_MAX_CHARS: usize = super::LONGEST_TEXT_CHARS;
/// The longest title, in characters.
pub const NOTE_TITLE_MAX_CHARS: usize = 200;
/// Notes one trainee keeps on one course at most.
pub const NOTES_PER_COURSE: usize = 500;
/// The title of a course's notes written as one text, before notes had titles.
pub const LEGACY_TITLE: &str = events::learning::REPLACED_NOTES_TITLE;

/// The trainee's notes: each note's course.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Notebook {
    pub notes: BTreeMap<Uuid, Uuid>,
}

impl Notebook {
    fn on_course(&self, course_id: Uuid) -> usize {
        self.notes.values().filter(|course| **course == course_id).count()
    }
}

impl Aggregate for Notebook {
    fn evolve(mut self, event: &Event) -> Self {
        let Some(event) = NotebookEvent::of(event) else { return self };
        match event {
            // One text per course, its id the course's; an emptied one is gone.
            NotebookEvent::NotesReplaced(replaced) => match replaced.text.text() {
                Some("") => self.notes.remove(&replaced.course_id),
                _ => self.notes.insert(replaced.course_id, replaced.course_id),
            },
            NotebookEvent::NoteCreated(created) => self.notes.insert(created.note_id, created.course_id),
            NotebookEvent::NoteUpdated(updated) => self.notes.insert(updated.note_id, updated.course_id),
            NotebookEvent::NoteDeleted(deleted) => self.notes.remove(&deleted.note_id),
        };
        self
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotesRejection {
    /// Notes are written on courses the trainee learns: not enrolled, or no longer.
    Learning(LearningRejection),
    EmptyTitle,
    TitleTooLong {
        chars: usize,
    },
    TooLong {
        chars: usize,
    },
    /// The lesson named is not one of the course's.
    NotALesson,
    /// No such note on this course.
    NoNote,
    /// [`NOTES_PER_COURSE`] notes on this course already.
    TooMany,
}

/// Whether a write makes a note or rewrites one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoteChange {
    Create,
    Update,
}

/// A note as the trainee writes it: its title, text and the lesson it is about.
#[derive(Debug, Clone, Copy)]
pub struct Writing<'a> {
    pub title: &'a str,
    pub text: &'a str,
    pub lesson_id: Option<Uuid>,
}

/// What a trainee does with their notes on a course. Writing rests on the enrolment in the course, and a lesson
/// link on the course's content, both loaded first (`course` only when a lesson is named).
#[derive(Debug, Clone, Copy)]
pub enum NotebookCommand<'a> {
    /// Writes note `note_id`: a new one, or one the trainee has on this course.
    Write {
        change: NoteChange,
        enrollment: &'a Enrollment,
        course: Option<&'a Course>,
        trainee_id: Uuid,
        course_id: Uuid,
        note_id: Uuid,
        writing: Writing<'a>,
    },
    /// A note goes whether or not the trainee still learns the course.
    Delete { trainee_id: Uuid, course_id: Uuid, note_id: Uuid },
}

pub fn decide(notebook: &Notebook, command: NotebookCommand<'_>) -> Result<Decided, NotesRejection> {
    match command {
        NotebookCommand::Write { change, enrollment, course, trainee_id, course_id, note_id, writing } => {
            if change == NoteChange::Update && notebook.notes.get(&note_id) != Some(&course_id) {
                return Err(NotesRejection::NoNote);
            }
            let (title, text) = checked(enrollment, course, writing)?;
            if change == NoteChange::Create && notebook.on_course(course_id) >= NOTES_PER_COURSE {
                return Err(NotesRejection::TooMany);
            }
            let lesson_id = writing.lesson_id;
            Ok(vec![match change {
                NoteChange::Create => {
                    Event::NoteCreated(NoteCreated { note_id, trainee_id, course_id, lesson_id, title, text })
                }
                NoteChange::Update => {
                    Event::NoteUpdated(NoteUpdated { note_id, trainee_id, course_id, lesson_id, title, text })
                }
            }])
        }
        NotebookCommand::Delete { trainee_id, course_id, note_id } => {
            if notebook.notes.get(&note_id) != Some(&course_id) {
                return Err(NotesRejection::NoNote);
            }
            Ok(vec![Event::NoteDeleted(NoteDeleted { note_id, trainee_id, course_id })])
        }
    }
    .map(Decided::from)
}

/// The title and text of a note the trainee may write: they learn the course, the title has words, both fit,
/// and the lesson is the course's.
fn checked(
    enrollment: &Enrollment,
    course: Option<&Course>,
    writing: Writing<'_>,
) -> Result<(Personal, Personal), NotesRejection> {
    enrollment.learning().map_err(NotesRejection::Learning)?;
    let title = writing.title.trim();
    if title.is_empty() {
        return Err(NotesRejection::EmptyTitle);
    }
    let chars = title.chars().count();
    if chars > NOTE_TITLE_MAX_CHARS {
        return Err(NotesRejection::TitleTooLong { chars });
    }
    let chars = writing.text.chars().count();
    if chars > NOTES_MAX_CHARS {
        return Err(NotesRejection::TooLong { chars });
    }
    if let Some(lesson) = writing.lesson_id
        && !course.is_some_and(|course| course.content.lesson_ids().contains(&lesson))
    {
        return Err(NotesRejection::NotALesson);
    }
    Ok((Personal::clear(title), Personal::clear(writing.text)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::given::{given, then, when};
    use events::learning::{EnrollmentSource, NotesReplaced, TraineeEnrolled};

    const TRAINEE: Uuid = Uuid::from_u128(1);
    const COURSE: Uuid = Uuid::from_u128(2);
    const NOTE: Uuid = Uuid::from_u128(10);

    fn enrolled() -> Enrollment {
        let source = EnrollmentSource::AdminGrant { admin_id: Uuid::from_u128(9) };
        given(&[Event::TraineeEnrolled(TraineeEnrolled {
            trainee_id: TRAINEE,
            course_id: COURSE,
            instructor_id: Uuid::from_u128(3),
            source,
        })])
    }

    fn create<'a>(enrollment: &'a Enrollment, note_id: Uuid, writing: Writing<'a>) -> NotebookCommand<'a> {
        let change = NoteChange::Create;
        NotebookCommand::Write {
            change,
            enrollment,
            course: None,
            trainee_id: TRAINEE,
            course_id: COURSE,
            note_id,
            writing,
        }
    }

    fn words<'a>(title: &'a str, text: &'a str) -> Writing<'a> {
        Writing { title, text, lesson_id: None }
    }

    #[test]
    fn a_learner_writes_titled_notes_edits_and_deletes_them() {
        let enrollment = enrolled();
        let created =
            when(decide(&Notebook::default(), create(&enrollment, NOTE, words(" Ownership ", "Moves")))).unwrap();
        assert!(matches!(&created[..], [Event::NoteCreated(n)] if n.title.text() == Some("Ownership")));
        let notebook = then(Notebook::default(), &created);
        let second = Uuid::from_u128(11);
        let notebook = then(
            notebook.clone(),
            &when(decide(&notebook, create(&enrollment, second, words("Borrowing", "")))).unwrap(),
        );
        assert_eq!(notebook.notes.len(), 2);
        let update = NotebookCommand::Write {
            change: NoteChange::Update,
            enrollment: &enrollment,
            course: None,
            trainee_id: TRAINEE,
            course_id: COURSE,
            note_id: NOTE,
            writing: words("Ownership", "Moves and copies"),
        };
        assert!(matches!(&when(decide(&notebook, update)).unwrap()[..], [Event::NoteUpdated(_)]));
        let delete = NotebookCommand::Delete { trainee_id: TRAINEE, course_id: COURSE, note_id: NOTE };
        let notebook = then(notebook.clone(), &when(decide(&notebook, delete)).unwrap());
        assert_eq!(when(decide(&notebook, delete)), Err(NotesRejection::NoNote), "deleted already");
        let elsewhere =
            NotebookCommand::Delete { trainee_id: TRAINEE, course_id: Uuid::from_u128(99), note_id: second };
        assert_eq!(when(decide(&notebook, elsewhere)), Err(NotesRejection::NoNote), "another course's path finds none");
    }

    #[test]
    fn a_note_needs_a_learner_a_title_its_course_s_lesson_and_room() {
        let enrollment = enrolled();
        let none = Notebook::default();
        let not_learning = Enrollment::default();
        assert_eq!(
            when(decide(&none, create(&not_learning, NOTE, words("T", "x")))),
            Err(NotesRejection::Learning(LearningRejection::NotEnrolled))
        );
        assert_eq!(when(decide(&none, create(&enrollment, NOTE, words("  ", "x")))), Err(NotesRejection::EmptyTitle));
        let long_title = "t".repeat(NOTE_TITLE_MAX_CHARS + 1);
        let too_long = NotesRejection::TitleTooLong { chars: NOTE_TITLE_MAX_CHARS + 1 };
        assert_eq!(when(decide(&none, create(&enrollment, NOTE, words(&long_title, "")))), Err(too_long));
        let full = "é".repeat(NOTES_MAX_CHARS);
        assert!(when(decide(&none, create(&enrollment, NOTE, words("Full", &full)))).is_ok());
        let over = format!("{full}x");
        let too_long = NotesRejection::TooLong { chars: NOTES_MAX_CHARS + 1 };
        assert_eq!(when(decide(&none, create(&enrollment, NOTE, words("Over", &over)))), Err(too_long));
        let about = Writing { title: "About a lesson", text: "", lesson_id: Some(Uuid::from_u128(77)) };
        let course = Course::default();
        let command = NotebookCommand::Write {
            change: NoteChange::Create,
            enrollment: &enrollment,
            course: Some(&course),
            trainee_id: TRAINEE,
            course_id: COURSE,
            note_id: NOTE,
            writing: about,
        };
        assert_eq!(when(decide(&none, command)), Err(NotesRejection::NotALesson));
        let full_course =
            Notebook { notes: (0..NOTES_PER_COURSE as u128).map(|n| (Uuid::from_u128(1_000 + n), COURSE)).collect() };
        assert_eq!(
            when(decide(&full_course, create(&enrollment, NOTE, words("One more", "")))),
            Err(NotesRejection::TooMany)
        );
    }

    #[test]
    fn a_course_s_notes_of_before_titles_are_its_note_with_the_course_s_id() {
        let replaced = |text: &str| {
            Event::NotesReplaced(NotesReplaced { trainee_id: TRAINEE, course_id: COURSE, text: Personal::clear(text) })
        };
        let notebook: Notebook = given(&[replaced("Old notes")]);
        assert_eq!(notebook.notes.get(&COURSE), Some(&COURSE));
        let delete = NotebookCommand::Delete { trainee_id: TRAINEE, course_id: COURSE, note_id: COURSE };
        assert!(when(decide(&notebook, delete)).is_ok());
        let emptied: Notebook = given(&[replaced("Old notes"), replaced("")]);
        assert!(emptied.notes.is_empty());
    }
}
