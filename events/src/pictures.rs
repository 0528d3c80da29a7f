//! Pictures that events name: a profile picture, a course's thumbnail. The bytes live in object storage under
//! the picture's id (the write side's `media` crate); an event carries only the id and how it is encoded.

use serde::{Deserialize, Serialize};

/// A kept picture: its id (64 lower-case hex digits, derived from its content and its owner) and the
/// extension of its encoding (`jpg` or `webp`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Picture {
    pub id: String,
    pub format: String,
}
