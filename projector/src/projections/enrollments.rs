//! `enrollment_view`: each trainee's enrolments, with where they came from, their progress, exercise
//! answers, exam attempts, completion and certificate; `trainee_last_viewed`, the course each trainee opened
//! last; and `course_note`, each trainee's titled notes per course (gone with the account).

use super::Writes;
use events::learning::EnrollmentSource;
use events::{Event, RecordedEvent};
use tokio_postgres::types::ToSql;

/// Runs `sql` on the enrolment of `trainee_id` in `course_id` with `values` as `$3...`, unless the row has
/// seen this event's version already; `$2`... are shifted accordingly.
async fn update_enrollment(
    writes: &mut Writes<'_, '_>,
    recorded: &RecordedEvent,
    (trainee_id, course_id): (uuid::Uuid, uuid::Uuid),
    set: &str,
    values: &[&(dyn ToSql + Sync)],
) -> Result<(), tokio_postgres::Error> {
    let version = values.len() + 3;
    let sql = format!(
        "UPDATE enrollment_view SET {set}, version = ${version} \
         WHERE trainee_id = $1 AND course_id = $2 AND version < ${version}"
    );
    let mut params: Vec<&(dyn ToSql + Sync)> = vec![&trainee_id, &course_id];
    params.extend_from_slice(values);
    params.push(&recorded.stream_version);
    writes.execute(&sql, &params).await
}

