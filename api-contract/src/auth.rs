//! Bearer tokens: HS256 JWTs carrying the user id and role. The actor of a request comes from here only,
//! never from the path or the body.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{FromRef, FromRequestParts};
use events::Role;
use http::header;
use http::request::Parts;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::problem::Problem;

const ISSUER: &str = "learnlog";

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: Uuid,
    role: Role,
    iss: String,
    iat: i64,
    exp: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("the signing secret must be at least 32 bytes long")]
    SecretTooShort,
    #[error("the token could not be signed: {0}")]
    Signing(#[from] jsonwebtoken::errors::Error),
}

/// Signs and verifies access tokens with one shared secret.
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl std::fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKeys(..)")
    }
}

impl TokenKeys {
    pub fn new(secret: &SecretString) -> Result<Self, TokenError> {
        let bytes = secret.expose_secret().as_bytes();
        if bytes.len() < 32 {
            return Err(TokenError::SecretTooShort);
        }
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        validation.leeway = 5;
        Ok(TokenKeys {
            encoding: EncodingKey::from_secret(bytes),
            decoding: DecodingKey::from_secret(bytes),
            validation,
        })
    }

    /// A signed token for `user_id` acting as `role`, valid for `ttl`.
    pub fn issue(&self, user_id: Uuid, role: Role, ttl: Duration) -> Result<String, TokenError> {
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let ttl = i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX);
        let claims = Claims { sub: user_id, role, iss: ISSUER.to_owned(), iat: now, exp: now.saturating_add(ttl) };
        Ok(jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)?)
    }

    /// The actor of a valid, unexpired token.
    pub fn verify(&self, token: &str) -> Option<Authenticated> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation).ok()?;
        Some(Authenticated { user_id: data.claims.sub, role: data.claims.role })
    }
}

/// The verified actor of a request. Extracting it answers 401 when the token is missing or invalid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Authenticated {
    pub user_id: Uuid,
    pub role: Role,
}

impl Authenticated {
    pub fn actor(self) -> events::Actor {
        events::Actor { user_id: self.user_id, role: self.role }
    }

    /// `403 forbidden` with `refusal` unless the caller has one of `roles`.
    pub fn require(self, roles: &[Role], refusal: &str) -> Result<(), crate::Problem> {
        match roles.contains(&self.role) {
            true => Ok(()),
            false => Err(crate::Problem::forbidden(refusal)),
        }
    }
}

impl<S> FromRequestParts<S> for Authenticated
where
    S: Send + Sync,
    Arc<TokenKeys>: FromRef<S>,
{
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Problem> {
        authenticate(&Arc::<TokenKeys>::from_ref(state), &parts.headers)
    }
}

/// The actor of the request's bearer token; `401` when it is missing or invalid.
pub(crate) fn authenticate(keys: &TokenKeys, headers: &http::HeaderMap) -> Result<Authenticated, Problem> {
    let header = headers
        .get(header::AUTHORIZATION)
        .ok_or_else(|| Problem::unauthenticated("Send an access token as `Authorization: Bearer <token>`."))?;
    let token = header
        .to_str()
        .ok()
        .and_then(|value| value.strip_prefix("Bearer "))
        .ok_or_else(|| Problem::unauthenticated("The Authorization header must be `Bearer <token>`."))?;
    keys.verify(token.trim()).ok_or_else(|| Problem::unauthenticated("The access token is invalid or expired."))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(secret: &str) -> TokenKeys {
        TokenKeys::new(&SecretString::from(secret.to_owned())).expect("long enough")
    }

    #[test]
    fn an_issued_token_verifies_to_its_actor() {
        let keys = keys("0123456789abcdef0123456789abcdef");
        let user = Uuid::now_v7();
        let token = keys.issue(user, Role::Instructor, Duration::from_secs(60)).expect("signs");
        assert_eq!(keys.verify(&token), Some(Authenticated { user_id: user, role: Role::Instructor }));
    }

    #[test]
    fn a_token_signed_with_another_secret_or_tampered_is_refused() {
        let ours = keys("0123456789abcdef0123456789abcdef");
        let theirs = keys("ffffffffffffffffffffffffffffffff");
        let token = theirs.issue(Uuid::now_v7(), Role::Admin, Duration::from_secs(60)).expect("signs");
        assert_eq!(ours.verify(&token), None);
        let mut forged = ours.issue(Uuid::now_v7(), Role::Instructor, Duration::from_secs(60)).expect("signs");
        forged.push('x');
        assert_eq!(ours.verify(&forged), None);
    }

    #[test]
    fn an_expired_token_is_refused() {
        let keys = keys("0123456789abcdef0123456789abcdef");
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let claims =
            Claims { sub: Uuid::now_v7(), role: Role::Admin, iss: ISSUER.into(), iat: now - 120, exp: now - 60 };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &keys.encoding).expect("signs");
        assert_eq!(keys.verify(&token), None);
    }

    #[test]
    fn a_short_secret_is_refused_at_start_up() {
        assert!(TokenKeys::new(&SecretString::from("short".to_owned())).is_err());
    }
}
