-- The events, partitioned by position range (ADR 0013). `events` holds the hot history, in partitions of
-- `event_partitioning.width` positions that the append writer creates ahead of the head
-- (`learnlog_cover_events`). `learnlog archive` moves the oldest full partitions out of `events` into the cold
-- tier, `archived_events` (partitioned the same way), after their Parquet copy is written; the heads of the
-- streams they held stay in `archived_stream_heads`, so that the append's version check and a stream's read
-- still see them. Every partition carries a CHECK of its own range, so that moving it scans nothing. `all_events` is the whole history, for every
-- reader of a position range (the feed, the history, rebuilds, exports).
--
-- A unique index of a partitioned table must hold the partition key, so `(stream_id, stream_version)` and
-- `event_id` are no longer unique constraints: one stream version per stream is kept by the append lock and
-- the gapless positions (I1, I2): every append reads the head and the versions under the lock, and a writer
-- that bypassed the lock collides on the position, which stays the primary key.

CREATE TABLE event_partitioning (
    only_row boolean NOT NULL DEFAULT true,
    -- Positions per partition; partitions made from now on take the width in force when they are made.
    width    bigint  NOT NULL,
    CONSTRAINT event_partitioning_pkey PRIMARY KEY (only_row),
    CONSTRAINT event_partitioning_one_row CHECK (only_row),
    CONSTRAINT event_partitioning_width CHECK (width >= 1)
);
INSERT INTO event_partitioning (width) VALUES (1000000);

-- Every partition of the history, hot or archived, with its range [from_position, to_position).
CREATE TABLE event_partitions (
    name          text        NOT NULL,
    from_position bigint      NOT NULL,
    to_position   bigint      NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    archived_at   timestamptz,
    -- Where `learnlog archive` wrote its Parquet copy.
    archive       text,
    CONSTRAINT event_partitions_pkey PRIMARY KEY (name),
    CONSTRAINT event_partitions_from UNIQUE (from_position),
    CONSTRAINT event_partitions_range CHECK (from_position >= 1 AND to_position > from_position),
    CONSTRAINT event_partitions_archived CHECK ((archived_at IS NULL) = (archive IS NULL))
);

-- The last version of each stream with events in an archived partition (its later events, if any, are hot).
CREATE TABLE archived_stream_heads (
    stream_id text   NOT NULL,
    version   bigint NOT NULL,
    CONSTRAINT archived_stream_heads_pkey PRIMARY KEY (stream_id)
);
CREATE INDEX archived_stream_heads_like ON archived_stream_heads (stream_id text_pattern_ops);

ALTER TABLE events RENAME TO events_from_1;
ALTER TABLE events_from_1 RENAME CONSTRAINT events_pkey TO events_from_1_pkey;
ALTER TABLE events_from_1 DROP CONSTRAINT events_stream_version_unique;
ALTER TABLE events_from_1 DROP CONSTRAINT events_event_id_unique;

-- The same columns, defaults and checks as before.
CREATE TABLE events (LIKE events_from_1 INCLUDING DEFAULTS INCLUDING CONSTRAINTS) PARTITION BY RANGE (position);
ALTER TABLE events ADD CONSTRAINT events_pkey PRIMARY KEY (position);
CREATE INDEX events_stream ON events (stream_id, stream_version);
CREATE INDEX events_event_id ON events (event_id);

-- The cold tier: never written directly; its partitions are the archived ones, with the same indexes.
CREATE TABLE archived_events (LIKE events INCLUDING DEFAULTS INCLUDING CONSTRAINTS) PARTITION BY RANGE (position);
ALTER TABLE archived_events ADD CONSTRAINT archived_events_pkey PRIMARY KEY (position);
CREATE INDEX archived_events_stream ON archived_events (stream_id, stream_version);
CREATE INDEX archived_events_event_id ON archived_events (event_id);

CREATE VIEW all_events AS
    SELECT position, stream_id, stream_version, event_id, event_type, schema_version, payload, metadata,
           occurred_at, recorded_at
    FROM archived_events
    UNION ALL
    SELECT position, stream_id, stream_version, event_id, event_type, schema_version, payload, metadata,
           occurred_at, recorded_at
    FROM events;

