-- Traffic CCTV sites (feed tdx-cctv): TDX/PTX CCTV lists and the Taichung City CCTV list.
CREATE TABLE cctv_site (
    cctv_id   text PRIMARY KEY,
    name      text,
    road      text,
    direction text,
    section   text,
    lon       double precision,
    lat       double precision,
    video_url text,                        -- http(s) only (checked by the parser)
    status    integer,                     -- as published by the Taichung list; null from TDX
    authority text,
    source    text NOT NULL,               -- tdx | taichung-csv
    time      timestamptz NOT NULL         -- when this description was received
);