pub(super) async fn apply(
    writes: &mut Writes<'_, '_>,
    recorded: &RecordedEvent,
    event: &Event,
) -> Result<(), tokio_postgres::Error> {
    match event {
        Event::LessonViewed(viewed) => {
            let at = (viewed.trainee_id, viewed.course_id);
            let set = "progress = $3, visited_lessons = array_append(visited_lessons, $4)";
            update_enrollment(writes, recorded, at, set, &[&i16::from(viewed.progress), &viewed.lesson_id]).await?;
            return last_viewed(writes, viewed.trainee_id, viewed.course_id, recorded).await;
        }
        Event::ProgressRecomputed(recomputed) => {
            let at = (recomputed.trainee_id, recomputed.course_id);
            return update_enrollment(writes, recorded, at, "progress = $3", &[&i16::from(recomputed.progress)]).await;
        }
        Event::CourseOpened(opened) => {
            return last_viewed(writes, opened.trainee_id, opened.course_id, recorded).await;
        }
        Event::ExerciseAnswerSubmitted(answered) => {
            let answer = serde_json::json!({
                "exercise_id": answered.exercise_id,
                "answer_index": answered.answer_index,
                "correct": answered.correct,
            });
            let key = answered.question_id.to_string();
            let set = "exercise_answers = jsonb_set(exercise_answers, ARRAY[$3::text], $4)";
            let at = (answered.trainee_id, answered.course_id);
            return update_enrollment(writes, recorded, at, set, &[&key, &answer]).await;
        }
        Event::ExamSubmitted(exam) => {
            let answers = serde_json::to_value(&exam.answers).unwrap_or_default();
            let set = "exam_attempts = $3, exam_last_grade = $4, exam_best_grade = $5, exam_answers = $6";
            let values: [&(dyn ToSql + Sync); 4] =
                [&i16::from(exam.attempt), &i16::from(exam.grade), &i16::from(exam.best_grade), &answers];
            return update_enrollment(writes, recorded, (exam.trainee_id, exam.course_id), set, &values).await;
        }
        Event::ExamAnswersRevealed(revealed) => {
            let at = (revealed.trainee_id, revealed.course_id);
            return update_enrollment(writes, recorded, at, "answers_revealed = true", &[]).await;
        }
        Event::CourseCompleted(completed) => {
            let at = (completed.trainee_id, completed.course_id);
            return update_enrollment(writes, recorded, at, "completed_at = $3", &[&recorded.occurred_at]).await;
        }
        Event::CertificateIssued(issued) => {
            let at = (issued.trainee_id, issued.course_id);
            return update_enrollment(writes, recorded, at, "certificate_id = $3", &[&issued.certificate_id]).await;
        }
        Event::EnrollmentRevoked(revoked) => {
            let at = (revoked.trainee_id, revoked.course_id);
            return update_enrollment(writes, recorded, at, "status = 'revoked'", &[]).await;
        }
        Event::RefundRequested(requested) => return refund_requested(writes, recorded, requested).await,
        Event::RefundRequestAcknowledged(e) => {
            return refund_moved(writes, recorded, (e.trainee_id, e.course_id, e.refund_id), "pending", None, None)
                .await;
        }
        Event::RefundApproved(e) => {
            let ids = (e.trainee_id, e.course_id, e.refund_id);
            return refund_moved(writes, recorded, ids, "approved", Some(e.refund_cents), None).await;
        }
        Event::RefundRejected(e) => {
            let ids = (e.trainee_id, e.course_id, e.refund_id);
            return refund_moved(writes, recorded, ids, "rejected", None, Some(&e.reason)).await;
        }
        Event::RefundCompleted(e) => {
            return refund_moved(writes, recorded, (e.trainee_id, e.course_id, e.refund_id), "completed", None, None)
                .await;
        }
        Event::NotesReplaced(notes) => return replace_notes(writes, recorded, notes).await,
        Event::NoteCreated(e) => {
            let note =
                Note { trainee_id: e.trainee_id, note_id: e.note_id, course_id: e.course_id, lesson_id: e.lesson_id };
            return write_note(writes, recorded, note, &e.title, &e.text).await;
        }
        Event::NoteUpdated(e) => {
            let note =
                Note { trainee_id: e.trainee_id, note_id: e.note_id, course_id: e.course_id, lesson_id: e.lesson_id };
            return write_note(writes, recorded, note, &e.title, &e.text).await;
        }
        Event::NoteDeleted(e) => {
            let sql = "DELETE FROM course_note WHERE trainee_id = $1 AND note_id = $2 AND version < $3";
            return writes.execute(sql, &[&e.trainee_id, &e.note_id, &recorded.stream_version]).await;
        }
        _ => {}
    }
    if let Some(person) = super::erased_person(event) {
        // The trainee's own words go, and what was said about them.
        writes
            .execute(
                "UPDATE refund_request_view SET reason = $2, decision_reason = NULL WHERE trainee_id = $1",
                &[&person, &events::personal::ERASED_TEXT],
            )
            .await?;
        return forget_notes(writes, person).await;
    }
    // Enrolled again after a revocation, the trainee starts over; a completion and its certificate stay.
    let Event::TraineeEnrolled(enrolled) = event else { return Ok(()) };
    let (order_id, price_cents) = match &enrolled.source {
        EnrollmentSource::Purchase { order_id, price_cents } => (Some(*order_id), Some(*price_cents)),
        EnrollmentSource::AdminGrant { .. } | EnrollmentSource::CorporateGrant { .. } => (None, None),
    };
    let source = enrolled.source.kind();
    writes
        .execute(
            "INSERT INTO enrollment_view (trainee_id, course_id, status, source, order_id, price_cents, enrolled_at, \
             version) VALUES ($1, $2, 'active', $3, $4, $5, $6, $7) \
             ON CONFLICT (trainee_id, course_id) DO UPDATE SET status = 'active', source = $3, order_id = $4, \
             price_cents = $5, enrolled_at = $6, version = $7, progress = 0, visited_lessons = '{}', \
             exercise_answers = '{}', exam_attempts = 0, exam_best_grade = NULL, exam_last_grade = NULL, \
             exam_answers = NULL, answers_revealed = false WHERE enrollment_view.version < $7",
            &[
                &enrolled.trainee_id,
                &enrolled.course_id,
                &source,
                &order_id,
                &price_cents,
                &recorded.occurred_at,
                &recorded.stream_version,
            ],
        )
        .await
}

async fn last_viewed(
    writes: &mut Writes<'_, '_>,
    trainee_id: uuid::Uuid,
    course_id: uuid::Uuid,
    recorded: &RecordedEvent,
) -> Result<(), tokio_postgres::Error> {
    writes
        .execute(
            "INSERT INTO trainee_last_viewed (trainee_id, course_id, at) VALUES ($1, $2, $3) \
             ON CONFLICT (trainee_id) DO UPDATE SET course_id = $2, at = $3 WHERE trainee_last_viewed.at <= $3",
            &[&trainee_id, &course_id, &recorded.occurred_at],
        )
        .await
}

