//! The HTTP contract of API.md that the command API and the query API share, so that both answer errors,
//! tokens and bodies the same way without the read side linking the write side (ADR 0002).
//!
//! Invariants kept here:
//! - every error leaves as RFC 9457 problem JSON and never carries SQL, stack traces or secrets ([`problem`]);
//! - request bodies are parsed strictly: not JSON, wrong types or unknown fields are `400 malformed_request`,
//!   a wrong content type `415`, an oversized body `413` ([`body`]);
//! - text that PostgreSQL cannot store, or that holds control characters, is refused at the edge, in bodies,
//!   paths and query strings alike ([`text`]);
//! - the actor comes only from a verified bearer token ([`auth`]).

pub mod auth;
pub mod body;
mod certificate_codes;
pub mod client_address;
pub mod consistency;
pub mod edge;
pub mod fields;
pub mod metrics;
pub mod problem;
pub mod query;
pub mod routes;
pub mod serve;
pub mod text;

pub use auth::{
    Authenticated, MAX_TOKEN_AGE, SessionGenerations, TokenError, TokenKeys, WeakSessionGenerations, live_caller,
};
pub use body::{BytesCommand, EmptyCommand, JsonCommand, PathId, PathIds, request_digest};
pub use certificate_codes::CertificateCodes;
pub use client_address::{ClientAddress, TrustedProxies};
pub use consistency::{ConsistencyKey, ConsistencyToken};
pub use edge::{Edge, Readiness, Timeouts, finish};
pub use metrics::Samplers;
pub use problem::{FieldError, Problem};
pub use query::Params;
pub use routes::{
    ApiRoutes, BodySchema, MAX_PAGE, MAX_PAGE_SIZE, MAX_WHOLE, OPENAPI_PATH, Operation, SEARCH_MAX_CHARS, Who, openapi,
    openapi_router,
};
pub use serve::serve;

/// The largest request body accepted by default (API.md).
pub const DEFAULT_BODY_LIMIT: usize = 1024 * 1024;
