-- Population coverage of base stations (geo/): snapshots for the city, each district and village.
-- Written by the live coverage process after status changes of bts_current (rows from
-- geo.snapshots.snapshot_rows); figures unrounded, percentages 0-100, areas in km² (EPSG:3826).
CREATE TABLE IF NOT EXISTS coverage_snapshot (
    time               timestamptz NOT NULL,
    scope              text NOT NULL CHECK (scope IN ('city', 'district', 'village')),
    code               text NOT NULL,              -- 66000 / TOWNCODE (8 digits) / VILLCODE (11 digits)
    population         integer NOT NULL CHECK (population >= 0),
    covered_population double precision NOT NULL CHECK (covered_population >= 0),
    pct_population     double precision CHECK (pct_population BETWEEN 0 AND 100),  -- null: no people
    area_km2           double precision NOT NULL CHECK (area_km2 >= 0),
    covered_area_km2   double precision NOT NULL CHECK (covered_area_km2 >= 0),
    pct_area           double precision CHECK (pct_area BETWEEN 0 AND 100),
    stations_up        integer NOT NULL CHECK (stations_up >= 0),     -- sited in the scope; degraded counts as up
    stations_down      integer NOT NULL CHECK (stations_down >= 0),
    PRIMARY KEY (scope, code, time)                -- includes the time column: a replay is stored once
);
SELECT create_hypertable('coverage_snapshot', 'time', chunk_time_interval => interval '7 days', if_not_exists => true);
CREATE INDEX IF NOT EXISTS coverage_snapshot_code_time ON coverage_snapshot (code, time DESC);
