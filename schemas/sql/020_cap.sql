-- CAP disaster alerts (feed `cap`, ingest/feeds/cap.py).
--
-- Every table is written with insert-or-ignore only, keyed on the CAP message identity
-- (sender, identifier, sent): a replay is stored once, and the stored set of rows is the same
-- whatever order the messages arrived in. Which alerts are in force is computed when read
-- (cap_message_fate / cap_alert_state / cap_alerts_in_force), never by the writer.
--
-- Rules of the read side:
--   * A message is `cancelled` by a Cancel, and `updated` (superseded) by an Update, sent at or
--     before as_of by the same sender, that references it, or that references a message it
--     descends from (through its own references) and was sent after it. Cancelled wins over
--     updated. References across senders are kept but change no state.
--   * An info without <expires> is in force for 24 hours after `sent` (ingest/feeds/cap.py
--     DEFAULT_VALIDITY says the same).
--   * An area is in force at as_of when its message is Actual, an Alert or Update, sent at or
--     before as_of, neither cancelled nor updated at as_of, and
--     coalesce(effective, sent) <= as_of < coalesce(expires, sent + 24 h).
--     (`onset` is when the event itself is expected; it is returned, not used as a filter: a
--     warning is in force from `effective`, before the event begins.)
--   * Map shading: Extreme (4) > Severe (3) > Moderate (2) > Minor (1) > Unknown (0).

CREATE TABLE IF NOT EXISTS cap_alert (
    sent          timestamptz NOT NULL,
    sender        text        NOT NULL,
    identifier    text        NOT NULL,
    status        text        NOT NULL,   -- Actual | Exercise | System | Test | Draft
    msg_type      text        NOT NULL,   -- Alert | Update | Cancel | Ack | Error
    scope         text        NOT NULL,   -- Public | Restricted | Private
    source        text,
    event         text,                   -- of the first zh info (else the first info)
    headline      text,
    severity      text,                   -- highest over the infos
    severity_rank integer,
    effective     timestamptz NOT NULL,   -- earliest coalesce(info effective, sent)
    expires       timestamptz,            -- latest info expires; NULL when any info has none
    districts     text[]      NOT NULL,   -- Taichung TOWNCODEs covered by any area
    villages      text[]      NOT NULL,   -- Taichung VILLCODEs covered by any area
    record        jsonb       NOT NULL,   -- the normalised record (schemas/messages/cap.schema.json)
    received_at   timestamptz NOT NULL,   -- first receipt
    PRIMARY KEY (sender, identifier, sent)
);

-- Which earlier messages a message refers to (<references>), with the referring msgType.
CREATE TABLE IF NOT EXISTS cap_reference (
    sent           timestamptz NOT NULL,
    sender         text        NOT NULL,
    identifier     text        NOT NULL,
    msg_type       text        NOT NULL,
    ref_sender     text        NOT NULL,
    ref_identifier text        NOT NULL,
    ref_sent       timestamptz NOT NULL,
    PRIMARY KEY (sender, identifier, sent, ref_sender, ref_identifier, ref_sent)
);

-- One row per message x info x area (an info without areas: one row, area_index 0, no
-- geometry), carrying what map shading needs without opening the record.
CREATE TABLE IF NOT EXISTS cap_area (
    sent          timestamptz NOT NULL,
    sender        text        NOT NULL,
    identifier    text        NOT NULL,
    status        text        NOT NULL,
    msg_type      text        NOT NULL,
    info_index    integer     NOT NULL,
    area_index    integer     NOT NULL,
    language      text        NOT NULL,
    event         text        NOT NULL,
    category      text[]      NOT NULL,
    urgency       text        NOT NULL,
    severity      text        NOT NULL,
    severity_rank integer     NOT NULL,
    certainty     text        NOT NULL,
    effective     timestamptz,
    onset         timestamptz,
    expires       timestamptz,
    headline      text,
    sender_name   text,
    area_desc     text,
    polygons      jsonb       NOT NULL,   -- [GeoJSON Polygon, lon/lat]
    circles       jsonb       NOT NULL,   -- [{center: GeoJSON Point, radius_km}]
    geocodes      jsonb       NOT NULL,   -- [{name, value}]
    districts     text[]      NOT NULL,
    villages      text[]      NOT NULL,
    PRIMARY KEY (sender, identifier, sent, info_index, area_index)
);

