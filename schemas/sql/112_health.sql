-- Operations health (issue 8): the latest result of each periodic check (disk space per
-- filesystem of the local services, retention runs), read by /healthz, /metrics and the health page.
CREATE TABLE health_check (
    name       text PRIMARY KEY,      -- 'disk:database', 'disk:broker', 'retention', ...
    status     text NOT NULL CHECK (status IN ('ok', 'low', 'critical', 'error')),
    detail     jsonb NOT NULL DEFAULT '{}'::jsonb,
    checked_at timestamptz NOT NULL
);

-- The health page lists dead letters waiting for a replay, newest first, by stage too.
CREATE INDEX dead_letter_waiting_idx ON dead_letter (received_at DESC) WHERE replayed_at IS NULL;
CREATE INDEX dead_letter_stage_idx ON dead_letter (stage, received_at DESC);
