//! Bearer tokens: HS256 JWTs carrying the user id, the role and the account's session generation. The actor
//! of a request comes from here only, never from the path or the body. A token of an earlier generation than
//! the account's (its password changed, it was deleted or erased) is refused at once, and no token is
//! accepted once older than a day: [`SessionGenerations`] holds what changed within that day.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
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
/// The oldest token accepted, whatever its expiry: the generations changed longer ago need not be kept.
pub const MAX_TOKEN_AGE: Duration = Duration::from_secs(24 * 60 * 60);

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: Uuid,
    role: Role,
    iss: String,
    iat: i64,
    exp: i64,
    /// The account's session generation when the token was signed (0 for an account whose sessions never
    /// ended).
    #[serde(default)]
    r#gen: u32,
}

/// The session generation of every account whose sessions ended within [`MAX_TOKEN_AGE`] (the others are at
/// 0 for every token still accepted), shared by every request of a process and kept current by a follower of
/// `session_revocations`.
#[derive(Debug, Clone, Default)]
pub struct SessionGenerations(Arc<RwLock<HashMap<Uuid, u32>>>);

impl SessionGenerations {
    /// The generation of `user_id`'s sessions as this process knows it.
    pub fn current(&self, user_id: Uuid) -> u32 {
        self.0.read().unwrap_or_else(std::sync::PoisonError::into_inner).get(&user_id).copied().unwrap_or(0)
    }

    /// Learns that `user_id`'s sessions are at `generation` (never moves one back).
    pub fn learn(&self, user_id: Uuid, generation: u32) {
        let mut known = self.0.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        let entry = known.entry(user_id).or_insert(0);
        *entry = (*entry).max(generation);
    }

    /// Forgets every account but those in `recent` (a reload of the last day).
    pub fn replace(&self, recent: HashMap<Uuid, u32>) {
        *self.0.write().unwrap_or_else(std::sync::PoisonError::into_inner) = recent;
    }

    /// A handle that does not keep these generations alive: a follower ends once nothing checks tokens with them.
    pub fn downgrade(&self) -> WeakSessionGenerations {
        WeakSessionGenerations(Arc::downgrade(&self.0))
    }
}

/// [`SessionGenerations`] while anything still holds them.
#[derive(Debug, Clone)]
pub struct WeakSessionGenerations(std::sync::Weak<RwLock<HashMap<Uuid, u32>>>);

