-- Civil IoT Taiwan sensors via OGC SensorThings API (feed sta): stations, datastreams, readings.
-- Ids are unique only within one STA service (STA_WaterResource_v2, STA_Rain, ...), so the
-- service is part of every key.
CREATE TABLE sta_thing (
    service     text NOT NULL,            -- path segment before v1.0, e.g. STA_WaterResource_v2
    thing_id    text NOT NULL,
    name        text,
    description text,
    properties  jsonb NOT NULL DEFAULT '{}'::jsonb,
    lon         double precision,
    lat         double precision,
    location    jsonb,                    -- the Location's GeoJSON as published
    time        timestamptz NOT NULL,     -- when this description was received
    PRIMARY KEY (service, thing_id)
);

CREATE TABLE sta_datastream (
    service           text NOT NULL,
    datastream_id     text NOT NULL,
    thing_id          text,               -- null when the document did not say
    name              text,
    description       text,
    unit_name         text,
    unit_symbol       text,
    unit_definition   text,
    observed_property text,
    observation_type  text,
    time              timestamptz NOT NULL, -- when this description was received
    PRIMARY KEY (service, datastream_id)
);
CREATE INDEX sta_datastream_thing_idx ON sta_datastream (service, thing_id);

CREATE TABLE sta_observation (
    time           timestamptz NOT NULL,  -- phenomenonTime (the end of an interval)
    service        text NOT NULL,
    datastream_id  text NOT NULL,
    result         double precision,      -- the reading when it is a number
    result_text    text,                  -- otherwise the reading as text
    result_time    timestamptz,
    observation_id text,
    received_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (service, datastream_id, time) -- includes the time column: a replay is stored once
);
SELECT create_hypertable('sta_observation', 'time', chunk_time_interval => interval '1 day');
