//! R15: a lesson added without minutes, or given another video without them, takes its video's length as
//! YouTube's Data API measures it (`videos?part=contentDetails`: an ISO 8601 duration), floor(seconds / 60),
//! through the course's pipeline (`FillLessonDuration`, which leaves alone a lesson that has minutes by then).
//! It runs where a key is configured (`LEARNLOG_YOUTUBE_API_KEY`; `LEARNLOG_YOUTUBE_API_URL` for another
//! server, such as the sandbox). The API down is retried; a video it does not know, or a refusal of the key, is
//! logged and counted, and the lesson keeps no minutes until its instructor gives some.

use std::time::Duration;

use command_api::{Cause, Checkout};
use events::Event;
use secrecy::{ExposeSecret, SecretString};
use uuid::Uuid;

use crate::Failure;

/// Failed measurements the API refused for good (an unknown video, a key it does not take).
pub const VIDEO_LENGTH_FAILURES: &str = "learnlog_video_length_failures_total";

/// YouTube's Data API, or a server that answers like it.
#[derive(Clone)]
pub struct VideoLengths {
    http: reqwest::Client,
    base: String,
    key: SecretString,
}

impl std::fmt::Debug for VideoLengths {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VideoLengths").field("base", &self.base).finish_non_exhaustive()
    }
}

impl VideoLengths {
    /// The API at `base` (`https://www.googleapis.com`), asked with `key`.
    pub fn new(base: &str, key: SecretString) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build()?;
        Ok(VideoLengths { http, base: base.trim_end_matches('/').to_owned(), key })
    }

    /// The length of video `id` in seconds; `None` when the API does not know it or refuses the key.
    async fn seconds(&self, id: &str) -> Result<Option<u64>, Failure> {
        let url = format!("{}/youtube/v3/videos", self.base);
        let query = [("part", "contentDetails"), ("id", id), ("key", self.key.expose_secret())];
        // The key is a query parameter: errors are reported without the URL.
        let answer =
            self.http.get(&url).query(&query).send().await.map_err(|error| {
                Failure::Transient(format!("the video API does not answer: {}", error.without_url()))
            })?;
        let status = answer.status();
        if status.is_server_error() || status == reqwest::StatusCode::TOO_MANY_REQUESTS {
            return Err(Failure::Transient(format!("the video API answered {status}")));
        }
        if !status.is_success() {
            tracing::warn!(%status, video = id, "the video API refused to measure a video");
            return Ok(None);
        }
        let body: serde_json::Value = answer
            .json()
            .await
            .map_err(|error| Failure::Transient(format!("the video API's answer: {}", error.without_url())))?;
        let duration = body["items"][0]["contentDetails"]["duration"].as_str();
        let seconds = duration.and_then(iso_seconds);
        if seconds.is_none() {
            tracing::warn!(video = id, ?duration, "the video API knows no length of this video");
        }
        Ok(seconds)
    }
}

/// The seconds of an ISO 8601 duration as YouTube writes it: `PT1H2M3S`, `P1DT2H`, `PT45S`.
pub fn iso_seconds(text: &str) -> Option<u64> {
    let rest = text.strip_prefix('P')?;
    let (days, time) = match rest.split_once('T') {
        Some((days, time)) => (days, time),
        None => (rest, ""),
    };
    let mut seconds = 0_u64;
    let mut read = |part: &str, units: &[(char, u64)]| -> Option<()> {
        let mut number = String::new();
        let mut allowed = units.iter();
        for c in part.chars() {
            if c.is_ascii_digit() {
                number.push(c);
                continue;
            }
            let (_, factor) = allowed.find(|(unit, _)| *unit == c)?;
            seconds = seconds.checked_add(number.parse::<u64>().ok()?.checked_mul(*factor)?)?;
            number.clear();
        }
        number.is_empty().then_some(())
    };
    read(days, &[('W', 604_800), ('D', 86_400)])?;
    read(time, &[('H', 3_600), ('M', 60), ('S', 1)])?;
    (!(days.is_empty() && time.is_empty())).then_some(seconds)
}

/// The video id of a lesson's embed URL (`https://www.youtube.com/embed/<id>`).
fn video_id(embed_url: &str) -> Option<&str> {
    let id = embed_url.rsplit_once("/embed/")?.1;
    (!id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')).then_some(id)
}

/// Whether `event` asks for a lesson's length: a lesson added without minutes, or given a new video without them.
pub(crate) fn wanted(event: &Event) -> Option<((Uuid, Uuid, Uuid), &str)> {
    match event {
        Event::LessonAdded(e) if e.duration_min == 0 => Some(((e.course_id, e.section_id, e.lesson_id), &e.video_url)),
        Event::LessonUpdated(e) if e.duration_min.is_none() => {
            e.video_url.as_deref().map(|url| ((e.course_id, e.section_id, e.lesson_id), url))
        }
        _ => None,
    }
}

pub(crate) async fn react(
    lengths: &VideoLengths,
    checkout: &Checkout,
    cause: &Cause,
    event: &Event,
) -> Result<(), Failure> {
    let Some((lesson, video_url)) = wanted(event) else { return Ok(()) };
    let Some(id) = video_id(video_url) else { return Ok(()) };
    let Some(seconds) = lengths.seconds(id).await? else {
        metrics::counter!(VIDEO_LENGTH_FAILURES).increment(1);
        return Ok(());
    };
    checkout.fill_lesson_duration(cause, lesson, video_url, seconds).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn youtube_durations_read_as_seconds() {
        assert_eq!(iso_seconds("PT1H2M3S"), Some(3_723));
        assert_eq!(iso_seconds("PT45S"), Some(45));
        assert_eq!(iso_seconds("PT12M"), Some(720));
        assert_eq!(iso_seconds("P1DT2H"), Some(93_600));
        assert_eq!(iso_seconds("P0D"), Some(0), "a live stream");
        for bad in ["", "P", "1H", "PT", "PTH", "PT1X", "PT1H2", "PT99999999999999999999S"] {
            assert_eq!(iso_seconds(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn a_video_id_comes_from_the_embed_url_only() {
        assert_eq!(video_id("https://www.youtube.com/embed/dQw4w9WgXcQ"), Some("dQw4w9WgXcQ"));
        assert_eq!(video_id("https://www.youtube.com/embed/"), None);
        assert_eq!(video_id("https://www.youtube.com/embed/a?b=c"), None);
        assert_eq!(video_id("https://example.com/watch"), None);
    }
}
