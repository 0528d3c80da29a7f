-- Events the relay could not publish because their stream belongs to no bounded context (so there is no
-- topic for it): the stream is parked here, every later event of it too, in order, and the relay goes on
-- with every other stream. An operator sees them in `learnlog dead-letters list`. (Publishing them once a
-- newer version knows the stream's context is not built yet: they stay here, in order, until it is.)
CREATE TABLE relay_dead_letters (
    relay      text        NOT NULL,
    position   bigint      NOT NULL,
    stream_id  text        NOT NULL,
    event_type text        NOT NULL,
    error      text        NOT NULL,
    first_seen timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT relay_dead_letters_pkey PRIMARY KEY (relay, position)
);
