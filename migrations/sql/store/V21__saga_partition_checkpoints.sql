-- Where the sagas stand in each Kafka partition: the offset of the last record they handled there, written
-- with their stream versions after each batch. A consumer handed a partition seeks to the record after it
-- (the partition's beginning without a row); Kafka's committed offsets are only a hint (ARCHITECTURE.md,
-- invariant 32). A record whose stream version `saga_stream_versions` already holds was handled (or parked)
-- and is skipped, so a seek to a partition's beginning costs a read, not a command.
CREATE TABLE saga_partition_checkpoints (
    saga         text        NOT NULL,
    topic        text        NOT NULL,
    partition    integer     NOT NULL,
    kafka_offset bigint      NOT NULL,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT saga_partition_checkpoints_pkey PRIMARY KEY (saga, topic, partition)
);
