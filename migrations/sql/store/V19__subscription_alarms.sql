-- Kafka records a subscriber refused to act on: not a Learnlog event, or not the event the store holds under
-- the id the record claims (forged into a topic, or altered on the way). The store is the truth and Kafka
-- only the transport, so such a record changes nothing; it is kept here for operators
-- (`learnlog dead-letters list`), once per subscriber and record.
CREATE TABLE rejected_records (
    subscriber   text        NOT NULL,
    topic        text        NOT NULL,
    partition    integer     NOT NULL,
    kafka_offset bigint      NOT NULL,
    -- What the record claims, as far as it could be read.
    stream_id    text,
    event_id     uuid,
    event_type   text,
    reason       text        NOT NULL,
    seen_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT rejected_records_pkey PRIMARY KEY (subscriber, topic, partition, kafka_offset)
);

-- Versions of a stream that Kafka did not deliver to a subscriber before a later one (a gap). A gap is an
-- alarm, never a skip: the subscriber read the missing events from the store and applied them in order;
-- this keeps where and when, for operators.
CREATE TABLE subscription_gaps (
    subscriber      text        NOT NULL,
    stream_id       text        NOT NULL,
    first_missing   bigint      NOT NULL,
    last_missing    bigint      NOT NULL,
    -- Where the record that revealed the gap was read.
    topic           text,
    partition       integer,
    kafka_offset    bigint,
    read_from_store bigint      NOT NULL,
    seen_at         timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT subscription_gaps_pkey PRIMARY KEY (subscriber, stream_id, first_missing, last_missing)
);
