-- What instructors tell about themselves (DOMAIN.md, Instructor). Never a balance or a bank account.
ALTER TABLE user_directory ADD COLUMN biography text;
ALTER TABLE user_directory ADD COLUMN speciality text;
ALTER TABLE user_directory ADD COLUMN title text;
