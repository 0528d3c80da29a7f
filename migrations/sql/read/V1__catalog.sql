-- Where each projector stands in the feed, written in the same transaction as the read models it feeds.
CREATE TABLE projector_checkpoints (
    projector  text        NOT NULL,
    position   bigint      NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT projector_checkpoints_pkey PRIMARY KEY (projector)
);

-- The catalogue: one row per course, public fields only.
CREATE TABLE catalog_course (
    id               uuid        NOT NULL,
    instructor_id    uuid        NOT NULL,
    title            text        NOT NULL,
    summary          text        NOT NULL,
    category         text        NOT NULL,
    subcategories    text[]      NOT NULL,
    level            text        NOT NULL,
    language         text        NOT NULL,
    base_price_cents bigint      NOT NULL,
    status           text        NOT NULL,
    -- The course stream's version this row reflects; a projection never moves it backwards.
    version          bigint      NOT NULL,
    created_at       timestamptz NOT NULL,
    published_at     timestamptz,
    updated_at       timestamptz NOT NULL,
    CONSTRAINT catalog_course_pkey PRIMARY KEY (id)
);

CREATE INDEX catalog_course_published_order ON catalog_course (published_at DESC, id) WHERE status = 'published';
