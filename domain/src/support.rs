//! The Support aggregates: support tickets (`ticket-{id}`) and corporate access requests
//! (`access-{trainee}-{course}`, one per trainee and course ever, R6). Both move along D9: unseen, pending,
//! then resolved or rejected; a status never goes back and a terminal one is final. A ticket's thread is its
//! reporter's and the admins': anyone else does not see it exist.

use crate::effects::{Decided, Effect};
use events::support::{
    AccessRequestFollowUpAdded, CourseAccessRequestChanged, CourseAccessRequested, ReportEdited, ReportFiled,
    ReportFollowUpAdded, ReportKind, ReportStatusChanged, ReportVoided, TicketStatus,
};
use events::{Actor, Event, Role};
use uuid::Uuid;

use super::Aggregate;
use super::course::{Course, CourseStatus};
use super::enrollment::Enrollment;
use crate::families::{AccessEvent, TicketEvent};

pub const TEXT_MAX_CHARS: usize = 5_000;

/// Where a ticket or request stands (D9).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Stage {
    #[default]
    Missing,
    Unseen,
    Pending,
    Resolved,
    Rejected,
}

impl Stage {
    fn after(status: TicketStatus) -> Stage {
        match status {
            TicketStatus::Pending => Stage::Pending,
            TicketStatus::Resolved => Stage::Resolved,
            TicketStatus::Rejected => Stage::Rejected,
        }
    }

