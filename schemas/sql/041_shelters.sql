-- Evacuation shelters 避難收容處所 (feeds shelters, shelter-status).
CREATE TABLE shelter (
    shelter_id      text PRIMARY KEY,     -- 序號 of the NFA list
    name            text NOT NULL,
    address         text,
    county_district text,                 -- 縣市及鄉鎮市區 as published
    district        text,                 -- MOI TOWNCODE for Taichung rows, else null
    village         text,
    lon             double precision,
    lat             double precision,
    capacity        integer,              -- 預計收容人數
    served_villages text,                 -- 預計收容村里
    disaster_types  text[] NOT NULL DEFAULT '{}',
    indoor          boolean,
    outdoor         boolean,
    vulnerable_ok   boolean,              -- 適合避難弱者安置
    coord_check     text,                 -- ok | other_district:<name> | outside_taichung
    time            timestamptz NOT NULL  -- when this version of the list was received
);
CREATE INDEX shelter_district_idx ON shelter (district);

CREATE TABLE shelter_status (
    time        timestamptz NOT NULL,
    shelter_id  text NOT NULL,
    occupancy   integer NOT NULL CHECK (occupancy >= 0),
    status      text NOT NULL CHECK (status IN ('open', 'closed', 'full')),
    received_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (shelter_id, time)             -- includes the time column: a replay is stored once
);
SELECT create_hypertable('shelter_status', 'time', chunk_time_interval => interval '7 days');

-- The latest update per shelter, whatever the arrival order.
CREATE TABLE shelter_status_current (
    time       timestamptz NOT NULL,
    shelter_id text PRIMARY KEY,
    occupancy  integer NOT NULL CHECK (occupancy >= 0),
    status     text NOT NULL CHECK (status IN ('open', 'closed', 'full'))
);
