//! The black-box test harness. It starts one real, throwaway PostgreSQL cluster per test run, gives each test
//! its own database (cloned from a migrated template, dropped afterwards), and runs the services in-process
//! on port 0. Nothing here mocks PostgreSQL.

pub mod app;
pub mod browser;
pub mod database;
pub mod kafka;
pub mod pdf;
pub mod process;
pub mod prometheus;
pub mod python;
pub mod smtp;

pub use app::TestApp;
pub use database::{TestDatabase, test_database};

/// Logs for failing tests: `RUST_LOG=debug cargo test`.
pub fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()))
        .with_test_writer()
        .try_init();
}
