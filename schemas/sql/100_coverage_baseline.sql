-- Live coverage (ioc/coverage/live.py, job coverage-live): with every snapshot row, what the same
-- station list would cover with every station up. People who lost coverage = baseline - covered;
-- the wall's coverage layer and tile read it. NULL in rows written without a baseline.
ALTER TABLE coverage_snapshot
    ADD COLUMN IF NOT EXISTS baseline_covered_population double precision
        CHECK (baseline_covered_population >= 0),
    ADD COLUMN IF NOT EXISTS baseline_covered_area_km2 double precision
        CHECK (baseline_covered_area_km2 >= 0);
