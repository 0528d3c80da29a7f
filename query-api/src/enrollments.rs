//! The caller's enrolments: `GET /api/v1/me/enrollments` (newest first, 12 a page) and
//! `GET /api/v1/me/enrollments/{course_id}`, the enrolled view of a course: lessons with their video URLs,
//! exercises and the exam, each question's answer shown only once the trainee answered it (an exercise) or
//! had the exam's answers revealed; with progress, exercise results, exam attempts, completion and the
//! certificate. Someone not enrolled gets 404. Also the caller's notes per course.

use std::collections::HashSet;

use api_contract::{Authenticated, Params, PathId, Problem};
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::HeaderMap;
use serde::Serialize;
use serde_json::Value;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::QueryApiState;
use crate::caching::{Audience, cached_json};
use crate::courses::{COURSE_SELECT, CourseView, course_columns, course_from, with_content};
use crate::listing::Listing;
use crate::money::{Display, InCountry};
use crate::page::{ListEnvelope, Paging};
use crate::reading::reading;
use events::learning::{MAX_EXAM_ATTEMPTS, PASSING_GRADE};

const DEFAULT_LIMIT: i64 = 12;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct EnrollmentView {
    course: CourseView,
    /// `active`, or `revoked` (no access any more).
    status: String,
    /// `purchase`, `admin_grant` or `corporate_grant`.
    source: String,
    order_id: Option<Uuid>,
    #[serde(with = "time::serde::rfc3339")]
    enrolled_at: OffsetDateTime,
    /// R8: the share of the course's lessons seen, 0 to 100.
    progress: i16,
    /// Lessons opened at least once.
    visited_lessons: Vec<Uuid>,
    /// D1: when the course was completed; `null` before.
    #[serde(with = "time::serde::rfc3339::option")]
    completed_at: Option<OffsetDateTime>,
    /// The certificate's public id, once the course is completed.
    certificate_id: Option<Uuid>,
    /// The refund request's status (D9: `unseen`, `pending`, `approved`, `rejected`, `completed`), if any.
    refund_status: Option<String>,
}

/// The enrolment's columns beside the course's.
macro_rules! enrolment_columns {
    () => {
        concat!(
            "e.status AS e_status, e.source, e.order_id, e.enrolled_at, e.progress, e.visited_lessons, \
             e.completed_at, e.certificate_id, e.exercise_answers, e.exam_attempts AS e_exam_attempts, \
             e.exam_best_grade, e.exam_last_grade, e.exam_answers, e.answers_revealed, e.refund_status, ",
            course_columns!()
        )
    };
}

/// A course row joined to its enrolments.
macro_rules! enrolment_from {
    () => {
        concat!(course_from!(), " JOIN enrollment_view e ON e.course_id = c.id")
    };
}

/// A trainee's enrolments (`$1`), newest first.
const ENROLMENTS: Listing<'static> = Listing {
    columns: enrolment_columns!(),
    from: enrolment_from!(),
    filter: "e.trainee_id = $1",
    order: "e.enrolled_at DESC, c.id",
};

/// The trainee's (`$1`) active enrolment in a course (`$2`): the row a buyer's client reads until it shows.
/// Prepared once per connection: planning this join was most of its time (`bench checkout --statements`).
const ENROLMENT: &str = concat!(
    "SELECT ",
    enrolment_columns!(),
    " FROM ",
    enrolment_from!(),
    " WHERE e.trainee_id = $1 AND c.id = $2 AND e.status = 'active'"
);

/// `GET /api/v1/me/enrollments?country=&page=&limit=`
pub(crate) async fn list(
    actor: Authenticated,
    State(state): State<QueryApiState>,
    headers: HeaderMap,
    Params(shown): Params<InCountry>,
    Params(paging): Params<Paging>,
) -> Response {
    let answer = async {
        let page = paging.request(DEFAULT_LIMIT);
        let client = state.read.pool().get().await.map_err(reading("enrolments"))?;
        let display = Display::for_country(&client, shown.country()).await.map_err(reading("enrolments"))?;
        let found = ENROLMENTS.page(&client, &[&actor.user_id], page).await.map_err(reading("enrolments"))?;
        let enrollments = found
            .rows
            .iter()
            .map(|row| {
                Ok(EnrollmentView {
                    course: CourseView::from_row(row, display)?,
                    status: row.try_get("e_status")?,
                    source: row.try_get("source")?,
                    order_id: row.try_get("order_id")?,
                    enrolled_at: row.try_get("enrolled_at")?,
                    progress: row.try_get("progress")?,
                    visited_lessons: row.try_get("visited_lessons")?,
                    completed_at: row.try_get("completed_at")?,
                    certificate_id: row.try_get("certificate_id")?,
                    refund_status: row.try_get("refund_status")?,
                })
            })
            .collect::<Result<Vec<_>, tokio_postgres::Error>>()
            .map_err(reading("enrolments"))?;
        Ok::<_, Problem>(cached_json(&headers, Audience::Private, &ListEnvelope::new(enrollments, page, found.total)))
    };
    answer.await.unwrap_or_else(|p| p.into_response())
}

