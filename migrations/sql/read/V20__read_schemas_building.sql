-- A schema `learnlog replay` fills is listed (as `building`) before the fill starts, so that an erasure reaches it
-- from the start and a build that fails can be seen and dropped. Names are plain identifiers. Like V19, these
-- statements run once per read-model schema and change nothing after the first time.
ALTER TABLE learnlog_meta.read_schemas DROP CONSTRAINT IF EXISTS read_schemas_kind;
ALTER TABLE learnlog_meta.read_schemas
    ADD CONSTRAINT read_schemas_kind CHECK (kind IN ('building', 'rebuild', 'snapshot'));
ALTER TABLE learnlog_meta.read_schemas DROP CONSTRAINT IF EXISTS read_schemas_name;
ALTER TABLE learnlog_meta.read_schemas ADD CONSTRAINT read_schemas_name CHECK (name ~ '^[a-z][a-z0-9_]{0,62}$');
ALTER TABLE learnlog_meta.read_schema DROP CONSTRAINT IF EXISTS read_schema_name;
ALTER TABLE learnlog_meta.read_schema ADD CONSTRAINT read_schema_name CHECK (name ~ '^[a-z][a-z0-9_]{0,62}$');
