-- The unified support list (DOMAIN.md, "Query endpoints of the original"): tickets, corporate access
-- requests (course_request) and refund requests in one view, for admins (everything) and for each user
-- (their own). Voided tickets are kept and left out of the lists.
CREATE TABLE report_view (
    id                  uuid        NOT NULL,
    -- technical, financial, other, course_request or refund
    kind                text        NOT NULL,
    -- unseen, pending, resolved or rejected (D9); a refund approved or completed reads resolved
    status              text        NOT NULL,
    user_id             uuid        NOT NULL,
    course_id           uuid,
    -- NULL once its author's account was erased
    description         text,
    follow_ups          jsonb       NOT NULL DEFAULT '[]',
    progress_at_request smallint,
    voided              boolean     NOT NULL DEFAULT false,
    created_at          timestamptz NOT NULL,
    updated_at          timestamptz NOT NULL,
    version             bigint      NOT NULL,
    CONSTRAINT report_view_pkey PRIMARY KEY (id)
);
CREATE INDEX report_view_recent ON report_view (created_at DESC, id) WHERE NOT voided;
CREATE INDEX report_view_status ON report_view (status) WHERE NOT voided;
CREATE INDEX report_view_kind ON report_view (kind) WHERE NOT voided;
CREATE INDEX report_view_user ON report_view (user_id);
CREATE INDEX report_view_course ON report_view (course_id);
