-- Who is in the operations center for each agency: check-in and check-out of the seats that
-- schemas/staffing.yaml asks each agency to fill at each level.
CREATE TABLE staff_checkin (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    agency          text NOT NULL,
    person          text NOT NULL CHECK (length(person) BETWEEN 1 AND 80),
    checked_in_at   timestamptz NOT NULL DEFAULT now(),
    checked_in_by   text NOT NULL,
    checked_out_at  timestamptz,
    checked_out_by  text,
    CHECK (checked_out_at IS NULL OR checked_out_at >= checked_in_at)
);
CREATE INDEX staff_checkin_present_idx ON staff_checkin (agency) WHERE checked_out_at IS NULL;
CREATE INDEX staff_checkin_time_idx ON staff_checkin (checked_in_at);
-- One person cannot be checked in twice for the same agency at once.
CREATE UNIQUE INDEX staff_checkin_once_idx ON staff_checkin (agency, lower(person)) WHERE checked_out_at IS NULL;
