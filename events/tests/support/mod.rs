//! What the `events` test binaries share.

use std::path::PathBuf;

/// This package's folder as the test runs, where cargo says it is. The one compiled in names the checkout the
/// binary was built in, which a shared target directory may have built from another checkout.
pub fn package_dir() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR").map_or_else(|| env!("CARGO_MANIFEST_DIR").into(), Into::into)
}
