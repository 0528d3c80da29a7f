-- Whether the user is logged in (the original's `active`) and when they last logged in; feeds the admins'
-- user list and its activity counts.
ALTER TABLE user_directory ADD COLUMN logged_in boolean NOT NULL DEFAULT false;
ALTER TABLE user_directory ADD COLUMN last_login_at timestamptz;
CREATE INDEX user_directory_created ON user_directory (created_at DESC, id);
