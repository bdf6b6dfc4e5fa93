-- shotfarm schema, version 4: the long-running daemon (issue 5). An auditable state machine
-- (the database refuses an illegal transition; every event names who made it and under which
-- lease epoch), submits marked the moment before their POST leaves (so a crash before that
-- moment is provably "not sent"), operator retries, and the daemons that share the database.

-- Who made a transition: a daemon's lease owner "host:pid:token", or "operator:user@host" —
-- the session setting shotfarm.actor, which every shotfarm connection sets at connect time
-- (libpq `options`), so no statement can forget it. And the job's lease epoch after it.
ALTER TABLE job_events ADD COLUMN actor text NOT NULL
    DEFAULT coalesce(nullif(current_setting('shotfarm.actor', true), ''), 'unknown');
ALTER TABLE job_events ADD COLUMN lease_epoch bigint;

-- The moment the POST of an attempt was about to leave (written, and committed, after the
-- rate limiter let it go and before the first byte). NULL on a pending attempt: the request
-- never left, so a crash there costs nothing and is not ambiguous. Attempts of earlier
-- versions count as sent.
ALTER TABLE attempts ADD COLUMN sent_at timestamptz;
UPDATE attempts SET sent_at = started_at;

-- When an attempt was ruled ambiguous (kept if its late provider id arrives afterwards and the
-- outcome becomes 'accepted'): how many submits were ever in doubt, for audits and tests.
ALTER TABLE attempts ADD COLUMN ruled_ambiguous_at timestamptz;
UPDATE attempts SET ruled_ambiguous_at = coalesce(finished_at, started_at)
    WHERE outcome = 'ambiguous';
CREATE FUNCTION shotfarm_attempts_ruled_ambiguous() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.outcome = 'ambiguous' AND NEW.ruled_ambiguous_at IS NULL THEN
        NEW.ruled_ambiguous_at := now();
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER attempts_ruled_ambiguous BEFORE INSERT OR UPDATE OF outcome ON attempts
    FOR EACH ROW EXECUTE FUNCTION shotfarm_attempts_ruled_ambiguous();

-- Billed attempts before the operator's last `shotfarm retry`: max_attempts counts from there.
ALTER TABLE jobs ADD COLUMN billed_base int NOT NULL DEFAULT 0;

-- The legal moves of a job (jobs/job_state.cpp holds the same table): the pipeline's, plus the
-- operator's (retry of a finished job, re-fetch of a finished job's missing or damaged file).
CREATE FUNCTION shotfarm_transition_allowed(f job_state, t job_state)
RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN f IN ('failed', 'canceled') THEN t = 'queued'
        WHEN f = 'succeeded' THEN t = 'downloading'
        WHEN t = 'canceled' THEN true
        WHEN f = 'queued' THEN t IN ('submitting', 'queued')
        WHEN f = 'retry_wait' THEN t IN ('submitting', 'queued', 'running')
        WHEN f = 'submitting' THEN t IN ('running', 'retry_wait', 'failed', 'held', 'queued')
        WHEN f = 'running' THEN t IN ('downloading', 'retry_wait', 'failed', 'held', 'running')
        WHEN f = 'downloading' THEN
            t IN ('succeeded', 'running', 'failed', 'downloading', 'held')
        WHEN f = 'held' THEN t IN ('queued', 'running', 'failed')
        ELSE false
    END
$$;

-- Whatever a daemon of any version believes, an illegal move is an error, never applied.
CREATE FUNCTION shotfarm_jobs_state_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.state IS DISTINCT FROM OLD.state
       AND NOT shotfarm_transition_allowed(OLD.state, NEW.state) THEN
        RAISE EXCEPTION 'illegal job transition % -> % (job %)', OLD.state, NEW.state, OLD.id
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER jobs_state_guard BEFORE UPDATE OF state ON jobs
    FOR EACH ROW EXECUTE FUNCTION shotfarm_jobs_state_guard();

-- The daemons working on this database: each writes its row at start and on every heartbeat
-- (database clock), and marks it stopped on a clean exit. For `shotfarm status`.
CREATE TABLE daemons (
    owner       text        PRIMARY KEY,
    host        text        NOT NULL,
    pid         int         NOT NULL,
    config_file text,
    started_at  timestamptz NOT NULL DEFAULT now(),
    seen_at     timestamptz NOT NULL DEFAULT now(),
    stopped_at  timestamptz
);

CREATE INDEX job_events_job_id ON job_events (job_id, id);
