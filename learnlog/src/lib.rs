//! The one binary a person runs. It composes the services; it has no business logic of its own.
//!
//! - [`app::App`] binds one listener and runs the chosen roles (command API, query API, projector) until a
//!   shutdown future completes;
//! - [`embedded`] starts a PostgreSQL cluster of our own in the data folder when no `DATABASE_URL` is given;
//! - [`config::Config`] is the one typed configuration, read from the environment.

pub mod admin;
pub mod analytics;
pub mod app;
pub mod archive;
pub mod bench;
pub mod cluster;
pub mod config;
pub mod demo;
pub mod embedded;
pub mod error;
pub mod fx_rates;
pub mod metrics;
pub mod operations;
pub mod rebuild;
pub mod secret;
pub mod sessions;

pub use app::{App, Role};
pub use config::Config;
pub use error::Error;
