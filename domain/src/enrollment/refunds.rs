//! Refund requests of a bought enrolment (R4, R5, D2, D5, D9): asked for, decided by an admin, completed by
//! the refund saga.

use super::*;
use crate::effects::{Decided, Effect, Email};

/// R4, D2: a refund may be asked for while less than this share of the lessons was seen.
pub const REFUND_PROGRESS_LIMIT: u8 = 50;
/// D5: the share of the paid price a refund credits to the wallet (floor to cents).
pub const REFUND_PERCENT: i64 = 70;
/// A refund request's reason, in characters.
pub const REFUND_REASON_MAX_CHARS: usize = 2_000;

/// Where a refund request stands (D9: Unseen, then Pending, then Approved or Rejected; terminal states are
/// final); Approved becomes Completed once the refund saga has carried it out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RefundStatus {
    #[default]
    None,
    Requested,
    Pending,
    Approved,
    Rejected,
    Completed,
}

/// The refund request of an enrolment, once there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refund {
    pub refund_id: Uuid,
    pub status: RefundStatus,
    pub order_id: Uuid,
    pub paid_cents: i64,
    pub refund_cents: i64,
}

/// What happens to the refund request of an enrolment.
#[derive(Debug, Clone)]
pub enum RefundCommand<'a> {
    /// The trainee asks for their purchase back; `individual` says whether they are an individual trainee.
    Request { trainee_id: Uuid, course_id: Uuid, refund_id: Uuid, individual: bool, reason: &'a str },
    /// An admin moves the request along D9; an approval or a rejection is mailed to the trainee (`mail`: their
    /// address and the course's title, when the account still has one).
    Decide { trainee_id: Uuid, course_id: Uuid, decision: RefundDecision, mail: Option<DecisionMail<'a>> },
    /// The refund saga's last step.
    Complete { trainee_id: Uuid, course_id: Uuid, refund_id: Uuid },
    /// The trainee or an admin adds to the request's thread, as on a ticket's.
    FollowUp { trainee_id: Uuid, course_id: Uuid, author: &'a events::Actor, text: &'a str },
}

/// Where the trainee is told what was decided: their address and the course's title.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecisionMail<'a> {
    pub to: &'a str,
    pub course_title: &'a str,
}

/// Decides a refund command on the enrolment. A request is recorded for admins to find by its id.
pub fn decide_refunds(enrollment: &Enrollment, command: RefundCommand<'_>) -> Result<Decided, RefundRejection> {
    Ok(match command {
        RefundCommand::Request { trainee_id, course_id, refund_id, individual, reason } => Decided::with(
            request_refund(enrollment, (trainee_id, course_id), refund_id, individual, reason)?,
            [Effect::RefundRequest { refund_id, trainee_id, course_id }],
        ),
        RefundCommand::Decide { trainee_id, course_id, decision, mail } => {
            let events = decide_request(enrollment, (trainee_id, course_id), decision.clone())?;
            // A decision taken before (a retry) is not mailed again.
            let told = mail.filter(|_| !events.is_empty()).and_then(|mail| decision_email(mail, &decision, enrollment));
            Decided::with(events, told.map(Effect::Email))
        }
        RefundCommand::Complete { trainee_id, course_id, refund_id } => {
            complete_refund(enrollment, (trainee_id, course_id), refund_id)?.into()
        }
        RefundCommand::FollowUp { trainee_id, course_id, author, text } => {
            follow_up(enrollment, (trainee_id, course_id), author, text)?.into()
        }
    })
}

/// The longest follow-up on a request's thread, in characters: a ticket's.
pub const FOLLOW_UP_MAX_CHARS: usize = crate::support::TEXT_MAX_CHARS;

/// The trainee or an admin writes on the thread of the enrolment's refund request; anyone else finds none.
fn follow_up(
    enrollment: &Enrollment,
    (trainee_id, course_id): (Uuid, Uuid),
    author: &events::Actor,
    text: &str,
) -> Result<Vec<Event>, RefundRejection> {
    let Some(refund) = &enrollment.refund else { return Err(RefundRejection::NoRequest) };
    let by_admin = author.role == events::Role::Admin;
    if author.user_id != trainee_id && !by_admin {
        return Err(RefundRejection::NoRequest);
    }
    let text = text.trim();
    let chars = text.chars().count();
    if chars == 0 || chars > FOLLOW_UP_MAX_CHARS {
        return Err(RefundRejection::InvalidText(format!("must be 1 to {FOLLOW_UP_MAX_CHARS} characters")));
    }
    Ok(vec![Event::RefundRequestFollowUpAdded(events::learning::RefundRequestFollowUpAdded {
        refund_id: refund.refund_id,
        trainee_id,
        course_id,
        author_id: author.user_id,
        by_admin,
        text: Personal::clear(text),
    })])
}

/// The email telling the trainee what was decided; none for an acknowledgement.
fn decision_email(mail: DecisionMail<'_>, decision: &RefundDecision, enrollment: &Enrollment) -> Option<Email> {
    let paid = enrollment.refund.as_ref().map_or(0, |refund| refund.paid_cents);
    let title = mail.course_title;
    let (subject, body) = match decision {
        RefundDecision::Acknowledge => return None,
        RefundDecision::Approve => {
            let refund = refund_of(paid);
            (
                format!("Learnlog: your refund of \"{title}\" was approved"),
                format!(
                    "Your refund of \"{title}\" was approved. USD {}.{:02} (70 % of what you paid) goes to your \
                     Learnlog wallet, and the course leaves your enrolments.",
                    refund / 100,
                    refund % 100
                ),
            )
        }
        RefundDecision::Reject { reason } => (
            format!("Learnlog: your refund of \"{title}\" was not approved"),
            format!("Your refund of \"{title}\" was not approved:\n\n{}\n\nThe course stays yours.", reason.trim()),
        ),
    };
    Some(Email { to: mail.to.to_owned(), subject, body, expires_at: None })
}