-- The history written before partitioning becomes the first partition, as it is (its CHECK spares the attach
-- a second scan).
DO $$
DECLARE
    head bigint;
BEGIN
    SELECT COALESCE(max(position), 0) INTO head FROM events_from_1;
    IF head = 0 THEN
        DROP TABLE events_from_1;
    ELSE
        EXECUTE format('ALTER TABLE events_from_1 ADD CONSTRAINT events_from_1_range '
                       'CHECK (position >= 1 AND position < %s)', head + 1);
        EXECUTE format('ALTER TABLE events ATTACH PARTITION events_from_1 FOR VALUES FROM (1) TO (%s)', head + 1);
        INSERT INTO event_partitions (name, from_position, to_position) VALUES ('events_from_1', 1, head + 1);
    END IF;
END
$$;

-- Makes sure partitions take every position up to `through` and a quarter of a partition beyond, creating the
-- missing ones (each made apart, with the CHECK of its range, and then attached, which does not stop readers or
-- writers of `events`).
-- Returns the position from which the caller must call again. Called by the append writer under the append
-- lock; its own lock keeps two callers from making the same partition.
CREATE FUNCTION learnlog_cover_events(through bigint) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    width  bigint;
    spare  bigint;
    upper  bigint;
    name   text;
BEGIN
    PERFORM pg_advisory_xact_lock(5494386571101438323);
    SELECT p.width INTO width FROM event_partitioning p;
    spare := greatest(width / 4, 1);
    SELECT COALESCE(max(to_position), 1) INTO upper FROM event_partitions;
    WHILE upper - spare <= through LOOP
        name := 'events_from_' || upper;
        EXECUTE format('CREATE TABLE %I (LIKE events INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', name);
        EXECUTE format('ALTER TABLE %I ADD CONSTRAINT %I CHECK (position >= %s AND position < %s)',
                       name, name || '_range', upper, upper + width);
        EXECUTE format('ALTER TABLE events ATTACH PARTITION %I FOR VALUES FROM (%s) TO (%s)',
                       name, upper, upper + width);
        INSERT INTO event_partitions (name, from_position, to_position) VALUES (name, upper, upper + width);
        upper := upper + width;
    END LOOP;
    RETURN upper - spare;
END
$$;

-- Moves the oldest hot partition, which must be full with the head past it (so that `events` always holds the
-- newest event, which the append reads its head from), to the cold tier: records the heads of its streams, then
-- detaches it from `events` and attaches it to `archived_events`, in one transaction, so that every reader sees
-- each event in exactly one of the two. Holds `events` exclusively from the detach to the commit, which follows
-- at once (the CHECK of its range spares the attach a scan); the caller sets a lock timeout. Returns the number
-- of events moved.
CREATE FUNCTION learnlog_archive_event_partition(partition text, archive text) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    low  bigint;
    high bigint;
    head bigint;
BEGIN
    SELECT from_position, to_position INTO low, high FROM event_partitions
    WHERE name = partition AND archived_at IS NULL FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no hot partition is named %', partition;
    END IF;
    IF EXISTS (SELECT 1 FROM event_partitions WHERE archived_at IS NULL AND from_position < low) THEN
        RAISE EXCEPTION 'partition % is not the oldest hot partition', partition;
    END IF;
    SELECT COALESCE(max(position), 0) INTO head FROM events;
    IF head < high THEN
        RAISE EXCEPTION 'partition % ends at position %: the head (%) must be past it', partition, high - 1, head;
    END IF;
    EXECUTE format('INSERT INTO archived_stream_heads (stream_id, version) '
                   'SELECT stream_id, max(stream_version) FROM %I GROUP BY stream_id '
                   'ON CONFLICT (stream_id) DO UPDATE '
                   'SET version = greatest(archived_stream_heads.version, excluded.version)', partition);
    EXECUTE format('ALTER TABLE events DETACH PARTITION %I', partition);
    EXECUTE format('ALTER TABLE archived_events ATTACH PARTITION %I FOR VALUES FROM (%s) TO (%s)',
                   partition, low, high);
    UPDATE event_partitions SET archived_at = now(), archive = learnlog_archive_event_partition.archive
    WHERE name = partition;
    RETURN high - low;
END
$$;
