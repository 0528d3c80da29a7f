-- Whether the account proved its email (a trainee's code; accounts an admin creates count as proven).
ALTER TABLE user_directory ADD COLUMN email_verified boolean NOT NULL DEFAULT false;