/// A run of `LessonViewed` events, each enrolment at most once (a run holds each stream once): the progress of
/// every enrolment in one statement, and each trainee's last viewed course in another, as the views one by one
/// would leave them.
pub(super) async fn lessons_viewed(
    writes: &mut Writes<'_, '_>,
    run: &[(&RecordedEvent, &Event)],
) -> Result<(), tokio_postgres::Error> {
    let viewed: Vec<(&RecordedEvent, &events::learning::LessonViewed)> = run
        .iter()
        .filter_map(|(recorded, event)| match event {
            Event::LessonViewed(viewed) => Some((*recorded, viewed)),
            _ => None,
        })
        .collect();
    let mut enrolments = std::collections::HashSet::new();
    let distinct = viewed.iter().all(|(_, view)| enrolments.insert((view.trainee_id, view.course_id)));
    if viewed.len() != run.len() || !distinct {
        // Another event, or two streams naming one enrolment: not a run one statement can write; one by one.
        for (recorded, event) in run {
            apply(writes, recorded, event).await?;
        }
        return Ok(());
    }
    let column = |field: fn(&RecordedEvent, &events::learning::LessonViewed) -> uuid::Uuid| -> Vec<uuid::Uuid> {
        viewed.iter().map(|(recorded, view)| field(recorded, view)).collect()
    };
    let progress: Vec<i16> = viewed.iter().map(|(_, view)| i16::from(view.progress)).collect();
    let versions: Vec<i64> = viewed.iter().map(|(recorded, _)| recorded.stream_version).collect();
    writes
        .execute(
            "UPDATE enrollment_view e SET progress = v.progress, \
             visited_lessons = array_append(e.visited_lessons, v.lesson_id), version = v.version \
             FROM unnest($1::uuid[], $2::uuid[], $3::int2[], $4::uuid[], $5::bigint[]) \
             AS v(trainee_id, course_id, progress, lesson_id, version) \
             WHERE e.trainee_id = v.trainee_id AND e.course_id = v.course_id AND e.version < v.version",
            &[
                &column(|_, view| view.trainee_id),
                &column(|_, view| view.course_id),
                &progress,
                &column(|_, view| view.lesson_id),
                &versions,
            ],
        )
        .await?;
    // A trainee's views in the run, the last at the latest time: the one that one by one would have stayed.
    let mut last: std::collections::HashMap<uuid::Uuid, (&RecordedEvent, uuid::Uuid)> =
        std::collections::HashMap::new();
    for (recorded, view) in &viewed {
        let kept = last.entry(view.trainee_id).or_insert((recorded, view.course_id));
        if (kept.0.occurred_at, kept.0.position) <= (recorded.occurred_at, recorded.position) {
            *kept = (recorded, view.course_id);
        }
    }
    let trainees: Vec<uuid::Uuid> = last.keys().copied().collect();
    let courses: Vec<uuid::Uuid> = trainees.iter().map(|trainee| last[trainee].1).collect();
    let times: Vec<time::OffsetDateTime> = trainees.iter().map(|trainee| last[trainee].0.occurred_at).collect();
    writes
        .execute(
            "INSERT INTO trainee_last_viewed (trainee_id, course_id, at) \
             SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::timestamptz[]) \
             ON CONFLICT (trainee_id) DO UPDATE SET course_id = EXCLUDED.course_id, at = EXCLUDED.at \
             WHERE trainee_last_viewed.at <= EXCLUDED.at",
            &[&trainees, &courses, &times],
        )
        .await
}

/// Which note an event writes.
struct Note {
    trainee_id: uuid::Uuid,
    note_id: uuid::Uuid,
    course_id: uuid::Uuid,
    lesson_id: Option<uuid::Uuid>,
}

