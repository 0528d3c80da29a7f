-- Reviews (D7, R12): each course's and each instructor's reviews, newest first, and the averages they make.
ALTER TABLE catalog_course ADD COLUMN rating_sum bigint NOT NULL DEFAULT 0;

CREATE TABLE course_review (
    course_id  uuid        NOT NULL,
    trainee_id uuid        NOT NULL,
    rating     smallint    NOT NULL,
    -- NULL once the reviewer's account was erased.
    comment    text,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    version    bigint      NOT NULL,
    CONSTRAINT course_review_pkey PRIMARY KEY (course_id, trainee_id)
);
CREATE INDEX course_review_recent ON course_review (course_id, created_at DESC);

CREATE TABLE instructor_review (
    instructor_id uuid        NOT NULL,
    trainee_id    uuid        NOT NULL,
    course_id     uuid        NOT NULL,
    rating        smallint    NOT NULL,
    comment       text,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    version       bigint      NOT NULL,
    CONSTRAINT instructor_review_pkey PRIMARY KEY (instructor_id, trainee_id)
);
CREATE INDEX instructor_review_recent ON instructor_review (instructor_id, created_at DESC);

CREATE TABLE instructor_rating (
    instructor_id uuid         NOT NULL,
    rating_sum    bigint       NOT NULL,
    rating_count  integer      NOT NULL,
    rating_avg    numeric(3, 2) NOT NULL,
    CONSTRAINT instructor_rating_pkey PRIMARY KEY (instructor_id)
);
CREATE INDEX instructor_rating_avg ON instructor_rating (rating_avg DESC);
