-- The catalogue's search, filters and sorts (DOMAIN.md 2.6.1), course content and discounts, exchange rates.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

ALTER TABLE catalog_course ADD COLUMN instructor_name text NOT NULL DEFAULT '';
ALTER TABLE catalog_course ADD COLUMN lesson_count integer NOT NULL DEFAULT 0;
ALTER TABLE catalog_course ADD COLUMN duration_h integer NOT NULL DEFAULT 0;
-- Fed by reviews and enrolments once those contexts exist; 0 until then.
ALTER TABLE catalog_course ADD COLUMN rating_avg numeric(3, 2) NOT NULL DEFAULT 0;
ALTER TABLE catalog_course ADD COLUMN rating_count integer NOT NULL DEFAULT 0;
ALTER TABLE catalog_course ADD COLUMN enrolled_count bigint NOT NULL DEFAULT 0;

CREATE INDEX catalog_course_title_trgm ON catalog_course USING gin (title gin_trgm_ops);
CREATE INDEX catalog_course_instructor_name_trgm ON catalog_course USING gin (instructor_name gin_trgm_ops);
CREATE INDEX catalog_course_instructor ON catalog_course (instructor_id);
CREATE INDEX catalog_course_category ON catalog_course (category) WHERE status = 'published';
CREATE INDEX catalog_course_rating ON catalog_course (rating_avg DESC) WHERE status = 'published';
CREATE INDEX catalog_course_popular ON catalog_course (enrolled_count DESC) WHERE status = 'published';
CREATE INDEX catalog_course_price ON catalog_course (base_price_cents) WHERE status = 'published';

-- Sections, lessons, exercises, exam, FAQ and announcements of a course: `doc` in full (video URLs and
-- answers included, for owners and enrolled trainees), `public_doc` as anyone may see it.
CREATE TABLE course_document (
    course_id  uuid   NOT NULL,
    version    bigint NOT NULL,
    doc        jsonb  NOT NULL,
    public_doc jsonb  NOT NULL,
    CONSTRAINT course_document_pkey PRIMARY KEY (course_id)
);

CREATE TABLE course_discount (
    course_id   uuid     NOT NULL,
    discount_id uuid     NOT NULL,
    percent     smallint NOT NULL,
    starts_on   date     NOT NULL,
    ends_on     date     NOT NULL,
    issued_by   text     NOT NULL,
    CONSTRAINT course_discount_pkey PRIMARY KEY (course_id, discount_id)
);
CREATE INDEX course_discount_window ON course_discount (course_id, ends_on);

-- How many units of `currency` one US dollar buys, in millionths (D8).
CREATE TABLE fx_rates (
    currency   text        NOT NULL,
    rate_ppm   bigint      NOT NULL,
    version    bigint      NOT NULL,
    updated_at timestamptz NOT NULL,
    CONSTRAINT fx_rates_pkey PRIMARY KEY (currency)
);
