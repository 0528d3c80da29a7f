-- Each person's own key (crypto-shredding): it seals the personal fields of their events before they are
-- stored. Kept sealed with the server's data key, bound to the person's id. Deleting the row erases the
-- person's personal data from the store, every Kafka topic and every export at once.
CREATE TABLE user_keys (
    user_id    uuid        NOT NULL,
    sealed_key bytea       NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT user_keys_pkey PRIMARY KEY (user_id)
);
