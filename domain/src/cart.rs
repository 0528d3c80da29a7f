//! Carts and wishlists (R17, R25; streams `cart-{trainee}` and `wishlist-{trainee}`): an ordered set of
//! courses of one individual trainee. Only published courses go in, never twice, and never one the trainee
//! already owns; a course leaves when the trainee takes it out, buys it, or it stops being for sale.

use crate::effects::Decided;
use events::commerce::{CourseAddedToCart, CourseAddedToWishlist, CourseRemovedFromCart, CourseRemovedFromWishlist};
use events::{Actor, Event, Role};
use uuid::Uuid;

use super::Aggregate;
use super::course::CourseStatus;
use crate::families::ListEvent;

/// The most courses one cart or wishlist holds.
pub const MAX_COURSES: usize = 100;

/// Which of the two lists a stream is: they follow the same rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListKind {
    Cart,
    Wishlist,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CourseList {
    /// In the order they were added.
    pub courses: Vec<Uuid>,
}

impl Aggregate for CourseList {
    fn evolve(mut self, event: &Event) -> Self {
        let Some(event) = ListEvent::of(event) else { return self };
        match event {
            ListEvent::CourseAddedToCart(CourseAddedToCart { course_id, .. })
            | ListEvent::CourseAddedToWishlist(CourseAddedToWishlist { course_id, .. }) => {
                self.courses.push(*course_id)
            }
            ListEvent::CourseRemovedFromCart(CourseRemovedFromCart { course_id, .. })
            | ListEvent::CourseRemovedFromWishlist(CourseRemovedFromWishlist { course_id, .. }) => {
                self.courses.retain(|listed| listed != course_id);
            }
        }
        self
    }
}

/// What an addition is decided on: the course as the write side knows it, and whether the trainee holds an
/// active enrolment in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Offer {
    pub course: CourseStatus,
    pub owned: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListCommand {
    /// The trainee adds a course.
    Add { list: ListOf, actor: Actor, course_id: Uuid, offer: Offer },
    /// The trainee takes a course out; it must be there.
    Remove { list: ListOf, actor: Actor, course_id: Uuid },
    /// A saga takes a course out (bought, retired, deleted); nothing happens if it is not there.
    Withdraw { list: ListOf, course_id: Uuid },
    /// The trainee empties their list, or a saga does (`actor` none: the trainee's account is deleted or
    /// erased); nothing happens if it is empty.
    Clear { list: ListOf, actor: Option<Actor> },
}

/// Whose list, and which of their two.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListOf {
    pub kind: ListKind,
    pub trainee_id: Uuid,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListRejection {
    /// R17, R25: corporate trainees, instructors and admins have no cart or wishlist.
    NotAnIndividualTrainee,
    CourseNotFound,
    /// A draft, retired or deleted course: a client may hold its id from an old page, so it is told why.
    NotForSale,
    AlreadyListed,
    AlreadyEnrolled,
    NotListed,
    Full,
}

/// Decides `command` on a trainee's list.
pub fn decide(list: &CourseList, command: ListCommand) -> Result<Decided, ListRejection> {
    let trainee_acts =
        |of: ListOf, actor: &Actor| actor.role == Role::IndividualTrainee && actor.user_id == of.trainee_id;
    let listed = |course_id: Uuid| list.courses.contains(&course_id);
    match command {
        ListCommand::Add { list: of, actor, course_id, offer } => {
            if !trainee_acts(of, &actor) {
                return Err(ListRejection::NotAnIndividualTrainee);
            }
            match offer.course {
                CourseStatus::Missing => return Err(ListRejection::CourseNotFound),
                CourseStatus::Draft | CourseStatus::Retired | CourseStatus::Deleted => {
                    return Err(ListRejection::NotForSale);
                }
                CourseStatus::Published => {}
            }
            if listed(course_id) {
                return Err(ListRejection::AlreadyListed);
            }
            if offer.owned {
                return Err(ListRejection::AlreadyEnrolled);
            }
            if list.courses.len() >= MAX_COURSES {
                return Err(ListRejection::Full);
            }
            Ok(vec![added(of, course_id)])
        }
        ListCommand::Remove { list: of, actor, course_id } => {
            if !trainee_acts(of, &actor) {
                return Err(ListRejection::NotAnIndividualTrainee);
            }
            if !listed(course_id) {
                return Err(ListRejection::NotListed);
            }
            Ok(vec![removed(of, course_id)])
        }
        ListCommand::Withdraw { list: of, course_id } => {
            Ok(if listed(course_id) { vec![removed(of, course_id)] } else { Vec::new() })
        }
        ListCommand::Clear { list: of, actor } => {
            if actor.is_some_and(|actor| !trainee_acts(of, &actor)) {
                return Err(ListRejection::NotAnIndividualTrainee);
            }
            Ok(list.courses.iter().map(|course_id| removed(of, *course_id)).collect())
        }
    }
    .map(Decided::from)
}

