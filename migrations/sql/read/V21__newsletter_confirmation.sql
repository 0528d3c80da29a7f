-- Double opt-in: a subscription receives newsletters only once its owner followed the link mailed to it. A
-- subscription made before this version was never confirmed, and a rebuild reads it so: none is sent to it until
-- its owner subscribes again and confirms. Like V19 and V20, it changes nothing when run again.
ALTER TABLE newsletter_subscriber ADD COLUMN IF NOT EXISTS confirmed boolean NOT NULL DEFAULT false;