/// `GET /api/v1/me/enrollments/{course_id}`
pub(crate) async fn get(
    actor: Authenticated,
    State(state): State<QueryApiState>,
    PathId(course_id): PathId,
    headers: HeaderMap,
) -> Response {
    let answer = async {
        let client = state.read.pool().get().await.map_err(reading("enrolments"))?;
        let enrolment = client.prepare_cached(ENROLMENT).await.map_err(reading("enrolments"))?;
        let row = client
            .query_opt(&enrolment, &[&actor.user_id, &course_id])
            .await
            .map_err(reading("enrolments"))?
            .ok_or_else(|| Problem::not_found("You are not enrolled in this course."))?;
        let course = CourseView::from_row(&row, Display::USD).map_err(reading("enrolments"))?;
        let mut content: Value = client
            .query_opt("SELECT doc FROM course_document WHERE course_id = $1", &[&course_id])
            .await
            .map_err(reading("enrolments"))?
            .map(|row| row.try_get(0))
            .transpose()
            .map_err(reading("enrolments"))?
            .unwrap_or_else(|| serde_json::json!({ "sections": [], "exam": [], "faq": [], "announcements": [] }));
        let learning = Learning::from_row(&row).map_err(reading("enrolments"))?;
        let visible = learning.visible_answers(&content);
        hide_answers(&mut content, &visible);
        let mut data = with_content(course, content)?;
        data["enrollment"] = learning.to_json(&row).map_err(reading("enrolments"))?;
        Ok::<_, Problem>(cached_json(&headers, Audience::Private, &serde_json::json!({ "data": data })))
    };
    answer.await.unwrap_or_else(|p| p.into_response())
}

/// `GET /api/v1/me/last-viewed-course`: the course the caller opened last, `404` before any.
pub(crate) async fn last_viewed(
    actor: Authenticated,
    State(state): State<QueryApiState>,
    headers: HeaderMap,
) -> Response {
    let answer = async {
        let client = state.read.pool().get().await.map_err(reading("enrolments"))?;
        let select = COURSE_SELECT.replacen("SELECT ", "SELECT l.at AS viewed_at, ", 1);
        let row = client
            .query_opt(
                &format!("{select} JOIN trainee_last_viewed l ON l.course_id = c.id WHERE l.trainee_id = $1"),
                &[&actor.user_id],
            )
            .await
            .map_err(reading("enrolments"))?
            .ok_or_else(|| Problem::not_found("You have not opened a course yet."))?;
        let course = CourseView::from_row(&row, Display::USD).map_err(reading("enrolments"))?;
        let at: OffsetDateTime = row.try_get("viewed_at").map_err(reading("enrolments"))?;
        let at = at.format(&time::format_description::well_known::Rfc3339).map_err(reading("enrolments"))?;
        Ok::<_, Problem>(cached_json(
            &headers,
            Audience::Private,
            &serde_json::json!({ "data": { "course": course, "viewed_at": at } }),
        ))
    };
    answer.await.unwrap_or_else(|p| p.into_response())
}

/// What the trainee did in the course, as `enrollment_view` keeps it.
struct Learning {
    exercise_answers: Value,
    exam_attempts: i16,
    best_grade: Option<i16>,
    last_grade: Option<i16>,
    last_answers: Option<Value>,
    answers_revealed: bool,
}

impl Learning {
    fn from_row(row: &tokio_postgres::Row) -> Result<Self, tokio_postgres::Error> {
        Ok(Learning {
            exercise_answers: row.try_get("exercise_answers")?,
            exam_attempts: row.try_get("e_exam_attempts")?,
            best_grade: row.try_get("exam_best_grade")?,
            last_grade: row.try_get("exam_last_grade")?,
            last_answers: row.try_get("exam_answers")?,
            answers_revealed: row.try_get("answers_revealed")?,
        })
    }

    /// The questions whose answers the trainee may see: exercise questions they answered, and the exam's
    /// once revealed.
    fn visible_answers(&self, content: &Value) -> HashSet<String> {
        let mut visible: HashSet<String> =
            self.exercise_answers.as_object().map(|answers| answers.keys().cloned().collect()).unwrap_or_default();
        if self.answers_revealed {
            let exam = content["exam"].as_array().into_iter().flatten();
            visible.extend(exam.filter_map(|question| question["question_id"].as_str().map(str::to_owned)));
        }
        visible
    }

