//! Lesson and preview videos are YouTube videos (R15), stored as their embed URL.

pub const ID_LEN: usize = 11;

fn is_video_id(id: &str) -> bool {
    id.len() == ID_LEN && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The embed URL of a YouTube watch, short or embed link; `None` for anything else.
pub fn embed_url(link: &str) -> Option<String> {
    let link = link.trim();
    let rest = link.strip_prefix("https://").or_else(|| link.strip_prefix("http://"))?;
    let (host, path) = rest.split_once('/')?;
    let id = match host {
        "youtu.be" => path.split(['?', '#']).next()?,
        "youtube.com" | "www.youtube.com" | "m.youtube.com" => {
            if let Some(embedded) = path.strip_prefix("embed/") {
                embedded.split(['?', '#']).next()?
            } else {
                let query = path.strip_prefix("watch?")?;
                query.split(['&', '#']).find_map(|pair| pair.strip_prefix("v="))?
            }
        }
        _ => return None,
    };
    is_video_id(id).then(|| format!("https://www.youtube.com/embed/{id}"))
}

#[cfg(test)]
mod tests {
    use super::embed_url;

    #[test]
    fn watch_short_and_embed_links_become_the_embed_url() {
        let expected = Some("https://www.youtube.com/embed/dQw4w9WgXcQ".to_owned());
        for link in [
            "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
            "https://youtube.com/watch?feature=share&v=dQw4w9WgXcQ",
            "https://youtu.be/dQw4w9WgXcQ?t=42",
            " https://www.youtube.com/embed/dQw4w9WgXcQ ",
            "http://m.youtube.com/watch?v=dQw4w9WgXcQ#top",
        ] {
            assert_eq!(embed_url(link), expected, "{link}");
        }
    }

    #[test]
    fn other_hosts_and_malformed_ids_are_refused() {
        for link in [
            "https://vimeo.com/123456",
            "https://www.youtube.com.evil.example/watch?v=dQw4w9WgXcQ",
            "https://www.youtube.com/watch?v=short",
            "https://www.youtube.com/watch?v=dQw4w9WgXc<",
            "javascript:alert(1)",
            "",
        ] {
            assert_eq!(embed_url(link), None, "{link}");
        }
    }
}
