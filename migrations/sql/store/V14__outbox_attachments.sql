-- An email may carry one attachment (a certificate's PDF). Like the body, it is kept only until the email
-- is sent or given up, then dropped.
ALTER TABLE email_outbox ADD COLUMN attachment_name text;
ALTER TABLE email_outbox ADD COLUMN attachment_type text;
ALTER TABLE email_outbox ADD COLUMN attachment bytea;
