-- A Kafka-fed projector's place in each partition, written in the same transaction as the read models.
-- `kafka_offset` skips redelivered records; `position` (the highest global position applied from this
-- partition) skips events a relay restart published twice under new offsets.
CREATE TABLE projector_partition_checkpoints (
    projector    text        NOT NULL,
    topic        text        NOT NULL,
    partition    integer     NOT NULL,
    kafka_offset bigint      NOT NULL,
    position     bigint      NOT NULL,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT projector_partition_checkpoints_pkey PRIMARY KEY (projector, topic, partition)
);

-- The last version of each stream the read models include: lets a consistency token be checked whichever
-- source (feed or any Kafka partition) carried the event.
CREATE TABLE projected_stream_versions (
    stream_id text   NOT NULL,
    version   bigint NOT NULL,
    CONSTRAINT projected_stream_versions_pkey PRIMARY KEY (stream_id)
);
