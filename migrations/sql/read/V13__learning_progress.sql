-- Learning progress (R8) on the enrolments, and each trainee's last viewed course.
ALTER TABLE enrollment_view ADD COLUMN progress smallint NOT NULL DEFAULT 0;
ALTER TABLE enrollment_view ADD COLUMN visited_lessons uuid[] NOT NULL DEFAULT '{}';

CREATE TABLE trainee_last_viewed (
    trainee_id uuid        NOT NULL,
    course_id  uuid        NOT NULL,
    at         timestamptz NOT NULL,
    CONSTRAINT trainee_last_viewed_pkey PRIMARY KEY (trainee_id)
);
