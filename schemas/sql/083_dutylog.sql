-- The duty log (值勤日誌): entries by the officers on duty and the handover note at each shift
-- change. `shift_start` ties an entry to its shift (shifts are data: schemas/duty_shifts.yaml),
-- so a shift is read back with its entries and the events of its hours.
CREATE TABLE duty_log_entry (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    time        timestamptz NOT NULL DEFAULT now(),
    shift_start timestamptz NOT NULL,
    author      text NOT NULL,
    role        text,
    kind        text NOT NULL CHECK (kind IN ('entry', 'handover')),
    text        text NOT NULL CHECK (length(text) BETWEEN 1 AND 4000)
);
CREATE INDEX duty_log_entry_shift_idx ON duty_log_entry (shift_start, time);
