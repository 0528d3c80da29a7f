//! Discounts of a course (R11): a percent from 0 to 100 over a window of days, both ends included; the
//! windows of one course never overlap, checked on creation and on every update (the original missed both
//! containment and updates).

use events::Event;
use events::content::{DiscountAdded, DiscountIssuer, DiscountRemoved, DiscountUpdated};
use time::Date;
use uuid::Uuid;

use super::Violation;

pub const MAX_DISCOUNTS: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub starts_on: Date,
    pub ends_on: Date,
}

impl Window {
    /// Inclusive windows overlap when each starts before the other ends.
    pub fn overlaps(self, other: Window) -> bool {
        self.starts_on <= other.ends_on && other.starts_on <= self.ends_on
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Discount {
    pub id: Uuid,
    pub percent: u8,
    pub window: Window,
}

/// The percent off on `day`: the discount whose window holds it (windows never overlap), else 0.
pub fn percent_on(discounts: &[Discount], day: Date) -> u8 {
    discounts.iter().find(|d| d.window.starts_on <= day && day <= d.window.ends_on).map_or(0, |d| d.percent)
}

/// The price after `percent` off, rounded half up to the cent (R11): what the catalogue shows and an order
/// charges.
pub fn discounted(list_price_cents: i64, percent: u8) -> i64 {
    let percent = i64::from(percent.min(100));
    (list_price_cents * (100 - percent) + 50) / 100
}

/// A change to a course's discounts: one of the course stream's three discount events.
#[derive(Debug, Clone, Copy)]
pub enum DiscountChange<'a> {
    Added(&'a DiscountAdded),
    Updated(&'a DiscountUpdated),
    Removed(&'a DiscountRemoved),
}

pub fn evolve(mut discounts: Vec<Discount>, change: DiscountChange<'_>) -> Vec<Discount> {
    match change {
        DiscountChange::Added(e) => {
            let window = Window { starts_on: e.starts_on, ends_on: e.ends_on };
            discounts.push(Discount { id: e.discount_id, percent: e.percent, window });
        }
        DiscountChange::Updated(e) => {
            if let Some(discount) = discounts.iter_mut().find(|d| d.id == e.discount_id) {
                discount.percent = e.percent;
                discount.window = Window { starts_on: e.starts_on, ends_on: e.ends_on };
            }
        }
        DiscountChange::Removed(e) => discounts.retain(|d| d.id != e.discount_id),
    }
    discounts
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DiscountCommand {
    Add { discount_id: Uuid, percent: i64, window: Window, issued_by: DiscountIssuer },
    Update { discount_id: Uuid, percent: i64, window: Window },
    Remove { discount_id: Uuid },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DiscountRejection {
    NotFound,
    Invalid(Vec<Violation>),
    /// The window overlaps the window of another discount of the course.
    Overlaps(Uuid),
}

fn check(percent: i64, window: Window, others: &[Discount]) -> Result<u8, DiscountRejection> {
    let mut found = Vec::new();
    let percent = u8::try_from(percent).ok().filter(|p| *p <= 100);
    if percent.is_none() {
        found.push(Violation::new("percent", "must be from 0 to 100"));
    }
    if window.ends_on < window.starts_on {
        found.push(Violation::of_rule("invalid_period", "ends_on", "must not be before starts_on"));
    }
    match percent {
        Some(percent) if found.is_empty() => match others.iter().find(|d| d.window.overlaps(window)) {
            Some(other) => Err(DiscountRejection::Overlaps(other.id)),
            None => Ok(percent),
        },
        _ => Err(DiscountRejection::Invalid(found)),
    }
}

/// What changing the `discounts` of course `course_id` with `command` records: a part of the course's decider
/// (`course::decide`), which checks who asks first.
pub(crate) fn change(
    course_id: Uuid,
    discounts: &[Discount],
    command: DiscountCommand,
) -> Result<Vec<Event>, DiscountRejection> {
    match command {
        DiscountCommand::Add { discount_id, percent, window, issued_by } => {
            if discounts.len() >= MAX_DISCOUNTS {
                let message = format!("a course holds at most {MAX_DISCOUNTS} discounts");
                return Err(DiscountRejection::Invalid(vec![Violation::new("discounts", message)]));
            }
            let percent = check(percent, window, discounts)?;
            Ok(vec![Event::DiscountAdded(DiscountAdded {
                course_id,
                discount_id,
                percent,
                starts_on: window.starts_on,
                ends_on: window.ends_on,
                issued_by,
            })])
        }
        DiscountCommand::Update { discount_id, percent, window } => {
            if !discounts.iter().any(|d| d.id == discount_id) {
                return Err(DiscountRejection::NotFound);
            }
            let others: Vec<Discount> = discounts.iter().copied().filter(|d| d.id != discount_id).collect();
            let percent = check(percent, window, &others)?;
            Ok(vec![Event::DiscountUpdated(DiscountUpdated {
                course_id,
                discount_id,
                percent,
                starts_on: window.starts_on,
                ends_on: window.ends_on,
            })])
        }
        DiscountCommand::Remove { discount_id } => {
            if !discounts.iter().any(|d| d.id == discount_id) {
                return Err(DiscountRejection::NotFound);
            }
            Ok(vec![Event::DiscountRemoved(DiscountRemoved { course_id, discount_id })])
        }
    }
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;

    fn window(starts_on: Date, ends_on: Date) -> Window {
        Window { starts_on, ends_on }
    }

    fn add(id: u128, percent: i64, window: Window) -> DiscountCommand {
        DiscountCommand::Add {
            discount_id: Uuid::from_u128(id),
            percent,
            window,
            issued_by: DiscountIssuer::Instructor,
        }
    }

    fn given(commands: Vec<DiscountCommand>) -> Vec<Discount> {
        commands.into_iter().fold(Vec::new(), |discounts, command| {
            let events = change(Uuid::nil(), &discounts, command).expect("valid history");
            events.iter().fold(discounts, |discounts, event| match event {
                Event::DiscountAdded(e) => evolve(discounts, DiscountChange::Added(e)),
                Event::DiscountUpdated(e) => evolve(discounts, DiscountChange::Updated(e)),
                Event::DiscountRemoved(e) => evolve(discounts, DiscountChange::Removed(e)),
                other => panic!("a discount decision made {other:?}"),
            })
        })
    }

    #[test]
    fn the_discount_of_a_day_is_the_one_whose_window_holds_it_and_prices_round_half_up() {
        let existing = given(vec![add(1, 10, window(date!(2026 - 11 - 10), date!(2026 - 11 - 20)))]);
        assert_eq!(percent_on(&existing, date!(2026 - 11 - 09)), 0);
        assert_eq!(percent_on(&existing, date!(2026 - 11 - 10)), 10);
        assert_eq!(percent_on(&existing, date!(2026 - 11 - 20)), 10);
        assert_eq!(percent_on(&existing, date!(2026 - 11 - 21)), 0);
        assert_eq!(discounted(1999, 10), 1799, "1799.1 rounds down");
        assert_eq!(discounted(1995, 10), 1796, "1795.5 rounds up");
        assert_eq!(discounted(1999, 0), 1999);
        assert_eq!(discounted(1999, 100), 0);
    }

    #[test]
    fn a_discount_is_zero_to_one_hundred_percent_over_an_ordered_window() {
        let november = window(date!(2026 - 11 - 01), date!(2026 - 11 - 30));
        for percent in [0, 100] {
            assert!(change(Uuid::nil(), &[], add(1, percent, november)).is_ok(), "{percent}");
        }
        for percent in [-1, 101, 300] {
            let refused = change(Uuid::nil(), &[], add(1, percent, november));
            assert!(matches!(refused, Err(DiscountRejection::Invalid(v)) if v[0].field == "percent"), "{percent}");
        }
        let backwards = window(date!(2026 - 11 - 30), date!(2026 - 11 - 01));
        let refused = change(Uuid::nil(), &[], add(1, 10, backwards));
        assert!(matches!(refused, Err(DiscountRejection::Invalid(v)) if v[0].field == "ends_on"));
        let one_day = window(date!(2026 - 11 - 01), date!(2026 - 11 - 01));
        assert!(change(Uuid::nil(), &[], add(1, 10, one_day)).is_ok());
    }

    #[test]
    fn windows_never_overlap_not_even_by_containment_or_a_shared_day() {
        let existing = given(vec![add(1, 10, window(date!(2026 - 11 - 10), date!(2026 - 11 - 20)))]);
        for (starts_on, ends_on) in [
            (date!(2026 - 11 - 01), date!(2026 - 11 - 10)),
            (date!(2026 - 11 - 20), date!(2026 - 11 - 25)),
            (date!(2026 - 11 - 12), date!(2026 - 11 - 15)),
            (date!(2026 - 11 - 01), date!(2026 - 12 - 31)),
        ] {
            let refused = change(Uuid::nil(), &existing, add(2, 5, window(starts_on, ends_on)));
            assert_eq!(refused, Err(DiscountRejection::Overlaps(Uuid::from_u128(1))), "{starts_on}..{ends_on}");
        }
        let after = window(date!(2026 - 11 - 21), date!(2026 - 11 - 30));
        assert!(change(Uuid::nil(), &existing, add(2, 5, after)).is_ok());
    }

    #[test]
    fn an_update_is_checked_against_the_other_windows_but_not_its_own() {
        let existing = given(vec![
            add(1, 10, window(date!(2026 - 11 - 01), date!(2026 - 11 - 10))),
            add(2, 20, window(date!(2026 - 11 - 20), date!(2026 - 11 - 30))),
        ]);
        let widen = DiscountCommand::Update {
            discount_id: Uuid::from_u128(1),
            percent: 15,
            window: window(date!(2026 - 11 - 01), date!(2026 - 11 - 19)),
        };
        assert!(change(Uuid::nil(), &existing, widen).is_ok());
        let into_the_next = DiscountCommand::Update {
            discount_id: Uuid::from_u128(1),
            percent: 15,
            window: window(date!(2026 - 11 - 01), date!(2026 - 11 - 20)),
        };
        assert_eq!(change(Uuid::nil(), &existing, into_the_next), Err(DiscountRejection::Overlaps(Uuid::from_u128(2))));
        let unknown = DiscountCommand::Remove { discount_id: Uuid::from_u128(9) };
        assert_eq!(change(Uuid::nil(), &existing, unknown), Err(DiscountRejection::NotFound));
    }
}
