-- shotfarm schema, version 3: the scheduler's shared state. Everything a fleet of daemons must
-- agree on lives here, so limits and budgets hold for all of them at once (docs/scheduler.md).

-- A batch is one shot list (its `project`): its priority and its budget.
CREATE TABLE batches (
    project     text           PRIMARY KEY,
    priority    int            NOT NULL DEFAULT 0,
    budget_usd  numeric(14, 4),          -- NULL: no cap
    source_file text,
    created_at  timestamptz    NOT NULL DEFAULT now()
);
INSERT INTO batches (project, source_file)
    SELECT project, min(source_file) FROM shots GROUP BY project;

-- One row per configured account: its limits (copied from the config at start) and the state
-- the limiters keep between requests, daemons and restarts.
--   submit_tat, request_tat  GCRA "theoretical arrival time": the next moment a submit may
--                            be claimed / any request may leave; each pushes it 60/rate s on.
--   submit_sent_tat          the same for the moment a submit's POST actually leaves (a
--                            claimed submit may wait for a request slot: the POSTs themselves
--                            must still be 60/rate s apart).
--                            Each clock moves 60/rate s on from itself when the slot it gave
--                            was at most 0.25 s late, else from the slot: a request that left
--                            a little late does not delay all later ones, and any rate + 1
--                            consecutive ones still span at least 60·1.01 − 0.25 s > 60 s.
--   last_request_slot        the slot the last reserve_request handed out (its return value).
--   effective_concurrency    AIMD: halved on a 429, +1/itself per accepted submit, capped by
--                            max_concurrency.
--   paused_until             after a 429: Retry-After, or exponential backoff with full jitter.
--   breaker_*                circuit breaker on repeated 5xx/transport failures: open until
--                            breaker_open_until, then one probe at a time.
--   disabled_reason          auth/balance problem: no submits until a daemon starts again
--                            with this account in its config (the operator fixed it).
CREATE TABLE accounts (
    name                  text             PRIMARY KEY,
    provider              text             NOT NULL,
    max_concurrency       int              NOT NULL CHECK (max_concurrency >= 1),
    submits_per_minute    int              NOT NULL CHECK (submits_per_minute >= 1),
    requests_per_minute   int              NOT NULL CHECK (requests_per_minute >= 1),
    budget_usd_per_day    numeric(14, 4),
    effective_concurrency double precision NOT NULL DEFAULT 1,
    submit_tat            timestamptz      NOT NULL DEFAULT 'epoch',
    request_tat           timestamptz      NOT NULL DEFAULT 'epoch',
    submit_sent_tat       timestamptz      NOT NULL DEFAULT 'epoch',
    last_request_slot     timestamptz      NOT NULL DEFAULT 'epoch',
    paused_until          timestamptz,
    consecutive_429       int              NOT NULL DEFAULT 0,
    breaker_failures      int              NOT NULL DEFAULT 0,
    breaker_opens         int              NOT NULL DEFAULT 0,
    breaker_open_until    timestamptz,
    disabled_reason       text,
    updated_at            timestamptz      NOT NULL DEFAULT now()
);

-- Money, per scope: 'global', 'batch/<project>', 'account/<name>/<YYYY-MM-DD>' (UTC day).
-- reserved = prices of attempts still pending; spent = accepted or ambiguous ones. Kept by the
-- trigger on attempts below, in the same transaction as the attempt row, so the counters can
-- never disagree with the attempts. A new reservation that would take spent + reserved past
-- the cap is refused by the database itself (budgets_guard), whatever the daemon believes.
CREATE TABLE budgets (
    scope        text           PRIMARY KEY,
    cap_usd      numeric(14, 4),          -- NULL: no cap
    spent_usd    numeric(14, 4) NOT NULL DEFAULT 0,
    reserved_usd numeric(14, 4) NOT NULL DEFAULT 0
);

