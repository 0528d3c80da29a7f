//! Events of the Support context: support tickets (`ticket-{id}`) and corporate access requests
//! (`access-{trainee}-{course}`, one per trainee and course ever, R6). Both follow D9: unseen, then pending,
//! then resolved (approved) or rejected, terminal states final. What a person writes (a description, a
//! follow-up) is their personal data, sealed with their key.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::personal::Personal;

/// What a ticket is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReportKind {
    Technical,
    Financial,
    Other,
}

impl ReportKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ReportKind::Technical => "technical",
            ReportKind::Financial => "financial",
            ReportKind::Other => "other",
        }
    }
}

/// Where a ticket or request stands after an admin moved it (D9).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TicketStatus {
    Pending,
    Resolved,
    Rejected,
}

impl TicketStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TicketStatus::Pending => "pending",
            TicketStatus::Resolved => "resolved",
            TicketStatus::Rejected => "rejected",
        }
    }
}

/// A user filed a support ticket, about a course or not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportFiled {
    pub report_id: Uuid,
    pub reporter_id: Uuid,
    pub kind: ReportKind,
    pub course_id: Option<Uuid>,
    pub description: Personal,
}

/// The reporter or an admin added to a ticket; the text is its author's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportFollowUpAdded {
    pub report_id: Uuid,
    pub author_id: Uuid,
    pub by_admin: bool,
    pub text: Personal,
}

/// The reporter rewrote their ticket while nobody had seen it yet: its kind, course and description as they are
/// now. The description is the reporter's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportEdited {
    pub report_id: Uuid,
    pub reporter_id: Uuid,
    pub kind: ReportKind,
    pub course_id: Option<Uuid>,
    pub description: Personal,
}

/// The trainee or an admin added to the thread of a corporate access request, as on a ticket's. The text is
/// its author's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccessRequestFollowUpAdded {
    pub request_id: Uuid,
    pub trainee_id: Uuid,
    pub course_id: Uuid,
    pub author_id: Uuid,
    pub by_admin: bool,
    pub text: Personal,
}

/// An admin moved a ticket along D9.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportStatusChanged {
    pub report_id: Uuid,
    pub status: TicketStatus,
}

/// An admin deleted a ticket: it leaves every list, its history stays.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportVoided {
    pub report_id: Uuid,
    pub admin_id: Uuid,
}

/// A corporate trainee asked for access to a course (R6, R25), saying why if they wished (version 2; version 1
/// had no description, and reads as none). The description is the trainee's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CourseAccessRequested {
    pub request_id: Uuid,
    pub trainee_id: Uuid,
    pub course_id: Uuid,
    #[serde(default)]
    pub description: Option<Personal>,
}

/// An admin moved an access request along D9: `resolved` grants the course (the sagas enrol the trainee).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CourseAccessRequestChanged {
    pub request_id: Uuid,
    pub trainee_id: Uuid,
    pub course_id: Uuid,
    pub status: TicketStatus,
}
