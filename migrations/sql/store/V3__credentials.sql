-- Credentials, and the uniqueness of emails and usernames across every kind of user. Written by the command
-- API in the same transaction as the account's first event, so two sign-ups can never both take one email
-- or username (compared case-insensitively). Password hashes (argon2id) never enter an event.
CREATE TABLE user_credentials (
    user_id       uuid        NOT NULL,
    email         text        NOT NULL,
    username      text        NOT NULL,
    password_hash text        NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT user_credentials_pkey PRIMARY KEY (user_id),
    CONSTRAINT user_credentials_email_lowercase CHECK (email = lower(email))
);

CREATE UNIQUE INDEX user_credentials_email_unique ON user_credentials (email);
CREATE UNIQUE INDEX user_credentials_username_unique ON user_credentials (lower(username));
