//! Stream naming and bounded contexts. Stream ids are `<aggregate>-<id>`; the prefix tells the context.

use uuid::Uuid;

/// A bounded context of DOMAIN.md; each has its own Kafka topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Context {
    Identity,
    Catalog,
    Learning,
    Commerce,
    Support,
    Engagement,
    Communication,
}

impl Context {
    /// The short name used in topic names (`learnlog.<name>.events.v1`).
    pub fn name(self) -> &'static str {
        match self {
            Context::Identity => "identity",
            Context::Catalog => "catalog",
            Context::Learning => "learning",
            Context::Commerce => "commerce",
            Context::Support => "support",
            Context::Engagement => "engagement",
            Context::Communication => "comms",
        }
    }
}

/// The stream of one course aggregate.
pub fn course_stream(course_id: Uuid) -> String {
    format!("course-{course_id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn course_streams_are_prefixed_with_the_aggregate_name() {
        let id = Uuid::nil();
        assert_eq!(course_stream(id), "course-00000000-0000-0000-0000-000000000000");
    }
}
