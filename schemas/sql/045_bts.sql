-- Mobile base-station status (feed bts); bts_current is what the coverage calculation reads.
CREATE TABLE bts_status (
    time          timestamptz NOT NULL,
    bts_id        text NOT NULL,
    operator      text NOT NULL,
    technology    text NOT NULL CHECK (technology IN ('4G', '5G')),
    lon           double precision NOT NULL,
    lat           double precision NOT NULL,
    radius_m      double precision NOT NULL CHECK (radius_m > 0),
    azimuth_deg   double precision,        -- sector centre, clockwise from north; null = circle
    beamwidth_deg double precision,        -- sector width; null = circle
    status        text NOT NULL CHECK (status IN ('up', 'down', 'degraded')),
    received_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (bts_id, time)                  -- includes the time column: a replay is stored once
);
SELECT create_hypertable('bts_status', 'time', chunk_time_interval => interval '1 day');

-- The latest report per station, whatever the arrival order.
CREATE TABLE bts_current (
    time          timestamptz NOT NULL,
    bts_id        text PRIMARY KEY,
    operator      text NOT NULL,
    technology    text NOT NULL CHECK (technology IN ('4G', '5G')),
    lon           double precision NOT NULL,
    lat           double precision NOT NULL,
    radius_m      double precision NOT NULL CHECK (radius_m > 0),
    azimuth_deg   double precision,
    beamwidth_deg double precision,
    status        text NOT NULL CHECK (status IN ('up', 'down', 'degraded'))
);
