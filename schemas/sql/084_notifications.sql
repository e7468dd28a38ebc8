-- Outgoing notifications (escalations) as an outbox: written in the same transaction as the
-- escalation, then delivered by the escalation job with retries, so a broker, mail server or
-- webhook that is down delays a notification but never loses it or stops the job.
-- `target` never holds a secret (a webhook URL may carry one: only its host is kept).
CREATE TABLE ops_notification (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    created_at      timestamptz NOT NULL DEFAULT now(),
    task_id         bigint REFERENCES task (id),
    kind            text NOT NULL CHECK (kind IN ('escalation')),
    channel         text NOT NULL CHECK (channel IN ('mqtt', 'email', 'webhook')),
    target          text NOT NULL,
    payload         jsonb NOT NULL,
    status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    sent_at         timestamptz,
    last_error      text
);
CREATE INDEX ops_notification_due_idx ON ops_notification (next_attempt_at) WHERE status = 'pending';