fn added(ListOf { kind, trainee_id }: ListOf, course_id: Uuid) -> Event {
    match kind {
        ListKind::Cart => Event::CourseAddedToCart(CourseAddedToCart { trainee_id, course_id }),
        ListKind::Wishlist => Event::CourseAddedToWishlist(CourseAddedToWishlist { trainee_id, course_id }),
    }
}

fn removed(ListOf { kind, trainee_id }: ListOf, course_id: Uuid) -> Event {
    match kind {
        ListKind::Cart => Event::CourseRemovedFromCart(CourseRemovedFromCart { trainee_id, course_id }),
        ListKind::Wishlist => Event::CourseRemovedFromWishlist(CourseRemovedFromWishlist { trainee_id, course_id }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::given::{given, when};

    const TRAINEE: Uuid = Uuid::from_u128(1);
    const COURSE: Uuid = Uuid::from_u128(2);

    fn trainee(role: Role) -> Actor {
        Actor { user_id: TRAINEE, role }
    }

    fn on_sale() -> Offer {
        Offer { course: CourseStatus::Published, owned: false }
    }

    const CART: ListOf = ListOf { kind: ListKind::Cart, trainee_id: TRAINEE };
    const WISHLIST: ListOf = ListOf { kind: ListKind::Wishlist, trainee_id: TRAINEE };

    fn add(list: ListOf, actor: Actor, offer: Offer) -> ListCommand {
        ListCommand::Add { list, actor, course_id: COURSE, offer }
    }

    #[test]
    fn an_individual_trainee_adds_a_published_course_once() {
        let me = trainee(Role::IndividualTrainee);
        let events = when(decide(&given(&[]), add(CART, me, on_sale()))).expect("added");
        assert_eq!(events, [Event::CourseAddedToCart(CourseAddedToCart { trainee_id: TRAINEE, course_id: COURSE })]);
        let twice = when(decide(&given(&events), add(CART, me, on_sale())));
        assert_eq!(twice, Err(ListRejection::AlreadyListed));
    }

    #[test]
    fn only_the_individual_trainee_themselves_has_a_list() {
        for role in [Role::CorporateTrainee, Role::Instructor, Role::Admin] {
            let refused = when(decide(&given(&[]), add(WISHLIST, trainee(role), on_sale())));
            assert_eq!(refused, Err(ListRejection::NotAnIndividualTrainee), "{role:?}");
        }
        let someone_else = Actor { user_id: Uuid::from_u128(9), role: Role::IndividualTrainee };
        let refused = when(decide(&given(&[]), add(CART, someone_else, on_sale())));
        assert_eq!(refused, Err(ListRejection::NotAnIndividualTrainee));
    }

    #[test]
    fn drafts_retired_deleted_and_owned_courses_stay_out() {
        let me = trainee(Role::IndividualTrainee);
        let cases = [
            (CourseStatus::Draft, false, ListRejection::NotForSale),
            (CourseStatus::Retired, false, ListRejection::NotForSale),
            (CourseStatus::Deleted, false, ListRejection::NotForSale),
            (CourseStatus::Missing, false, ListRejection::CourseNotFound),
            (CourseStatus::Published, true, ListRejection::AlreadyEnrolled),
        ];
        for (course, owned, rejection) in cases {
            let refused = when(decide(&given(&[]), add(CART, me, Offer { course, owned })));
            assert_eq!(refused, Err(rejection), "{course:?} owned={owned}");
        }
    }

    #[test]
    fn a_list_holds_at_most_one_hundred_courses() {
        let me = trainee(Role::IndividualTrainee);
        let full = CourseList { courses: (100..200).map(Uuid::from_u128).collect() };
        assert_eq!(when(decide(&full, add(CART, me, on_sale()))), Err(ListRejection::Full));
    }

    #[test]
    fn a_trainee_removes_what_is_there_and_a_saga_withdraws_quietly() {
        let me = trainee(Role::IndividualTrainee);
        let listed = given(&[Event::CourseAddedToCart(CourseAddedToCart { trainee_id: TRAINEE, course_id: COURSE })]);
        let removed = when(decide(&listed, ListCommand::Remove { list: CART, actor: me, course_id: COURSE }));
        assert_eq!(removed.expect("removed").len(), 1);
        let empty = given(&[]);
        let absent = when(decide(&empty, ListCommand::Remove { list: CART, actor: me, course_id: COURSE }));
        assert_eq!(absent, Err(ListRejection::NotListed));
        let withdrawn = when(decide(&empty, ListCommand::Withdraw { list: CART, course_id: COURSE }));
        assert_eq!(withdrawn, Ok(Vec::new()));
        let withdrawn = when(decide(&listed, ListCommand::Withdraw { list: CART, course_id: COURSE }));
        assert_eq!(withdrawn.expect("withdrawn").len(), 1);
    }

    #[test]
    fn a_saga_clears_every_course_of_a_list_and_nothing_of_an_empty_one() {
        let other = Uuid::from_u128(3);
        let mut history: Vec<Event> = [COURSE, other]
            .map(|course_id| Event::CourseAddedToWishlist(CourseAddedToWishlist { trainee_id: TRAINEE, course_id }))
            .into();
        let cleared =
            when(decide(&given(&history), ListCommand::Clear { list: WISHLIST, actor: None })).expect("cleared");
        let removed =
            |course_id| Event::CourseRemovedFromWishlist(CourseRemovedFromWishlist { trainee_id: TRAINEE, course_id });
        assert_eq!(cleared, [removed(COURSE), removed(other)]);
        history.extend(cleared);
        assert!(given::<CourseList>(&history).courses.is_empty());
        assert_eq!(when(decide(&given(&[]), ListCommand::Clear { list: WISHLIST, actor: None })), Ok(Vec::new()));
        let corporate = Actor { user_id: TRAINEE, role: Role::CorporateTrainee };
        assert_eq!(
            when(decide(&given(&[]), ListCommand::Clear { list: CART, actor: Some(corporate) })),
            Err(ListRejection::NotAnIndividualTrainee)
        );
    }
}

#[cfg(test)]
mod properties {
    use std::collections::HashSet;

    use proptest::prelude::*;

    use super::*;
    use crate::given::{given, then};

    const TRAINEE: Uuid = Uuid::from_u128(1);
    /// Courses `0..COURSES` (one more than a full list holds, and some to spare).
    const COURSES: u128 = 110;

    /// Enough cases to find a slip, few enough for the fast tier; no regression files are written.
    fn config() -> ProptestConfig {
        ProptestConfig { cases: 128, failure_persistence: None, ..ProptestConfig::default() }
    }

    /// The trainee themselves mostly; sometimes another trainee, or the trainee as a corporate one.
    fn actor() -> impl Strategy<Value = Actor> {
        prop_oneof![
            8 => Just(Actor { user_id: TRAINEE, role: Role::IndividualTrainee }),
            1 => Just(Actor { user_id: Uuid::from_u128(9), role: Role::IndividualTrainee }),
            1 => Just(Actor { user_id: TRAINEE, role: Role::CorporateTrainee }),
        ]
    }

    fn offer() -> impl Strategy<Value = Offer> {
        let course = prop_oneof![
            12 => Just(CourseStatus::Published),
            1 => Just(CourseStatus::Draft),
            1 => Just(CourseStatus::Retired),
            1 => Just(CourseStatus::Deleted),
            1 => Just(CourseStatus::Missing),
        ];
        (course, prop::bool::weighted(0.1)).prop_map(|(course, owned)| Offer { course, owned })
    }

    fn command(list: ListOf) -> impl Strategy<Value = ListCommand> {
        let course = (0..COURSES).prop_map(Uuid::from_u128);
        prop_oneof![
            150 => (actor(), course.clone(), offer())
                .prop_map(move |(actor, course_id, offer)| ListCommand::Add { list, actor, course_id, offer }),
            3 => (actor(), course.clone())
                .prop_map(move |(actor, course_id)| ListCommand::Remove { list, actor, course_id }),
            3 => course.prop_map(move |course_id| ListCommand::Withdraw { list, course_id }),
            // Rare, as are removals: a list emptied would seldom fill up again.
            1 => prop::option::of(actor()).prop_map(move |actor| ListCommand::Clear { list, actor }),
        ]
    }

    /// A list of either kind, filled with its first `filled` courses (often nearly full), then any commands on it.
    fn history() -> impl Strategy<Value = (ListOf, usize, Vec<ListCommand>)> {
        let kind = prop_oneof![Just(ListKind::Cart), Just(ListKind::Wishlist)];
        let filled = prop_oneof![0..=MAX_COURSES, MAX_COURSES - 10..=MAX_COURSES];
        (kind, filled).prop_flat_map(|(kind, filled)| {
            let list = ListOf { kind, trainee_id: TRAINEE };
            (Just(list), Just(filled), prop::collection::vec(command(list), 0..150))
        })
    }

    proptest! {
        #![proptest_config(config())]

        #[test]
        fn a_list_never_holds_a_course_twice_nor_more_than_one_hundred((of, filled, commands) in history()) {
            let mut list: CourseList =
                given(&(0..filled as u128).map(|n| added(of, Uuid::from_u128(n))).collect::<Vec<_>>());
            for command in commands {
                // A refused command records nothing: the list stays the fold of what was accepted.
                let Ok(decided) = decide(&list, command.clone()) else { continue };
                let listed: HashSet<Uuid> = list.courses.iter().copied().collect();
                // R17, R25: who changed the list, when someone did (a saga is no one): its individual trainee.
                let by = match &command {
                    ListCommand::Add { actor, .. }
                    | ListCommand::Remove { actor, .. }
                    | ListCommand::Clear { actor: Some(actor), .. } => Some(*actor),
                    ListCommand::Withdraw { .. } | ListCommand::Clear { actor: None, .. } => None,
                };
                let own = by.is_none_or(|by| by.role == Role::IndividualTrainee && by.user_id == of.trainee_id);
                prop_assert!(own || decided.events.is_empty(), "{:?} changed another's list", by);
                for event in &decided.events {
                    let (added, trainee_id, course_id, kind) = match event {
                        Event::CourseAddedToCart(e) => (true, e.trainee_id, e.course_id, ListKind::Cart),
                        Event::CourseAddedToWishlist(e) => (true, e.trainee_id, e.course_id, ListKind::Wishlist),
                        Event::CourseRemovedFromCart(e) => (false, e.trainee_id, e.course_id, ListKind::Cart),
                        Event::CourseRemovedFromWishlist(e) => (false, e.trainee_id, e.course_id, ListKind::Wishlist),
                        other => return Err(TestCaseError::fail(format!("a list records {}", other.event_type()))),
                    };
                    prop_assert_eq!((kind, trainee_id), (of.kind, of.trainee_id), "another list's event");
                    match (&command, added) {
                        (ListCommand::Add { offer, .. }, true) => {
                            // A course for sale, that the trainee does not own, once.
                            prop_assert!(offer.course == CourseStatus::Published && !offer.owned);
                            prop_assert!(!listed.contains(&course_id), "{} listed twice", course_id);
                        }
                        (_, false) => prop_assert!(listed.contains(&course_id), "{} removed but not listed", course_id),
                        (command, true) => prop_assert!(false, "{:?} added a course", command),
                    }
                }
                list = then(list, &decided.events);
                let distinct: HashSet<&Uuid> = list.courses.iter().collect();
                prop_assert_eq!(distinct.len(), list.courses.len(), "a course is listed twice");
                prop_assert!(list.courses.len() <= MAX_COURSES, "{} courses", list.courses.len());
                if matches!(command, ListCommand::Clear { .. }) {
                    prop_assert!(list.courses.is_empty());
                }
            }
        }
    }
}
