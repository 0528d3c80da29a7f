-- Which trainee and course a corporate access request is for, written with the request's event: admins act on
-- a request by its id, and the write side finds its stream here.
CREATE TABLE access_requests (
    request_id uuid NOT NULL,
    trainee_id uuid NOT NULL,
    course_id  uuid NOT NULL,
    CONSTRAINT access_requests_pkey PRIMARY KEY (request_id)
);
