-- Where the Kafka relay stands in the feed. It moves only after the broker acknowledged every event up to it.
CREATE TABLE relay_checkpoints (
    relay      text        NOT NULL,
    position   bigint      NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT relay_checkpoints_pkey PRIMARY KEY (relay)
);
