//! Property tests of the event catalogue's contract: the stored encoding ([`events::codec`]), the envelope's
//! decoding and upcasting ([`events::envelope`]) and the Kafka record ([`events::wire`]), each run on generated
//! input. Pure: nothing but the golden fixtures is read, and nothing is written.

mod codec;
mod generated;
mod wire;

use proptest::test_runner::Config;

/// Enough cases to find a slip, few enough for the fast tier; a failure prints its smallest case instead of
/// writing a regression file.
pub fn config() -> Config {
    Config { cases: 256, failure_persistence: None, ..Config::default() }
}

#[path = "../support/mod.rs"]
mod support;

pub use support::package_dir;
