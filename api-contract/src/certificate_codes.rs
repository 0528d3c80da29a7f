//! A certificate's verification code: what the public verification route asks for beside the certificate's
//! id, so that the id (which the analysts' history, the exports and Kafka carry) is no key to the trainee's
//! name. The code is printed on the certificate and in its link; it is an HMAC of the id with a key derived
//! from the server's token secret, cut to 96 bits, so nothing needs storing.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::Mac;
use uuid::Uuid;

use crate::consistency::{HmacSha256, derived_key};

const CODE_BYTES: usize = 12;

/// Makes and checks certificates' verification codes.
#[derive(Clone)]
pub struct CertificateCodes(HmacSha256);

impl std::fmt::Debug for CertificateCodes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CertificateCodes(..)")
    }
}

impl CertificateCodes {
    /// The codes of `secret` (the token secret), for this use only.
    pub fn derive(secret: &[u8]) -> CertificateCodes {
        CertificateCodes(derived_key(secret, b"learnlog certificate verification codes"))
    }

    /// The code of `certificate_id`: 16 URL-safe characters.
    pub fn code(&self, certificate_id: Uuid) -> String {
        let mut mac = self.0.clone();
        mac.update(certificate_id.as_bytes());
        URL_SAFE_NO_PAD.encode(&mac.finalize().into_bytes()[..CODE_BYTES])
    }

    /// Whether `code` is `certificate_id`'s (compared in constant time).
    pub fn verify(&self, certificate_id: Uuid, code: &str) -> bool {
        let Ok(tag) = URL_SAFE_NO_PAD.decode(code.trim()) else { return false };
        if tag.len() != CODE_BYTES {
            return false;
        }
        let mut mac = self.0.clone();
        mac.update(certificate_id.as_bytes());
        mac.verify_truncated_left(&tag).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_belongs_to_one_certificate_of_one_server() {
        let ours = CertificateCodes::derive(b"0123456789abcdef0123456789abcdef");
        let theirs = CertificateCodes::derive(b"ffffffffffffffffffffffffffffffff");
        let (certificate, other) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let code = ours.code(certificate);
        assert_eq!(code.len(), 16);
        assert!(ours.verify(certificate, &code));
        assert!(!ours.verify(other, &code), "another certificate's");
        assert!(!theirs.verify(certificate, &code), "another server's");
        assert!(!ours.verify(certificate, &code[..15]), "cut");
        assert!(!ours.verify(certificate, ""));
    }
}
