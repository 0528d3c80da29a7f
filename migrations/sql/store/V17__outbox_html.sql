-- An email's HTML part, when its sender wrote one (a newsletter campaign); other emails get an HTML part made
-- from their text. Dropped with the body once the email is sent or given up.
ALTER TABLE email_outbox ADD COLUMN html_body text;
