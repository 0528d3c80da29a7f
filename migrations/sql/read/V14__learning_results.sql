-- Exercise answers, exam attempts, completion and certificates on the enrolments (R9, R10, D1, D6), the
-- catalogue's exam statistics, and each trainee's notes per course.
ALTER TABLE enrollment_view ADD COLUMN exercise_answers jsonb NOT NULL DEFAULT '{}';
ALTER TABLE enrollment_view ADD COLUMN exam_attempts smallint NOT NULL DEFAULT 0;
ALTER TABLE enrollment_view ADD COLUMN exam_best_grade smallint;
ALTER TABLE enrollment_view ADD COLUMN exam_last_grade smallint;
ALTER TABLE enrollment_view ADD COLUMN exam_answers jsonb;
ALTER TABLE enrollment_view ADD COLUMN answers_revealed boolean NOT NULL DEFAULT false;
ALTER TABLE enrollment_view ADD COLUMN completed_at timestamptz;
ALTER TABLE enrollment_view ADD COLUMN certificate_id uuid;
-- The public verification route finds a certificate by its id.
CREATE UNIQUE INDEX enrollment_view_certificate ON enrollment_view (certificate_id) WHERE certificate_id IS NOT NULL;

-- Every attempt counts in the course's exam average (R9), kept as a sum to divide at read time.
ALTER TABLE catalog_course ADD COLUMN exam_grade_sum bigint NOT NULL DEFAULT 0;
ALTER TABLE catalog_course ADD COLUMN exam_attempts integer NOT NULL DEFAULT 0;

CREATE TABLE trainee_notes (
    trainee_id uuid        NOT NULL,
    course_id  uuid        NOT NULL,
    text       text        NOT NULL,
    updated_at timestamptz NOT NULL,
    version    bigint      NOT NULL,
    CONSTRAINT trainee_notes_pkey PRIMARY KEY (trainee_id, course_id)
);
