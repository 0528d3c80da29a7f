//! The consistency token of API.md: opaque to clients, it names the write a read must include.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Identifies an appended write: its global position, and its stream and version (which lets a reader that
/// only knows per-stream progress, such as a Kafka-fed projector, decide too).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsistencyToken {
    pub position: i64,
    pub stream_id: String,
    pub stream_version: i64,
}

impl ConsistencyToken {
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!("1:{}:{}:{}", self.position, self.stream_version, self.stream_id))
    }

    /// `None` for anything that is not a token this API issued.
    pub fn decode(token: &str) -> Option<ConsistencyToken> {
        let bytes = URL_SAFE_NO_PAD.decode(token.trim()).ok()?;
        let text = String::from_utf8(bytes).ok()?;
        let mut parts = text.splitn(4, ':');
        if parts.next()? != "1" {
            return None;
        }
        let position = parts.next()?.parse().ok().filter(|p| *p > 0)?;
        let stream_version = parts.next()?.parse().ok().filter(|v| *v > 0)?;
        let stream_id = parts.next().filter(|s| !s.is_empty())?.to_owned();
        Some(ConsistencyToken { position, stream_id, stream_version })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_survives_the_round_trip() {
        let token = ConsistencyToken { position: 42, stream_id: "course-1:x".into(), stream_version: 3 };
        assert_eq!(ConsistencyToken::decode(&token.encode()), Some(token));
    }

    #[test]
    fn garbage_is_not_a_token() {
        for text in ["", "abc", "MTo0Mg", &URL_SAFE_NO_PAD.encode("1:-1:1:s"), &URL_SAFE_NO_PAD.encode("2:1:1:s")] {
            assert_eq!(ConsistencyToken::decode(text), None, "{text}");
        }
    }
}
