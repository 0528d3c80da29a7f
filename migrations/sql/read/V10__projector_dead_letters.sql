-- Events a projector could not decode or apply, and the events of the same stream that wait behind them.
-- A stream is parked while it has a row in state 'parked' or 'waiting': its later events are stored here, in
-- order, instead of being applied, so order per stream holds while every other stream goes on. The row with the
-- error is the head ('parked'); retrying it applies the head and the waiting rows in position order, skipping
-- it marks it 'skipped' (with who and why) and applies the rest. Nothing here is ever applied twice: the
-- projections' stream-version guards hold for these events as for any other.
CREATE TABLE projector_dead_letters (
    id              bigint GENERATED ALWAYS AS IDENTITY,
    projector       text        NOT NULL,
    stream_id       text        NOT NULL,
    position        bigint      NOT NULL,
    stream_version  bigint      NOT NULL,
    event_id        uuid        NOT NULL,
    event_type      text        NOT NULL,
    schema_version  integer     NOT NULL,
    -- The event exactly as the store holds it, as text: whatever made it fail must not make storing it fail.
    payload         text        NOT NULL,
    metadata        text        NOT NULL,
    occurred_at     timestamptz NOT NULL,
    recorded_at     timestamptz NOT NULL,
    state           text        NOT NULL,
    error           text,
    attempts        integer     NOT NULL DEFAULT 0,
    first_seen      timestamptz NOT NULL DEFAULT now(),
    last_seen       timestamptz NOT NULL DEFAULT now(),
    resolved_at     timestamptz,
    resolved_by     text,
    skip_reason     text,
    CONSTRAINT projector_dead_letters_pkey PRIMARY KEY (id),
    CONSTRAINT projector_dead_letters_state CHECK (state IN ('parked', 'waiting', 'applied', 'skipped')),
    CONSTRAINT projector_dead_letters_event UNIQUE (projector, stream_id, stream_version)
);

CREATE INDEX projector_dead_letters_open ON projector_dead_letters (projector, stream_id, position)
    WHERE state IN ('parked', 'waiting');
