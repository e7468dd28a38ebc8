-- Core of the operations center: the extension, privileges, dead letters, feed activity.
CREATE EXTENSION IF NOT EXISTS timescaledb;

-- The services connect as ioc_app where that role exists (the local cluster and the Docker
-- setup create it); the owner keeps DDL to itself.
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ioc_app') THEN
    EXECUTE 'GRANT USAGE ON SCHEMA public TO ioc_app';
    EXECUTE 'ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO ioc_app';
    EXECUTE 'ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO ioc_app';
    EXECUTE 'ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT EXECUTE ON FUNCTIONS TO ioc_app';
  END IF;
END $$;

-- Every message that could not be stored, kept as it came, with why and where it failed.
CREATE TABLE dead_letter (
    id          bigint GENERATED ALWAYS AS IDENTITY,
    received_at timestamptz NOT NULL DEFAULT now(),
    feed        text,                 -- null when the topic matched no feed
    source      text NOT NULL,        -- mqtt | http | file
    topic       text NOT NULL,        -- MQTT topic or URL or file name
    stage       text NOT NULL,        -- route | decode | validate | normalise | sink
    error       text NOT NULL,
    raw         bytea NOT NULL,
    replayed_at timestamptz,          -- set when replayed after a fix
    PRIMARY KEY (id, received_at)
);
SELECT create_hypertable('dead_letter', 'received_at', chunk_time_interval => interval '7 days');
CREATE INDEX dead_letter_feed_idx ON dead_letter (feed, received_at DESC);

-- What each feed delivered, written by the ingest worker with its batches (at most one row
-- per feed and second): freshness, rates and rejects at any moment, for the wall and time travel.
CREATE TABLE feed_activity (
    time         timestamptz NOT NULL,
    feed         text NOT NULL,
    received     integer NOT NULL,
    stored       integer NOT NULL,
    rejected     integer NOT NULL,
    last_data_at timestamptz,         -- newest data time seen in this interval
    PRIMARY KEY (feed, time)
);
SELECT create_hypertable('feed_activity', 'time', chunk_time_interval => interval '1 day');
