-- Tasks dispatched to agencies (業務分派及確認) and what happened to them.
--
-- Lifecycle: created -> acknowledged -> in_progress -> closed; `escalated_at` is set (once) when
-- the acknowledgement deadline passes with the task still `created`. Each step keeps its time,
-- so the state of a task at any past moment can be read back (the wall travels in time) and
-- the times to acknowledge and to close are plain differences.
-- (dashboard/alarms.py reads `task` for the wall's escalation alarm: keep the name and columns.)
CREATE TABLE task (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    title           text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    detail          text CHECK (length(detail) <= 2000),
    agency          text NOT NULL,                      -- code from schemas/agencies.yaml
    priority        smallint NOT NULL CHECK (priority BETWEEN 1 AND 3),  -- 1 most urgent
    source          text NOT NULL CHECK (source IN ('alert', 'incident', 'map', 'manual')),
    source_ref      text CHECK (length(source_ref) <= 200),   -- CAP identifier / incident id
    lon             double precision CHECK (lon BETWEEN -180 AND 180),
    lat             double precision CHECK (lat BETWEEN -90 AND 90),
    district        text,                               -- MOI TOWNCODE of the point, if any
    level           text NOT NULL,                      -- operational level when it was created
    drill           boolean NOT NULL DEFAULT false,     -- created during a drill
    status          text NOT NULL DEFAULT 'created'
                    CHECK (status IN ('created', 'acknowledged', 'in_progress', 'closed')),
    created_at      timestamptz NOT NULL DEFAULT now(),
    created_by      text NOT NULL,
    created_role    text,
    ack_deadline    timestamptz NOT NULL,
    acknowledged_at timestamptz,
    acknowledged_by text,
    started_at      timestamptz,                        -- first progress report
    closed_at       timestamptz,
    closed_by       text,
    close_note      text CHECK (length(close_note) <= 2000),
    escalated_at    timestamptz,
    CHECK ((lon IS NULL) = (lat IS NULL)),
    CHECK ((status = 'created') = (acknowledged_at IS NULL)),
    CHECK ((status = 'closed') = (closed_at IS NOT NULL)),
    CHECK (status <> 'in_progress' OR started_at IS NOT NULL)
);
CREATE INDEX task_agency_idx ON task (agency, status, created_at DESC);
CREATE INDEX task_open_idx ON task (status, created_at) WHERE status <> 'closed';
CREATE INDEX task_due_idx ON task (ack_deadline) WHERE status = 'created' AND escalated_at IS NULL;
CREATE INDEX task_closed_idx ON task (closed_at) WHERE closed_at IS NOT NULL;

-- Every step of every task, with who did it and their note (progress reports, closing note).
CREATE TABLE task_event (
    id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    task_id bigint NOT NULL REFERENCES task (id),
    time    timestamptz NOT NULL DEFAULT now(),
    kind    text NOT NULL CHECK (kind IN ('created', 'acknowledged', 'progress', 'closed', 'escalated')),
    actor   text NOT NULL,
    role    text,
    note    text CHECK (length(note) <= 2000)
);
CREATE INDEX task_event_task_idx ON task_event (task_id, time);
CREATE INDEX task_event_time_idx ON task_event (time);
