//! The write side: HTTP commands, authentication at the edge, and the pure deciders they run.
//!
//! A command is parsed at the edge, decided by a pure decider over the aggregate's events, and appended with
//! the version it was decided on. It answers only once its events are durably appended. This crate never
//! reads a read model to enforce an invariant.

pub mod credentials;
pub mod domain;
mod http;
pub mod payments;
pub mod side_writes;
pub mod stream_cache;
pub mod stream_locks;

pub use http::{
    CardPayments, Cause, Checkout, CommandApiState, DEFAULT_FRONTEND_URL, DEFAULT_SIGN_UPS_PER_HOUR, Enrolment,
    Learning, Limits, Newsletter, Recipient, WalletPayment, create_first_admin, router, routes,
};
