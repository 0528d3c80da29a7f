//! The Conversation aggregate (Communication, `conv-{a}-{b}`): the messages two people exchange, numbered from
//! 1, and how far each of them has read. A trainee writes with the instructor of a course they learn (or
//! completed), about that course; an admin writes with anyone; nobody else writes to anyone. The sender is
//! always the caller, and the text is theirs (sealed with their key, erased with them).

use crate::effects::Decided;
use std::collections::BTreeMap;

use events::communication::{ConversationRead, MessageSent};
use events::personal::Personal;
use events::{Event, Role};
use uuid::Uuid;

use super::Aggregate;
use super::account::Account;
use super::course::Course;
use super::enrollment::Enrollment;
use crate::families::ConversationEvent;

/// The longest message, in characters.
pub const MESSAGE_MAX_CHARS: usize = 5_000;

/// A conversation: how many messages it holds, and the last one each participant has read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Conversation {
    pub messages: u32,
    pub read: BTreeMap<Uuid, u32>,
}

impl Aggregate for Conversation {
    fn evolve(mut self, event: &Event) -> Self {
        let Some(event) = ConversationEvent::of(event) else { return self };
        match event {
            ConversationEvent::MessageSent(sent) => {
                self.messages = self.messages.max(sent.number);
                // A sender has read what they answer.
                self.read.insert(sent.sender_id, sent.number);
            }
            ConversationEvent::ConversationRead(read) => {
                let up_to = self.read.entry(read.reader_id).or_default();
                *up_to = (*up_to).max(read.up_to);
            }
        }
        self
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MessageRejection {
    EmptyText,
    TextTooLong {
        chars: usize,
    },
    /// Nobody writes to themselves.
    ToSelf,
    /// No account, or a deleted one.
    UnknownRecipient,
    /// These two may never write to each other (two trainees, two instructors, an analyst with anyone but an
    /// admin).
    NotAllowed,
    /// A trainee and an instructor write about a course of the instructor's; none was named.
    CourseNeeded,
    /// The course named is not the instructor's.
    NotTheirCourse,
    /// The trainee neither learns the course named nor completed it.
    NotALearner,
    /// There is no message to read.
    NoConversation,
}

/// The course a trainee and an instructor write about, as loaded: the course, and the trainee's enrolment in it
/// (the trainee is the recipient when an instructor writes, else the sender).
#[derive(Debug, Clone, Copy)]
pub struct About<'a> {
    pub course_id: Uuid,
    pub course: &'a Course,
    pub enrollment: &'a Enrollment,
}

#[derive(Debug, Clone, Copy)]
pub enum ConversationCommand<'a> {
    /// `sender_id`, acting as `sender_role`, writes `text` to `recipient_id`, whose account is `recipient`.
    Send {
        message_id: Uuid,
        sender_id: Uuid,
        sender_role: Role,
        recipient_id: Uuid,
        recipient: Account,
        about: Option<About<'a>>,
        text: &'a str,
    },
    /// `reader_id` has read every message of the conversation so far.
    Read { reader_id: Uuid, other_id: Uuid },
}

fn is_trainee(role: Role) -> bool {
    matches!(role, Role::IndividualTrainee | Role::CorporateTrainee)
}

pub fn decide(conversation: &Conversation, command: ConversationCommand<'_>) -> Result<Decided, MessageRejection> {
    match command {
        ConversationCommand::Send { message_id, sender_id, sender_role, recipient_id, recipient, about, text } => {
            let text = text.trim();
            if text.is_empty() {
                return Err(MessageRejection::EmptyText);
            }
            let chars = text.chars().count();
            if chars > MESSAGE_MAX_CHARS {
                return Err(MessageRejection::TextTooLong { chars });
            }
            if sender_id == recipient_id {
                return Err(MessageRejection::ToSelf);
            }
            let Account::Registered(recipient_role) = recipient else {
                return Err(MessageRejection::UnknownRecipient);
            };
            let course_id = if sender_role == Role::Admin || recipient_role == Role::Admin {
                None
            } else {
                let instructor_id = match (sender_role, recipient_role) {
                    (trainee, Role::Instructor) if is_trainee(trainee) => recipient_id,
                    (Role::Instructor, trainee) if is_trainee(trainee) => sender_id,
                    _ => return Err(MessageRejection::NotAllowed),
                };
                let about = about.ok_or(MessageRejection::CourseNeeded)?;
                if about.course.owner != instructor_id {
                    return Err(MessageRejection::NotTheirCourse);
                }
                if !(about.enrollment.is_active() || about.enrollment.completed) {
                    return Err(MessageRejection::NotALearner);
                }
                Some(about.course_id)
            };
            Ok(vec![Event::MessageSent(MessageSent {
                message_id,
                sender_id,
                recipient_id,
                course_id,
                number: conversation.messages + 1,
                text: Personal::clear(text),
            })])
        }
        ConversationCommand::Read { reader_id, other_id } => {
            if conversation.messages == 0 {
                return Err(MessageRejection::NoConversation);
            }
            let read = conversation.read.get(&reader_id).copied().unwrap_or(0);
            if read >= conversation.messages {
                return Ok(Decided::default());
            }
            Ok(vec![Event::ConversationRead(ConversationRead { reader_id, other_id, up_to: conversation.messages })])
        }
    }
    .map(Decided::from)
}

