-- Traffic vehicle detectors (TDX VD / VDLive).
CREATE TABLE vd_site (
    vd_id   text PRIMARY KEY,
    name    text,
    road    text,
    section text,
    lon     double precision,
    lat     double precision,
    lanes   integer,
    time    timestamptz NOT NULL      -- when this description was received
);

CREATE TABLE vd_reading (
    time          timestamptz NOT NULL,
    vd_id         text NOT NULL,
    speed_kmh     real,
    volume        integer,
    occupancy_pct real,
    status        smallint,
    received_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (vd_id, time)              -- includes the time column: a replay is stored once
);
SELECT create_hypertable('vd_reading', 'time', chunk_time_interval => interval '1 day');
