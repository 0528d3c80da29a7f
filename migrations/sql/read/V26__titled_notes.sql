-- Notes as DOMAIN.md has them: several per course, each with a title, a text and perhaps a lesson. A course's
-- notes of before (one text, `trainee_notes`) become its note whose id is the course's, titled "Notes", as a
-- rebuild reads them from `NotesReplaced`. Like V19 to V25, it changes nothing when run again.
CREATE TABLE IF NOT EXISTS course_note (
    trainee_id uuid        NOT NULL,
    note_id    uuid        NOT NULL,
    course_id  uuid        NOT NULL,
    lesson_id  uuid,
    title      text        NOT NULL,
    text       text        NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    version    bigint      NOT NULL,
    CONSTRAINT course_note_pkey PRIMARY KEY (trainee_id, note_id)
);
CREATE INDEX IF NOT EXISTS course_note_course ON course_note (trainee_id, course_id, updated_at DESC);

DO $$
BEGIN
    IF to_regclass('trainee_notes') IS NOT NULL THEN
        INSERT INTO course_note (trainee_id, note_id, course_id, lesson_id, title, text, created_at, updated_at, version)
        SELECT trainee_id, course_id, course_id, NULL, 'Notes', text, updated_at, updated_at, version
        FROM trainee_notes WHERE text <> ''
        ON CONFLICT DO NOTHING;
        DROP TABLE trainee_notes;
    END IF;
END $$;
