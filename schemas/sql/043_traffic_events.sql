-- Road events and closures (feed traffic-event): the latest state per event and every update.
CREATE TABLE traffic_event (
    id            text PRIMARY KEY,
    kind          text NOT NULL,
    geometry      jsonb NOT NULL,          -- GeoJSON Point or LineString, lon/lat
    lon           double precision,        -- where to put the marker: the point, or the
    lat           double precision,        -- middle vertex of the line
    road          text,
    direction     text,
    lanes_blocked integer,                 -- lanes_affected given as a count
    lanes_list    integer[],               -- lanes_affected given as lane numbers
    start_time    timestamptz NOT NULL,
    end_time      timestamptz,
    status        text NOT NULL CHECK (status IN ('active', 'cleared')),
    description   text,
    source        text NOT NULL,
    updated_at    timestamptz NOT NULL
);
CREATE INDEX traffic_event_status_idx ON traffic_event (status, updated_at DESC);

CREATE TABLE traffic_event_history (
    id            text NOT NULL,
    kind          text NOT NULL,
    geometry      jsonb NOT NULL,
    lon           double precision,
    lat           double precision,
    road          text,
    direction     text,
    lanes_blocked integer,
    lanes_list    integer[],
    start_time    timestamptz NOT NULL,
    end_time      timestamptz,
    status        text NOT NULL,
    description   text,
    source        text NOT NULL,
    updated_at    timestamptz NOT NULL,
    received_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (id, updated_at)                -- includes the time column: a replay is stored once
);
SELECT create_hypertable('traffic_event_history', 'updated_at', chunk_time_interval => interval '7 days');
