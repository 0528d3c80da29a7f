//! The consistency token of API.md: opaque to clients, it names the write a read must include. It is signed
//! (HMAC-SHA256 with a key derived from the server's token secret, cut to 96 bits), so that a read refuses a
//! forged or foreign token at once instead of waiting for a write that never happened.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

pub(crate) type HmacSha256 = Hmac<Sha256>;

/// The bytes of the signature a token carries.
const TAG_BYTES: usize = 12;

/// A MAC key of its own for one use of `secret`: `HMAC(secret, label)` (ADR 0010).
pub(crate) fn derived_key(secret: &[u8], label: &[u8]) -> HmacSha256 {
    let mut derivation = HmacSha256::new_from_slice(secret).expect("HMAC takes a key of any length");
    derivation.update(label);
    HmacSha256::new_from_slice(&derivation.finalize().into_bytes()).expect("HMAC takes a key of any length")
}

/// Identifies an appended write: its global position, and its stream and version (which lets a reader that
/// only knows per-stream progress, such as a Kafka-fed projector, decide too).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsistencyToken {
    pub position: i64,
    pub stream_id: String,
    pub stream_version: i64,
}

/// Signs and opens consistency tokens.
#[derive(Clone)]
pub struct ConsistencyKey(HmacSha256);

impl std::fmt::Debug for ConsistencyKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ConsistencyKey(..)")
    }
}

impl ConsistencyKey {
    /// The key of `secret` (the token secret), for this use only.
    pub fn derive(secret: &[u8]) -> ConsistencyKey {
        ConsistencyKey(derived_key(secret, b"learnlog consistency tokens"))
    }

    fn tag(&self, body: &str) -> [u8; TAG_BYTES] {
        let mut mac = self.0.clone();
        mac.update(body.as_bytes());
        let full = mac.finalize().into_bytes();
        let mut tag = [0; TAG_BYTES];
        tag.copy_from_slice(&full[..TAG_BYTES]);
        tag
    }

    /// The token as a client sees it: `<body>.<signature>`, both base64url.
    pub fn seal(&self, token: &ConsistencyToken) -> String {
        let body = URL_SAFE_NO_PAD.encode(format!("2:{}:{}:{}", token.position, token.stream_version, token.stream_id));
        let tag = URL_SAFE_NO_PAD.encode(self.tag(&body));
        format!("{body}.{tag}")
    }

    /// `None` for anything that is not a token this server signed.
    pub fn open(&self, text: &str) -> Option<ConsistencyToken> {
        let (body, tag) = text.trim().split_once('.')?;
        let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
        let mut mac = self.0.clone();
        mac.update(body.as_bytes());
        mac.verify_truncated_left(&tag).ok().filter(|()| tag.len() == TAG_BYTES)?;
        let text = String::from_utf8(URL_SAFE_NO_PAD.decode(body).ok()?).ok()?;
        let mut parts = text.splitn(4, ':');
        if parts.next()? != "2" {
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

    fn key(secret: &str) -> ConsistencyKey {
        ConsistencyKey::derive(secret.as_bytes())
    }

    #[test]
    fn a_token_survives_the_round_trip_with_a_short_signature() {
        let ours = key("0123456789abcdef0123456789abcdef");
        let token = ConsistencyToken { position: 42, stream_id: "course-1:x".into(), stream_version: 3 };
        let sealed = ours.seal(&token);
        assert_eq!(ours.open(&sealed), Some(token));
        assert_eq!(sealed.split_once('.').map(|(_, tag)| tag.len()), Some(16), "96 bits of signature: {sealed}");
    }

    #[test]
    fn a_forged_altered_or_foreign_token_is_refused() {
        let ours = key("0123456789abcdef0123456789abcdef");
        let theirs = key("ffffffffffffffffffffffffffffffff");
        let token = ConsistencyToken { position: 42, stream_id: "course-1".into(), stream_version: 3 };
        assert_eq!(ours.open(&theirs.seal(&token)), None, "another server's");
        let sealed = ours.seal(&token);
        let (_, tag) = sealed.split_once('.').expect("two parts");
        let future = URL_SAFE_NO_PAD.encode("2:999999999:3:course-1");
        assert_eq!(ours.open(&format!("{future}.{tag}")), None, "a body with another's signature");
        assert_eq!(ours.open(&sealed[..sealed.len() - 2]), None, "a cut signature");
        let unsigned = URL_SAFE_NO_PAD.encode("1:42:3:course-1");
        for text in ["", "abc", "MTo0Mg", "a.b", &unsigned, &format!("{unsigned}.")] {
            assert_eq!(ours.open(text), None, "{text}");
        }
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;
    use proptest::sample::Index;

    /// Enough cases to find a slip, few enough for the fast tier; no regression files are written.
    fn config() -> ProptestConfig {
        ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() }
    }

    fn secret() -> impl Strategy<Value = Vec<u8>> {
        prop::collection::vec(any::<u8>(), 1..48)
    }

    /// A write as the store reports it: positions and versions count from 1, and a stream id is never empty (any
    /// text else, `:` and `.` included).
    fn token() -> impl Strategy<Value = ConsistencyToken> {
        let stream_id =
            prop_oneof!["[a-z]{1,8}-[0-9a-f-]{1,36}", any::<String>()].prop_filter("named", |s| !s.is_empty());
        (1..=i64::MAX, stream_id, 1..=i64::MAX).prop_map(|(position, stream_id, stream_version)| ConsistencyToken {
            position,
            stream_id,
            stream_version,
        })
    }

    proptest! {
        #![proptest_config(config())]

        #[test]
        fn a_sealed_token_opens_to_itself(secret in secret(), token in token()) {
            let key = ConsistencyKey::derive(&secret);
            let sealed = key.seal(&token);
            // A header's surrounding spaces are not part of the token.
            prop_assert_eq!(key.open(&format!(" {sealed}\n")), Some(token.clone()));
            prop_assert_eq!(key.open(&sealed), Some(token));
        }

        #[test]
        fn any_text_opens_to_nothing(secret in secret(), text in any::<String>()) {
            prop_assert_eq!(ConsistencyKey::derive(&secret).open(&text), None);
        }

        #[test]
        fn a_sealed_token_with_any_character_changed_opens_to_nothing(
            secret in secret(),
            token in token(),
            at in any::<Index>(),
            replacement in any::<char>(),
        ) {
            let key = ConsistencyKey::derive(&secret);
            let mut forged: Vec<char> = key.seal(&token).chars().collect();
            let at = at.index(forged.len());
            prop_assume!(forged[at] != replacement);
            forged[at] = replacement;
            prop_assert_eq!(key.open(&String::from_iter(forged)), None);
        }

        #[test]
        fn a_sealed_token_cut_short_or_lengthened_opens_to_nothing(
            secret in secret(),
            token in token(),
            cut in any::<Index>(),
            added in "[A-Za-z0-9_.-]{1,4}",
        ) {
            let key = ConsistencyKey::derive(&secret);
            let sealed = key.seal(&token);
            prop_assert_eq!(key.open(&sealed[..cut.index(sealed.len())]), None);
            prop_assert_eq!(key.open(&format!("{sealed}{added}")), None);
        }

        #[test]
        fn a_token_another_key_sealed_opens_to_nothing(ours in secret(), theirs in secret(), token in token()) {
            prop_assume!(ours != theirs);
            let sealed = ConsistencyKey::derive(&theirs).seal(&token);
            prop_assert_eq!(ConsistencyKey::derive(&ours).open(&sealed), None);
        }
    }
}
