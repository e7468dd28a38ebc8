-- Alarms on the wall (a new severe alert, an escalated task, a dead feed) sound and flash until a
-- duty officer acknowledges them; each acknowledgement is kept (and audited).
CREATE TABLE wall_alarm_ack (
    alarm_id  text PRIMARY KEY,          -- e.g. cap:<sender>:<identifier>, feed:<name>:<since>
    acked_at  timestamptz NOT NULL DEFAULT now(),
    acked_by  text NOT NULL,
    role      text
);
