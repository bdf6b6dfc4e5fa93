-- What the polls saw of each finished generation, per provider and provider-neutral model with
-- the clip length ("hailuo-02-standard@6s"): it became ready after `after_s` (the last age a
-- poll saw it pending, 0 if none) and at or before `by_s` (the age of the poll that saw it
-- done); equal when the provider reported the time. The scheduler fits the distribution of
-- generation times from these intervals (a poll's own time would only ever confirm the
-- schedule that placed it), forgetting old rows by age. Every daemon reads the others' rows.
CREATE TABLE generation_observations (
    id          bigserial        PRIMARY KEY,
    provider    text             NOT NULL,
    model       text             NOT NULL,
    after_s     double precision NOT NULL CHECK (after_s >= 0),
    by_s        double precision NOT NULL CHECK (by_s >= after_s),
    owner       text             NOT NULL,
    observed_at timestamptz      NOT NULL DEFAULT now()
);
CREATE INDEX generation_observations_at ON generation_observations (observed_at);

-- The medians of the old learner (midpoints of the last interval, 64 per pair) are superseded.
DROP TABLE generation_times;
