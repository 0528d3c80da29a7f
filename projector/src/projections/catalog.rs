//! `catalog_course` (one row per course with its list fields), `course_document` (its content),
//! `course_discount`, and `catalog_instructor` (instructors' names, for the courses' `instructor_name`). Every
//! course event after the first claims its stream version on the course's row first; an event already
//! applied claims nothing and changes nothing. This projection writes no other table and reads none, so it
//! can be rebuilt alone.

use deadpool_postgres::Transaction;

use super::execute;
use events::personal::ERASED_NAME;
use events::stream::Context;
use events::{CourseCreated, Event, RecordedEvent};
use uuid::Uuid;

use super::course_document::CourseDocument;

/// A new course's row, for one `CourseCreated` or for a run of them (a rebuild), in one statement.
pub(super) async fn create_courses(
    transaction: &Transaction<'_>,
    created: &[(&RecordedEvent, &CourseCreated)],
) -> Result<(), tokio_postgres::Error> {
    let column = |field: fn(&RecordedEvent, &CourseCreated) -> String| -> Vec<String> {
        created.iter().map(|(recorded, course)| field(recorded, course)).collect()
    };
    let ids: Vec<Uuid> = created.iter().map(|(_, course)| course.course_id).collect();
    let instructors: Vec<Uuid> = created.iter().map(|(_, course)| course.instructor_id).collect();
    let subcategories: Vec<serde_json::Value> =
        created.iter().map(|(_, course)| serde_json::json!(course.subcategories)).collect();
    let prices: Vec<i64> = created.iter().map(|(_, course)| course.base_price_cents).collect();
    let versions: Vec<i64> = created.iter().map(|(recorded, _)| recorded.stream_version).collect();
    let times: Vec<time::OffsetDateTime> = created.iter().map(|(recorded, _)| recorded.occurred_at).collect();
    execute(
        transaction,
        "INSERT INTO catalog_course (id, instructor_id, title, summary, category, subcategories, level, language, \
         base_price_cents, status, version, created_at, updated_at, instructor_name) \
         SELECT c.id, c.instructor_id, c.title, c.summary, c.category, \
         ARRAY(SELECT json_array_elements_text(c.subcategories)), c.level, c.language, c.price, 'draft', c.version, \
         c.at, c.at, COALESCE(i.name, '') \
         FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::json[], $7::text[], $8::text[], \
         $9::bigint[], $10::bigint[], $11::timestamptz[]) WITH ORDINALITY \
         AS c(id, instructor_id, title, summary, category, subcategories, level, language, price, version, at, n) \
         LEFT JOIN catalog_instructor i ON i.id = c.instructor_id ORDER BY c.n ON CONFLICT (id) DO NOTHING",
        &[
            &ids,
            &instructors,
            &column(|_, course| course.title.clone()),
            &column(|_, course| course.summary.clone()),
            &column(|_, course| course.category.clone()),
            &subcategories,
            &column(|_, course| course.level.as_str().to_owned()),
            &column(|_, course| course.language.clone()),
            &prices,
            &versions,
            &times,
        ],
    )
    .await
}

pub(super) async fn apply(
    transaction: &Transaction<'_>,
    recorded: &RecordedEvent,
    event: &Event,
) -> Result<(), tokio_postgres::Error> {
    if let Some(named) = instructor_named(event) {
        return rename_instructor(transaction, recorded, named).await;
    }
    // An enrolment moves the course's count, and with it the instructor's trainees, which the instructor
    // profiles sum over their courses (the projector applies each event once).
    if let Event::TraineeEnrolled(enrolled) = event {
        return execute(
            transaction,
            "UPDATE catalog_course SET enrolled_count = enrolled_count + 1 WHERE id = $1",
            &[&enrolled.course_id],
        )
        .await;
    }
    if let Event::EnrollmentRevoked(revoked) = event {
        return execute(
            transaction,
            "UPDATE catalog_course SET enrolled_count = enrolled_count - 1 WHERE id = $1",
            &[&revoked.course_id],
        )
        .await;
    }
    // R12: the course's average rating, 2 decimals, half up; a review carries the rating it replaces.
    let review = match event {
        Event::CourseReviewed(e) => Some((e.course_id, Some(e.rating), e.previous_rating)),
        Event::CourseReviewDeleted(e) => Some((e.course_id, None, Some(e.previous_rating))),
        _ => None,
    };
    if let Some((course_id, rating, previous)) = review {
        let (sum, count) = super::engagement::rating_change(rating, previous);
        return execute(
            transaction,
            "UPDATE catalog_course SET rating_sum = rating_sum + $2, rating_count = rating_count + $3, \
             rating_avg = COALESCE(round((rating_sum + $2)::numeric / NULLIF(rating_count + $3, 0), 2), 0) \
             WHERE id = $1",
            &[&course_id, &sum, &count],
        )
        .await;
    }
    // Every attempt counts in the course's exam average (R9).
    if let Event::ExamSubmitted(exam) = event {
        return execute(
            transaction,
            "UPDATE catalog_course SET exam_grade_sum = exam_grade_sum + $2, exam_attempts = exam_attempts + 1 \
             WHERE id = $1",
            &[&exam.course_id, &i64::from(exam.grade)],
        )
        .await;
    }
    if event.context() != Context::Catalog {
        return Ok(());
    }
    if let Event::CourseCreated(created) = event {
        return create_courses(transaction, &[(recorded, created)]).await;
    }
    let Some(course_id) = recorded.stream_id.strip_prefix("course-").and_then(|id| Uuid::parse_str(id).ok()) else {
        return Ok(());
    };
    if claim(transaction, course_id, recorded).await? {
        effect(transaction, course_id, recorded, event).await?;
    }
    Ok(())
}

