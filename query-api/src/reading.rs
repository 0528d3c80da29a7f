//! The one read error: a read model that could not be read is `503`, and its cause (logged once where the
//! answer is made, never sent) names what was being read, so an operator reading the log knows which list
//! failed.

use api_contract::Problem;

/// `map_err(reading("refund requests"))`: a failed read of `what`, with the error as the problem's cause.
pub(crate) fn reading<E: std::fmt::Display>(what: &'static str) -> impl Fn(E) -> Problem {
    move |error| Problem::unavailable().because(format!("reading {what} failed: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_read_names_what_was_read_in_its_cause_only() {
        let problem = reading("refund requests")("connection reset");
        assert_eq!(problem.status, http::StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(problem.cause.as_deref(), Some("reading refund requests failed: connection reset"));
        assert!(!problem.detail.contains("refund"), "the cause is not sent: {}", problem.detail);
    }
}
