-- The platform's money by day (UTC), in US cents: what orders were paid (`gross`), what went back to trainees'
-- wallets (`refunds`: approved refunds and lines that could not be fulfilled), and the instructors' net share
-- (earnings less reversals). The platform's fee is what remains. Filled from the events that come after this
-- migration; `learnlog replay --projections commerce` fills it from the whole history. Like V19 to V24, it
-- changes nothing when run again.
CREATE TABLE IF NOT EXISTS platform_revenue_daily (
    day              date   NOT NULL,
    gross_cents      bigint NOT NULL DEFAULT 0,
    refunds_cents    bigint NOT NULL DEFAULT 0,
    instructor_cents bigint NOT NULL DEFAULT 0,
    CONSTRAINT platform_revenue_daily_pkey PRIMARY KEY (day)
);
