//! `catalog_course` (one row per course with its list fields), `course_document` (its content),
//! `course_discount`, and `catalog_instructor` (instructors' names, for the courses' `instructor_name`). Every
//! course event after the first claims its stream version on the course's row first; an event already
//! applied claims nothing and changes nothing. This projection writes no other table and reads none, so it
//! can be rebuilt alone.

use super::Writes;
use events::personal::ERASED_NAME;
use events::stream::Context;
use events::{CourseCreated, Event, RecordedEvent};
use tokio_postgres::types::ToSql;
use uuid::Uuid;

use super::course_document::CourseDocument;

/// The events the catalogue writes many at a time, one statement for a run of them (a rebuild meets long runs):
/// a run holds events of one kind, and each course at most once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Run {
    /// `CourseCreated`: new rows.
    Created,
    /// Events that only change the course's row: published, retired, repriced.
    Changed,
}

/// The run events of `event_type` join, if any.
pub(crate) fn run_of(event_type: &str) -> Option<Run> {
    match event_type {
        "CourseCreated" => Some(Run::Created),
        "CoursePublished" | "CourseRetired" | "CoursePriceChanged" => Some(Run::Changed),
        _ => None,
    }
}

/// Applies a run of events of one [`Run`], each course at most once, in one statement.
pub(super) async fn apply_many(
    writes: &mut Writes<'_, '_>,
    run: &[(&RecordedEvent, &Event)],
) -> Result<(), tokio_postgres::Error> {
    let created: Vec<(&RecordedEvent, &CourseCreated)> = run
        .iter()
        .filter_map(|(recorded, event)| match event {
            Event::CourseCreated(created) => Some((*recorded, created)),
            _ => None,
        })
        .collect();
    if created.is_empty() { change_courses(writes, run).await } else { create_courses(writes, &created).await }
}

/// A new course's row, for one `CourseCreated` or for a run of them (a rebuild), in one statement.
pub(super) async fn create_courses(
    writes: &mut Writes<'_, '_>,
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
    let details: Vec<serde_json::Value> = created
        .iter()
        .map(|(_, course)| {
            serde_json::json!({ "description": course.description, "preview_video_url": course.preview_video_url,
                "outline": course.outline, "keywords": course.keywords, "captions": course.captions })
        })
        .collect();
    writes
        .execute(
            "INSERT INTO catalog_course (id, instructor_id, title, summary, category, subcategories, level, language, \
             base_price_cents, status, version, created_at, updated_at, instructor_name, details) \
             SELECT c.id, c.instructor_id, c.title, c.summary, c.category, \
             ARRAY(SELECT json_array_elements_text(c.subcategories)), c.level, c.language, c.price, 'draft', c.version, \
             c.at, c.at, COALESCE(i.name, ''), c.details::jsonb \
             FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::json[], $7::text[], $8::text[], \
             $9::bigint[], $10::bigint[], $11::timestamptz[], $12::json[]) WITH ORDINALITY \
             AS c(id, instructor_id, title, summary, category, subcategories, level, language, price, version, at, details, n) \
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
                &details,
            ],
        )
        .await
}

