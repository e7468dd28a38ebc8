-- Police 110 dispatch incidents (feed incident): the latest state per case and every update.
CREATE TABLE incident (
    id            text PRIMARY KEY,
    category      text NOT NULL,
    priority      smallint NOT NULL CHECK (priority BETWEEN 1 AND 3),   -- 1 most urgent
    lon           double precision,
    lat           double precision,
    address       text,
    district      text,                    -- MOI TOWNCODE, given or computed from lon/lat
    unit          text,
    status        text NOT NULL CHECK (status IN ('reported', 'dispatched', 'on_scene', 'closed')),
    reported_at   timestamptz NOT NULL,
    dispatched_at timestamptz,
    on_scene_at   timestamptz,
    closed_at     timestamptz,
    updated_at    timestamptz NOT NULL,
    notes         text                     -- free text, shown inert
);
CREATE INDEX incident_open_idx ON incident (status, priority, updated_at DESC);
CREATE INDEX incident_district_idx ON incident (district, updated_at DESC);

CREATE TABLE incident_history (
    id            text NOT NULL,
    category      text NOT NULL,
    priority      smallint NOT NULL,
    lon           double precision,
    lat           double precision,
    address       text,
    district      text,
    unit          text,
    status        text NOT NULL,
    reported_at   timestamptz NOT NULL,
    dispatched_at timestamptz,
    on_scene_at   timestamptz,
    closed_at     timestamptz,
    updated_at    timestamptz NOT NULL,
    notes         text,
    received_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (id, updated_at)                -- includes the time column: a replay is stored once
);
SELECT create_hypertable('incident_history', 'updated_at', chunk_time_interval => interval '7 days');