/// A course's one text of before notes had titles: its note with the course's id, gone once emptied.
async fn replace_notes(
    writes: &mut Writes<'_, '_>,
    recorded: &RecordedEvent,
    notes: &events::learning::NotesReplaced,
) -> Result<(), tokio_postgres::Error> {
    if notes.text.text() == Some("") {
        let sql = "DELETE FROM course_note WHERE trainee_id = $1 AND note_id = $2 AND version < $3";
        return writes.execute(sql, &[&notes.trainee_id, &notes.course_id, &recorded.stream_version]).await;
    }
    let note =
        Note { trainee_id: notes.trainee_id, note_id: notes.course_id, course_id: notes.course_id, lesson_id: None };
    let title = events::personal::Personal::clear(events::learning::REPLACED_NOTES_TITLE);
    write_note(writes, recorded, note, &title, &notes.text).await
}

/// Writes a note as it is now, unless the row has seen this event's version already.
async fn write_note(
    writes: &mut Writes<'_, '_>,
    recorded: &RecordedEvent,
    note: Note,
    title: &events::personal::Personal,
    text: &events::personal::Personal,
) -> Result<(), tokio_postgres::Error> {
    // Notes whose owner's key is gone (an erased account, replayed) no longer exist.
    let (Some(title), Some(text)) = (title.text(), text.text()) else { return Ok(()) };
    let params: [&(dyn ToSql + Sync); 8] = [
        &note.trainee_id,
        &note.note_id,
        &note.course_id,
        &note.lesson_id,
        &title,
        &text,
        &recorded.occurred_at,
        &recorded.stream_version,
    ];
    writes
        .execute(
            "INSERT INTO course_note (trainee_id, note_id, course_id, lesson_id, title, text, created_at, updated_at, \
             version) VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8) ON CONFLICT (trainee_id, note_id) DO UPDATE \
             SET lesson_id = $4, title = $5, text = $6, updated_at = $7, version = $8 WHERE course_note.version < $8",
            &params,
        )
        .await
}

async fn forget_notes(writes: &mut Writes<'_, '_>, trainee_id: uuid::Uuid) -> Result<(), tokio_postgres::Error> {
    writes.execute("DELETE FROM course_note WHERE trainee_id = $1", &[&trainee_id]).await
}

async fn refund_requested(
    writes: &mut Writes<'_, '_>,
    recorded: &RecordedEvent,
    requested: &events::learning::RefundRequested,
) -> Result<(), tokio_postgres::Error> {
    let at = (requested.trainee_id, requested.course_id);
    update_enrollment(writes, recorded, at, "refund_status = 'unseen'", &[]).await?;
    let reason = requested.reason.text_or(events::personal::ERASED_TEXT);
    let progress = i16::from(requested.progress_at_request);
    let params: [&(dyn ToSql + Sync); 9] = [
        &requested.refund_id,
        &requested.trainee_id,
        &requested.course_id,
        &requested.order_id,
        &reason,
        &requested.paid_cents,
        &progress,
        &recorded.occurred_at,
        &recorded.stream_version,
    ];
    writes
        .execute(
            "INSERT INTO refund_request_view (refund_id, trainee_id, course_id, order_id, status, reason, paid_cents, \
             progress_at_request, requested_at, updated_at, version) \
             VALUES ($1, $2, $3, $4, 'unseen', $5, $6, $7, $8, $8, $9) ON CONFLICT (refund_id) DO NOTHING",
            &params,
        )
        .await
}

/// A refund request moved on to `status`, on the enrolment and in the admins' list.
async fn refund_moved(
    writes: &mut Writes<'_, '_>,
    recorded: &RecordedEvent,
    (trainee_id, course_id, refund_id): (uuid::Uuid, uuid::Uuid, uuid::Uuid),
    status: &str,
    refund_cents: Option<i64>,
    decision_reason: Option<&str>,
) -> Result<(), tokio_postgres::Error> {
    update_enrollment(writes, recorded, (trainee_id, course_id), "refund_status = $3", &[&status]).await?;
    let params: [&(dyn ToSql + Sync); 6] =
        [&refund_id, &status, &refund_cents, &decision_reason, &recorded.occurred_at, &recorded.stream_version];
    writes
        .execute(
            "UPDATE refund_request_view SET status = $2, refund_cents = COALESCE($3, refund_cents), \
             decision_reason = COALESCE($4, decision_reason), updated_at = $5, version = $6 \
             WHERE refund_id = $1 AND version < $6",
            &params,
        )
        .await
}
