//! Pictures: one's profile picture and a course's thumbnail, sent as the picture's bytes. The bytes decide what
//! it is, whatever the declared type or name says: PNG, JPEG or WebP within the size and pixel limits of the
//! `media` crate, else `413` (too large) or `422` (`not_a_picture`, `too_many_pixels`, `animated_picture`,
//! `unreadable_picture`). The declared type is not read at all: clients declare what their defaults say (curl
//! `application/x-www-form-urlencoded`, Python `requests` nothing), and the bytes are what counts. The picture is re-encoded without its metadata and kept in the
//! standard sizes before the command that sets it is decided. A picture kept for a command that is then refused
//! stays in storage unreferenced; its name is its owner and content, so a retry writes the same objects.

use api_contract::{Authenticated, BytesCommand, EmptyCommand, PathId, Problem};
use axum::extract::State;
use events::pictures::Picture;
use http::StatusCode;
use media::{Encoded, PictureError, Size};
use serde_json::{Value, json};
use uuid::Uuid;

use super::CommandApiState;
use super::StepError;
use super::courses::{CourseRequest, on_course};
use super::execute::{Accepted, CommandRun, execute};
use super::headers::CommandHeaders;
use crate::domain::account::{self, Portrait, PortraitCommand};
use crate::domain::course::{Course, CourseCommand};
use events::stream::{course_stream, user_stream};

/// The media types a picture route documents; what is sent is judged by its bytes, whatever it declares.
pub(crate) const PICTURE_TYPES: &[&str] = &["image/png", "image/jpeg", "image/webp", "application/octet-stream"];
/// The largest picture body a route reads (the `media` crate's limit), above the API's JSON body limit.
pub(crate) const PICTURE_BODY_LIMIT: usize = media::MAX_BYTES;

/// `PUT /api/v1/me/picture`: the caller's profile picture.
pub(crate) async fn set_mine(
    State(state): State<CommandApiState>,
    actor: Authenticated,
    headers: CommandHeaders,
    upload: BytesCommand,
) -> Result<Accepted, Problem> {
    let user_id = actor.user_id;
    let picture = keep(&state, user_id, upload.bytes).await?;
    let run = CommandRun::on_account(user_id, actor.into(), headers, upload.digest)
        .answering(StatusCode::OK, json!({ "id": user_id, "picture": urls(Some(&picture)) }));
    execute(&state, run, |portrait: &Portrait| {
        account::decide_portrait(portrait, PortraitCommand::Set { user_id, picture: Some(picture.clone()) })
    })
    .await
}

/// `DELETE /api/v1/me/picture`: the caller removes their profile picture.
pub(crate) async fn remove_mine(
    State(state): State<CommandApiState>,
    actor: Authenticated,
    headers: CommandHeaders,
    command: EmptyCommand,
) -> Result<Accepted, Problem> {
    let user_id = actor.user_id;
    let run = CommandRun::on_account(user_id, actor.into(), headers, command.digest)
        .answering(StatusCode::OK, json!({ "id": user_id, "picture": null }));
    execute(&state, run, |portrait: &Portrait| {
        account::decide_portrait(portrait, PortraitCommand::Set { user_id, picture: None })
    })
    .await
}

/// `PUT /api/v1/courses/{id}/thumbnail`: the course's owner sets its thumbnail.
pub(crate) async fn set_thumbnail(
    State(state): State<CommandApiState>,
    actor: Authenticated,
    PathId(course_id): PathId,
    headers: CommandHeaders,
    upload: BytesCommand,
) -> Result<Accepted, Problem> {
    let picture = keep(&state, course_id, upload.bytes).await?;
    let mut request = CourseRequest::change(course_id, headers, upload.digest);
    request.data = json!({ "id": course_id, "thumbnail": urls(Some(&picture)) });
    on_course(&state, actor, request, CourseCommand::SetThumbnail { actor: actor.actor(), picture: Some(picture) })
        .await
}

/// `DELETE /api/v1/courses/{id}/thumbnail`: the course's owner removes its thumbnail.
pub(crate) async fn remove_thumbnail(
    State(state): State<CommandApiState>,
    actor: Authenticated,
    PathId(course_id): PathId,
    headers: CommandHeaders,
    command: EmptyCommand,
) -> Result<Accepted, Problem> {
    let request = CourseRequest::bodiless(course_id, headers, command);
    on_course(&state, actor, request, CourseCommand::SetThumbnail { actor: actor.actor(), picture: None }).await
}

