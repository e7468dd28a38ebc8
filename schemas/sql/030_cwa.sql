-- Central Weather Administration (中央氣象署) feeds: weather stations, rain gauges, typhoon
-- tracks, earthquake reports. Columns follow the `Table`s in ingest/feeds/cwa_*.py.
-- Readings are hypertables keyed (station_id, time); "latest" tables hold one row per key.
-- NULL in a reading means CWA reported no value (missing, fault, ...): never a marker like -99.

-- cwa-stations: O-A0001-001 / O-A0003-001 --------------------------------------------------
CREATE TABLE IF NOT EXISTS cwa_station_reading (
    time                 timestamptz NOT NULL,
    station_id           text        NOT NULL,
    temperature_c        real,
    humidity_pct         real,
    pressure_hpa         real,
    wind_speed_ms        real,
    wind_dir_deg         real,
    gust_ms              real,
    precipitation_now_mm real,       -- since local midnight
    readings             jsonb       NOT NULL,  -- {name: {"value", "unit", "flag"?, "time"?}}
    CONSTRAINT cwa_station_reading_key UNIQUE (station_id, time)
);
SELECT create_hypertable('cwa_station_reading', 'time', if_not_exists => true);

CREATE TABLE IF NOT EXISTS cwa_station (
    station_id           text PRIMARY KEY,
    name                 text,
    dataset              text,
    lon                  double precision,
    lat                  double precision,
    altitude_m           real,
    county               text,
    town                 text,
    town_code            text,
    district_code        text,       -- Taichung TOWNCODE, NULL outside Taichung
    weather              text,
    temperature_c        real,
    humidity_pct         real,
    pressure_hpa         real,
    wind_speed_ms        real,
    wind_dir_deg         real,
    gust_ms              real,
    precipitation_now_mm real,
    readings             jsonb NOT NULL,
    time                 timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS cwa_station_district ON cwa_station (district_code);

-- cwa-rain: O-A0002-001 ------------------------------------------------------------------------
CREATE TABLE IF NOT EXISTS cwa_rain_reading (
    time          timestamptz NOT NULL,
    station_id    text        NOT NULL,
    now_mm        real,
    past_10min_mm real,
    past_1h_mm    real,
    past_3h_mm    real,
    past_6h_mm    real,
    past_12h_mm   real,
    past_24h_mm   real,
    past_2d_mm    real,
    past_3d_mm    real,
    alert_level   text,          -- none / heavy_rain / ... (schemas/rain_alert_levels.yaml)
    flags         jsonb NOT NULL, -- {window: "no_rain_6h" | "trace" | "missing" | ...}
    CONSTRAINT cwa_rain_reading_key UNIQUE (station_id, time)
);
SELECT create_hypertable('cwa_rain_reading', 'time', if_not_exists => true);

CREATE TABLE IF NOT EXISTS cwa_rain_station (
    station_id    text PRIMARY KEY,
    name          text,
    lon           double precision,
    lat           double precision,
    altitude_m    real,
    county        text,
    town          text,
    district_code text,
    maintainer    text,
    now_mm        real,
    past_1h_mm    real,
    past_3h_mm    real,
    past_24h_mm   real,
    alert_level   text,
    alert_rank    integer,
    flags         jsonb NOT NULL,
    time          timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS cwa_rain_station_alert ON cwa_rain_station (alert_rank DESC) WHERE alert_rank > 0;

-- cwa-typhoon: W-C0034-005 ---------------------------------------------------------------------
-- One row per fix; a re-issued track replaces the fixes it repeats (latest by `issued`).
CREATE TABLE IF NOT EXISTS cwa_typhoon_fix (
    cyclone_id               text        NOT NULL,
    kind                     text        NOT NULL CHECK (kind IN ('analysis', 'forecast')),
    time                     timestamptz NOT NULL,  -- valid time
    base_time                timestamptz NOT NULL,  -- fix time, or the forecast's init time
    tau_h                    integer     NOT NULL,  -- forecast hour, 0 for analysis
    lon                      double precision NOT NULL,
    lat                      double precision NOT NULL,
    pressure_hpa             real,
    max_wind_ms              real,
    max_gust_ms              real,
    moving_speed_kmh         real,
    moving_dir_deg           real,
    radius_15ms_km           real,
    radius_15ms_quadrants_km jsonb,
    radius_25ms_km           real,
    radius_25ms_quadrants_km jsonb,
    radius_70pct_km          real,
    issued                   timestamptz NOT NULL,
    PRIMARY KEY (cyclone_id, time, kind, tau_h)
);

CREATE TABLE IF NOT EXISTS cwa_typhoon (
    cyclone_id      text PRIMARY KEY,
    year            integer NOT NULL,
    td_no           integer,
    ty_no           integer,
    name_en         text,
    name_zh         text,
    latest_fix_time timestamptz NOT NULL,
    lon             double precision NOT NULL,
    lat             double precision NOT NULL,
    pressure_hpa    real,
    max_wind_ms     real,
    radius_15ms_km  real,
    track           jsonb,   -- GeoJSON LineString of analysis fixes
    forecast_track  jsonb,   -- GeoJSON LineString: latest analysis fix then forecasts
    issued          timestamptz NOT NULL
);

-- cwa-quake: E-A0015-001 -----------------------------------------------------------------------
CREATE TABLE IF NOT EXISTS cwa_quake_report (
    report_no               integer PRIMARY KEY,
    origin_time             timestamptz NOT NULL,
    report_type             text,
    report_color            text,
    lon                     double precision NOT NULL,
    lat                     double precision NOT NULL,
    location                text,
    depth_km                real,
    magnitude_type          text,
    magnitude               real,
    max_intensity           text,
    max_intensity_rank      integer,
    taichung_intensity      text,
    taichung_intensity_rank integer NOT NULL,
    intensities             jsonb NOT NULL,  -- {county: {"max", "rank", "stations": [...]}}
    content                 text,
    web                     text,
    report_image            text,
    shakemap_image          text,
    received_at             timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS cwa_quake_report_time ON cwa_quake_report (origin_time DESC);
