-- KPI history is never overwritten (issue 5): a correction is a new row with a later
-- recorded_at. The application role may only add rows; no one may change a stored row.
-- (The owner keeps DELETE to remove a row entered by mistake, which the audit trail records.)

CREATE OR REPLACE FUNCTION kpi_history_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only: add a correction with a later recorded_at', TG_TABLE_NAME;
END $$;

DROP TRIGGER IF EXISTS kpi_measurement_append_only ON kpi_measurement;
CREATE TRIGGER kpi_measurement_append_only BEFORE UPDATE ON kpi_measurement
  FOR EACH ROW EXECUTE FUNCTION kpi_history_is_append_only();
DROP TRIGGER IF EXISTS project_measurement_append_only ON project_measurement;
CREATE TRIGGER project_measurement_append_only BEFORE UPDATE ON project_measurement
  FOR EACH ROW EXECUTE FUNCTION kpi_history_is_append_only();

DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ioc_app') THEN
    EXECUTE 'REVOKE UPDATE, DELETE, TRUNCATE ON kpi_measurement, project_measurement FROM ioc_app';
    EXECUTE 'GRANT SELECT, INSERT ON kpi_measurement, project_measurement TO ioc_app';
  END IF;
END $$;
