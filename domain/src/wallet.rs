//! The Wallet aggregate (R16; stream `wallet-{trainee}`): USD cents that never go below zero. Every credit
//! and debit carries an operation id (an order, a refund, an admin's credit) and happens at most once: the
//! same operation again changes nothing and gets the same answer, a refused debit included.
//!
//! A wallet may hold 100,000 entries; its state keeps only the balance and the operations' outcomes, and the
//! write side's state cache spares a command from reading the stream whole.

use std::collections::HashMap;

use events::Event;
use events::commerce::{CreditReason, WalletCredited, WalletDebitRefused, WalletDebited};
use uuid::Uuid;

use super::{Aggregate, Violation};
use crate::effects::Decided;
use crate::families::WalletEvent;

/// The most one credit adds: USD 1,000,000.00.
pub const MAX_CREDIT_CENTS: i64 = 100_000_000;
pub const NOTE_MAX_CHARS: usize = 500;

/// What became of an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Credited(i64),
    Debited(i64),
    Refused(i64),
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Wallet {
    pub balance_cents: i64,
    pub operations: HashMap<String, Operation>,
}

impl Aggregate for Wallet {
    fn evolve(mut self, event: &Event) -> Self {
        let Some(event) = WalletEvent::of(event) else { return self };
        match event {
            WalletEvent::WalletCredited(e) => {
                self.balance_cents = e.balance_cents;
                self.operations.insert(e.operation_id.clone(), Operation::Credited(e.amount_cents));
            }
            WalletEvent::WalletDebited(e) => {
                self.balance_cents = e.balance_cents;
                self.operations.insert(e.operation_id.clone(), Operation::Debited(e.amount_cents));
            }
            WalletEvent::WalletDebitRefused(e) => {
                self.operations.insert(e.operation_id.clone(), Operation::Refused(e.amount_cents));
            }
        }
        self
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WalletCommand {
    Credit { trainee_id: Uuid, operation_id: String, amount_cents: i64, reason: CreditReason, note: Option<String> },
    Debit { trainee_id: Uuid, operation_id: String, order_id: Uuid, amount_cents: i64 },
}

/// How a debit ended: paid, or refused for a balance below the amount (recorded, so it stays refused).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DebitOutcome {
    Paid,
    Refused { balance_cents: i64 },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WalletRejection {
    Invalid(Vec<Violation>),
    /// The operation id was used before for another amount or another kind of operation.
    OperationReused,
}

/// Decides a credit or a debit; the outcome says whether a debit was paid.
pub fn decide(wallet: &Wallet, command: WalletCommand) -> Result<Decided<DebitOutcome>, WalletRejection> {
    match command {
        WalletCommand::Credit { trainee_id, operation_id, amount_cents, reason, note } => {
            let mut found = Vec::new();
            if !(1..=MAX_CREDIT_CENTS).contains(&amount_cents) {
                found.push(Violation::new("amount_cents", format!("must be from 1 to {MAX_CREDIT_CENTS}")));
            }
            let blank = note.as_ref().is_none_or(|note| note.trim().is_empty());
            if reason == CreditReason::AdminCredit && blank {
                found.push(Violation::new("reason", "must say why the money is given"));
            }
            if note.as_ref().is_some_and(|note| note.chars().count() > NOTE_MAX_CHARS) {
                found.push(Violation::new("reason", format!("must be at most {NOTE_MAX_CHARS} characters")));
            }
            if !found.is_empty() {
                return Err(WalletRejection::Invalid(found));
            }
            match wallet.operations.get(&operation_id) {
                Some(Operation::Credited(amount)) if *amount == amount_cents => {
                    Ok(Decided::with_outcome(Vec::new(), DebitOutcome::Paid))
                }
                Some(_) => Err(WalletRejection::OperationReused),
                None => {
                    let balance_cents = wallet.balance_cents + amount_cents;
                    let credited =
                        WalletCredited { trainee_id, operation_id, amount_cents, reason, note, balance_cents };
                    Ok(Decided::with_outcome(vec![Event::WalletCredited(credited)], DebitOutcome::Paid))
                }
            }
        }
        WalletCommand::Debit { trainee_id, operation_id, order_id, amount_cents } => {
            if amount_cents < 0 {
                return Err(WalletRejection::Invalid(vec![Violation::new("amount_cents", "must be >= 0")]));
            }
            let balance_cents = wallet.balance_cents;
            match wallet.operations.get(&operation_id) {
                Some(Operation::Debited(amount)) if *amount == amount_cents => {
                    Ok(Decided::with_outcome(Vec::new(), DebitOutcome::Paid))
                }
                Some(Operation::Refused(amount)) if *amount == amount_cents => {
                    Ok(Decided::with_outcome(Vec::new(), DebitOutcome::Refused { balance_cents }))
                }
                Some(_) => Err(WalletRejection::OperationReused),
                None if amount_cents > balance_cents => {
                    let refused =
                        WalletDebitRefused { trainee_id, operation_id, order_id, amount_cents, balance_cents };
                    Ok(Decided::with_outcome(
                        vec![Event::WalletDebitRefused(refused)],
                        DebitOutcome::Refused { balance_cents },
                    ))
                }
                None => {
                    let balance_cents = balance_cents - amount_cents;
                    let debited = WalletDebited { trainee_id, operation_id, order_id, amount_cents, balance_cents };
                    Ok(Decided::with_outcome(vec![Event::WalletDebited(debited)], DebitOutcome::Paid))
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::given::given_commands;

    const TRAINEE: Uuid = Uuid::from_u128(1);
    const ORDER: Uuid = Uuid::from_u128(2);

    fn credit(operation: &str, amount_cents: i64) -> WalletCommand {
        WalletCommand::Credit {
            trainee_id: TRAINEE,
            operation_id: operation.into(),
            amount_cents,
            reason: CreditReason::AdminCredit,
            note: Some("goodwill".into()),
        }
    }

    fn debit(operation: &str, amount_cents: i64) -> WalletCommand {
        WalletCommand::Debit { trainee_id: TRAINEE, operation_id: operation.into(), order_id: ORDER, amount_cents }
    }

    #[test]
    fn a_credit_adds_to_the_balance_once_per_operation() {
        let wallet = given_commands(vec![credit("a", 500)], decide);
        assert_eq!(wallet.balance_cents, 500);
        assert_eq!(decide(&wallet, credit("a", 500)), Ok(Decided::with_outcome(Vec::new(), DebitOutcome::Paid)));
        assert_eq!(decide(&wallet, credit("a", 700)), Err(WalletRejection::OperationReused));
        assert_eq!(given_commands(vec![credit("a", 500), credit("a", 500), credit("b", 1)], decide).balance_cents, 501);
    }

    #[test]
    fn a_credit_is_a_positive_amount_up_to_a_million_dollars() {
        for amount in [0, -1, MAX_CREDIT_CENTS + 1] {
            assert!(matches!(decide(&Wallet::default(), credit("a", amount)), Err(WalletRejection::Invalid(_))));
        }
    }

    #[test]
    fn a_debit_never_takes_the_balance_below_zero_and_its_refusal_is_final() {
        let wallet = given_commands(vec![credit("a", 500)], decide);
        let Decided { events, outcome, .. } = decide(&wallet, debit("order", 501)).expect("decided");
        assert_eq!(outcome, DebitOutcome::Refused { balance_cents: 500 });
        assert!(matches!(events[..], [Event::WalletDebitRefused(_)]));
        let wallet = events.iter().fold(wallet, Wallet::evolve);
        assert_eq!(wallet.balance_cents, 500);

        let richer = given_commands(vec![credit("a", 500), debit("order", 501), credit("b", 1_000)], decide);
        let again = decide(&richer, debit("order", 501));
        assert_eq!(
            again,
            Ok(Decided::with_outcome(Vec::new(), DebitOutcome::Refused { balance_cents: 1_500 })),
            "the same operation stays refused"
        );
    }

    #[test]
    fn a_debit_of_the_whole_balance_pays_once() {
        let wallet = given_commands(vec![credit("a", 500), debit("order", 500)], decide);
        assert_eq!(wallet.balance_cents, 0);
        assert_eq!(decide(&wallet, debit("order", 500)), Ok(Decided::with_outcome(Vec::new(), DebitOutcome::Paid)));
        assert_eq!(decide(&wallet, debit("order", 400)), Err(WalletRejection::OperationReused));
        let Decided { outcome, .. } = decide(&wallet, debit("other", 1)).expect("decided");
        assert_eq!(outcome, DebitOutcome::Refused { balance_cents: 0 });
    }
}

#[cfg(test)]
mod properties {
    use std::collections::HashSet;

    use proptest::prelude::*;

    use super::*;
    use crate::given::then;

    const TRAINEE: Uuid = Uuid::from_u128(1);

    /// Enough cases to find a slip, few enough for the fast tier; no regression files are written.
    fn config() -> ProptestConfig {
        ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() }
    }

    /// A credit or a debit of a small (or a limit's) amount under one of a few operation ids, so that ids come
    /// back, for the same operation or another kind.
    fn command() -> impl Strategy<Value = WalletCommand> {
        let operation = (0..6_u8).prop_map(|n| format!("op-{n}"));
        let amount = prop_oneof![8 => -2..=2_000_i64, 1 => Just(MAX_CREDIT_CENTS), 1 => Just(MAX_CREDIT_CENTS + 1)];
        let reason = prop_oneof![
            Just(CreditReason::AdminCredit),
            Just(CreditReason::OrderLineRefund),
            Just(CreditReason::Refund)
        ];
        let note = prop::option::of(prop_oneof![Just(" "), Just("goodwill")].prop_map(str::to_owned));
        prop_oneof![
            (operation.clone(), amount.clone(), reason, note).prop_map(|(operation_id, amount_cents, reason, note)| {
                WalletCommand::Credit { trainee_id: TRAINEE, operation_id, amount_cents, reason, note }
            }),
            (operation, amount, 0..3_u128).prop_map(|(operation_id, amount_cents, order)| WalletCommand::Debit {
                trainee_id: TRAINEE,
                operation_id,
                order_id: Uuid::from_u128(order),
                amount_cents,
            }),
        ]
    }

    proptest! {
        #![proptest_config(config())]

        #[test]
        fn a_wallet_never_goes_below_zero_and_holds_its_credits_less_its_debits(
            commands in prop::collection::vec(command(), 0..40),
        ) {
            let mut wallet = Wallet::default();
            let (mut credited, mut debited) = (0_i64, 0_i64);
            let mut operations = HashSet::new();
            for command in commands {
                // A refused command records nothing: the wallet stays the fold of what was accepted.
                let Ok(decided) = decide(&wallet, command.clone()) else { continue };
                for event in &decided.events {
                    let before = wallet.balance_cents;
                    let operation_id = match event {
                        Event::WalletCredited(e) => {
                            prop_assert!((1..=MAX_CREDIT_CENTS).contains(&e.amount_cents));
                            prop_assert_eq!(e.balance_cents, before + e.amount_cents);
                            credited += e.amount_cents;
                            &e.operation_id
                        }
                        Event::WalletDebited(e) => {
                            let paid = e.amount_cents;
                            prop_assert!((0..=before).contains(&paid), "paid {} of {}", paid, before);
                            prop_assert_eq!(e.balance_cents, before - e.amount_cents);
                            debited += e.amount_cents;
                            &e.operation_id
                        }
                        Event::WalletDebitRefused(e) => {
                            prop_assert!(e.amount_cents > before && e.balance_cents == before);
                            &e.operation_id
                        }
                        other => return Err(TestCaseError::fail(format!("a wallet records {}", other.event_type()))),
                    };
                    prop_assert!(operations.insert(operation_id.clone()), "{} happened twice", operation_id);
                    wallet = then(wallet, std::slice::from_ref(event));
                }
                prop_assert!(wallet.balance_cents >= 0, "balance {}", wallet.balance_cents);
                prop_assert_eq!(wallet.balance_cents, credited - debited);
                // The same operation again changes nothing and gets the same answer.
                let answer = match decided.outcome {
                    DebitOutcome::Paid => DebitOutcome::Paid,
                    DebitOutcome::Refused { .. } => DebitOutcome::Refused { balance_cents: wallet.balance_cents },
                };
                prop_assert_eq!(decide(&wallet, command), Ok(Decided::with_outcome(Vec::new(), answer)));
            }
        }
    }
}
