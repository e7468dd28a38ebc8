"""Live population coverage of base stations: the stations of `bts_current` kept in a
`geo.CoverageState`, snapshots in `coverage_snapshot` (used by the `coverage-live` job, the
dashboard's /coverage page and `ioc coverage compute`)."""
