-- Refund requests (D2, D9): where each enrolment's request stands, and the admins' list of requests.
ALTER TABLE enrollment_view ADD COLUMN refund_status text;

CREATE TABLE refund_request_view (
    refund_id           uuid        NOT NULL,
    trainee_id          uuid        NOT NULL,
    course_id           uuid        NOT NULL,
    order_id            uuid        NOT NULL,
    -- unseen, pending, approved, rejected or completed (D9)
    status              text        NOT NULL,
    reason              text        NOT NULL,
    paid_cents          bigint      NOT NULL,
    refund_cents        bigint,
    progress_at_request smallint    NOT NULL,
    decision_reason     text,
    requested_at        timestamptz NOT NULL,
    updated_at          timestamptz NOT NULL,
    version             bigint      NOT NULL,
    CONSTRAINT refund_request_view_pkey PRIMARY KEY (refund_id)
);
CREATE INDEX refund_request_view_recent ON refund_request_view (requested_at DESC, refund_id);
CREATE INDEX refund_request_view_status ON refund_request_view (status, requested_at DESC);
CREATE INDEX refund_request_view_course ON refund_request_view (course_id);
CREATE INDEX refund_request_view_trainee ON refund_request_view (trainee_id);
