-- The newest version of each stream the sagas handled (or parked) from Kafka: a record that skips versions of
-- its stream is a gap, whose missing events the sagas read from the store (ARCHITECTURE.md, invariant 30).
-- Seeded with every stream as the store holds it now, so that only what is delivered from now on is checked
-- (the sagas do not skip anything by these versions; they only raise the alarm by them).
CREATE TABLE saga_stream_versions (
    saga      text   NOT NULL,
    stream_id text   NOT NULL,
    version   bigint NOT NULL,
    CONSTRAINT saga_stream_versions_pkey PRIMARY KEY (saga, stream_id)
);

INSERT INTO saga_stream_versions (saga, stream_id, version)
SELECT 'checkout', stream_id, max(stream_version) FROM events GROUP BY stream_id;
