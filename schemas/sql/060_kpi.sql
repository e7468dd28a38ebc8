-- KPI measurements and special-project progress (績效指標量測與專案列管進度).
-- History: a row is never overwritten; a correction is a new row with a later recorded_at, and
-- the evaluation takes the latest as_of (then the latest recorded_at). Rows are written by
-- ioc.kpi.measurements.to_row / to_project_row (columns in KPI_MEASUREMENT / PROJECT_MEASUREMENT
-- order); the key (item, as_of, recorded_at) makes a replay insert-or-ignore.

-- TimescaleDB itself is created by 001_core.sql.

CREATE TABLE IF NOT EXISTS kpi_measurement (
    indicator    text             NOT NULL,               -- I1 .. I7c, see schemas/kpis.yaml
    year         integer          NOT NULL,               -- Gregorian plan year (ROC + 1911)
    as_of        date             NOT NULL,               -- the date the figures describe
    numerator    double precision,                        -- ratio form (I1, I3, I4, I7b)
    denominator  double precision,
    count        bigint,                                  -- count form (I2, I5, I7c)
    parts        jsonb,                                   -- parts form (I6, I7a): {"name": [done, planned]}
    value        double precision,                        -- percent for ratio/parts, the count otherwise
    source       text             NOT NULL,
    entered_by   text,
    recorded_at  timestamptz      NOT NULL,               -- when it was recorded: the time column
    note         text,
    CONSTRAINT kpi_measurement_key PRIMARY KEY (indicator, as_of, recorded_at),
    CONSTRAINT kpi_measurement_source CHECK (source IN ('mqtt', 'file', 'form', 'coverage')),
    CONSTRAINT kpi_measurement_year CHECK (extract(year FROM as_of) = year),
    CONSTRAINT kpi_measurement_form CHECK (
        (numerator IS NOT NULL AND denominator IS NOT NULL AND count IS NULL AND parts IS NULL)
        OR (count IS NOT NULL AND numerator IS NULL AND denominator IS NULL AND parts IS NULL)
        OR (parts IS NOT NULL AND numerator IS NULL AND denominator IS NULL AND count IS NULL)
    ),
    CONSTRAINT kpi_measurement_amounts CHECK (
        coalesce(numerator, 0) >= 0 AND coalesce(count, 0) >= 0
        AND (denominator IS NULL OR numerator <= denominator)
    ),
    CONSTRAINT kpi_measurement_parts CHECK (parts IS NULL OR jsonb_typeof(parts) = 'object')
);

-- Measurements are sparse (a few a month): one chunk a year is plenty.
SELECT create_hypertable('kpi_measurement', 'recorded_at',
                         chunk_time_interval => INTERVAL '365 days', if_not_exists => true);

CREATE INDEX IF NOT EXISTS kpi_measurement_latest
    ON kpi_measurement (indicator, year, as_of DESC, recorded_at DESC);

CREATE TABLE IF NOT EXISTS project_measurement (
    project      text             NOT NULL,               -- id in schemas/kpis.yaml projects
    as_of        date             NOT NULL,
    value        double precision NOT NULL,               -- cumulative progress in the project's unit
    target       double precision,                        -- copied from the definitions when written
    unit         text,
    source       text             NOT NULL,
    entered_by   text,
    recorded_at  timestamptz      NOT NULL,
    note         text,
    CONSTRAINT project_measurement_key PRIMARY KEY (project, as_of, recorded_at),
    CONSTRAINT project_measurement_source CHECK (source IN ('mqtt', 'file', 'form', 'coverage')),
    CONSTRAINT project_measurement_value CHECK (value >= 0)
);

SELECT create_hypertable('project_measurement', 'recorded_at',
                         chunk_time_interval => INTERVAL '365 days', if_not_exists => true);

CREATE INDEX IF NOT EXISTS project_measurement_latest
    ON project_measurement (project, as_of DESC, recorded_at DESC);
