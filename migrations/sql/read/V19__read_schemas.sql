-- Which schema holds the read models that are served, and the snapshots kept beside them (`learnlog replay`).
-- These tables live in a schema of their own, `learnlog_meta`, outside every read-model schema: a rebuild
-- runs this whole set of migrations again inside a fresh schema, where the statements below change nothing.
CREATE SCHEMA IF NOT EXISTS learnlog_meta;

-- One row: the schema the query API, the projector, the sagas and the operators' commands use. A switch
-- updates it under a row lock that the projector's batches share, and notifies `learnlog_read_schema`.
CREATE TABLE IF NOT EXISTS learnlog_meta.read_schema (
    singleton   boolean     NOT NULL DEFAULT true,
    name        text        NOT NULL,
    switched_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT read_schema_pkey PRIMARY KEY (singleton),
    CONSTRAINT read_schema_singleton CHECK (singleton)
);
INSERT INTO learnlog_meta.read_schema (name) VALUES ('public') ON CONFLICT DO NOTHING;

-- Every schema `learnlog replay` built: a rebuild (switched to, or kept after the next switch) or a snapshot
-- of the read models as of a time or position, served read-only under /api/v1/as-of/{name}/.
CREATE TABLE IF NOT EXISTS learnlog_meta.read_schemas (
    name       text        NOT NULL,
    kind       text        NOT NULL,
    as_of      timestamptz,
    position   bigint      NOT NULL,
    events     bigint      NOT NULL,
    built_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT read_schemas_pkey PRIMARY KEY (name),
    CONSTRAINT read_schemas_kind CHECK (kind IN ('rebuild', 'snapshot'))
);