CREATE INDEX IF NOT EXISTS cap_reference_target_idx
    ON cap_reference (ref_sender, ref_identifier, ref_sent);
CREATE INDEX IF NOT EXISTS cap_area_expires_idx ON cap_area (expires);
CREATE INDEX IF NOT EXISTS cap_area_districts_idx ON cap_area USING gin (districts);
CREATE INDEX IF NOT EXISTS cap_alert_identifier_idx ON cap_alert (identifier);

-- Hypertables on `sent` (every key includes it) when TimescaleDB is there; plain tables
-- otherwise, so the migration also runs on a bare PostgreSQL.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb') THEN
        PERFORM create_hypertable('cap_alert', 'sent', chunk_time_interval => interval '30 days',
                                  if_not_exists => true);
        PERFORM create_hypertable('cap_reference', 'sent', chunk_time_interval => interval '30 days',
                                  if_not_exists => true);
        PERFORM create_hypertable('cap_area', 'sent', chunk_time_interval => interval '30 days',
                                  if_not_exists => true);
    END IF;
END
$$;


-- Messages that are cancelled or updated at as_of, and by which message.
CREATE OR REPLACE FUNCTION cap_message_fate(as_of timestamptz)
RETURNS TABLE (sender text, identifier text, sent timestamptz, fate text,
               by_sender text, by_identifier text, by_sent timestamptz)
LANGUAGE sql STABLE AS $$
    WITH RECURSIVE refs AS (
        -- Only a sender can update or cancel its own messages: a reference to another
        -- sender's message is stored but changes nothing.
        SELECT r.* FROM cap_reference r WHERE r.sent <= as_of AND r.ref_sender = r.sender
    ),
    -- (message, ancestor): every message a message refers to, directly or through others.
    -- UNION (not UNION ALL) ends the recursion on reference cycles.
    lineage (sender, identifier, sent, a_sender, a_identifier, a_sent) AS (
        SELECT r.sender, r.identifier, r.sent, r.ref_sender, r.ref_identifier, r.ref_sent
        FROM refs r
        UNION
        SELECT l.sender, l.identifier, l.sent, r.ref_sender, r.ref_identifier, r.ref_sent
        FROM lineage l
        JOIN refs r ON r.sender = l.a_sender AND r.identifier = l.a_identifier AND r.sent = l.a_sent
    ),
    hits AS (
        -- an Update/Cancel names the message itself
        SELECT r.ref_sender AS sender, r.ref_identifier AS identifier, r.ref_sent AS sent,
               r.msg_type, r.sender AS by_sender, r.identifier AS by_identifier, r.sent AS by_sent
        FROM refs r
        WHERE r.msg_type IN ('Update', 'Cancel')
        UNION ALL
        -- a later Update/Cancel names a message this one descends from
        SELECT l.sender, l.identifier, l.sent, r.msg_type, r.sender, r.identifier, r.sent
        FROM lineage l
        JOIN refs r ON r.ref_sender = l.a_sender AND r.ref_identifier = l.a_identifier
                   AND r.ref_sent = l.a_sent
        WHERE r.msg_type IN ('Update', 'Cancel') AND r.sent > l.sent
    )
    SELECT DISTINCT ON (h.sender, h.identifier, h.sent)
           h.sender, h.identifier, h.sent,
           CASE h.msg_type WHEN 'Cancel' THEN 'cancelled' ELSE 'updated' END,
           h.by_sender, h.by_identifier, h.by_sent
    FROM hits h
    WHERE (h.sender, h.identifier, h.sent) IS DISTINCT FROM (h.by_sender, h.by_identifier, h.by_sent)
    ORDER BY h.sender, h.identifier, h.sent,
             (h.msg_type = 'Cancel') DESC, h.by_sent DESC, h.by_sender, h.by_identifier
