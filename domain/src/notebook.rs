//! The Notebook aggregate (stream `notebook-{trainee}`): a trainee's notes, one text per enrolled course,
//! replaced whole. The text is the trainee's own writing, so it is sealed with their key in the event.

use events::Event;
use events::learning::NotesReplaced;
use events::personal::Personal;
use uuid::Uuid;

use super::Aggregate;
use super::enrollment::{Enrollment, LearningRejection};
use crate::families::NotebookEvent;

/// The most one course's notes may hold, in characters: the longest text any field takes.
pub const NOTES_MAX_CHARS: usize = super::LONGEST_TEXT_CHARS;

/// Nothing about earlier notes decides a new text: the stream only orders a trainee's writes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Notebook;

impl Aggregate for Notebook {
    /// Notes are replaced whole and no rule reads the ones before: nothing is kept.
    fn evolve(self, event: &Event) -> Self {
        match NotebookEvent::of(event) {
            Some(NotebookEvent::NotesReplaced(_)) | None => self,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotesRejection {
    /// Notes are kept for courses the trainee learns: not enrolled, or no longer.
    Learning(LearningRejection),
    TooLong {
        chars: usize,
    },
}

/// What a trainee does with their notes on a course.
#[derive(Debug, Clone, Copy)]
pub enum NotebookCommand<'a> {
    /// Replaces the trainee's notes on the course they learn in `enrollment` with `text`.
    Replace { enrollment: &'a Enrollment, trainee_id: Uuid, course_id: Uuid, text: &'a str },
}

/// Decides a change of notes; the notes before do not matter (they are replaced whole).
pub fn decide(_notebook: &Notebook, command: NotebookCommand<'_>) -> Result<Vec<Event>, NotesRejection> {
    let NotebookCommand::Replace { enrollment, trainee_id, course_id, text } = command;
    replace_notes(enrollment, trainee_id, course_id, text)
}

fn replace_notes(
    enrollment: &Enrollment,
    trainee_id: Uuid,
    course_id: Uuid,
    text: &str,
) -> Result<Vec<Event>, NotesRejection> {
    enrollment.learning().map_err(NotesRejection::Learning)?;
    let chars = text.chars().count();
    if chars > NOTES_MAX_CHARS {
        return Err(NotesRejection::TooLong { chars });
    }
    Ok(vec![Event::NotesReplaced(NotesReplaced { trainee_id, course_id, text: Personal::clear(text) })])
}

#[cfg(test)]
mod tests {
    use super::*;
    use events::learning::{EnrollmentSource, TraineeEnrolled};

    fn enrolled() -> Enrollment {
        let source = EnrollmentSource::AdminGrant { admin_id: Uuid::from_u128(9) };
        let (trainee_id, course_id, instructor_id) = (Uuid::from_u128(1), Uuid::from_u128(2), Uuid::from_u128(3));
        Enrollment::from_events(&[Event::TraineeEnrolled(TraineeEnrolled {
            trainee_id,
            course_id,
            instructor_id,
            source,
        })])
    }

    #[test]
    fn notes_up_to_the_longest_text_are_kept_for_an_enrolled_course() {
        let (trainee, course) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let full = "é".repeat(NOTES_MAX_CHARS);
        let kept = replace_notes(&enrolled(), trainee, course, &full).expect("kept");
        assert!(matches!(&kept[..], [Event::NotesReplaced(n)] if n.text.text() == Some(full.as_str())));
        assert!(replace_notes(&enrolled(), trainee, course, "").is_ok(), "emptied");
        let over = format!("{full}x");
        assert_eq!(
            replace_notes(&enrolled(), trainee, course, &over),
            Err(NotesRejection::TooLong { chars: NOTES_MAX_CHARS + 1 })
        );
        assert_eq!(
            replace_notes(&Enrollment::default(), trainee, course, "x"),
            Err(NotesRejection::Learning(LearningRejection::NotEnrolled))
        );
    }
}
