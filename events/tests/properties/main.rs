//! Property tests of the event catalogue's contract: the stored encoding ([`events::codec`]), the envelope's
//! decoding and upcasting ([`events::envelope`]) and the Kafka record ([`events::wire`]), each run on generated
//! input. Pure: nothing but the golden fixtures is read, and nothing is written.

mod codec;
mod generated;
mod wire;

use proptest::test_runner::Config;
use std::path::PathBuf;

/// Enough cases to find a slip, few enough for the fast tier; a failure prints its smallest case instead of
/// writing a regression file.
pub fn config() -> Config {
    Config { cases: 256, failure_persistence: None, ..Config::default() }
}

/// This package's folder as the test runs, where cargo says it is. The one compiled in names the checkout the
/// binary was built in, which a shared target directory may have built from another checkout.
pub fn package_dir() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR").map_or_else(|| env!("CARGO_MANIFEST_DIR").into(), Into::into)
}
