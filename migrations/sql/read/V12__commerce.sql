-- Commerce and enrolment read models (DOMAIN.md, "Read models"). Money is USD cents.

-- Carts and wishlists, in the order their courses were added (`position` is the adding event's).
CREATE TABLE cart_item (
    trainee_id uuid        NOT NULL,
    course_id  uuid        NOT NULL,
    added_at   timestamptz NOT NULL,
    position   bigint      NOT NULL,
    CONSTRAINT cart_item_pkey PRIMARY KEY (trainee_id, course_id)
);
CREATE INDEX cart_item_course ON cart_item (course_id);

CREATE TABLE wishlist_item (
    trainee_id uuid        NOT NULL,
    course_id  uuid        NOT NULL,
    added_at   timestamptz NOT NULL,
    position   bigint      NOT NULL,
    CONSTRAINT wishlist_item_pkey PRIMARY KEY (trainee_id, course_id)
);
CREATE INDEX wishlist_item_course ON wishlist_item (course_id);

CREATE TABLE order_view (
    id             uuid        NOT NULL,
    trainee_id     uuid        NOT NULL,
    method         text        NOT NULL,
    status         text        NOT NULL,
    lines          jsonb       NOT NULL,
    total_cents    bigint      NOT NULL,
    currency       text        NOT NULL,
    rate_ppm       bigint      NOT NULL,
    checkout_url   text,
    failure        text,
    placed_at      timestamptz NOT NULL,
    paid_at        timestamptz,
    version        bigint      NOT NULL,
    CONSTRAINT order_view_pkey PRIMARY KEY (id)
);
CREATE INDEX order_view_trainee ON order_view (trainee_id, placed_at DESC);
CREATE INDEX order_view_placed ON order_view (placed_at DESC);

CREATE TABLE wallet_view (
    trainee_id    uuid   NOT NULL,
    balance_cents bigint NOT NULL,
    version       bigint NOT NULL,
    CONSTRAINT wallet_view_pkey PRIMARY KEY (trainee_id)
);

-- One row per credit or debit (refused debits are not transactions).
CREATE TABLE wallet_txn (
    trainee_id    uuid        NOT NULL,
    operation_id  text        NOT NULL,
    at            timestamptz NOT NULL,
    delta_cents   bigint      NOT NULL,
    balance_cents bigint      NOT NULL,
    kind          text        NOT NULL,
    note          text,
    order_id      uuid,
    position      bigint      NOT NULL,
    CONSTRAINT wallet_txn_pkey PRIMARY KEY (trainee_id, operation_id)
);
CREATE INDEX wallet_txn_recent ON wallet_txn (trainee_id, position DESC);

-- Instructors' money: the balance may go negative after refunds (R3).
CREATE TABLE instructor_ledger_view (
    instructor_id uuid   NOT NULL,
    balance_cents bigint NOT NULL,
    CONSTRAINT instructor_ledger_view_pkey PRIMARY KEY (instructor_id)
);

CREATE TABLE instructor_revenue_monthly (
    instructor_id uuid    NOT NULL,
    year          integer NOT NULL,
    month         integer NOT NULL,
    gross_cents   bigint  NOT NULL,
    refunds_cents bigint  NOT NULL,
    CONSTRAINT instructor_revenue_monthly_pkey PRIMARY KEY (instructor_id, year, month)
);

CREATE TABLE instructor_course_earnings (
    instructor_id uuid   NOT NULL,
    course_id     uuid   NOT NULL,
    earning_cents bigint NOT NULL,
    CONSTRAINT instructor_course_earnings_pkey PRIMARY KEY (instructor_id, course_id)
);

CREATE TABLE enrollment_view (
    trainee_id  uuid        NOT NULL,
    course_id   uuid        NOT NULL,
    status      text        NOT NULL,
    source      text        NOT NULL,
    order_id    uuid,
    price_cents bigint,
    enrolled_at timestamptz NOT NULL,
    version     bigint      NOT NULL,
    CONSTRAINT enrollment_view_pkey PRIMARY KEY (trainee_id, course_id)
);
CREATE INDEX enrollment_view_recent ON enrollment_view (trainee_id, enrolled_at DESC);