impl WeakSessionGenerations {
    pub fn upgrade(&self) -> Option<SessionGenerations> {
        self.0.upgrade().map(SessionGenerations)
    }
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
    sessions: SessionGenerations,
    consistency: crate::consistency::ConsistencyKey,
    certificates: crate::certificate_codes::CertificateCodes,
    /// Signs live-stream tickets ([`TokenKeys::live_ticket`]).
    live_tickets: crate::consistency::HmacSha256,
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
            sessions: SessionGenerations::default(),
            consistency: crate::consistency::ConsistencyKey::derive(bytes),
            live_tickets: crate::consistency::derived_key(bytes, b"learnlog live stream tickets"),
            certificates: crate::certificate_codes::CertificateCodes::derive(bytes),
        })
    }

    /// A signed token for `user_id` acting as `role`, valid for `ttl` (a day at most), for an account whose
    /// sessions never ended (generation 0).
    pub fn issue(&self, user_id: Uuid, role: Role, ttl: Duration) -> Result<String, TokenError> {
        self.issue_for(user_id, role, 0, ttl)
    }

    /// A signed token for `user_id` acting as `role` at session generation `generation`.
    pub fn issue_for(&self, user_id: Uuid, role: Role, generation: u32, ttl: Duration) -> Result<String, TokenError> {
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let ttl = i64::try_from(ttl.min(MAX_TOKEN_AGE).as_secs()).unwrap_or(i64::MAX);
        let (iss, exp) = (ISSUER.to_owned(), now.saturating_add(ttl));
        let claims = Claims { sub: user_id, role, iss, iat: now, exp, r#gen: generation };
        Ok(jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)?)
    }

    /// The actor of a valid, unexpired token at most a day old, of its account's current session generation.
    pub fn verify(&self, token: &str) -> Option<Authenticated> {
        let claims = self.valid_claims(token)?;
        Some(Authenticated { user_id: claims.sub, role: claims.role })
    }

    fn valid_claims(&self, token: &str) -> Option<Claims> {
        let claims = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation).ok()?.claims;
        let age = OffsetDateTime::now_utc().unix_timestamp().saturating_sub(claims.iat);
        let max_age = i64::try_from(MAX_TOKEN_AGE.as_secs()).unwrap_or(i64::MAX);
        if age > max_age || claims.r#gen < self.sessions.current(claims.sub) {
            return None;
        }
        Some(claims)
    }

    /// A ticket that opens the live stream of `token`'s user (`GET /api/v1/me/live?ticket=`), for a client that
    /// sends no header (a browser's EventSource): signed with a key of its own, good for that route only, until
    /// the token expires, and ended with the account's sessions like the token. With its expiry (Unix seconds).
    pub fn live_ticket(&self, token: &str) -> Option<(String, i64)> {
        use base64::Engine;
        use hmac::Mac;
        let claims = self.valid_claims(token)?;
        let text = format!("1:{}:{}:{}:{}", claims.sub, claims.role.as_str(), claims.r#gen, claims.exp);
        let body = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text);
        let mut mac = self.live_tickets.clone();
        mac.update(body.as_bytes());
        let tag = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&mac.finalize().into_bytes()[..16]);
        Some((format!("{body}.{tag}"), claims.exp))
    }

    /// The actor of a live-stream ticket this server signed, unexpired, of the account's current sessions.
    pub fn verify_live_ticket(&self, ticket: &str) -> Option<Authenticated> {
        use base64::Engine;
        use hmac::Mac;
        let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let (body, tag) = ticket.trim().split_once('.')?;
        let tag = engine.decode(tag).ok().filter(|tag| tag.len() == 16)?;
        let mut mac = self.live_tickets.clone();
        mac.update(body.as_bytes());
        mac.verify_truncated_left(&tag).ok()?;
        let text = String::from_utf8(engine.decode(body).ok()?).ok()?;
        let mut parts = text.split(':');
        if parts.next()? != "1" {
            return None;
        }
        let user_id: Uuid = parts.next()?.parse().ok()?;
        let role = Role::parse(parts.next()?)?;
        let generation: u32 = parts.next()?.parse().ok()?;
        let expires: i64 = parts.next()?.parse().ok()?;
        let fresh = OffsetDateTime::now_utc().unix_timestamp() < expires;
        (fresh && generation >= self.sessions.current(user_id)).then_some(Authenticated { user_id, role })
    }

    /// Signs and opens consistency tokens, with a key derived from the same secret.
    pub fn consistency(&self) -> &crate::consistency::ConsistencyKey {
        &self.consistency
    }

    /// Makes and checks certificates' verification codes, with a key derived from the same secret.
    pub fn certificates(&self) -> &crate::certificate_codes::CertificateCodes {
        &self.certificates
    }

    /// The session generations this process checks tokens against.
    pub fn sessions(&self) -> &SessionGenerations {
        &self.sessions
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

/// The caller of the live stream: the bearer token's actor, else the `ticket`'s (a client that sends no header);
/// `401` when neither holds.
pub fn live_caller(
    keys: &TokenKeys,
    headers: &http::HeaderMap,
    ticket: Option<&str>,
) -> Result<Authenticated, Problem> {
    match (headers.contains_key(header::AUTHORIZATION), ticket) {
        (false, Some(ticket)) => keys
            .verify_live_ticket(ticket)
            .ok_or_else(|| Problem::unauthenticated("The ticket is invalid or expired: ask for another.")),
        _ => authenticate(keys, headers),
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
    fn a_live_ticket_opens_for_its_user_until_their_sessions_end_and_nothing_forged_does() {
        let ours = keys("0123456789abcdef0123456789abcdef");
        let user = Uuid::from_u128(7);
        let token = ours.issue(user, Role::CorporateTrainee, Duration::from_secs(600)).expect("signs");
        let (ticket, expires) = ours.live_ticket(&token).expect("a ticket");
        assert!(expires > OffsetDateTime::now_utc().unix_timestamp());
        assert_eq!(
            ours.verify_live_ticket(&ticket),
            Some(Authenticated { user_id: user, role: Role::CorporateTrainee })
        );
        assert_eq!(ours.verify(&ticket), None, "a ticket is no access token");
        assert_eq!(ours.verify_live_ticket(&token), None, "an access token is no ticket");
        let theirs = keys("ffffffffffffffffffffffffffffffff");
        assert_eq!(theirs.verify_live_ticket(&ticket), None, "another server's");
        let (body, _) = ticket.split_once('.').expect("two parts");
        assert_eq!(ours.verify_live_ticket(&format!("{body}.AAAAAAAAAAAAAAAAAAAAAA")), None, "a forged tag");
        assert_eq!(ours.live_ticket("not a token"), None);
        ours.sessions().learn(user, 1);
        assert_eq!(ours.verify_live_ticket(&ticket), None, "the sessions ended");
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
        let claims = Claims {
            sub: Uuid::now_v7(),
            role: Role::Admin,
            iss: ISSUER.into(),
            iat: now - 120,
            exp: now - 60,
            r#gen: 0,
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &keys.encoding).expect("signs");
        assert_eq!(keys.verify(&token), None);
    }

    #[test]
    fn a_token_older_than_a_day_is_refused_whatever_its_expiry() {
        let keys = keys("0123456789abcdef0123456789abcdef");
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let (sub, day) = (Uuid::now_v7(), 24 * 60 * 60);
        let claims =
            Claims { sub, role: Role::Admin, iss: ISSUER.into(), iat: now - day - 10, exp: now + 60, r#gen: 0 };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &keys.encoding).expect("signs");
        assert_eq!(keys.verify(&token), None);
        let long = keys.issue(sub, Role::Admin, Duration::from_secs(10 * day as u64)).expect("signs");
        let exp = jsonwebtoken::decode::<Claims>(&long, &keys.decoding, &keys.validation).expect("valid").claims.exp;
        assert!(exp <= now + day + 5, "a token is signed for a day at most");
    }

    #[test]
    fn a_token_of_an_earlier_session_generation_is_refused() {
        let keys = keys("0123456789abcdef0123456789abcdef");
        let (user, other) = (Uuid::now_v7(), Uuid::now_v7());
        let first = keys.issue(user, Role::IndividualTrainee, Duration::from_secs(60)).expect("signs");
        let untouched = keys.issue(other, Role::IndividualTrainee, Duration::from_secs(60)).expect("signs");
        keys.sessions().learn(user, 1);
        assert_eq!(keys.verify(&first), None, "ended with the account's sessions");
        assert!(keys.verify(&untouched).is_some(), "another account's tokens stay good");
        let second = keys.issue_for(user, Role::IndividualTrainee, 1, Duration::from_secs(60)).expect("signs");
        assert!(keys.verify(&second).is_some());
        keys.sessions().learn(user, 0);
        assert_eq!(keys.verify(&first), None, "a generation never moves back");
    }

    #[test]
    fn a_short_secret_is_refused_at_start_up() {
        assert!(TokenKeys::new(&SecretString::from("short".to_owned())).is_err());
    }
}
