-- An email's body may carry a secret (a verification code, a reset link): it is kept only until the email is
-- sent, given up or past the secret's expiry, then dropped. `expires_at` is when the secret stops being valid:
-- the mailer never sends the email after it.
ALTER TABLE email_outbox ALTER COLUMN body DROP NOT NULL;
ALTER TABLE email_outbox ADD COLUMN expires_at timestamptz;
UPDATE email_outbox SET body = NULL WHERE sent_at IS NOT NULL OR failed_at IS NOT NULL;
