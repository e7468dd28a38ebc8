-- Operational levels of the disaster response center: normal, then level 3, 2, 1 (Taiwan's
-- 三級/二級/一級開設), plus a drill flag. Every change is a row; the level at any moment is the
-- newest change at or before it, so the wall can travel back in time.
CREATE TABLE ops_level_change (
    time    timestamptz NOT NULL DEFAULT now(),
    level   text NOT NULL CHECK (level IN ('normal', 'level3', 'level2', 'level1')),
    drill   boolean NOT NULL DEFAULT false,
    reason  text NOT NULL CHECK (length(reason) BETWEEN 1 AND 500),
    set_by  text NOT NULL,
    role    text,
    PRIMARY KEY (time)
);
