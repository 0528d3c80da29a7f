-- Newsletter subscribers (admins' list, the campaigns' audiences) and each campaign's report.
CREATE TABLE newsletter_subscriber (
    subscription_id uuid        NOT NULL,
    email           text        NOT NULL,
    label           text        NOT NULL,
    subscribed_at   timestamptz NOT NULL,
    version         bigint      NOT NULL,
    CONSTRAINT newsletter_subscriber_pkey PRIMARY KEY (subscription_id)
);
CREATE INDEX newsletter_subscriber_email ON newsletter_subscriber (email);

CREATE TABLE campaign_view (
    campaign_id uuid        NOT NULL,
    admin_id    uuid        NOT NULL,
    subject     text        NOT NULL,
    audience    text        NOT NULL,
    created_at  timestamptz NOT NULL,
    queued      integer     NOT NULL DEFAULT 0,
    version     bigint      NOT NULL,
    CONSTRAINT campaign_view_pkey PRIMARY KEY (campaign_id)
);
