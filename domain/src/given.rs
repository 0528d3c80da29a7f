//! The one given / when / then of every decider's tests: given a history (its events, or commands each decided
//! on the state the ones before left), when a command, then its events or its refusal.

use std::fmt::Debug;

use events::Event;

use crate::Aggregate;
use crate::effects::Decided;

/// The state after `history`.
pub(crate) fn given<A: Aggregate>(history: &[Event]) -> A {
    A::from_events(history)
}

/// The state after `commands`, each decided by `decide` on the state the ones before left, as the pipeline
/// would; every one of them must be accepted.
pub(crate) fn given_commands<A, C, O, R>(
    commands: impl IntoIterator<Item = C>,
    decide: impl Fn(&A, C) -> Result<Decided<O>, R>,
) -> A
where
    A: Aggregate,
    R: Debug,
{
    commands.into_iter().fold(A::default(), |state, command| {
        let decided = decide(&state, command).unwrap_or_else(|refusal| panic!("the history was refused: {refusal:?}"));
        then(state, &decided.events)
    })
}

/// The events of a decision (or its refusal), for a test that looks at the events alone.
pub(crate) fn when<O, R>(decided: Result<Decided<O>, R>) -> Result<Vec<Event>, R> {
    decided.map(|decided| decided.events)
}

/// `state` with `events` folded in: what a decision leaves.
pub(crate) fn then<A: Aggregate>(state: A, events: &[Event]) -> A {
    events.iter().fold(state, A::evolve)
}
