//! Rebuilds this crate whenever a migration file is added or changed: the migrations are embedded at compile
//! time, and Cargo would otherwise not notice a new file.

fn main() {
    println!("cargo:rerun-if-changed=sql");
}
