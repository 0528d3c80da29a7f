//! Cart and wishlist commands (R17, R25): an individual trainee adds a published course they do not own, or
//! takes one out. Adding a course that is already there is `422 already_in_cart` (or `already_in_wishlist`)
//! and changes nothing: the client learns that its view was stale, and a retried request with the same
//! Idempotency-Key gets its first answer instead.

use api_contract::{Authenticated, EmptyCommand, JsonCommand, PathId, Problem};
use axum::extract::State;
use events::stream::{cart_stream, course_stream, enrollment_stream, wishlist_stream};
use serde::Deserialize;
use uuid::Uuid;

use super::CommandApiState;
use super::execute::{Accepted, CommandRun, Decision, Trust, execute, execute_loading, load_aggregate};
use super::headers::CommandHeaders;
use crate::domain::cart::{CourseList, ListCommand, ListKind, ListOf, ListRejection, MAX_COURSES, Offer, decide};
use crate::domain::course::Course;
use crate::domain::enrollment::Enrollment;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ItemBody {
    course_id: Uuid,
}

fn problem(kind: ListKind, rejection: ListRejection) -> Problem {
    let (list, listed_code) = match kind {
        ListKind::Cart => ("cart", "already_in_cart"),
        ListKind::Wishlist => ("wishlist", "already_in_wishlist"),
    };
    match rejection {
        ListRejection::NotAnIndividualTrainee => {
            Problem::forbidden(format!("Only individual trainees have a {list}; corporate access is by request."))
        }
        ListRejection::CourseNotFound => Problem::not_found("There is no such course."),
        ListRejection::NotForSale => Problem::rule("course_not_for_sale", "This course is not for sale."),
        ListRejection::AlreadyListed => Problem::rule(listed_code, format!("This course is already in your {list}.")),
        ListRejection::AlreadyEnrolled => Problem::rule("already_enrolled", "You are already enrolled in this course."),
        ListRejection::NotListed => Problem::not_found(format!("This course is not in your {list}.")),
        ListRejection::Full => Problem::rule("list_full", format!("A {list} holds at most {MAX_COURSES} courses.")),
    }
}

fn list_stream(kind: ListKind, trainee_id: Uuid) -> String {
    match kind {
        ListKind::Cart => cart_stream(trainee_id),
        ListKind::Wishlist => wishlist_stream(trainee_id),
    }
}

async fn add(
    kind: ListKind,
    state: CommandApiState,
    actor: Authenticated,
    headers: CommandHeaders,
    command: JsonCommand<ItemBody>,
) -> Result<Accepted, Problem> {
    let trainee_id = actor.user_id;
    let course_id = command.body.course_id;
    let run = CommandRun::new(list_stream(kind, trainee_id), actor.into(), headers, command.digest)
        .created()
        .with_id(course_id);
    // The course and the trainee's enrolment, as the write side knows them now; the guards keep them so
    // until the append.
    let offer = |_: Trust| async {
        let course = load_aggregate::<Course>(&state, &course_stream(course_id)).await?;
        let enrollment = load_aggregate::<Enrollment>(&state, &enrollment_stream(trainee_id, course_id)).await?;
        Ok::<_, Problem>((course, enrollment))
    };
    let actor = actor.actor();
    execute_loading(&state, run, offer, |list: &CourseList, (course, enrollment)| {
        let offer = Offer { course: course.state.status, owned: enrollment.state.is_active() };
        let list_of = ListOf { kind, trainee_id };
        let decided = decide(list, ListCommand::Add { list: list_of, actor, course_id, offer })
            .map_err(|rejection| problem(kind, rejection))?;
        let guards = vec![
            event_store::Guard::StreamAt { stream_id: course_stream(course_id), version: course.version },
            event_store::Guard::StreamAt {
                stream_id: enrollment_stream(trainee_id, course_id),
                version: enrollment.version,
            },
        ];
        Ok::<_, Problem>(Decision { guards, ..decided.into() })
    })
    .await
}

async fn remove(
    kind: ListKind,
    state: CommandApiState,
    actor: Authenticated,
    course_id: Uuid,
    headers: CommandHeaders,
    command: EmptyCommand,
) -> Result<Accepted, Problem> {
    let trainee_id = actor.user_id;
    let run = CommandRun::new(list_stream(kind, trainee_id), actor.into(), headers, command.digest).with_id(course_id);
    let actor = actor.actor();
    execute(&state, run, |list: &CourseList| {
        let list_of = ListOf { kind, trainee_id };
        decide(list, ListCommand::Remove { list: list_of, actor, course_id })
            .map_err(|rejection| problem(kind, rejection))
    })
    .await
}

/// Empties the caller's list: every course in it is taken out.
async fn clear(
    kind: ListKind,
    state: CommandApiState,
    actor: Authenticated,
    headers: CommandHeaders,
    command: EmptyCommand,
) -> Result<Accepted, Problem> {
    let trainee_id = actor.user_id;
    let run = CommandRun::new(list_stream(kind, trainee_id), actor.into(), headers, command.digest).with_id(trainee_id);
    let actor = actor.actor();
    execute(&state, run, |list: &CourseList| {
        let list_of = ListOf { kind, trainee_id };
        decide(list, ListCommand::Clear { list: list_of, actor: Some(actor) })
            .map_err(|rejection| problem(kind, rejection))
    })
    .await
}

/// `DELETE /api/v1/cart/items`: empties the cart.
pub(crate) async fn clear_cart(
    State(state): State<CommandApiState>,
    actor: Authenticated,
    headers: CommandHeaders,
    command: EmptyCommand,
) -> Result<Accepted, Problem> {
    clear(ListKind::Cart, state, actor, headers, command).await
}

/// `DELETE /api/v1/wishlist/items`: empties the wishlist.
pub(crate) async fn clear_wishlist(
    State(state): State<CommandApiState>,
    actor: Authenticated,
    headers: CommandHeaders,
    command: EmptyCommand,
) -> Result<Accepted, Problem> {
    clear(ListKind::Wishlist, state, actor, headers, command).await
}

/// `POST /api/v1/cart/items {course_id}`.
pub(crate) async fn add_to_cart(
    State(state): State<CommandApiState>,
    actor: Authenticated,
    headers: CommandHeaders,
    command: JsonCommand<ItemBody>,
) -> Result<Accepted, Problem> {
    add(ListKind::Cart, state, actor, headers, command).await
}

/// `DELETE /api/v1/cart/items/{id}`.
pub(crate) async fn remove_from_cart(
    State(state): State<CommandApiState>,
    actor: Authenticated,
    PathId(course_id): PathId,
    headers: CommandHeaders,
    command: EmptyCommand,
) -> Result<Accepted, Problem> {
    remove(ListKind::Cart, state, actor, course_id, headers, command).await
}

/// `POST /api/v1/wishlist/items {course_id}`.
pub(crate) async fn add_to_wishlist(
    State(state): State<CommandApiState>,
    actor: Authenticated,
    headers: CommandHeaders,
    command: JsonCommand<ItemBody>,
) -> Result<Accepted, Problem> {
    add(ListKind::Wishlist, state, actor, headers, command).await
}

/// `DELETE /api/v1/wishlist/items/{id}`.
pub(crate) async fn remove_from_wishlist(
    State(state): State<CommandApiState>,
    actor: Authenticated,
    PathId(course_id): PathId,
    headers: CommandHeaders,
    command: EmptyCommand,
) -> Result<Accepted, Problem> {
    remove(ListKind::Wishlist, state, actor, course_id, headers, command).await
}
