-- shotfarm schema, version 1: shots, jobs (one per take), submit attempts, state events.
-- Money rule: every paid request has an `attempts` row committed *before* the request leaves
-- (its price is the reservation); the row's outcome says whether that money was spent.

CREATE TYPE job_state AS ENUM (
    'queued', 'submitting', 'running', 'downloading', 'retry_wait',
    'succeeded', 'failed', 'canceled', 'held'
);

-- One row per shot of a shot list, as ingested. spec_hash detects a changed shot under the
-- same id (an error unless the operator asks to replace it).
CREATE TABLE shots (
    project     text        NOT NULL,
    shot_id     text        NOT NULL,
    spec        jsonb       NOT NULL,
    spec_hash   text        NOT NULL,
    source_file text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (project, shot_id)
);

-- One row per take of a shot: the unit of work, payment and output.
CREATE TABLE jobs (
    id               bigserial   PRIMARY KEY,
    project          text        NOT NULL,
    shot_id          text        NOT NULL,
    take             int         NOT NULL CHECK (take >= 1),
    state            job_state   NOT NULL DEFAULT 'queued',
    priority         int         NOT NULL DEFAULT 0,

    -- What to render (copied from the shot so a job is self-contained).
    model            text        NOT NULL,
    mode             text        NOT NULL CHECK (mode IN ('t2v', 'i2v')),
    duration_s       int         NOT NULL,
    resolution       text,
    prompt           text        NOT NULL,
    image            text,       -- local path (absolute) or https URL
    pin_provider     text,
    pin_account      text,

    -- Where it went (set when an attempt is reserved).
    account          text,
    provider         text,
    provider_model   text,
    price_usd        numeric(12, 4),
    provider_job_id  text,
    video_url        text,

    -- Leases: a daemon owns a job while lease_expires_at is in the future. Every write by
    -- the owner names lease_epoch; a claim bumps it, fencing out a previous owner.
    lease_owner      text,
    lease_epoch      bigint      NOT NULL DEFAULT 0,
    lease_expires_at timestamptz,

    attempts         int         NOT NULL DEFAULT 0,   -- paid submit attempts reserved
    retries          int         NOT NULL DEFAULT 0,   -- transient failures absorbed
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),

    output_path      text,
    sha256           text,
    bytes            bigint,
    error            text,
    error_class      text,

    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    accepted_at      timestamptz,
    ready_at         timestamptz,
    finished_at      timestamptz,

    UNIQUE (project, shot_id, take),
    FOREIGN KEY (project, shot_id) REFERENCES shots (project, shot_id)
);

CREATE INDEX jobs_claimable ON jobs (priority DESC, next_attempt_at, id)
    WHERE state IN ('queued', 'retry_wait');
CREATE INDEX jobs_active ON jobs (lease_expires_at)
    WHERE state IN ('submitting', 'running', 'downloading');
CREATE INDEX jobs_project_state ON jobs (project, state);

-- One row per paid submit attempt, written before the POST leaves. outcome:
--   pending    reserved, request may be in flight (counts as spent)
--   accepted   provider returned an id (spent)
--   ambiguous  the request may have been billed, no id known (counts as spent)
--   rejected   provider definitely did not create a job (released)
--   not_sent   failed before any byte left (released)
CREATE TABLE attempts (
    id              bigserial   PRIMARY KEY,
    job_id          bigint      NOT NULL REFERENCES jobs (id),
    lease_epoch     bigint      NOT NULL,
    account         text        NOT NULL,
    provider        text        NOT NULL,
    provider_model  text        NOT NULL,
    price_usd       numeric(12, 4) NOT NULL,
    outcome         text        NOT NULL DEFAULT 'pending'
        CHECK (outcome IN ('pending', 'accepted', 'ambiguous', 'rejected', 'not_sent')),
    provider_job_id text,
    http_status     int,
    message         text,
    started_at      timestamptz NOT NULL DEFAULT now(),
    finished_at     timestamptz
);

CREATE UNIQUE INDEX attempts_provider_job ON attempts (provider, provider_job_id)
    WHERE provider_job_id IS NOT NULL;
CREATE INDEX attempts_job ON attempts (job_id);

-- Every state change, for the morning report and for debugging a night.
CREATE TABLE job_events (
    id         bigserial   PRIMARY KEY,
    job_id     bigint      NOT NULL REFERENCES jobs (id),
    at         timestamptz NOT NULL DEFAULT now(),
    from_state job_state,
    to_state   job_state   NOT NULL,
    detail     text
);

CREATE INDEX job_events_job ON job_events (job_id, at);