/// Why a refund command is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefundRejection {
    Learning(LearningRejection),
    /// Refunds are for individual trainees' purchases; corporate access is granted, not bought.
    NotAnIndividualTrainee,
    /// The enrolment was granted, not bought.
    NotPurchased,
    /// R4: half of the course or more was seen.
    AfterHalf {
        progress: u8,
    },
    /// R5: one request per enrolment, ever.
    AlreadyRequested,
    /// The reason is empty or too long.
    InvalidReason(String),
    /// A follow-up's text is empty or too long.
    InvalidText(String),
    /// There is no such request (for admins).
    NoRequest,
    /// D9: the request was approved or rejected already; terminal states are final.
    AlreadyDecided,
}

/// The trainee asks for their purchase back (R4, R5, D2): an active enrolment bought by an individual
/// trainee, with progress below 50, and no request before.
pub(super) fn request_refund(
    enrollment: &Enrollment,
    (trainee_id, course_id): (Uuid, Uuid),
    refund_id: Uuid,
    individual: bool,
    reason: &str,
) -> Result<Vec<Event>, RefundRejection> {
    if !individual {
        return Err(RefundRejection::NotAnIndividualTrainee);
    }
    enrollment.learning().map_err(RefundRejection::Learning)?;
    let Some(EnrollmentSource::Purchase { order_id, price_cents }) = enrollment.source else {
        return Err(RefundRejection::NotPurchased);
    };
    if enrollment.refund.is_some() {
        return Err(RefundRejection::AlreadyRequested);
    }
    if enrollment.progress >= REFUND_PROGRESS_LIMIT {
        return Err(RefundRejection::AfterHalf { progress: enrollment.progress });
    }
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > REFUND_REASON_MAX_CHARS {
        return Err(RefundRejection::InvalidReason(format!("must be 1 to {REFUND_REASON_MAX_CHARS} characters")));
    }
    Ok(vec![Event::RefundRequested(RefundRequested {
        refund_id,
        trainee_id,
        course_id,
        order_id,
        paid_cents: price_cents,
        progress_at_request: enrollment.progress,
        reason: Personal::clear(reason),
    })])
}

/// What an admin decides about a refund request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefundDecision {
    Acknowledge,
    Approve,
    Reject { reason: String },
}

/// An admin moves the request along D9: acknowledging an open request (again: nothing changes), approving
/// it (`refund_cents` = floor(0.70 x paid), D5) or rejecting it with a reason. Approved, rejected and
/// completed requests are final.
pub(super) fn decide_request(
    enrollment: &Enrollment,
    (trainee_id, course_id): (Uuid, Uuid),
    decision: RefundDecision,
) -> Result<Vec<Event>, RefundRejection> {
    let refund = enrollment.refund.as_ref().ok_or(RefundRejection::NoRequest)?;
    let refund_id = refund.refund_id;
    let open = matches!(refund.status, RefundStatus::Requested | RefundStatus::Pending);
    if !open {
        return Err(RefundRejection::AlreadyDecided);
    }
    Ok(match decision {
        RefundDecision::Acknowledge if refund.status == RefundStatus::Pending => Vec::new(),
        RefundDecision::Acknowledge => {
            vec![Event::RefundRequestAcknowledged(RefundRequestAcknowledged { refund_id, trainee_id, course_id })]
        }
        RefundDecision::Approve => vec![Event::RefundApproved(RefundApproved {
            refund_id,
            trainee_id,
            course_id,
            order_id: refund.order_id,
            paid_cents: refund.paid_cents,
            refund_cents: refund_of(refund.paid_cents),
        })],
        RefundDecision::Reject { reason } => {
            let reason = reason.trim();
            if reason.is_empty() || reason.chars().count() > REFUND_REASON_MAX_CHARS {
                return Err(RefundRejection::InvalidReason(format!(
                    "must be 1 to {REFUND_REASON_MAX_CHARS} characters"
                )));
            }
            vec![Event::RefundRejected(RefundRejected { refund_id, trainee_id, course_id, reason: reason.to_owned() })]
        }
    })
}

/// D5: floor(0.70 x paid).
pub fn refund_of(paid_cents: i64) -> i64 {
    paid_cents * REFUND_PERCENT / 100
}

/// The refund saga's last step: the approved refund's enrolment is revoked and the refund completed, once.
/// Only the access the refunded order bought is revoked: once an admin has revoked it and the trainee has
/// bought the course again, the new order's access is theirs, and the refund leaves it alone.
pub(super) fn complete_refund(
    enrollment: &Enrollment,
    (trainee_id, course_id): (Uuid, Uuid),
    refund_id: Uuid,
) -> Result<Vec<Event>, RefundRejection> {
    let Some(refund) = enrollment.refund.as_ref().filter(|refund| refund.refund_id == refund_id) else {
        return Err(RefundRejection::NoRequest);
    };
    match refund.status {
        RefundStatus::Completed => Ok(Vec::new()),
        RefundStatus::Approved => {
            let mut events = Vec::new();
            let bought_by_refunded = matches!(
                enrollment.source,
                Some(EnrollmentSource::Purchase { order_id, .. }) if order_id == refund.order_id
            );
            if enrollment.is_active() && bought_by_refunded {
                let reason = RevocationReason::Refunded { refund_id };
                events.push(Event::EnrollmentRevoked(EnrollmentRevoked { trainee_id, course_id, reason }));
            }
            events.push(Event::RefundCompleted(RefundCompleted { refund_id, trainee_id, course_id }));
            Ok(events)
        }
        _ => Err(RefundRejection::AlreadyDecided),
    }
}