/// Checks and keeps `bytes` as a picture of `owner`, off the async workers (decoding is CPU work).
async fn keep(state: &CommandApiState, owner: Uuid, bytes: axum::body::Bytes) -> Result<Picture, Problem> {
    let prepared = tokio::task::spawn_blocking(move || media::prepare(owner.as_bytes(), &bytes))
        .await
        .map_err(|error| Problem::internal().because(error))?
        .map_err(refused)?;
    state.pictures.keep(&prepared).await.map_err(|error| Problem::unavailable().because(error))?;
    Ok(Picture { id: prepared.id, format: prepared.format.extension().to_owned() })
}

/// A picture that is not taken, as its problem.
fn refused(error: PictureError) -> Problem {
    match error {
        PictureError::TooLarge => Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("A picture is at most {} MiB.", media::MAX_BYTES / 1024 / 1024),
        ),
        PictureError::Unsupported => Problem::rule("not_a_picture", "The bytes are not a PNG, JPEG or WebP picture."),
        PictureError::TooManyPixels => Problem::rule(
            "too_many_pixels",
            format!("A picture has at most {} pixels, and sides of at most {}.", media::MAX_PIXELS, media::MAX_SIDE),
        ),
        PictureError::Animated => Problem::rule("animated_picture", "An animated picture is not taken."),
        PictureError::Unreadable(_) => Problem::rule("unreadable_picture", "The picture cannot be read."),
    }
}

/// The URLs of a picture's sizes (`null` for none), as the read models answer them.
pub fn urls(picture: Option<&Picture>) -> Value {
    let Some(picture) = picture else { return Value::Null };
    let Some(format) = Encoded::from_extension(&picture.format) else { return Value::Null };
    let url = |size: Size| media::url(&picture.id, size, format);
    json!({ "small": url(Size::Small), "medium": url(Size::Medium), "large": url(Size::Large) })
}

/// The pictures saga's handle: pictures no longer shown leave storage. It acts on events confirmed in the
/// store; deleting a picture deleted already is fine, so a redelivered event changes nothing.
#[derive(Debug, Clone)]
pub struct PictureCleanup {
    state: CommandApiState,
}

impl PictureCleanup {
    pub fn new(state: CommandApiState) -> Self {
        PictureCleanup { state }
    }

    /// Deletes `replaced`, which `user_id`'s profile picture replaced, unless it is their picture again.
    pub async fn replaced_portrait(&self, user_id: Uuid, replaced: &Picture) -> Result<(), StepError> {
        let portrait = self.load::<Portrait>(&user_stream(user_id)).await?;
        match portrait.picture.as_ref() == Some(replaced) {
            true => Ok(()),
            false => self.delete(replaced).await,
        }
    }

    /// Deletes `replaced`, which the course's thumbnail replaced, unless it is the thumbnail again.
    pub async fn replaced_thumbnail(&self, course_id: Uuid, replaced: &Picture) -> Result<(), StepError> {
        let course = self.load::<Course>(&course_stream(course_id)).await?;
        match course.thumbnail.as_ref() == Some(replaced) {
            true => Ok(()),
            false => self.delete(replaced).await,
        }
    }

    /// Deletes the profile picture of a deleted or erased account.
    pub async fn forget_person(&self, user_id: Uuid) -> Result<(), StepError> {
        let portrait = self.load::<Portrait>(&user_stream(user_id)).await?;
        match portrait.picture {
            Some(picture) => self.delete(&picture).await,
            None => Ok(()),
        }
    }

    /// Deletes the thumbnail of a deleted course.
    pub async fn forget_course(&self, course_id: Uuid) -> Result<(), StepError> {
        let course = self.load::<Course>(&course_stream(course_id)).await?;
        match course.thumbnail {
            Some(picture) => self.delete(&picture).await,
            None => Ok(()),
        }
    }

    async fn load<A: crate::domain::Aggregate>(&self, stream_id: &str) -> Result<A, StepError> {
        Ok(self.state.write.load::<A>(stream_id).await.map_err(StepError::from)?.state)
    }

    async fn delete(&self, picture: &Picture) -> Result<(), StepError> {
        let Some(format) = Encoded::from_extension(&picture.format) else { return Ok(()) };
        self.state
            .pictures
            .delete(&picture.id, format)
            .await
            .map_err(|error| StepError::Unavailable(format!("deleting a picture failed: {error}")))
    }
}
