-- Conversations (Communication): every message, and each participant's view of each conversation with its
-- unread count. Like V19 to V23, it changes nothing when run again.
CREATE TABLE IF NOT EXISTS message_view (
    message_id      uuid        NOT NULL,
    conversation_id text        NOT NULL,
    sender_id       uuid        NOT NULL,
    recipient_id    uuid        NOT NULL,
    course_id       uuid,
    number          integer     NOT NULL,
    -- The sender's words; NULL once they are erased.
    text            text,
    sent_at         timestamptz NOT NULL,
    CONSTRAINT message_view_pkey PRIMARY KEY (message_id),
    CONSTRAINT message_view_number UNIQUE (conversation_id, number)
);
CREATE INDEX IF NOT EXISTS message_view_sender ON message_view (sender_id);

-- One row per participant: `messages` is the number of the last message, `unread` counts the other's messages
-- after the last one this participant read.
CREATE TABLE IF NOT EXISTS conversation_view (
    user_id         uuid        NOT NULL,
    other_id        uuid        NOT NULL,
    conversation_id text        NOT NULL,
    messages        integer     NOT NULL,
    read_up_to      integer     NOT NULL,
    unread          integer     NOT NULL,
    last_message_id uuid        NOT NULL,
    last_at         timestamptz NOT NULL,
    version         bigint      NOT NULL,
    CONSTRAINT conversation_view_pkey PRIMARY KEY (user_id, other_id)
);
CREATE INDEX IF NOT EXISTS conversation_view_recent ON conversation_view (user_id, last_at DESC, other_id);

-- What the projector pushes to each user's open streams (`GET /api/v1/me/live`): one row per change a user
-- waits for, kept a day. It lives beside the read-model schemas, not in one: a rebuild pushes nothing, and a
-- switch of the served schema neither loses nor repeats a push. Readers take the rows of transactions older
-- than every one still running (`txid` below the snapshot's xmin), in (txid, id) order, so that rows committed
-- out of order by concurrent projectors are never skipped.
CREATE TABLE IF NOT EXISTS learnlog_meta.live_update (
    id             bigint      GENERATED ALWAYS AS IDENTITY,
    txid           xid8        NOT NULL DEFAULT pg_current_xact_id(),
    user_id        uuid        NOT NULL,
    kind           text        NOT NULL,
    data           jsonb       NOT NULL,
    position       bigint      NOT NULL,
    stream_id      text        NOT NULL,
    stream_version bigint      NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT live_update_pkey PRIMARY KEY (id),
    CONSTRAINT live_update_once UNIQUE (position, user_id)
);
CREATE INDEX IF NOT EXISTS live_update_order ON learnlog_meta.live_update (txid, id);
CREATE INDEX IF NOT EXISTS live_update_user ON learnlog_meta.live_update (user_id, txid, id);
CREATE INDEX IF NOT EXISTS live_update_age ON learnlog_meta.live_update (created_at);
