-- Which newsletter campaign an email is a copy of, for the campaign's delivery report.
ALTER TABLE email_outbox ADD COLUMN campaign_id uuid;
CREATE INDEX email_outbox_campaign ON email_outbox (campaign_id) WHERE campaign_id IS NOT NULL;
