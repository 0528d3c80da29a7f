-- When the user last logged in: tells a first login apart (DOMAIN.md `firstLogin`).
ALTER TABLE user_credentials ADD COLUMN last_login_at timestamptz;
