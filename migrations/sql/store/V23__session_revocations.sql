-- Access tokens end with their account's sessions: a password change, a reset, a deletion or an erasure moves
-- the account's session generation on, and a token signed for an earlier generation is refused at once (every
-- API process keeps the generations changed in the last day in memory, told of each change by a notification
-- on `learnlog_sessions`; no token is accepted once older than a day). A row outlives the account on purpose:
-- a deleted account's tokens stay refused.
CREATE TABLE session_revocations (
    user_id    uuid        NOT NULL,
    generation integer     NOT NULL,
    changed_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT session_revocations_pkey PRIMARY KEY (user_id)
);

CREATE INDEX session_revocations_changed_at ON session_revocations (changed_at);
