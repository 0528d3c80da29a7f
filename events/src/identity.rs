//! Events of the Identity context (stream `user-{uuid}`). No secret and no password hash ever appears here:
//! credentials live in the write side's own table. Personal fields ([`Personal`]) are sealed with the
//! person's own key before they are stored (schema version 2); deleting the key erases them everywhere.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::personal::Personal;

/// An individual trainee signed up. The email is lower-cased.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IndividualTraineeRegistered {
    pub user_id: Uuid,
    pub email: Personal,
    pub username: Personal,
    pub name: Personal,
    pub country: Option<String>,
}

/// An admin (or the `learnlog admin create-admin` command, when `created_by` is empty) created an instructor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InstructorCreated {
    pub user_id: Uuid,
    pub email: Personal,
    pub username: Personal,
    pub name: Personal,
    pub country: Option<String>,
    pub created_by: Option<Uuid>,
}

/// An admin created a trainee of a company: the corporate flag is set only this way.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CorporateTraineeCreated {
    pub user_id: Uuid,
    pub email: Personal,
    pub username: Personal,
    pub name: Personal,
    pub country: Option<String>,
    pub company: Personal,
    pub created_by: Option<Uuid>,
}

/// An admin was created, by another admin or by `learnlog admin create-admin`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdminCreated {
    pub user_id: Uuid,
    pub email: Personal,
    pub username: Personal,
    pub name: Personal,
    pub country: Option<String>,
    pub created_by: Option<Uuid>,
}

/// An analyst account was created by an admin: it reads the event history and nothing else.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnalystCreated {
    pub user_id: Uuid,
    pub email: Personal,
    pub username: Personal,
    pub name: Personal,
    pub country: Option<String>,
    pub created_by: Option<Uuid>,
}

/// The user changed their password (the new hash stays in the credentials table; every session ended).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChanged {
    pub user_id: Uuid,
}

/// A user changed their own profile; only the fields given changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfileUpdated {
    pub user_id: Uuid,
    pub name: Option<Personal>,
    pub country: Option<String>,
    /// Instructors only.
    pub biography: Option<String>,
    pub speciality: Option<String>,
    pub title: Option<String>,
}

/// A user set (or, with no `picture`, removed) their profile picture; `replaced` is the one it took the place
/// of, which is deleted from storage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfilePictureSet {
    pub user_id: Uuid,
    pub picture: Option<crate::pictures::Picture>,
    pub replaced: Option<crate::pictures::Picture>,
}

/// A code to prove the account's email was sent to it (R21: six digits). The code itself, and its hash,
/// stay on the write side.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmailVerificationRequested {
    pub user_id: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: time::OffsetDateTime,
}

/// The user proved they receive mail at `email`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmailVerified {
    pub user_id: Uuid,
    pub email: Personal,
}

/// A single-use password reset link was mailed to the account's email. The token stays on the write side.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordResetRequested {
    pub user_id: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: time::OffsetDateTime,
}

/// The password was replaced through a reset link; every session ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordReset {
    pub user_id: Uuid,
}

/// An instructor set their public links; the set replaces the previous one, and a link left out is removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InstructorSocialLinksSet {
    pub user_id: Uuid,
    pub facebook: Option<String>,
    pub github: Option<String>,
    pub linkedin: Option<String>,
    pub personal_website: Option<String>,
    pub youtube: Option<String>,
}

/// An instructor set the bank account for payouts. The account itself stays on the write side; the event
/// names the bank and the last four characters only, so that no account number enters the log or Kafka.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InstructorBankAccountSet {
    pub user_id: Uuid,
    pub bank_name: Personal,
    pub account_last4: String,
}

/// The user logged in; `first_login` when it was their first time (DOMAIN.md: `firstLogin`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserLoggedIn {
    pub user_id: Uuid,
    pub first_login: bool,
}

/// Someone presented a wrong password for this account (an audit record; unknown logins have no stream).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginFailed {
    pub user_id: Uuid,
}

/// The user ended a session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserLoggedOut {
    pub user_id: Uuid,
}

/// A trainee's account was deleted, by the trainee or an admin: the email and username are free again and
/// every session ended; orders and payments keep referring to the id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TraineeAccountDeleted {
    pub user_id: Uuid,
    pub deleted_by: Option<Uuid>,
}

/// An admin erased an account of any kind on the person's request: its credentials are gone and its
/// personal data is unreadable everywhere (the person's key was deleted); its id stays in orders, payments
/// and courses, which show "Deleted user".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountErased {
    pub user_id: Uuid,
    pub erased_by: Uuid,
}
