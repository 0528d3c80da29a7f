-- Emails to send, written in the same transaction as the change that causes them (a durable outbox): a
-- crash between the commit and the send loses nothing, it only delays the send. A mailer claims due rows
-- with SKIP LOCKED, so several command-API processes share the work; failures back off and give up after
-- a number of attempts, keeping the error.
CREATE TABLE email_outbox (
    id              uuid        NOT NULL,
    recipient       text        NOT NULL,
    subject         text        NOT NULL,
    body            text        NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    attempts        integer     NOT NULL DEFAULT 0,
    sent_at         timestamptz,
    failed_at       timestamptz,
    last_error      text,
    CONSTRAINT email_outbox_pkey PRIMARY KEY (id)
);
CREATE INDEX email_outbox_due ON email_outbox (next_attempt_at) WHERE sent_at IS NULL AND failed_at IS NULL;

-- Single-use password reset tokens, stored only as SHA-256 hashes.
CREATE TABLE password_reset_tokens (
    token_hash text        NOT NULL,
    user_id    uuid        NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz,
    CONSTRAINT password_reset_tokens_pkey PRIMARY KEY (token_hash)
);
CREATE INDEX password_reset_tokens_user ON password_reset_tokens (user_id);

-- The current email verification code of an account (R21), as a hash, with the attempts spent on it.
CREATE TABLE email_verifications (
    user_id     uuid        NOT NULL,
    code_hash   text        NOT NULL,
    expires_at  timestamptz NOT NULL,
    attempts    integer     NOT NULL DEFAULT 0,
    verified_at timestamptz,
    CONSTRAINT email_verifications_pkey PRIMARY KEY (user_id)
);
