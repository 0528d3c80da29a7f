-- The process managers' places in the feed: they issue commands, so they live beside the event store.
CREATE TABLE saga_checkpoints (
    saga       text        NOT NULL,
    position   bigint      NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT saga_checkpoints_pkey PRIMARY KEY (saga)
);

-- Events a saga could not act on (a command refused for good, an event that does not decode): the first
-- one of a stream is 'parked' with its error, later ones of that stream 'waiting' behind it, until an
-- operator retries or skips them. The other streams go on.
CREATE TABLE saga_dead_letters (
    saga        text        NOT NULL,
    position    bigint      NOT NULL,
    stream_id   text        NOT NULL,
    event_id    uuid        NOT NULL,
    event_type  text        NOT NULL,
    status      text        NOT NULL,
    error       text,
    parked_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT saga_dead_letters_pkey PRIMARY KEY (saga, position),
    CONSTRAINT saga_dead_letters_status CHECK (status IN ('parked', 'waiting'))
);
CREATE INDEX saga_dead_letters_stream ON saga_dead_letters (saga, stream_id);
