-- Indexes for the wall's feed layers (dashboard/layers/*.py). Each query of a layer takes the
-- moment shown (as_of) as a parameter; these keep the selective ones selective.

-- bts: the stations not `up` at as_of come from the reports that are not `up` in the last
-- 15 minutes. ~14,000 stations report every 5 minutes, almost all `up`: this partial index holds
-- only the few others, so the wall never reads the `up` reports.
CREATE INDEX IF NOT EXISTS bts_status_not_up_idx ON bts_status (time) WHERE status <> 'up';

-- incidents: of the cases reported in the 24 hours before as_of, the open ones and those closed
-- in the last hour (the current-state table grows by every case ever reported, ~1,500 a day;
-- incident_open_idx leads with status, then priority). Time travel also needs the cases
-- updated after as_of, to look up their state at as_of in the history.
CREATE INDEX IF NOT EXISTS incident_open_reported_idx ON incident (reported_at) WHERE status <> 'closed';
CREATE INDEX IF NOT EXISTS incident_closed_idx ON incident (closed_at);
CREATE INDEX IF NOT EXISTS incident_updated_idx ON incident (updated_at);

-- events: time travel looks up, in the history, only the events updated after as_of
-- (traffic_event_status_idx leads with status, so it cannot find them by time alone).
CREATE INDEX IF NOT EXISTS traffic_event_updated_idx ON traffic_event (updated_at);

-- water: the river water-level datastreams among every Civil IoT datastream (air quality,
-- rain, flood depth, ...). The predicate is the text of WATER_PREDICATE in
-- dashboard/layers/water.py: the planner uses a partial index only when the query says the same.
CREATE INDEX IF NOT EXISTS sta_datastream_water_idx ON sta_datastream (service, datastream_id)
    WHERE (observed_property ~* '水位|water ?level' OR name ~* '水位|water ?level')
      AND coalesce(observed_property, '') || coalesce(name, '') !~* '地下水|groundwater';