    fn to_json(&self, row: &tokio_postgres::Row) -> Result<Value, tokio_postgres::Error> {
        let attempts_left = (i16::from(MAX_EXAM_ATTEMPTS) - self.exam_attempts).max(0);
        let completed_at: Option<OffsetDateTime> = row.try_get("completed_at")?;
        Ok(serde_json::json!({
            "status": row.try_get::<_, String>("e_status")?,
            "source": row.try_get::<_, String>("source")?,
            "progress": row.try_get::<_, i16>("progress")?,
            "visited_lessons": row.try_get::<_, Vec<Uuid>>("visited_lessons")?,
            "exercise_answers": self.exercise_answers,
            "exam": {
                "attempts": self.exam_attempts,
                "attempts_left": if self.answers_revealed { 0 } else { attempts_left },
                "best_grade": self.best_grade,
                "last_grade": self.last_grade,
                "passed": self.best_grade.is_some_and(|grade| grade >= i16::from(PASSING_GRADE)),
                "last_answers": self.last_answers,
                "answers_revealed": self.answers_revealed,
            },
            "completed_at": completed_at.map(|at| at.format(&time::format_description::well_known::Rfc3339)).transpose().ok().flatten(),
            "certificate_id": row.try_get::<_, Option<Uuid>>("certificate_id")?,
            "refund_status": row.try_get::<_, Option<String>>("refund_status")?,
        }))
    }
}

/// Removes the `answer_index` of every question not in `visible` (by `question_id`), at any depth: an
/// enrolled trainee sees an answer only after answering.
fn hide_answers(value: &mut Value, visible: &HashSet<String>) {
    match value {
        Value::Object(fields) => {
            let shown = fields.get("question_id").and_then(Value::as_str).is_some_and(|id| visible.contains(id));
            if !shown {
                fields.remove("answer_index");
            }
            fields.values_mut().for_each(|field| hide_answers(field, visible));
        }
        Value::Array(items) => items.iter_mut().for_each(|item| hide_answers(item, visible)),
        _ => {}
    }
}

/// `GET /api/v1/me/notes/{course_id}?page=&limit=`: the caller's notes on a course they learn or learned, the
/// latest changed first; `404` when they never enrolled in it.
pub(crate) async fn notes(
    actor: Authenticated,
    State(state): State<QueryApiState>,
    PathId(course_id): PathId,
    headers: HeaderMap,
    Params(paging): Params<Paging>,
) -> Response {
    let answer = async {
        let page = paging.request(NOTES_PER_PAGE);
        let client = state.read.pool().get().await.map_err(reading("notes"))?;
        let enrolled = client
            .query_opt(
                "SELECT 1 FROM enrollment_view WHERE trainee_id = $1 AND course_id = $2",
                &[&actor.user_id, &course_id],
            )
            .await
            .map_err(reading("notes"))?;
        if enrolled.is_none() {
            return Err(Problem::not_found("You are not enrolled in this course."));
        }
        let listing = Listing {
            columns: "n.note_id, n.lesson_id, n.title, n.text, n.created_at, n.updated_at",
            from: "course_note n",
            filter: "n.trainee_id = $1 AND n.course_id = $2",
            order: "n.updated_at DESC, n.note_id",
        };
        let found = listing.page(&client, &[&actor.user_id, &course_id], page).await.map_err(reading("notes"))?;
        let notes = found
            .rows
            .iter()
            .map(|row| {
                Ok(Note {
                    id: row.try_get("note_id")?,
                    lesson_id: row.try_get("lesson_id")?,
                    title: row.try_get("title")?,
                    text: row.try_get("text")?,
                    created_at: row.try_get("created_at")?,
                    updated_at: row.try_get("updated_at")?,
                })
            })
            .collect::<Result<Vec<_>, tokio_postgres::Error>>()
            .map_err(reading("notes"))?;
        Ok::<_, Problem>(cached_json(&headers, Audience::Private, &ListEnvelope::new(notes, page, found.total)))
    };
    answer.await.unwrap_or_else(|p| p.into_response())
}

/// Notes a page holds by default.
const NOTES_PER_PAGE: i64 = 20;

/// One of a trainee's notes on a course.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct Note {
    id: Uuid,
    /// The lesson of the course it is about, if any.
    lesson_id: Option<Uuid>,
    title: String,
    text: String,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    updated_at: OffsetDateTime,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_hidden_at_any_depth_unless_the_question_is_visible() {
        let mut doc = serde_json::json!({
            "sections": [{ "exercises": [{ "questions": [
                { "question_id": "q1", "question": "q", "answer_index": 1 },
                { "question_id": "q2", "question": "r", "answer_index": 2 },
            ] }] }],
            "exam": [{ "question_id": "e1", "question": "e", "options": ["a", "b"], "answer_index": 0 }],
        });
        hide_answers(&mut doc, &HashSet::from(["q2".to_owned()]));
        assert_eq!(
            doc,
            serde_json::json!({
                "sections": [{ "exercises": [{ "questions": [
                    { "question_id": "q1", "question": "q" },
                    { "question_id": "q2", "question": "r", "answer_index": 2 },
                ] }] }],
                "exam": [{ "question_id": "e1", "question": "e", "options": ["a", "b"] }],
            })
        );
    }
}
