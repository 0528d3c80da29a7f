//! Stripe's webhook signature scheme: the header `t=<timestamp>,v1=<signature>`, where the signature is the
//! lowercase hex HMAC-SHA256, under the endpoint's signing secret (`whsec_...`, used as is), of the timestamp, a
//! dot and the exact payload. Receivers that verify Stripe's webhooks verify the sandbox's alike.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The full `Stripe-Signature` header value for `payload` sent at `timestamp` (Unix seconds).
pub fn sign(secret: &[u8], timestamp: i64, payload: &[u8]) -> String {
    let mut mac = HmacSha256::new_from_slice(secret).unwrap_or_else(|_| unreachable!("HMAC takes any key"));
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(payload);
    let hex: String = mac.finalize().into_bytes().iter().map(|byte| format!("{byte:02x}")).collect();
    format!("t={timestamp},v1={hex}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_matches_a_vector_computed_elsewhere() {
        // Computed with Python's `hmac.new(b"whsec_test", b'1700000000.{"a":1}', hashlib.sha256).hexdigest()`.
        assert_eq!(
            sign(b"whsec_test", 1_700_000_000, br#"{"a":1}"#),
            "t=1700000000,v1=38877139021993b830af32feea6e18a8da83eb2f6e49ee50bd9e4cf4ca4d3789"
        );
    }

    #[test]
    fn the_signature_is_the_hmac_of_timestamp_dot_payload() {
        let mut mac = HmacSha256::new_from_slice(b"whsec_other").expect("any key");
        mac.update(b"42.payload");
        let expected: String = mac.finalize().into_bytes().iter().map(|byte| format!("{byte:02x}")).collect();
        assert_eq!(sign(b"whsec_other", 42, b"payload"), format!("t=42,v1={expected}"));
    }

    #[test]
    fn another_secret_timestamp_or_payload_changes_the_signature() {
        let reference = sign(b"whsec_test", 1, b"{}");
        assert_ne!(sign(b"whsec_tesu", 1, b"{}"), reference);
        assert_ne!(sign(b"whsec_test", 2, b"{}")[4..], reference[4..]);
        assert_ne!(sign(b"whsec_test", 1, b"{ }"), reference);
    }
}
