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

/// This package's folder as the test runs, where cargo says it is. The one compiled in names the checkout the
/// binary was built in, which a shared target directory may have built from another checkout.
pub fn package_dir() -> std::path::PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR").map_or_else(|| env!("CARGO_MANIFEST_DIR").into(), Into::into)
}

/// Logs for failing tests: `RUST_LOG=debug cargo test`.
pub fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()))
        .with_test_writer()
        .try_init();
}
