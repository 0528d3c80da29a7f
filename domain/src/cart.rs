//! Carts and wishlists (R17, R25; streams `cart-{trainee}` and `wishlist-{trainee}`): an ordered set of
//! courses of one individual trainee. Only published courses go in, never twice, and never one the trainee
//! already owns; a course leaves when the trainee takes it out, buys it, or it stops being for sale.

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
    Add {
        course_id: Uuid,
        offer: Offer,
    },
    /// The trainee takes a course out; it must be there.
    Remove {
        course_id: Uuid,
    },
    /// A saga takes a course out (bought, retired, deleted); nothing happens if it is not there.
    Withdraw {
        course_id: Uuid,
    },
    /// A saga empties the list (its trainee's account is deleted or erased); nothing happens if it is empty.
    Clear,
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

/// Decides `command` on `trainee`'s list. `actor` is `None` for a saga's withdrawal.
pub fn decide(
    kind: ListKind,
    list: &CourseList,
    trainee_id: Uuid,
    actor: Option<&Actor>,
    command: ListCommand,
) -> Result<Vec<Event>, ListRejection> {
    let trainee_acts = actor.is_some_and(|actor| actor.role == Role::IndividualTrainee && actor.user_id == trainee_id);
    let listed = |course_id: Uuid| list.courses.contains(&course_id);
    match command {
        ListCommand::Add { course_id, offer } => {
            if !trainee_acts {
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
            Ok(vec![added(kind, trainee_id, course_id)])
        }
        ListCommand::Remove { course_id } => {
            if !trainee_acts {
                return Err(ListRejection::NotAnIndividualTrainee);
            }
            if !listed(course_id) {
                return Err(ListRejection::NotListed);
            }
            Ok(vec![removed(kind, trainee_id, course_id)])
        }
        ListCommand::Withdraw { course_id } => {
            Ok(if listed(course_id) { vec![removed(kind, trainee_id, course_id)] } else { Vec::new() })
        }
        // The trainee empties their list, or a saga does (a deleted account's).
        ListCommand::Clear => {
            if actor.is_some() && !trainee_acts {
                return Err(ListRejection::NotAnIndividualTrainee);
            }
            Ok(list.courses.iter().map(|course_id| removed(kind, trainee_id, *course_id)).collect())
        }
    }
}

fn added(kind: ListKind, trainee_id: Uuid, course_id: Uuid) -> Event {
    match kind {
        ListKind::Cart => Event::CourseAddedToCart(CourseAddedToCart { trainee_id, course_id }),
        ListKind::Wishlist => Event::CourseAddedToWishlist(CourseAddedToWishlist { trainee_id, course_id }),
    }
}

fn removed(kind: ListKind, trainee_id: Uuid, course_id: Uuid) -> Event {
    match kind {
        ListKind::Cart => Event::CourseRemovedFromCart(CourseRemovedFromCart { trainee_id, course_id }),
        ListKind::Wishlist => Event::CourseRemovedFromWishlist(CourseRemovedFromWishlist { trainee_id, course_id }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::given::given;

    const TRAINEE: Uuid = Uuid::from_u128(1);
    const COURSE: Uuid = Uuid::from_u128(2);

    fn trainee(role: Role) -> Actor {
        Actor { user_id: TRAINEE, role }
    }

    fn on_sale() -> Offer {
        Offer { course: CourseStatus::Published, owned: false }
    }

    fn add(offer: Offer) -> ListCommand {
        ListCommand::Add { course_id: COURSE, offer }
    }

    #[test]
    fn an_individual_trainee_adds_a_published_course_once() {
        let me = trainee(Role::IndividualTrainee);
        let events = decide(ListKind::Cart, &given(&[]), TRAINEE, Some(&me), add(on_sale())).expect("added");
        assert_eq!(events, [Event::CourseAddedToCart(CourseAddedToCart { trainee_id: TRAINEE, course_id: COURSE })]);
        let twice = decide(ListKind::Cart, &given(&events), TRAINEE, Some(&me), add(on_sale()));
        assert_eq!(twice, Err(ListRejection::AlreadyListed));
    }

    #[test]
    fn only_the_individual_trainee_themselves_has_a_list() {
        for role in [Role::CorporateTrainee, Role::Instructor, Role::Admin] {
            let refused = decide(ListKind::Wishlist, &given(&[]), TRAINEE, Some(&trainee(role)), add(on_sale()));
            assert_eq!(refused, Err(ListRejection::NotAnIndividualTrainee), "{role:?}");
        }
        let someone_else = Actor { user_id: Uuid::from_u128(9), role: Role::IndividualTrainee };
        let refused = decide(ListKind::Cart, &given(&[]), TRAINEE, Some(&someone_else), add(on_sale()));
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
            let refused = decide(ListKind::Cart, &given(&[]), TRAINEE, Some(&me), add(Offer { course, owned }));
            assert_eq!(refused, Err(rejection), "{course:?} owned={owned}");
        }
    }

    #[test]
    fn a_list_holds_at_most_one_hundred_courses() {
        let me = trainee(Role::IndividualTrainee);
        let full = CourseList { courses: (100..200).map(Uuid::from_u128).collect() };
        assert_eq!(decide(ListKind::Cart, &full, TRAINEE, Some(&me), add(on_sale())), Err(ListRejection::Full));
    }

    #[test]
    fn a_trainee_removes_what_is_there_and_a_saga_withdraws_quietly() {
        let me = trainee(Role::IndividualTrainee);
        let listed = given(&[Event::CourseAddedToCart(CourseAddedToCart { trainee_id: TRAINEE, course_id: COURSE })]);
        let removed = decide(ListKind::Cart, &listed, TRAINEE, Some(&me), ListCommand::Remove { course_id: COURSE });
        assert_eq!(removed.expect("removed").len(), 1);
        let empty = given(&[]);
        let absent = decide(ListKind::Cart, &empty, TRAINEE, Some(&me), ListCommand::Remove { course_id: COURSE });
        assert_eq!(absent, Err(ListRejection::NotListed));
        let withdrawn = decide(ListKind::Cart, &empty, TRAINEE, None, ListCommand::Withdraw { course_id: COURSE });
        assert_eq!(withdrawn, Ok(Vec::new()));
        let withdrawn = decide(ListKind::Cart, &listed, TRAINEE, None, ListCommand::Withdraw { course_id: COURSE });
        assert_eq!(withdrawn.expect("withdrawn").len(), 1);
    }

    #[test]
    fn a_saga_clears_every_course_of_a_list_and_nothing_of_an_empty_one() {
        let other = Uuid::from_u128(3);
        let mut history: Vec<Event> = [COURSE, other]
            .map(|course_id| Event::CourseAddedToWishlist(CourseAddedToWishlist { trainee_id: TRAINEE, course_id }))
            .into();
        let cleared = decide(ListKind::Wishlist, &given(&history), TRAINEE, None, ListCommand::Clear).expect("cleared");
        let removed =
            |course_id| Event::CourseRemovedFromWishlist(CourseRemovedFromWishlist { trainee_id: TRAINEE, course_id });
        assert_eq!(cleared, [removed(COURSE), removed(other)]);
        history.extend(cleared);
        assert!(given::<CourseList>(&history).courses.is_empty());
        assert_eq!(decide(ListKind::Wishlist, &given(&[]), TRAINEE, None, ListCommand::Clear), Ok(Vec::new()));
        let corporate = Actor { user_id: TRAINEE, role: Role::CorporateTrainee };
        assert_eq!(
            decide(ListKind::Cart, &given(&[]), TRAINEE, Some(&corporate), ListCommand::Clear),
            Err(ListRejection::NotAnIndividualTrainee)
        );
    }
}
