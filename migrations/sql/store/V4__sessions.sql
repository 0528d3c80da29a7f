-- The role a credential signs in as (only individual trainees sign up; admins create the other kinds).
ALTER TABLE user_credentials ADD COLUMN role text NOT NULL DEFAULT 'individual_trainee';

-- Refresh tokens, stored only as SHA-256 hashes. A login starts a family; each refresh rotates the token
-- within it. Presenting a token that was already rotated (or revoked) revokes the whole family.
CREATE TABLE refresh_tokens (
    token_hash text        NOT NULL,
    family_id  uuid        NOT NULL,
    user_id    uuid        NOT NULL,
    issued_at  timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    rotated_at timestamptz,
    revoked_at timestamptz,
    CONSTRAINT refresh_tokens_pkey PRIMARY KEY (token_hash)
);

CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
