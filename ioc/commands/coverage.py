"""`ioc coverage compute` and `ioc geo stations`: population coverage of base stations and the
generated station layout (method and assumptions: geo/README.md).

`ioc coverage compute --stations FILE` needs no service. Without `--stations` it uses the current
stations: the 4G stations of `bts_current` when the database is reachable and has some, else the
generated layout of the latest NCC period; which one is said on stderr. Errors: one line on
stderr, exit status 2. Only the result goes to stdout.
"""

from __future__ import annotations

import json
import re
import sys
import unicodedata

import click

from ioc.cli import _fail, main

PERIOD = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def _check_period(value: str, option: str) -> str:
    if not PERIOD.match(value or ""):
        _fail(f"{option}: expected YYYY-MM, got {value!r}")
    return value


@main.group()
def coverage() -> None:
    """Population coverage of base stations (city, districts, villages)."""


@coverage.command("compute")
@click.option("--stations", "stations_file", metavar="FILE",
              help="GeoJSON points (radius_m; optional status, operator, technology, azimuth_deg + "
                   "beamwidth_deg) or CSV with lon, lat. Default: the current stations.")
@click.option("--population-period", default="2021-03", show_default=True, metavar="YYYY-MM",
              help="Village population of this period (2015-03 or 2021-03).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (the documented contract).")
def coverage_compute(stations_file: str | None, population_period: str, as_json: bool) -> None:
    """Population and area covered by the stations that are up, for the city and each district."""
    _check_period(population_period, "--population-period")
    from geo.coverage import compute_summary
    from geo.layout import LayoutError
    from geo.population import PopulationPeriodError
    from geo.stations import StationDataError

    stations = stations_file
    if stations is None:
        stations, note = _current_stations()
        click.echo(note, err=True)
    try:
        summary = compute_summary(stations, population_period)
    except (StationDataError, PopulationPeriodError, LayoutError) as exc:
        _fail(str(exc))
    if as_json:
        sys.stdout.write(json.dumps(summary, ensure_ascii=False) + "\n")
    else:
        sys.stdout.write(_table(summary, population_period))
    sys.stdout.flush()


def _current_stations():
    """(stations or None for the generated layout, a line saying which)."""
    from geo.layout import latest_period
    from ioc.coverage.live import TECHNOLOGY, read_current_stations

    fallback = f"the generated {TECHNOLOGY} layout for {latest_period(TECHNOLOGY)} (geo/README.md)"
    try:
        from ioc.services import endpoints

        url = endpoints().database_url
    except SystemExit as exc:  # endpoints() says why there is no database
        return None, f"stations: {fallback}; {exc}"
    import psycopg

    from ioc.db import connect

    try:
        with connect(url, autocommit=True, statement_timeout_ms=15000, application_name="ioc-coverage") as conn:
            rows = read_current_stations(conn)
    except psycopg.Error as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return None, f"stations: {fallback}; database not usable: {reason}"
    if rows.empty:
        return None, f"stations: {fallback}; bts_current has no {TECHNOLOGY} stations"
    down = int((rows["status"] == "down").sum())
    return rows, (f"stations: {len(rows)} {TECHNOLOGY} stations of bts_current ({down} down), "
                  f"newest report {rows['time'].max().isoformat()}")


# -- the readable table --------------------------------------------------------------------------
_HEADINGS = ("", "population", "covered", "% pop", "area km²", "covered km²", "% area")


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _cell(text: str, width: int, left: bool = False) -> str:
    pad = " " * max(0, width - _width(text))
    return text + pad if left else pad + text


def _figures(scope: dict) -> list[str]:
    pct = lambda v: "—" if v is None else f"{v:.2f}"  # noqa: E731
    return [f"{scope['population']:,}", f"{scope['covered_population']:,.1f}", pct(scope["pct_population"]),
            f"{scope['area_km2']:,.3f}", f"{scope['covered_area_km2']:,.3f}", pct(scope["pct_area"])]


def _table(summary: dict, population_period: str) -> str:
    rows = [["臺中市 Taichung City", *_figures(summary)]]
    rows += [[f"{d['code']} {d['name']}", *_figures(d)] for d in summary["districts"]]
    widths = [max(_width(r[i]) for r in [_HEADINGS, *rows]) for i in range(len(_HEADINGS))]
    lines = [f"Population coverage of base stations (population {population_period}; "
             "uniform density within each village: geo/README.md)"]
    for n, row in enumerate([_HEADINGS, *rows]):
        lines.append("  ".join(_cell(text, widths[i], left=i == 0) for i, text in enumerate(row)).rstrip())
        if n in (0, 1):
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines) + "\n"


# -- ioc geo -------------------------------------------------------------------------------------
@main.group("geo")
def geo_group() -> None:
    """Geography: the generated base-station layout."""


@geo_group.command("stations")
@click.option("--period", required=True, metavar="YYYY-MM", help="NCC period whose counts to use (e.g. 2024-04).")
@click.option("--technology", default="4G", show_default=True, help="4G (2014-06 … 2024-04), 3G or 2G.")
@click.option("--seed", type=int, default=0, show_default=True, help="Another seed, another reproducible layout.")
@click.option("--out", "out", required=True, metavar="FILE", help="GeoJSON file to write.")
def geo_stations(period: str, technology: str, seed: int, out: str) -> None:
    """Write the documented, reproducible station layout (NCC counts per operator, spread by
    population density with a floor for the mountains) as GeoJSON points with radius_m."""
    _check_period(period, "--period")
    from geo.layout import LayoutError, ncc_counts, write_layout_geojson

    try:
        path = write_layout_geojson(period, out, technology=technology, seed=seed)
    except LayoutError as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(f"cannot write {out}: {exc.strerror or exc}")
    total = sum(ncc_counts(period, technology).values())
    click.echo(f"wrote {total} {technology} stations ({period}, seed {seed}) to {path}", err=True)