/// An instructor's name, as an identity event gives it.
struct InstructorName<'a> {
    id: Uuid,
    name: &'a str,
    /// The account's creation (else a rename).
    created: bool,
}

/// The instructor name an identity event gives, if any. A renamed account that is no instructor has no
/// `catalog_instructor` row, so its rename changes nothing here.
fn instructor_named(event: &Event) -> Option<InstructorName<'_>> {
    match event {
        Event::InstructorCreated(e) => {
            Some(InstructorName { id: e.user_id, name: e.name.text_or(ERASED_NAME), created: true })
        }
        Event::ProfileUpdated(e) => {
            Some(InstructorName { id: e.user_id, name: e.name.as_ref()?.text_or(ERASED_NAME), created: false })
        }
        Event::AccountErased(e) => Some(InstructorName { id: e.user_id, name: ERASED_NAME, created: false }),
        _ => None,
    }
}

/// Records an instructor's name and puts it on their courses. A course may be projected before its
/// instructor when the two arrive through different Kafka topics: it takes the name when it comes.
async fn rename_instructor(
    transaction: &Transaction<'_>,
    recorded: &RecordedEvent,
    named: InstructorName<'_>,
) -> Result<(), tokio_postgres::Error> {
    let InstructorName { id: instructor_id, name, created } = named;
    let statement = transaction
        .prepare_cached(if created {
            "INSERT INTO catalog_instructor (id, name, version) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING"
        } else {
            "UPDATE catalog_instructor SET name = $2, version = $3 WHERE id = $1 AND version < $3"
        })
        .await?;
    if transaction.execute(&statement, &[&instructor_id, &name, &recorded.stream_version]).await? == 0 {
        return Ok(());
    }
    execute(
        transaction,
        "UPDATE catalog_course SET instructor_name = $2 WHERE instructor_id = $1",
        &[&instructor_id, &name],
    )
    .await
}

/// Moves the course row to this event's version; false when the row is already there or further.
async fn claim(
    transaction: &Transaction<'_>,
    course_id: Uuid,
    recorded: &RecordedEvent,
) -> Result<bool, tokio_postgres::Error> {
    let statement = transaction
        .prepare_cached("UPDATE catalog_course SET version = $2, updated_at = $3 WHERE id = $1 AND version < $2")
        .await?;
    let claimed =
        transaction.execute(&statement, &[&course_id, &recorded.stream_version, &recorded.occurred_at]).await?;
    Ok(claimed == 1)
}

