-- The dead letters of the followers of the events that live beside the store (the sagas, the relay), in the
-- shape of the projector's (`projector_dead_letters`, in the read models' database, where it is written in
-- the transaction that changes them), keyed by subscriber. An event a subscriber cannot act on parks its
-- stream ('parked', with the error); later events of that stream wait behind it ('waiting'), in order, while
-- every other stream goes on. An operator asks for a retry ('retry': the running subscriber handles the
-- stream's held-back events again, in order) or skips the head ('skipped', with who and why; the events
-- waiting behind it are retried). A handled event leaves the table. The event itself is the store's: rows
-- say where it is, not what it says.
CREATE TABLE dead_letters (
    id             bigint GENERATED ALWAYS AS IDENTITY,
    subscriber     text        NOT NULL,
    stream_id      text        NOT NULL,
    position       bigint      NOT NULL,
    stream_version bigint      NOT NULL,
    event_id       uuid        NOT NULL,
    event_type     text        NOT NULL,
    state          text        NOT NULL,
    error          text,
    attempts       integer     NOT NULL DEFAULT 1,
    first_seen     timestamptz NOT NULL DEFAULT now(),
    last_seen      timestamptz NOT NULL DEFAULT now(),
    resolved_at    timestamptz,
    resolved_by    text,
    skip_reason    text,
    CONSTRAINT dead_letters_pkey PRIMARY KEY (id),
    CONSTRAINT dead_letters_state CHECK (state IN ('parked', 'waiting', 'retry', 'skipped')),
    CONSTRAINT dead_letters_event UNIQUE (subscriber, position)
);

CREATE INDEX dead_letters_open ON dead_letters (subscriber, stream_id, position)
    WHERE state IN ('parked', 'waiting', 'retry');

INSERT INTO dead_letters (subscriber, stream_id, position, stream_version, event_id, event_type, state, error,
                          first_seen, last_seen, resolved_at, resolved_by, skip_reason)
SELECT 'sagas', d.stream_id, d.position, e.stream_version, d.event_id, d.event_type, d.status, d.error,
       d.parked_at, d.parked_at, d.resolved_at, d.resolved_by, d.reason
FROM saga_dead_letters d JOIN events e ON e.position = d.position
ORDER BY d.position;

-- The relay parked every event of a stream with no topic, each with its error: the first is the head.
INSERT INTO dead_letters (subscriber, stream_id, position, stream_version, event_id, event_type, state, error,
                          first_seen, last_seen)
SELECT 'relay', d.stream_id, d.position, e.stream_version, e.event_id, d.event_type,
       CASE WHEN d.position = min(d.position) OVER (PARTITION BY d.stream_id) THEN 'parked' ELSE 'waiting' END,
       CASE WHEN d.position = min(d.position) OVER (PARTITION BY d.stream_id) THEN d.error END,
       d.first_seen, d.first_seen
FROM relay_dead_letters d JOIN events e ON e.position = d.position
WHERE d.relay = 'kafka'
ORDER BY d.position;

DROP TABLE saga_dead_letters;
DROP TABLE relay_dead_letters;
