//! The write side: HTTP commands and authentication at the edge, running the pure deciders of the `domain`
//! crate (re-exported as `command_api::domain`).
//!
//! A command is parsed at the edge, decided by a pure decider over the aggregate's events, and appended with
//! the version it was decided on. It answers only once its events are durably appended. This crate never
//! reads a read model to enforce an invariant.

pub mod credentials;
pub use ::domain;

// The deciders' longest text is the edge's: a text the edge lets through is never refused for its length alone.
const _: () = assert!(domain::LONGEST_TEXT_CHARS == api_contract::text::MAX_TEXT_CHARS);
mod http;
pub mod payments;

pub use http::StepError;
pub use http::{
    CardPayments, Cause, Checkout, CommandApiState, DEFAULT_FRONTEND_URL, DEFAULT_SIGN_UPS_PER_HOUR, Enrolment, FxFeed,
    Learning, Limits, Newsletter, PictureCleanup, Recipient, WalletPayment, create_first_admin, router, routes,
};