$$;

-- The state of every message sent at or before as_of:
--   cancelled | updated | expired | pending (not yet effective) | active, and
--   notice for Cancel / Ack / Error messages themselves (they are not alerts).
CREATE OR REPLACE FUNCTION cap_alert_state(as_of timestamptz)
RETURNS TABLE (sender text, identifier text, sent timestamptz, status text, msg_type text,
               event text, headline text, severity text, effective timestamptz,
               expires_at timestamptz, state text,
               by_sender text, by_identifier text, by_sent timestamptz)
LANGUAGE sql STABLE AS $$
    WITH fate AS MATERIALIZED (SELECT * FROM cap_message_fate(as_of))
    SELECT a.sender, a.identifier, a.sent, a.status, a.msg_type, a.event, a.headline, a.severity,
           a.effective, coalesce(a.expires, a.sent + interval '24 hours'),
           CASE
               WHEN f.fate IS NOT NULL THEN f.fate
               WHEN a.msg_type NOT IN ('Alert', 'Update') THEN 'notice'
               WHEN as_of >= coalesce(a.expires, a.sent + interval '24 hours') THEN 'expired'
               WHEN as_of < a.effective THEN 'pending'
               ELSE 'active'
           END,
           f.by_sender, f.by_identifier, f.by_sent
    FROM cap_alert a
    LEFT JOIN fate f ON f.sender = a.sender AND f.identifier = a.identifier AND f.sent = a.sent
    WHERE a.sent <= as_of
$$;

-- The areas in force at as_of (Actual alerts only), most severe first.
CREATE OR REPLACE FUNCTION cap_alerts_in_force(as_of timestamptz)
RETURNS TABLE (sender text, identifier text, sent timestamptz, msg_type text,
               info_index integer, area_index integer, language text, event text,
               category text[], urgency text, severity text, severity_rank integer,
               certainty text, effective timestamptz, onset timestamptz, expires timestamptz,
               expires_at timestamptz, headline text, sender_name text, area_desc text,
               polygons jsonb, circles jsonb, geocodes jsonb, districts text[], villages text[])
LANGUAGE sql STABLE AS $$
    WITH fate AS MATERIALIZED (SELECT * FROM cap_message_fate(as_of))
    SELECT c.sender, c.identifier, c.sent, c.msg_type, c.info_index, c.area_index, c.language,
           c.event, c.category, c.urgency, c.severity, c.severity_rank, c.certainty,
           c.effective, c.onset, c.expires, coalesce(c.expires, c.sent + interval '24 hours'),
           c.headline, c.sender_name, c.area_desc, c.polygons, c.circles, c.geocodes,
           c.districts, c.villages
    FROM cap_area c
    WHERE c.sent <= as_of
      AND c.status = 'Actual'
      AND c.msg_type IN ('Alert', 'Update')
      AND coalesce(c.effective, c.sent) <= as_of
      AND as_of < coalesce(c.expires, c.sent + interval '24 hours')
      AND NOT EXISTS (SELECT 1 FROM fate f
                      WHERE f.sender = c.sender AND f.identifier = c.identifier AND f.sent = c.sent)
    ORDER BY c.severity_rank DESC, c.sent DESC, c.sender, c.identifier, c.info_index, c.area_index
$$;

-- Per Taichung district: the most severe alert in force at as_of (for shading the map).
CREATE OR REPLACE FUNCTION cap_district_severity(as_of timestamptz)
RETURNS TABLE (district text, severity text, severity_rank integer, alerts integer,
               events text[])
LANGUAGE sql STABLE AS $$
    SELECT d.district,
           (array_agg(f.severity ORDER BY f.severity_rank DESC))[1],
           max(f.severity_rank),
           count(DISTINCT (f.sender, f.identifier, f.sent))::integer,
           array_agg(DISTINCT f.event ORDER BY f.event)
    FROM cap_alerts_in_force(as_of) f
    CROSS JOIN LATERAL unnest(f.districts) AS d(district)
    GROUP BY d.district
$$;
