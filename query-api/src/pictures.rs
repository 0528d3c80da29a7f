//! `GET /api/v1/pictures/{picture_id}/{file}`: one size of a kept picture (`small.jpg` to `large.webp`), for
//! anyone: a picture's id is derived from its owner and content, so its files never change and are cached for
//! a year. The bytes are the ones the command API re-encoded, so their type is the file's.

use api_contract::Problem;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, header};
use media::{Encoded, Size};

use crate::QueryApiState;

pub(crate) async fn get(
    State(state): State<QueryApiState>,
    Path((picture_id, file)): Path<(String, String)>,
) -> Response {
    let wanted = file
        .split_once('.')
        .and_then(|(size, extension)| Some((Size::parse(size)?, Encoded::from_extension(extension)?)));
    let Some((size, format)) = wanted else {
        return Problem::not_found("There is no such picture.").into_response();
    };
    match state.pictures.read(&picture_id, size, format).await {
        Ok(Some(bytes)) => {
            let mut response = bytes.into_response();
            let headers = response.headers_mut();
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(format.media_type()));
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=31536000, immutable"));
            response
        }
        Ok(None) => Problem::not_found("There is no such picture.").into_response(),
        Err(error) => Problem::unavailable().because(error).into_response(),
    }
}

/// The URLs of a picture's sizes: 96, 320 and 960 pixels wide (never wider than the picture sent).
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub(crate) struct PictureUrls {
    small: String,
    medium: String,
    large: String,
}

impl PictureUrls {
    /// The picture whose id and encoding are in columns `id` and `format` of `row`, if it has one.
    pub fn of(row: &tokio_postgres::Row, id: &str, format: &str) -> Result<Option<Self>, tokio_postgres::Error> {
        let (id, format): (Option<String>, Option<String>) = (row.try_get(id)?, row.try_get(format)?);
        let Some((id, format)) = id.zip(format.as_deref().and_then(Encoded::from_extension)) else { return Ok(None) };
        let url = |size: Size| media::url(&id, size, format);
        Ok(Some(PictureUrls { small: url(Size::Small), medium: url(Size::Medium), large: url(Size::Large) }))
    }
}
