//! How a decider's rejection is answered. The rejections are the `domain` crate's types and `Problem` is
//! `api-contract`'s, so the mapping is this crate's own trait rather than `From` (which Rust's orphan rule
//! keeps out of a crate that owns neither type). Each rejection's answers are written beside its routes.

use api_contract::Problem;

/// A rejection that HTTP answers with a problem.
pub(crate) trait Refusal {
    fn problem(self) -> Problem;
}

impl Refusal for Problem {
    fn problem(self) -> Problem {
        self
    }
}
