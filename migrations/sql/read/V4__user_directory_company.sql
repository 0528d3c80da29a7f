-- The company of a corporate trainee (DOMAIN.md: Trainee.corporate).
ALTER TABLE user_directory ADD COLUMN company text;
