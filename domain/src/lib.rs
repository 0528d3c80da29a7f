//! The pure domain: one decider per aggregate, `decide(&State, Command) -> Result<Decided<Outcome>, Rejection>`
//! (a command carries whose stream it is, who asks and the facts loaded for it; a `Decided` the events, the
//! effects recorded beside them and what the sender learns) and `evolve(State, &Event) -> State`, each aggregate folding the events of its own family exhaustively
//! (`families.rs`: an event an aggregate forgets does not compile). No async, no database, HTTP or Kafka types: the data a decision needs is
//! loaded first and passed in, so every rule is tested as given(events) / when(command) / then(events or
//! rejection).

pub mod account;
pub mod cart;
pub mod conversation;
pub mod course;
pub mod course_content;
pub mod discount;
pub mod effects;
pub mod enrollment;
pub mod families;
pub mod fx;
#[cfg(test)]
mod given;
pub mod instructor;
pub mod newsletter;
pub mod notebook;
pub mod order;
pub mod review;
pub mod support;
pub mod wallet;
pub mod youtube;

use events::Event;

/// The longest text any field takes, in characters; the HTTP edge refuses longer text before a decider sees
/// it (`api_contract::text::MAX_TEXT_CHARS`, which `command-api` checks is the same at compile time).
pub const LONGEST_TEXT_CHARS: usize = 100 * 1024;

/// An aggregate's state, rebuilt by folding its events. Kept in the write side's state cache, hence the
/// bounds.
pub trait Aggregate: Default + Clone + Send + Sync + 'static {
    fn evolve(self, event: &Event) -> Self;

    fn from_events<'a>(events: impl IntoIterator<Item = &'a Event>) -> Self {
        events.into_iter().fold(Self::default(), Self::evolve)
    }
}

/// A field that failed validation, before any rule about state is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub field: &'static str,
    pub message: String,
    /// The rule's own problem code when the field breaks a rule no schema of one field can state (it is well
    /// formed on its own: a date before another, a subcategory of another category); `None` for a field out of
    /// its published shape (`validation_failed`).
    pub rule: Option<&'static str>,
}

impl Violation {
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        Violation { field, message: message.into(), rule: None }
    }

    /// A violation of rule `code` that relates fields (or a field and the aggregate's state).
    pub fn of_rule(code: &'static str, field: &'static str, message: impl Into<String>) -> Self {
        Violation { field, message: message.into(), rule: Some(code) }
    }
}
