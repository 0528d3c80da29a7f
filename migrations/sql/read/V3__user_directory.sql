-- Every account, as the Identity context describes it. Never credentials: those stay on the write side.
CREATE TABLE user_directory (
    id         uuid        NOT NULL,
    kind       text        NOT NULL,
    role       text        NOT NULL,
    email      text        NOT NULL,
    username   text        NOT NULL,
    name       text        NOT NULL,
    country    text,
    version    bigint      NOT NULL,
    created_at timestamptz NOT NULL,
    CONSTRAINT user_directory_pkey PRIMARY KEY (id)
);
