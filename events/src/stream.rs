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
    /// The context a stream belongs to, from its aggregate prefix (DOMAIN.md, "Bounded contexts").
    pub fn of_stream(stream_id: &str) -> Option<Context> {
        let prefix = stream_id.split_once('-').map_or(stream_id, |(prefix, _)| prefix);
        Some(match prefix {
            "user" => Context::Identity,
            "course" => Context::Catalog,
            "enrollment" | "notebook" => Context::Learning,
            "cart" | "wishlist" | "order" | "wallet" | "ledger" | "fx" => Context::Commerce,
            "ticket" | "access" => Context::Support,
            "creview" | "ireview" => Context::Engagement,
            "nl" | "campaign" | "conv" => Context::Communication,
            _ => return None,
        })
    }

    pub const ALL: [Context; 7] = [
        Context::Identity,
        Context::Catalog,
        Context::Learning,
        Context::Commerce,
        Context::Support,
        Context::Engagement,
        Context::Communication,
    ];

    /// The Kafka topic of this context: `<prefix>learnlog.<name>.events.v1`.
    pub fn topic(self, prefix: &str) -> String {
        format!("{prefix}learnlog.{}.events.v1", self.name())
    }

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

/// The stream of one user account.
pub fn user_stream(user_id: Uuid) -> String {
    format!("user-{user_id}")
}

/// The stream of one course aggregate.
pub fn course_stream(course_id: Uuid) -> String {
    format!("course-{course_id}")
}

/// `fx-{currency}`: the exchange rate of one currency against the US dollar.
pub fn fx_stream(currency: &str) -> String {
    format!("fx-{currency}")
}

/// `cart-{trainee}`: one individual trainee's cart.
pub fn cart_stream(trainee_id: Uuid) -> String {
    format!("cart-{trainee_id}")
}

/// `wishlist-{trainee}`: one individual trainee's wishlist.
pub fn wishlist_stream(trainee_id: Uuid) -> String {
    format!("wishlist-{trainee_id}")
}

/// `order-{uuid}`: one order.
pub fn order_stream(order_id: Uuid) -> String {
    format!("order-{order_id}")
}

/// `wallet-{trainee}`: one trainee's wallet.
pub fn wallet_stream(trainee_id: Uuid) -> String {
    format!("wallet-{trainee_id}")
}

/// `enrollment-{trainee}-{course}`: deterministic, so one trainee has at most one enrolment per course.
pub fn enrollment_stream(trainee_id: Uuid, course_id: Uuid) -> String {
    format!("{ENROLLMENT_PREFIX}{trainee_id}-{course_id}")
}

/// `notebook-{trainee}`: one trainee's notes, per course.
pub fn notebook_stream(trainee_id: Uuid) -> String {
    format!("notebook-{trainee_id}")
}

/// `creview-{course}-{trainee}`: one trainee's review of one course (D7: one per trainee and course).
pub fn course_review_stream(course_id: Uuid, trainee_id: Uuid) -> String {
    format!("creview-{course_id}-{trainee_id}")
}

/// `ireview-{instructor}-{trainee}`: one trainee's review of one instructor.
pub fn instructor_review_stream(instructor_id: Uuid, trainee_id: Uuid) -> String {
    format!("ireview-{instructor_id}-{trainee_id}")
}

/// `ticket-{id}`: one support ticket.
pub fn ticket_stream(report_id: Uuid) -> String {
    format!("ticket-{report_id}")
}

/// `access-{trainee}-{course}`: a corporate trainee's one access request for a course (R6).
pub fn access_stream(trainee_id: Uuid, course_id: Uuid) -> String {
    format!("access-{trainee_id}-{course_id}")
}

/// `nl-{label}`: the newsletter subscription of one address, named by its keyed label (R: one per email).
pub fn newsletter_stream(label: &str) -> String {
    format!("nl-{label}")
}

/// `campaign-{id}`: one newsletter campaign and the recipients it was queued to.
pub fn campaign_stream(campaign_id: Uuid) -> String {
    format!("campaign-{campaign_id}")
}

/// `conv-{a}-{b}`: the one conversation of two people, the smaller id first whoever writes.
pub fn conversation_stream(one: Uuid, other: Uuid) -> String {
    let (a, b) = if one <= other { (one, other) } else { (other, one) };
    format!("conv-{a}-{b}")
}

/// Enrolment streams are `enrollment-{trainee}-{course}` (DOMAIN.md, Learning): one per trainee and course.
pub const ENROLLMENT_PREFIX: &str = "enrollment-";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stream_id_names_its_context_and_topic() {
        assert_eq!(Context::of_stream(&course_stream(Uuid::nil())), Some(Context::Catalog));
        assert_eq!(Context::of_stream("wallet-1"), Some(Context::Commerce));
        assert_eq!(Context::of_stream("mystery-1"), None);
        assert_eq!(Context::Catalog.topic("t1."), "t1.learnlog.catalog.events.v1");
    }

    #[test]
    fn course_streams_are_prefixed_with_the_aggregate_name() {
        let id = Uuid::nil();
        assert_eq!(course_stream(id), "course-00000000-0000-0000-0000-000000000000");
    }
}