pub(super) async fn apply(
    writes: &mut Writes<'_, '_>,
    recorded: &RecordedEvent,
    event: &Event,
) -> Result<(), tokio_postgres::Error> {
    if let Some(named) = instructor_named(event) {
        return rename_instructor(writes, recorded, named).await;
    }
    // An enrolment moves the course's count, and with it the instructor's trainees, which the instructor
    // profiles sum over their courses (the projector applies each event once).
    if let Event::TraineeEnrolled(enrolled) = event {
        return writes
            .execute(
                "UPDATE catalog_course SET enrolled_count = enrolled_count + 1 WHERE id = $1",
                &[&enrolled.course_id],
            )
            .await;
    }
    if let Event::EnrollmentRevoked(revoked) = event {
        return writes
            .execute(
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
        return writes
            .execute(
                "UPDATE catalog_course SET rating_sum = rating_sum + $2, rating_count = rating_count + $3, \
                 rating_avg = COALESCE(round((rating_sum + $2)::numeric / NULLIF(rating_count + $3, 0), 2), 0) \
                 WHERE id = $1",
                &[&course_id, &sum, &count],
            )
            .await;
    }
    // Every attempt counts in the course's exam average (R9).
    if let Event::ExamSubmitted(exam) = event {
        return writes
            .execute(
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
        return create_courses(writes, &[(recorded, created)]).await;
    }
    let Some(course_id) = course_of(recorded) else { return Ok(()) };
    claim(writes, course_id, recorded, event).await
}

/// The course whose stream `recorded` is in.
fn course_of(recorded: &RecordedEvent) -> Option<Uuid> {
    recorded.stream_id.strip_prefix("course-").and_then(|id| Uuid::parse_str(id).ok())
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
        _ => Some(InstructorName { id: super::erased_person(event)?, name: ERASED_NAME, created: false }),
    }
}

/// Course rows published, retired or repriced: one event, or a run of them with each course at most once, in
/// one statement. Each claims its course's version; an event already applied changes nothing.
async fn change_courses(
    writes: &mut Writes<'_, '_>,
    changed: &[(&RecordedEvent, &Event)],
) -> Result<(), tokio_postgres::Error> {
    let mut ids = Vec::with_capacity(changed.len());
    let mut versions = Vec::with_capacity(changed.len());
    let mut times = Vec::with_capacity(changed.len());
    let mut statuses: Vec<Option<&str>> = Vec::with_capacity(changed.len());
    let mut prices: Vec<Option<i64>> = Vec::with_capacity(changed.len());
    for (recorded, event) in changed {
        let (status, price) = match event {
            Event::CoursePublished(_) => (Some("published"), None),
            Event::CourseRetired(_) => (Some("retired"), None),
            Event::CoursePriceChanged(e) => (None, Some(e.base_price_cents)),
            _ => continue,
        };
        let Some(id) = course_of(recorded) else { continue };
        ids.push(id);
        versions.push(recorded.stream_version);
        times.push(recorded.occurred_at);
        statuses.push(status);
        prices.push(price);
    }
    writes
        .execute(
            "UPDATE catalog_course c SET version = v.version, updated_at = v.at, status = COALESCE(v.status, c.status), \
             published_at = CASE WHEN v.status = 'published' THEN v.at ELSE c.published_at END, \
             base_price_cents = COALESCE(v.price, c.base_price_cents) \
             FROM unnest($1::uuid[], $2::bigint[], $3::timestamptz[], $4::text[], $5::bigint[]) \
             AS v(id, version, at, status, price) WHERE c.id = v.id AND c.version < v.version",
            &[&ids, &versions, &times, &statuses, &prices],
        )
        .await
}

/// Records an instructor's name and puts it on their courses. A course may be projected before its
/// instructor when the two arrive through different Kafka topics: it takes the name when it comes.
async fn rename_instructor(
    writes: &mut Writes<'_, '_>,
    recorded: &RecordedEvent,
    named: InstructorName<'_>,
) -> Result<(), tokio_postgres::Error> {
    let InstructorName { id: instructor_id, name, created } = named;
    let sql = if created {
        "WITH named AS (INSERT INTO catalog_instructor (id, name, version) VALUES ($1, $2, $3) \
         ON CONFLICT (id) DO NOTHING RETURNING id, name) \
         UPDATE catalog_course c SET instructor_name = named.name FROM named WHERE c.instructor_id = named.id"
    } else {
        "WITH named AS (UPDATE catalog_instructor SET name = $2, version = $3 WHERE id = $1 AND version < $3 \
         RETURNING id, name) \
         UPDATE catalog_course c SET instructor_name = named.name FROM named WHERE c.instructor_id = named.id"
    };
    writes.execute(sql, &[&instructor_id, &name, &recorded.stream_version]).await
}

/// A course event after the first: it moves the course row to its version and takes effect, in one
/// statement, unless the row is there already or further (the event was applied).
async fn claim(
    writes: &mut Writes<'_, '_>,
    id: Uuid,
    recorded: &RecordedEvent,
    event: &Event,
) -> Result<(), tokio_postgres::Error> {
    let version = &recorded.stream_version;
    let at = &recorded.occurred_at;
    // Sets on the course row with the claim: `$1` the course, `$2` its version, `$3` the time, `$4`... values.
    let on_course = |set: &str| {
        format!("UPDATE catalog_course SET version = $2, updated_at = $3{set} WHERE id = $1 AND version < $2")
    };
    // A write to another table, made only when the claim is: `claimed` names the course claimed.
    let then = |set: &str, write: &str| format!("WITH claimed AS ({} RETURNING id) {write}", on_course(set));
    match event {
        Event::CoursePublished(_) | Event::CourseRetired(_) | Event::CoursePriceChanged(_) => {
            change_courses(writes, &[(recorded, event)]).await
        }
        Event::CourseDeleted(_) => {
            let sql =
                then(", status = 'deleted'", "DELETE FROM course_discount WHERE course_id IN (SELECT id FROM claimed)");
            writes.execute(&sql, &[&id, version, at]).await
        }
        Event::CourseDetailsUpdated(updated) => {
            let set = ", title = COALESCE($4, title), summary = COALESCE($5, summary), \
                       category = COALESCE($6, category), subcategories = COALESCE($7, subcategories), \
                       level = COALESCE($8, level), language = COALESCE($9, language), details = details || $10";
            let level = updated.level.map(|level| level.as_str());
            // Only what changed; an empty preview removes it.
            let mut changed = serde_json::Map::new();
            if let Some(description) = &updated.description {
                changed.insert("description".into(), description.clone().into());
            }
            if let Some(preview) = &updated.preview_video_url {
                let preview = Some(preview.clone()).filter(|preview| !preview.is_empty());
                changed.insert("preview_video_url".into(), preview.into());
            }
            for (key, phrases) in
                [("outline", &updated.outline), ("keywords", &updated.keywords), ("captions", &updated.captions)]
            {
                if let Some(phrases) = phrases {
                    changed.insert(key.into(), phrases.clone().into());
                }
            }
            let changed = serde_json::Value::Object(changed);
            let params: [&(dyn ToSql + Sync); 10] = [
                &id,
                version,
                at,
                &updated.title,
                &updated.summary,
                &updated.category,
                &updated.subcategories,
                &level,
                &updated.language,
                &changed,
            ];
            writes.execute(&on_course(set), &params).await
        }
        Event::CourseThumbnailSet(set) => {
            let picture = set.picture.as_ref();
            let (picture_id, format) = (picture.map(|p| p.id.as_str()), picture.map(|p| p.format.as_str()));
            let set = ", thumbnail_id = $4, thumbnail_format = $5";
            writes.execute(&on_course(set), &[&id, version, at, &picture_id, &format]).await
        }
        Event::DiscountAdded(added) => {
            let percent = i16::from(added.percent);
            let issued_by = match added.issued_by {
                events::content::DiscountIssuer::Instructor => "instructor",
                events::content::DiscountIssuer::Admin => "admin",
            };
            let sql = then(
                "",
                "INSERT INTO course_discount (course_id, discount_id, percent, starts_on, ends_on, issued_by) \
                 SELECT id, $4::uuid, $5::smallint, $6::date, $7::date, $8::text FROM claimed ON CONFLICT DO NOTHING",
            );
            let params: [&(dyn ToSql + Sync); 8] =
                [&id, version, at, &added.discount_id, &percent, &added.starts_on, &added.ends_on, &issued_by];
            writes.execute(&sql, &params).await
        }
        Event::DiscountUpdated(updated) => {
            let percent = i16::from(updated.percent);
            let sql = then(
                "",
                "UPDATE course_discount SET percent = $5, starts_on = $6, ends_on = $7 \
                 WHERE course_id IN (SELECT id FROM claimed) AND discount_id = $4",
            );
            let params: [&(dyn ToSql + Sync); 7] =
                [&id, version, at, &updated.discount_id, &percent, &updated.starts_on, &updated.ends_on];
            writes.execute(&sql, &params).await
        }
        Event::DiscountRemoved(removed) => {
            let sql = then(
                "",
                "DELETE FROM course_discount WHERE course_id IN (SELECT id FROM claimed) AND discount_id = $4",
            );
            writes.execute(&sql, &[&id, version, at, &removed.discount_id]).await
        }
        _ => content(writes, id, recorded, event).await,
    }
}

/// A content event: the course's lesson totals (some carry them) and its document, kept in full and in its
/// public form; any other event of the course only moves the row's version.
async fn content(
    writes: &mut Writes<'_, '_>,
    id: Uuid,
    recorded: &RecordedEvent,
    event: &Event,
) -> Result<(), tokio_postgres::Error> {
    let totals = match event {
        Event::LessonAdded(e) => Some((e.total_lessons, e.course_duration_h)),
        Event::LessonUpdated(e) => Some((e.total_lessons, e.course_duration_h)),
        Event::LessonRemoved(e) => Some((e.total_lessons, e.course_duration_h)),
        Event::SectionRemoved(e) => Some((e.total_lessons, e.course_duration_h)),
        _ => None,
    };
    let (lessons, hours) = totals.unzip();
    let lessons = lessons.map(|lessons| i32::try_from(lessons).unwrap_or(i32::MAX));
    let hours = hours.map(|hours| i32::try_from(hours).unwrap_or(i32::MAX));
    let claim = "UPDATE catalog_course SET version = $2, updated_at = $3, lesson_count = COALESCE($4, lesson_count), \
                 duration_h = COALESCE($5, duration_h) WHERE id = $1 AND version < $2";
    let version = &recorded.stream_version;
    let at = &recorded.occurred_at;
    let Some((full, public)) = evolve_document(writes, id, recorded, event).await? else {
        return writes.execute(claim, &[&id, version, at, &lessons, &hours]).await;
    };
    let sql = format!(
        "WITH claimed AS ({claim} RETURNING id) \
         INSERT INTO course_document (course_id, version, doc, public_doc) \
         SELECT id, $2, $6::jsonb, $7::jsonb FROM claimed \
         ON CONFLICT (course_id) DO UPDATE SET version = $2, doc = $6, public_doc = $7"
    );
    writes.execute(&sql, &[&id, version, at, &lessons, &hours, &full, &public]).await
}

/// The course's document after `event`, in full and in its public form, or `None` when the event leaves it as
/// it is: it does not touch
/// content, the document has it already, or the stored document does not decode (never overwritten: the
/// next rebuild starts it afresh). The document is read once per transaction and then kept as the writes
/// leave it, so that a batch of a course's content events reads it once.
async fn evolve_document(
    writes: &mut Writes<'_, '_>,
    id: Uuid,
    recorded: &RecordedEvent,
    event: &Event,
) -> Result<Option<(serde_json::Value, serde_json::Value)>, tokio_postgres::Error> {
    if !CourseDocument::cares_about(event) {
        return Ok(None);
    }
    if !writes.documents.contains_key(&id) {
        let transaction = writes.read().await?;
        let statement = transaction
            .prepare_cached("SELECT version, doc FROM course_document WHERE course_id = $1 FOR UPDATE")
            .await?;
        let stored = transaction.query_opt(&statement, &[&id]).await?;
        let read = match stored {
            None => (0, Some(CourseDocument::default())),
            Some(row) => {
                let version: i64 = row.try_get(0)?;
                match serde_json::from_value::<CourseDocument>(row.try_get(1)?) {
                    Ok(document) => (version, Some(document)),
                    Err(error) => {
                        tracing::error!(%error, course = %id, "a stored course document does not decode; left as it is");
                        (version, None)
                    }
                }
            }
        };
        writes.documents.insert(id, read);
    }
    let Some((version, Some(document))) = writes.documents.get_mut(&id) else { return Ok(None) };
    if recorded.stream_version <= *version {
        return Ok(None);
    }
    let Some(evolved) = document.clone().evolve(event, recorded.occurred_at) else { return Ok(None) };
    (*version, *document) = (recorded.stream_version, evolved);
    Ok(Some((serde_json::to_value(&*document).unwrap_or_default(), document.public())))
}
