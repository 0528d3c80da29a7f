//! Events of the Identity context (stream `user-{uuid}`). No secret and no password hash ever appears here:
//! credentials live in the write side's own table.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// An individual trainee signed up. The email is lower-cased.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndividualTraineeRegistered {
    pub user_id: Uuid,
    pub email: String,
    pub username: String,
    pub name: String,
    pub country: Option<String>,
}
