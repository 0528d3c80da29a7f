-- Limits every command API process shares (command-api/src/http/limits.rs): one leaky bucket per key, kept as
-- the moment it will be empty, on this server's clock. A key is the kind of limit and a keyed label of its
-- subject (a client address, an account, an email address), never the subject in clear. A bucket drained before
-- now is the same as none, and is deleted now and then. UNLOGGED: limits are not worth a write-ahead log, nor a
-- replica's copy; after a crash they start empty.
CREATE UNLOGGED TABLE rate_limits (
    key        text        NOT NULL,
    drained_at timestamptz NOT NULL,
    CONSTRAINT rate_limits_pkey PRIMARY KEY (key)
);