async fn effect(
    transaction: &Transaction<'_>,
    id: Uuid,
    recorded: &RecordedEvent,
    event: &Event,
) -> Result<(), tokio_postgres::Error> {
    let status = |status: &'static str| async move {
        execute(transaction, "UPDATE catalog_course SET status = $2 WHERE id = $1", &[&id, &status]).await
    };
    let totals = |lessons: u32, hours: u32| async move {
        let (lessons, hours) = (i32::try_from(lessons).unwrap_or(i32::MAX), i32::try_from(hours).unwrap_or(i32::MAX));
        execute(
            transaction,
            "UPDATE catalog_course SET lesson_count = $2, duration_h = $3 WHERE id = $1",
            &[&id, &lessons, &hours],
        )
        .await
    };
    match event {
        Event::CoursePublished(_) => {
            execute(
                transaction,
                "UPDATE catalog_course SET status = 'published', published_at = $2 WHERE id = $1",
                &[&id, &recorded.occurred_at],
            )
            .await?;
        }
        Event::CourseRetired(_) => status("retired").await?,
        Event::CourseDeleted(_) => {
            status("deleted").await?;
            execute(transaction, "DELETE FROM course_discount WHERE course_id = $1", &[&id]).await?;
        }
        Event::CourseDetailsUpdated(updated) => {
            let level = updated.level.map(|level| level.as_str());
            execute(
                transaction,
                "UPDATE catalog_course SET title = COALESCE($2, title), summary = COALESCE($3, summary), \
                 category = COALESCE($4, category), subcategories = COALESCE($5, subcategories), \
                 level = COALESCE($6, level), language = COALESCE($7, language) WHERE id = $1",
                &[
                    &id,
                    &updated.title,
                    &updated.summary,
                    &updated.category,
                    &updated.subcategories,
                    &level,
                    &updated.language,
                ],
            )
            .await?;
        }
        Event::CoursePriceChanged(changed) => {
            execute(
                transaction,
                "UPDATE catalog_course SET base_price_cents = $2 WHERE id = $1",
                &[&id, &changed.base_price_cents],
            )
            .await?;
        }
        Event::DiscountAdded(added) => {
            let percent = i16::from(added.percent);
            let issued_by = match added.issued_by {
                events::content::DiscountIssuer::Instructor => "instructor",
                events::content::DiscountIssuer::Admin => "admin",
            };
            execute(
                transaction,
                "INSERT INTO course_discount (course_id, discount_id, percent, starts_on, ends_on, issued_by) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
                &[&id, &added.discount_id, &percent, &added.starts_on, &added.ends_on, &issued_by],
            )
            .await?;
        }
        Event::DiscountUpdated(updated) => {
            let percent = i16::from(updated.percent);
            execute(
                transaction,
                "UPDATE course_discount SET percent = $3, starts_on = $4, ends_on = $5 \
                 WHERE course_id = $1 AND discount_id = $2",
                &[&id, &updated.discount_id, &percent, &updated.starts_on, &updated.ends_on],
            )
            .await?;
        }
        Event::DiscountRemoved(removed) => {
            execute(
                transaction,
                "DELETE FROM course_discount WHERE course_id = $1 AND discount_id = $2",
                &[&id, &removed.discount_id],
            )
            .await?;
        }
        _ => {}
    }
    match event {
        Event::LessonAdded(e) => totals(e.total_lessons, e.course_duration_h).await?,
        Event::LessonUpdated(e) => totals(e.total_lessons, e.course_duration_h).await?,
        Event::LessonRemoved(e) => totals(e.total_lessons, e.course_duration_h).await?,
        Event::SectionRemoved(e) => totals(e.total_lessons, e.course_duration_h).await?,
        _ => {}
    }
    if CourseDocument::cares_about(event) {
        update_document(transaction, id, recorded, event).await?;
    }
    Ok(())
}

/// Folds a content event into the course's document, kept in full and in its public form.
async fn update_document(
    transaction: &Transaction<'_>,
    id: Uuid,
    recorded: &RecordedEvent,
    event: &Event,
) -> Result<(), tokio_postgres::Error> {
    let statement =
        transaction.prepare_cached("SELECT doc FROM course_document WHERE course_id = $1 FOR UPDATE").await?;
    let stored: Option<serde_json::Value> = match transaction.query_opt(&statement, &[&id]).await? {
        Some(row) => Some(row.try_get(0)?),
        None => None,
    };
    let document = match stored.map(serde_json::from_value::<CourseDocument>) {
        None => CourseDocument::default(),
        Some(Ok(document)) => document,
        Some(Err(error)) => {
            // Never overwrite content this code cannot read; the next rebuild starts it afresh.
            tracing::error!(%error, course = %id, "a stored course document does not decode; left as it is");
            return Ok(());
        }
    };
    let Some(document) = document.evolve(event, recorded.occurred_at) else { return Ok(()) };
    let full = serde_json::to_value(&document).unwrap_or_default();
    let public = document.public();
    execute(
        transaction,
        "INSERT INTO course_document (course_id, version, doc, public_doc) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (course_id) DO UPDATE SET version = $2, doc = $3, public_doc = $4",
        &[&id, &recorded.stream_version, &full, &public],
    )
    .await
}
