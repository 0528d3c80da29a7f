-- Which enrolment a refund request belongs to, written with the request's event: admins act on a request by
-- its id, and the write side finds the enrolment's stream here instead of in a read model.
CREATE TABLE refund_requests (
    refund_id  uuid NOT NULL,
    trainee_id uuid NOT NULL,
    course_id  uuid NOT NULL,
    CONSTRAINT refund_requests_pkey PRIMARY KEY (refund_id)
);