CREATE FUNCTION shotfarm_budgets_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.reserved_usd > OLD.reserved_usd AND NEW.cap_usd IS NOT NULL
       AND NEW.spent_usd + NEW.reserved_usd > NEW.cap_usd THEN
        RAISE EXCEPTION 'budget % exceeded: spent % + reserved % > cap %',
            NEW.scope, NEW.spent_usd, NEW.reserved_usd, NEW.cap_usd
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER budgets_guard BEFORE UPDATE ON budgets
    FOR EACH ROW EXECUTE FUNCTION shotfarm_budgets_guard();

ALTER TABLE attempts ADD COLUMN project text;
UPDATE attempts a SET project = j.project FROM jobs j WHERE j.id = a.job_id;
ALTER TABLE attempts ALTER COLUMN project SET NOT NULL;

CREATE FUNCTION shotfarm_attempt_scopes(a attempts) RETURNS text[] LANGUAGE sql STABLE AS $$
    SELECT ARRAY['account/' || a.account || '/'
                     || to_char(a.started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD'),
                 'batch/' || a.project,
                 'global']
$$;

CREATE FUNCTION shotfarm_attempt_money() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    d_reserved numeric := 0;
    d_spent    numeric := 0;
    scopes     text[];
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF OLD.outcome = NEW.outcome THEN
            RETURN NEW;
        END IF;
        IF OLD.outcome = 'pending' THEN
            d_reserved := d_reserved - OLD.price_usd;
        ELSIF OLD.outcome IN ('accepted', 'ambiguous') THEN
            d_spent := d_spent - OLD.price_usd;
        END IF;
    END IF;
    IF NEW.outcome = 'pending' THEN
        d_reserved := d_reserved + NEW.price_usd;
    ELSIF NEW.outcome IN ('accepted', 'ambiguous') THEN
        d_spent := d_spent + NEW.price_usd;
    END IF;
    scopes := shotfarm_attempt_scopes(NEW);
    INSERT INTO budgets (scope) SELECT unnest(scopes) ON CONFLICT (scope) DO NOTHING;
    -- Rows are locked in scope order everywhere (account/ < batch/ < global): no deadlocks.
    PERFORM 1 FROM budgets WHERE scope = ANY (scopes) ORDER BY scope FOR UPDATE;
    UPDATE budgets SET reserved_usd = reserved_usd + d_reserved, spent_usd = spent_usd + d_spent
        WHERE scope = ANY (scopes);
    RETURN NEW;
END $$;
CREATE TRIGGER attempts_money AFTER INSERT OR UPDATE OF outcome ON attempts
    FOR EACH ROW EXECUTE FUNCTION shotfarm_attempt_money();

-- What is already spent before this version: counted once, by the same rule.
INSERT INTO budgets (scope, spent_usd, reserved_usd)
    SELECT s.scope,
           coalesce(sum(a.price_usd) FILTER (WHERE a.outcome IN ('accepted', 'ambiguous')), 0),
           coalesce(sum(a.price_usd) FILTER (WHERE a.outcome = 'pending'), 0)
    FROM attempts a CROSS JOIN LATERAL unnest(shotfarm_attempt_scopes(a)) AS s (scope)
    GROUP BY s.scope;

-- Why a queued job is not going out ('budget: batch cap $5.00 reached', ...), for status.
ALTER TABLE jobs ADD COLUMN wait_reason text;

-- Generations in flight per account, counted by every claim.
CREATE INDEX jobs_inflight_account ON jobs (account)
    WHERE state IN ('submitting', 'running');
-- Claim order inside a batch.
CREATE INDEX jobs_claimable_batch ON jobs (project, priority DESC, next_attempt_at, id)
    WHERE state IN ('queued', 'retry_wait');

-- Learned generation times (accepted -> video ready), per provider and provider-neutral model:
-- the last 64 samples; their median places the first poll. Survives restarts.
CREATE TABLE generation_times (
    provider text               NOT NULL,
    model    text               NOT NULL,
    recent   double precision[] NOT NULL DEFAULT '{}',
    samples  bigint             NOT NULL DEFAULT 0,
    PRIMARY KEY (provider, model)
);
