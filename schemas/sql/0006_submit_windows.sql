-- Submit limits as sliding windows instead of evenly spaced clocks. A provider's "N submits a
-- minute" is a sliding 60 s window: spacing submits 60/N s apart (the GCRA clocks submit_tat
-- and submit_sent_tat) keeps to it, but a slot that frees just after a submit then waits for
-- the next tick — on MiniMax's 5 a minute, up to 12 s of a slot idle for every job. The account
-- now keeps the times of its last submits and lets one go when fewer than `submit_window` of
-- them fall within the last `submit_window_s` seconds (jobs/sched/submit_window.hpp; the daemon
-- sets both from submits_per_minute at start and on reload):
--   submit_log       when the last claims gave the account a job (admission);
--   submit_sent_log  the slots the last submits' POSTs were given (a claimed submit may have
--                    waited for a request slot: the POSTs themselves keep to the window).
-- Both hold the most recent submit_window entries, oldest first. The request clock
-- (request_tat) stays a GCRA: polls are spread by the planner, not bunched.
ALTER TABLE accounts
    ADD COLUMN submit_window   int              NOT NULL DEFAULT 1 CHECK (submit_window >= 1),
    ADD COLUMN submit_window_s double precision NOT NULL DEFAULT 60.6
        CHECK (submit_window_s > 0),
    ADD COLUMN submit_log      timestamptz[]    NOT NULL DEFAULT '{}',
    ADD COLUMN submit_sent_log timestamptz[]    NOT NULL DEFAULT '{}';

-- The last submit the old clocks spaced: one entry, so a daemon upgraded mid-night does not
-- start with a fresh burst on top of the submits of the minute before.
UPDATE accounts SET
    submit_log = ARRAY[submit_tat - make_interval(secs => 60.6 / submits_per_minute)],
    submit_sent_log = ARRAY[submit_sent_tat - make_interval(secs => 60.6 / submits_per_minute)];

ALTER TABLE accounts DROP COLUMN submit_tat, DROP COLUMN submit_sent_tat;