    /// Whether an admin may move from here to `status`: one step forward (D9: unseen, pending, then resolved
    /// or rejected), and nothing after a terminal stage.
    /// `Ok(false)`: already there, nothing to record.
    fn may_move_to(self, status: TicketStatus) -> Result<bool, SupportRejection> {
        let to = Stage::after(status);
        match (self, to) {
            (Stage::Missing, _) => Err(SupportRejection::NotFound),
            (from, to) if from == to => Ok(false),
            (Stage::Unseen, Stage::Pending) | (Stage::Pending, Stage::Resolved | Stage::Rejected) => Ok(true),
            _ => Err(SupportRejection::InvalidStatusChange),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SupportRejection {
    /// No such ticket or request, or not the caller's to see.
    NotFound,
    InvalidText(&'static str, String),
    /// D9: backwards, or after a terminal status.
    InvalidStatusChange,
    /// R25: access requests are corporate trainees'; individual trainees buy.
    NotCorporate,
    CourseNotFound,
    AlreadyEnrolled,
    /// R6: one access request per course, ever.
    AlreadyRequested,
    /// A ticket is rewritten only while nobody has seen it.
    NotEditable,
}

fn text(field: &'static str, value: &str) -> Result<String, SupportRejection> {
    let value = value.trim();
    let chars = value.chars().count();
    if chars == 0 || chars > TEXT_MAX_CHARS {
        return Err(SupportRejection::InvalidText(field, format!("must be 1 to {TEXT_MAX_CHARS} characters")));
    }
    Ok(value.to_owned())
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Ticket {
    pub reporter: Option<Uuid>,
    pub stage: Stage,
    pub voided: bool,
}

impl Aggregate for Ticket {
    fn evolve(self, event: &Event) -> Self {
        let Some(event) = TicketEvent::of(event) else { return self };
        match event {
            TicketEvent::ReportFiled(filed) => {
                Ticket { reporter: Some(filed.reporter_id), stage: Stage::Unseen, voided: false }
            }
            TicketEvent::ReportStatusChanged(changed) => Ticket { stage: Stage::after(changed.status), ..self },
            TicketEvent::ReportVoided(_) => Ticket { voided: true, ..self },
            TicketEvent::ReportFollowUpAdded(_) | TicketEvent::ReportEdited(_) => self,
        }
    }
}

impl Ticket {
    /// The ticket as `actor` may see it: its reporter's and the admins', unless voided.
    fn seen_by(&self, actor: &Actor) -> Result<(), SupportRejection> {
        let theirs = self.reporter == Some(actor.user_id) || actor.role == Role::Admin;
        if self.stage == Stage::Missing || self.voided || !theirs {
            return Err(SupportRejection::NotFound);
        }
        Ok(())
    }
}

/// What happens to a support ticket.
#[derive(Debug, Clone, Copy)]
pub enum TicketCommand<'a> {
    /// Any user files a ticket, about a course or not.
    File { report_id: Uuid, reporter_id: Uuid, kind: ReportKind, course_id: Option<Uuid>, description: &'a str },
    /// The reporter rewrites their ticket while it is unseen.
    Edit { report_id: Uuid, reporter_id: Uuid, kind: ReportKind, course_id: Option<Uuid>, description: &'a str },
    /// The reporter or an admin adds to the thread.
    FollowUp { report_id: Uuid, author: &'a Actor, text: &'a str },
    /// An admin moves the ticket along D9.
    ChangeStatus { report_id: Uuid, status: TicketStatus },
    /// An admin deletes a ticket: it is voided, its history kept.
    Void { report_id: Uuid, admin_id: Uuid },
}

pub fn decide_ticket(ticket: &Ticket, command: TicketCommand<'_>) -> Result<Decided, SupportRejection> {
    match command {
        TicketCommand::File { report_id, reporter_id, kind, course_id, description } => {
            file_report(report_id, reporter_id, kind, course_id, description)
        }
        TicketCommand::Edit { report_id, reporter_id, kind, course_id, description } => {
            edit_report(ticket, report_id, reporter_id, kind, course_id, description)
        }
        TicketCommand::FollowUp { report_id, author, text } => follow_up(ticket, report_id, author, text),
        TicketCommand::ChangeStatus { report_id, status } => change_report_status(ticket, report_id, status),
        TicketCommand::Void { report_id, admin_id } => void_report(ticket, report_id, admin_id),
    }
    .map(Decided::from)
}

fn file_report(
    report_id: Uuid,
    reporter_id: Uuid,
    kind: ReportKind,
    course_id: Option<Uuid>,
    description: &str,
) -> Result<Vec<Event>, SupportRejection> {
    let description = events::personal::Personal::Clear(text("description", description)?);
    Ok(vec![Event::ReportFiled(ReportFiled { report_id, reporter_id, kind, course_id, description })])
}

/// Only its reporter rewrites a ticket (anyone else finds none), and only while it is unseen.
fn edit_report(
    ticket: &Ticket,
    report_id: Uuid,
    reporter_id: Uuid,
    kind: ReportKind,
    course_id: Option<Uuid>,
    description: &str,
) -> Result<Vec<Event>, SupportRejection> {
    if ticket.stage == Stage::Missing || ticket.voided || ticket.reporter != Some(reporter_id) {
        return Err(SupportRejection::NotFound);
    }
    if ticket.stage != Stage::Unseen {
        return Err(SupportRejection::NotEditable);
    }
    let description = events::personal::Personal::Clear(text("description", description)?);
    Ok(vec![Event::ReportEdited(ReportEdited { report_id, reporter_id, kind, course_id, description })])
}

fn follow_up(ticket: &Ticket, report_id: Uuid, author: &Actor, body: &str) -> Result<Vec<Event>, SupportRejection> {
    ticket.seen_by(author)?;
    let text = events::personal::Personal::Clear(text("text", body)?);
    let by_admin = author.role == Role::Admin;
    Ok(vec![Event::ReportFollowUpAdded(ReportFollowUpAdded { report_id, author_id: author.user_id, by_admin, text })])
}

fn change_report_status(
    ticket: &Ticket,
    report_id: Uuid,
    status: TicketStatus,
) -> Result<Vec<Event>, SupportRejection> {
    if ticket.voided {
        return Err(SupportRejection::NotFound);
    }
    let changed = ticket.stage.may_move_to(status)?;
    Ok(if changed { vec![Event::ReportStatusChanged(ReportStatusChanged { report_id, status })] } else { Vec::new() })
}

fn void_report(ticket: &Ticket, report_id: Uuid, admin_id: Uuid) -> Result<Vec<Event>, SupportRejection> {
    match (ticket.stage, ticket.voided) {
        (Stage::Missing, _) => Err(SupportRejection::NotFound),
        (_, true) => Ok(Vec::new()),
        _ => Ok(vec![Event::ReportVoided(ReportVoided { report_id, admin_id })]),
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AccessRequest {
    pub request_id: Option<Uuid>,
    pub stage: Stage,
}

impl Aggregate for AccessRequest {
    fn evolve(self, event: &Event) -> Self {
        let Some(event) = AccessEvent::of(event) else { return self };
        match event {
            AccessEvent::CourseAccessRequested(requested) => {
                AccessRequest { request_id: Some(requested.request_id), stage: Stage::Unseen }
            }
            AccessEvent::CourseAccessRequestChanged(changed) => {
                AccessRequest { stage: Stage::after(changed.status), ..self }
            }
            AccessEvent::AccessRequestFollowUpAdded(_) => self,
        }
    }
}

/// What happens to a corporate trainee's request for access to a course.
#[derive(Debug, Clone, Copy)]
pub enum AccessCommand<'a> {
    /// A corporate trainee asks for access to a published course they are not enrolled in, once (R6, R25).
    Request {
        trainee: &'a Actor,
        course: &'a Course,
        enrollment: &'a Enrollment,
        request_id: Uuid,
        description: Option<&'a str>,
    },
    /// An admin moves the request along D9; `resolved` grants the course.
    ChangeStatus { trainee_id: Uuid, course_id: Uuid, status: TicketStatus },
    /// Saga 5: a deleted course's open request is rejected, whether an admin saw it or not.
    Close { trainee_id: Uuid, course_id: Uuid },
    /// The trainee or an admin adds to the request's thread, as on a ticket's.
    FollowUp { trainee_id: Uuid, course_id: Uuid, author: &'a Actor, text: &'a str },
}

/// Decides `command` on a corporate access request; a new request is recorded for admins to find by its id.
pub fn decide_access(request: &AccessRequest, command: AccessCommand<'_>) -> Result<Decided, SupportRejection> {
    Ok(match command {
        AccessCommand::Request { trainee, course, enrollment, request_id, description } => Decided::with(
            request_access(request, (course, enrollment), trainee, request_id, description)?,
            [Effect::AccessRequest { request_id, trainee_id: trainee.user_id, course_id: course.id }],
        ),
        AccessCommand::ChangeStatus { trainee_id, course_id, status } => {
            change_access_status(request, (trainee_id, course_id), status)?.into()
        }
        AccessCommand::Close { trainee_id, course_id } => close_access_request(request, (trainee_id, course_id)).into(),
        AccessCommand::FollowUp { trainee_id, course_id, author, text: body } => {
            let Some(request_id) = request.request_id else { return Err(SupportRejection::NotFound) };
            if author.user_id != trainee_id && author.role != Role::Admin {
                return Err(SupportRejection::NotFound);
            }
            let text = events::personal::Personal::Clear(text("text", body)?);
            let by_admin = author.role == Role::Admin;
            let author_id = author.user_id;
            let added = AccessRequestFollowUpAdded { request_id, trainee_id, course_id, author_id, by_admin, text };
            vec![Event::AccessRequestFollowUpAdded(added)].into()
        }
    })
}

fn request_access(
    request: &AccessRequest,
    (course, enrollment): (&Course, &Enrollment),
    trainee: &Actor,
    request_id: Uuid,
    description: Option<&str>,
) -> Result<Vec<Event>, SupportRejection> {
    if trainee.role != Role::CorporateTrainee {
        return Err(SupportRejection::NotCorporate);
    }
    if course.status != CourseStatus::Published {
        return Err(SupportRejection::CourseNotFound);
    }
    if enrollment.is_active() {
        return Err(SupportRejection::AlreadyEnrolled);
    }
    if request.stage != Stage::Missing {
        return Err(SupportRejection::AlreadyRequested);
    }
    let description = description.map(|said| text("description", said)).transpose()?;
    let description = description.map(events::personal::Personal::Clear);
    let (trainee_id, course_id) = (trainee.user_id, course.id);
    Ok(vec![Event::CourseAccessRequested(CourseAccessRequested { request_id, trainee_id, course_id, description })])
}

fn change_access_status(
    request: &AccessRequest,
    (trainee_id, course_id): (Uuid, Uuid),
    status: TicketStatus,
) -> Result<Vec<Event>, SupportRejection> {
    let changed = request.stage.may_move_to(status)?;
    let Some(request_id) = request.request_id.filter(|_| changed) else { return Ok(Vec::new()) };
    Ok(vec![Event::CourseAccessRequestChanged(CourseAccessRequestChanged {
        request_id,
        trainee_id,
        course_id,
        status,
    })])
}

fn close_access_request(request: &AccessRequest, (trainee_id, course_id): (Uuid, Uuid)) -> Vec<Event> {
    let open = matches!(request.stage, Stage::Unseen | Stage::Pending);
    let Some(request_id) = request.request_id.filter(|_| open) else { return Vec::new() };
    let status = TicketStatus::Rejected;
    vec![Event::CourseAccessRequestChanged(CourseAccessRequestChanged { request_id, trainee_id, course_id, status })]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::given::when;
    use events::learning::{EnrollmentSource, TraineeEnrolled};

    const REPORT: Uuid = Uuid::from_u128(10);

    fn actor(n: u128, role: Role) -> Actor {
        Actor { user_id: Uuid::from_u128(n), role }
    }

    fn filed() -> Ticket {
        Ticket::from_events(
            &file_report(REPORT, Uuid::from_u128(1), ReportKind::Technical, None, "Video stutters").expect("filed"),
        )
    }

    #[test]
    fn the_deciders_take_each_command_to_its_rule() {
        let admin = actor(9, Role::Admin);
        let ticket = filed();
        let follow_up = TicketCommand::FollowUp { report_id: REPORT, author: &admin, text: "On it" };
        assert_eq!(when(decide_ticket(&ticket, follow_up)), follow_up_of(&ticket, &admin));
        let status = TicketCommand::ChangeStatus { report_id: REPORT, status: TicketStatus::Pending };
        assert_eq!(when(decide_ticket(&ticket, status)), change_report_status(&ticket, REPORT, TicketStatus::Pending));
        let void = TicketCommand::Void { report_id: REPORT, admin_id: admin.user_id };
        assert_eq!(when(decide_ticket(&ticket, void)), void_report(&ticket, REPORT, admin.user_id));
        let none = AccessRequest::default();
        let (trainee_id, course_id) = (Uuid::from_u128(1), Uuid::from_u128(2));
        assert_eq!(decide_access(&none, AccessCommand::Close { trainee_id, course_id }), Ok(Decided::default()));
    }

    fn follow_up_of(ticket: &Ticket, author: &Actor) -> Result<Vec<Event>, SupportRejection> {
        follow_up(ticket, REPORT, author, "On it")
    }

    #[test]
    fn a_ticket_thread_is_the_reporter_s_and_the_admins_only() {
        let ticket = filed();
        let reporter = actor(1, Role::IndividualTrainee);
        assert!(follow_up(&ticket, REPORT, &reporter, "Still stutters").is_ok());
        let admin = follow_up(&ticket, REPORT, &actor(9, Role::Admin), "Looking").expect("answered");
        assert!(matches!(&admin[..], [Event::ReportFollowUpAdded(f)] if f.by_admin));
        assert_eq!(follow_up(&ticket, REPORT, &actor(2, Role::Instructor), "Me too"), Err(SupportRejection::NotFound));
        assert!(matches!(follow_up(&ticket, REPORT, &reporter, " "), Err(SupportRejection::InvalidText("text", _))));
        assert!(matches!(
            file_report(REPORT, Uuid::from_u128(1), ReportKind::Other, None, ""),
            Err(SupportRejection::InvalidText("description", _))
        ));
    }

    #[test]
    fn only_the_reporter_rewrites_a_ticket_and_only_while_it_is_unseen() {
        let edit = |ticket: &Ticket, reporter: u128, description: &str| {
            let command = TicketCommand::Edit {
                report_id: REPORT,
                reporter_id: Uuid::from_u128(reporter),
                kind: ReportKind::Financial,
                course_id: Some(Uuid::from_u128(5)),
                description,
            };
            when(decide_ticket(ticket, command))
        };
        let edited = edit(&filed(), 1, "  Charged twice  ").expect("edited");
        assert!(matches!(&edited[..], [Event::ReportEdited(e)]
            if e.kind == ReportKind::Financial && e.description.text() == Some("Charged twice")));
        assert_eq!(edit(&filed(), 2, "Mine now"), Err(SupportRejection::NotFound), "someone else's");
        assert_eq!(edit(&Ticket::default(), 1, "Nothing"), Err(SupportRejection::NotFound));
        assert!(matches!(edit(&filed(), 1, " "), Err(SupportRejection::InvalidText("description", _))));
        let seen = change_report_status(&filed(), REPORT, TicketStatus::Pending).expect("seen");
        let seen = seen.iter().fold(filed(), Ticket::evolve);
        assert_eq!(edit(&seen, 1, "Too late"), Err(SupportRejection::NotEditable));
        let voided = void_report(&filed(), REPORT, Uuid::from_u128(9)).expect("voided");
        assert_eq!(edit(&voided.iter().fold(filed(), Ticket::evolve), 1, "Gone"), Err(SupportRejection::NotFound));
    }

    #[test]
    fn statuses_move_forward_only_and_terminal_ones_are_final() {
        let ticket = filed();
        let pending = change_report_status(&ticket, REPORT, TicketStatus::Pending).expect("pending");
        let ticket = pending.iter().fold(ticket, Ticket::evolve);
        assert_eq!(change_report_status(&ticket, REPORT, TicketStatus::Pending), Ok(Vec::new()), "already");
        let resolved = change_report_status(&ticket, REPORT, TicketStatus::Resolved).expect("resolved");
        let ticket = resolved.iter().fold(ticket, Ticket::evolve);
        for status in [TicketStatus::Pending, TicketStatus::Rejected] {
            assert_eq!(change_report_status(&ticket, REPORT, status), Err(SupportRejection::InvalidStatusChange));
        }
        assert_eq!(
            change_report_status(&filed(), REPORT, TicketStatus::Rejected),
            Err(SupportRejection::InvalidStatusChange),
            "D9: seen first"
        );
        assert_eq!(
            change_report_status(&Ticket::default(), REPORT, TicketStatus::Pending),
            Err(SupportRejection::NotFound)
        );
    }

    #[test]
    fn an_access_request_s_thread_is_the_trainee_s_and_the_admins_only() {
        let (trainee_id, course_id) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let follow_up = |request: &AccessRequest, author: &Actor, text: &str| {
            decide_access(request, AccessCommand::FollowUp { trainee_id, course_id, author, text })
                .map(|decided| decided.events)
        };
        let trainee = actor(1, Role::CorporateTrainee);
        assert_eq!(follow_up(&AccessRequest::default(), &trainee, "Hi"), Err(SupportRejection::NotFound));
        let requested = Event::CourseAccessRequested(events::support::CourseAccessRequested {
            request_id: REPORT,
            trainee_id,
            course_id,
            description: None,
        });
        let request = AccessRequest::default().evolve(&requested);
        assert!(matches!(&follow_up(&request, &trainee, "Please")
            .expect("written")[..], [Event::AccessRequestFollowUpAdded(f)] if f.request_id == REPORT && !f.by_admin));
        assert!(follow_up(&request, &actor(9, Role::Admin), "Checking").is_ok());
        assert_eq!(follow_up(&request, &actor(3, Role::CorporateTrainee), "Me too"), Err(SupportRejection::NotFound));
        assert!(matches!(follow_up(&request, &trainee, ""), Err(SupportRejection::InvalidText("text", _))));
    }

    #[test]
    fn a_voided_ticket_leaves_every_thread_and_is_voided_once() {
        let ticket = filed();
        let voided = void_report(&ticket, REPORT, Uuid::from_u128(9)).expect("voided");
        let ticket = voided.iter().fold(ticket, Ticket::evolve);
        assert_eq!(void_report(&ticket, REPORT, Uuid::from_u128(9)), Ok(Vec::new()));
        let reporter = actor(1, Role::IndividualTrainee);
        assert_eq!(follow_up(&ticket, REPORT, &reporter, "hello?"), Err(SupportRejection::NotFound));
        assert_eq!(change_report_status(&ticket, REPORT, TicketStatus::Pending), Err(SupportRejection::NotFound));
    }

    #[test]
    fn corporate_trainees_ask_once_for_a_published_course_they_do_not_have() {
        let course = Course { id: Uuid::from_u128(2), status: CourseStatus::Published, ..Course::default() };
        let none = Enrollment::default();
        let corporate = actor(1, Role::CorporateTrainee);
        let request_id = Uuid::from_u128(20);
        let why = Some(" For the migration ");
        let asked =
            request_access(&AccessRequest::default(), (&course, &none), &corporate, request_id, why).expect("asked");
        assert!(matches!(&asked[..], [Event::CourseAccessRequested(r)]
            if r.description.as_ref().and_then(|d| d.text()) == Some("For the migration")));
        let blank = request_access(&AccessRequest::default(), (&course, &none), &corporate, request_id, Some(" "));
        assert!(matches!(blank, Err(SupportRejection::InvalidText("description", _))));
        let request = AccessRequest::from_events(&asked);
        assert_eq!(
            request_access(&request, (&course, &none), &corporate, request_id, None),
            Err(SupportRejection::AlreadyRequested)
        );
        let individual = actor(1, Role::IndividualTrainee);
        assert_eq!(
            request_access(&AccessRequest::default(), (&course, &none), &individual, request_id, None),
            Err(SupportRejection::NotCorporate)
        );
        let draft = Course { status: CourseStatus::Draft, ..course.clone() };
        assert_eq!(
            request_access(&AccessRequest::default(), (&draft, &none), &corporate, request_id, None),
            Err(SupportRejection::CourseNotFound)
        );
        let source = EnrollmentSource::AdminGrant { admin_id: Uuid::from_u128(9) };
        let enrolled = Enrollment::from_events(&[Event::TraineeEnrolled(TraineeEnrolled {
            trainee_id: corporate.user_id,
            course_id: course.id,
            instructor_id: Uuid::from_u128(3),
            source,
        })]);
        assert_eq!(
            request_access(&AccessRequest::default(), (&course, &enrolled), &corporate, request_id, None),
            Err(SupportRejection::AlreadyEnrolled)
        );
        let who = (corporate.user_id, course.id);
        assert_eq!(
            change_access_status(&request, who, TicketStatus::Resolved),
            Err(SupportRejection::InvalidStatusChange)
        );
        assert!(
            matches!(&close_access_request(&request, who)[..], [Event::CourseAccessRequestChanged(c)] if c.status == TicketStatus::Rejected)
        );
        let seen = change_access_status(&request, who, TicketStatus::Pending).expect("seen");
        let request = seen.iter().fold(request, AccessRequest::evolve);
        let granted = change_access_status(&request, who, TicketStatus::Resolved).expect("granted");
        assert!(matches!(&granted[..], [Event::CourseAccessRequestChanged(c)] if c.status == TicketStatus::Resolved));
        let request = granted.iter().fold(request, AccessRequest::evolve);
        assert_eq!(
            change_access_status(&request, who, TicketStatus::Rejected),
            Err(SupportRejection::InvalidStatusChange)
        );
    }
}