#[cfg(test)]
mod tests {
    use events::learning::{EnrollmentSource, TraineeEnrolled};

    use super::*;
    use crate::given::{given, given_commands, then, when};

    const TRAINEE: Uuid = Uuid::from_u128(1);
    const COURSE: Uuid = Uuid::from_u128(2);
    const INSTRUCTOR: Uuid = Uuid::from_u128(3);
    const ADMIN: Uuid = Uuid::from_u128(4);
    const OTHER_TRAINEE: Uuid = Uuid::from_u128(5);

    fn course(owner: Uuid) -> Course {
        Course { id: COURSE, owner, ..Course::default() }
    }

    fn enrolled() -> Enrollment {
        let source = EnrollmentSource::AdminGrant { admin_id: ADMIN };
        given(&[Event::TraineeEnrolled(TraineeEnrolled {
            trainee_id: TRAINEE,
            course_id: COURSE,
            instructor_id: INSTRUCTOR,
            source,
        })])
    }

    fn send<'a>(
        from: (Uuid, Role),
        to: (Uuid, Role),
        about: Option<About<'a>>,
        text: &'a str,
    ) -> ConversationCommand<'a> {
        ConversationCommand::Send {
            message_id: Uuid::from_u128(100),
            sender_id: from.0,
            sender_role: from.1,
            recipient_id: to.0,
            recipient: Account::Registered(to.1),
            about,
            text,
        }
    }

    fn sent(events: &[Event]) -> &MessageSent {
        match events {
            [Event::MessageSent(sent)] => sent,
            other => panic!("one message, not {other:?}"),
        }
    }

    #[test]
    fn a_trainee_writes_to_the_instructor_of_a_course_they_learn_about_it() {
        let (course, enrollment) = (course(INSTRUCTOR), enrolled());
        let about = Some(About { course_id: COURSE, course: &course, enrollment: &enrollment });
        let command = send((TRAINEE, Role::IndividualTrainee), (INSTRUCTOR, Role::Instructor), about, "  Hello?  ");
        let events = when(decide(&Conversation::default(), command)).unwrap();
        let message = sent(&events);
        assert_eq!((message.number, message.course_id, message.text.text()), (1, Some(COURSE), Some("Hello?")));
        // The instructor answers, about the same course: the second message; the sender has read both.
        let state = then(Conversation::default(), &events);
        let answer = send((INSTRUCTOR, Role::Instructor), (TRAINEE, Role::CorporateTrainee), about, "Hi");
        let answered = when(decide(&state, answer)).unwrap();
        assert_eq!(sent(&answered).number, 2);
        let state = then(state, &answered);
        assert_eq!((state.read[&INSTRUCTOR], state.read[&TRAINEE]), (2, 1));
    }

    #[test]
    fn a_trainee_and_an_instructor_need_a_course_of_the_instructor_that_the_trainee_learns() {
        let (theirs, someone_elses, enrollment) = (course(INSTRUCTOR), course(ADMIN), enrolled());
        let from_trainee = (TRAINEE, Role::IndividualTrainee);
        let to_instructor = (INSTRUCTOR, Role::Instructor);
        let none = Conversation::default();
        assert_eq!(
            when(decide(&none, send(from_trainee, to_instructor, None, "Hi"))),
            Err(MessageRejection::CourseNeeded)
        );
        let about = Some(About { course_id: COURSE, course: &someone_elses, enrollment: &enrollment });
        assert_eq!(
            when(decide(&none, send(from_trainee, to_instructor, about, "Hi"))),
            Err(MessageRejection::NotTheirCourse)
        );
        let never = Enrollment::default();
        let about = Some(About { course_id: COURSE, course: &theirs, enrollment: &never });
        assert_eq!(
            when(decide(&none, send(from_trainee, to_instructor, about, "Hi"))),
            Err(MessageRejection::NotALearner)
        );
        let about = Some(About { course_id: COURSE, course: &theirs, enrollment: &never });
        let from_instructor = send(to_instructor, from_trainee, about, "Hi");
        assert_eq!(when(decide(&none, from_instructor)), Err(MessageRejection::NotALearner));
    }

    #[test]
    fn an_admin_writes_with_anyone_about_no_course_and_nobody_else_may() {
        let none = Conversation::default();
        let (course, enrollment) = (course(INSTRUCTOR), enrolled());
        let about = Some(About { course_id: COURSE, course: &course, enrollment: &enrollment });
        for role in [Role::IndividualTrainee, Role::CorporateTrainee, Role::Instructor, Role::Analyst, Role::Admin] {
            let to_them = when(decide(&none, send((ADMIN, Role::Admin), (TRAINEE, role), about, "Hello"))).unwrap();
            assert_eq!(sent(&to_them).course_id, None, "{role:?}");
            assert!(
                when(decide(&none, send((TRAINEE, role), (ADMIN, Role::Admin), None, "Hello"))).is_ok(),
                "{role:?}"
            );
        }
        let refused = [
            ((TRAINEE, Role::IndividualTrainee), (OTHER_TRAINEE, Role::CorporateTrainee)),
            ((INSTRUCTOR, Role::Instructor), (ADMIN, Role::Instructor)),
            ((TRAINEE, Role::Analyst), (INSTRUCTOR, Role::Instructor)),
            ((INSTRUCTOR, Role::Instructor), (TRAINEE, Role::Analyst)),
        ];
        for (from, to) in refused {
            assert_eq!(
                when(decide(&none, send(from, to, about, "Hello"))),
                Err(MessageRejection::NotAllowed),
                "{from:?}"
            );
        }
    }

    #[test]
    fn a_message_has_words_goes_to_someone_else_and_to_an_account_that_exists() {
        let none = Conversation::default();
        let (admin, trainee) = ((ADMIN, Role::Admin), (TRAINEE, Role::IndividualTrainee));
        assert_eq!(when(decide(&none, send(admin, trainee, None, " \n "))), Err(MessageRejection::EmptyText));
        let long = "x".repeat(MESSAGE_MAX_CHARS + 1);
        let too_long = MessageRejection::TextTooLong { chars: MESSAGE_MAX_CHARS + 1 };
        assert_eq!(when(decide(&none, send(admin, trainee, None, &long))), Err(too_long));
        assert!(when(decide(&none, send(admin, trainee, None, &long[1..]))).is_ok());
        assert_eq!(when(decide(&none, send(admin, (ADMIN, Role::Admin), None, "Me"))), Err(MessageRejection::ToSelf));
        for gone in [Account::Missing, Account::Deleted] {
            let command = ConversationCommand::Send {
                message_id: Uuid::from_u128(100),
                sender_id: ADMIN,
                sender_role: Role::Admin,
                recipient_id: TRAINEE,
                recipient: gone,
                about: None,
                text: "Hello",
            };
            assert_eq!(when(decide(&none, command)), Err(MessageRejection::UnknownRecipient));
        }
    }

    #[test]
    fn reading_marks_every_message_so_far_once_and_needs_a_message() {
        let read = ConversationCommand::Read { reader_id: TRAINEE, other_id: ADMIN };
        assert_eq!(when(decide(&Conversation::default(), read)), Err(MessageRejection::NoConversation));
        let (admin, trainee) = ((ADMIN, Role::Admin), (TRAINEE, Role::IndividualTrainee));
        let state: Conversation =
            given_commands([send(admin, trainee, None, "One"), send(admin, trainee, None, "Two")], decide);
        let events = when(decide(&state, read)).unwrap();
        assert_eq!(
            events,
            vec![Event::ConversationRead(ConversationRead { reader_id: TRAINEE, other_id: ADMIN, up_to: 2 })]
        );
        let state = then(state, &events);
        assert_eq!(when(decide(&state, read)), Ok(Vec::new()), "read already");
        // The sender has read what they sent.
        assert_eq!(
            when(decide(&state, ConversationCommand::Read { reader_id: ADMIN, other_id: TRAINEE })),
            Ok(Vec::new())
        );
    }
}
