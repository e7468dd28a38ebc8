"""CWA felt-earthquake reports (`cwa-quake`): E-A0015-001 (顯著有感地震報告).

One record per report: number, type and colour, origin time, epicentre, depth, magnitude, the
intensity by county (the county's maximum and its stations' intensities), Taichung's maximum,
and the report's web page and images. Intensities follow CWA's 2020 scale
(0級 1級 2級 3級 4級 5弱 5強 6弱 6強 7級); `*_rank` orders them 0..9 for comparisons.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from . import _cwa
from ._common import check_range, iso, parse_time
from .base import Feed, FeedError, Table

DATASETS = ("E-A0015-001",)
dataset_url = _cwa.dataset_url

TAICHUNG = "臺中市"
# Epicentres CWA reports lie on or around Taiwan, offshore ones a little beyond the island box.
QUAKE_BOX = (118.0, 20.0, 124.5, 27.0)
INTENSITY_LABELS = ("0級", "1級", "2級", "3級", "4級", "5弱", "5強", "6弱", "6強", "7級")
_INTENSITY = re.compile(r"^\s*([0-7])\s*(弱|強)?\s*級?\s*$")
REPORT_COLORS = {"綠色": "green", "黃色": "yellow", "橙色": "orange", "紅色": "red"}


def intensity(raw, *, field: str) -> tuple[str, int]:
    """("5弱", 5) from "5弱" / "5弱級" / "3級" / 3; FeedError for anything else."""
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        value = _cwa.to_number(raw, field=field)
        raw = str(int(value)) if value.is_integer() else str(value)
    if not isinstance(raw, str):
        raise FeedError("validate", f"{field}: expected an intensity, got {type(raw).__name__}")
    m = _INTENSITY.match(raw)
    if not m:
        raise FeedError("validate", f"{field}: not a CWA intensity: {raw[:12]!r}")
    level, grade = int(m.group(1)), m.group(2)
    if level in (5, 6):
        if grade not in ("弱", "強"):
            raise FeedError("validate", f"{field}: intensity {level} needs 弱 or 強: {raw[:12]!r}")
        rank = (5 if level == 5 else 7) + (grade == "強")
    elif grade in ("弱", "強"):
        raise FeedError("validate", f"{field}: only intensities 5 and 6 have 弱/強: {raw[:12]!r}")
    else:
        rank = level if level < 7 else 9
    return INTENSITY_LABELS[rank], rank


def _opt_num(node: dict, key: str, *, field: str) -> float | None:
    raw = node.get(key)
    return None if raw in (None, "") else _cwa.to_number(raw, field=f"{field}.{key}")


def _station(item, *, field: str) -> dict:
    st = _cwa.obj(item, field=field)
    label, rank = intensity(st.get("SeismicIntensity"), field=f"{field}.SeismicIntensity")
    lon = _opt_num(st, "StationLongitude", field=field)
    lat = _opt_num(st, "StationLatitude", field=field)
    if lon is not None and lat is not None:
        _cwa.lonlat(lon, lat, field=field)
    pga = _cwa.opt_obj(st.get("pga"), field=f"{field}.pga")
    pgv = _cwa.opt_obj(st.get("pgv"), field=f"{field}.pgv")
    return {
        "station_id": _cwa.text(st.get("StationID"), field=f"{field}.StationID", limit=20),
        "name": _cwa.text(st.get("StationName"), field=f"{field}.StationName", limit=60),
        "intensity": label,
        "rank": rank,
        "lon": lon,
        "lat": lat,
        "distance_km": _opt_num(st, "EpicenterDistance", field=field),
        "pga_gal": _opt_num(pga, "IntScaleValue", field=f"{field}.pga"),
        "pgv_kine": _opt_num(pgv, "IntScaleValue", field=f"{field}.pgv"),
    }


def _intensities(node: dict, *, field: str) -> dict:
    """county -> {"max", "rank", "stations": [...]} from `Intensity.ShakingArea[]`.

    CWA lists each county with its stations ("臺中市地區") and, separately, summary areas
    ("最大震度3級地區") whose CountyName joins several counties with 、: both set the maximum.
    """
    counties: dict[str, dict] = {}
    areas = _cwa.as_list(node.get("ShakingArea"), field=f"{field}.ShakingArea")
    for i, area in enumerate(areas):
        where = f"{field}.ShakingArea[{i}]"
        area = _cwa.obj(area, field=where)
        label, rank = intensity(area.get("AreaIntensity"), field=f"{where}.AreaIntensity")
        names = _cwa.text(area.get("CountyName"), field=f"{where}.CountyName", required=True, limit=300)
        stations = [_station(s, field=f"{where}.EqStation[{j}]")
                    for j, s in enumerate(_cwa.as_list(area.get("EqStation"), field=f"{where}.EqStation"))]
        for county in filter(None, (n.strip() for n in re.split(r"[、,，]", names))):
            entry = counties.setdefault(county, {"max": label, "rank": rank, "stations": []})
            if rank > entry["rank"]:
                entry["max"], entry["rank"] = label, rank
            if len(re.split(r"[、,，]", names)) == 1:
                entry["stations"].extend(stations)
    for entry in counties.values():
        entry["stations"].sort(key=lambda s: (-s["rank"], s["station_id"] or ""))
    return counties


def _report(item, index: int) -> dict:
    field = f"Earthquake[{index}]"
    eq = _cwa.obj(item, field=field)
    number = _cwa.to_number(eq.get("EarthquakeNo"), field=f"{field}.EarthquakeNo")
    if number != int(number) or not 0 < number < 10**9:
        raise FeedError("validate", f"{field}.EarthquakeNo: {number} is not a report number")
    info = _cwa.obj(eq.get("EarthquakeInfo"), field=f"{field}.EarthquakeInfo")
    at = f"{field}.EarthquakeInfo"
    epicenter = _cwa.obj(info.get("Epicenter"), field=f"{at}.Epicenter")
    lon, lat = _cwa.lonlat(
        _cwa.to_number(epicenter.get("EpicenterLongitude"), field=f"{at}.Epicenter.EpicenterLongitude"),
        _cwa.to_number(epicenter.get("EpicenterLatitude"), field=f"{at}.Epicenter.EpicenterLatitude"),
        field=f"{at}.Epicenter")
    magnitude = _cwa.obj(info.get("EarthquakeMagnitude"), field=f"{at}.EarthquakeMagnitude")
    counties = _intensities(_cwa.opt_obj(eq.get("Intensity"), field=f"{field}.Intensity"), field=f"{field}.Intensity")
    top = max(counties.values(), key=lambda c: c["rank"], default=None)
    taichung = next((c for name, c in counties.items() if _cwa.is_taichung(name)), None)
    color = _cwa.text(eq.get("ReportColor"), field=f"{field}.ReportColor", limit=10)
    return {
        "report_no": int(number),
        "report_type": _cwa.text(eq.get("ReportType"), field=f"{field}.ReportType", limit=40),
        "report_color": color,
        "report_color_en": REPORT_COLORS.get(color or ""),
        "content": _cwa.text(eq.get("ReportContent"), field=f"{field}.ReportContent", limit=500),
        "origin_time": iso(parse_time(info.get("OriginTime"), field=f"{at}.OriginTime")),
        "source": _cwa.text(info.get("Source"), field=f"{at}.Source", limit=40),
        "lon": lon,
        "lat": lat,
        "epicenter": {"type": "Point", "coordinates": [lon, lat]},
        "location": _cwa.text(epicenter.get("Location"), field=f"{at}.Epicenter.Location", limit=200),
        "depth_km": _cwa.to_number(info.get("FocalDepth"), field=f"{at}.FocalDepth"),
        "magnitude_type": _cwa.text(magnitude.get("MagnitudeType"), field=f"{at}.EarthquakeMagnitude.MagnitudeType",
                                    limit=40),
        "magnitude": _cwa.to_number(magnitude.get("MagnitudeValue"), field=f"{at}.EarthquakeMagnitude.MagnitudeValue"),
        "max_intensity": top["max"] if top else None,
        "max_intensity_rank": top["rank"] if top else None,
        # Taichung not listed: not felt there (below intensity 1) as far as the report goes.
        "taichung_intensity": taichung["max"] if taichung else None,
        "taichung_intensity_rank": taichung["rank"] if taichung else 0,
        "intensities": counties,
        "web": _cwa.text(eq.get("Web"), field=f"{field}.Web", limit=500),
        "report_image": _cwa.text(eq.get("ReportImageURI"), field=f"{field}.ReportImageURI", limit=500),
        "shakemap_image": _cwa.text(eq.get("ShakemapImageURI"), field=f"{field}.ShakemapImageURI", limit=500),
        "remark": _cwa.text(eq.get("ReportRemark"), field=f"{field}.ReportRemark", limit=500),
    }


def parse_quake(payload: bytes) -> list[dict]:
    doc = _cwa.load(payload)
    items, _dataset = _cwa.envelope_items(doc, list_key="Earthquake", dataset_keys=("EarthquakeNo",))
    return [_report(item, i) for i, item in enumerate(items)]


def check_quake(rec: dict) -> None:
    where = f"quake report {rec['report_no']}"
    _cwa.check_box(rec["lon"], rec["lat"], QUAKE_BOX, field=f"{where} epicentre", where="the area CWA reports on")
    # The API answers with the latest reports, which can be months old in quiet times, and one
    # refused record refuses the whole answer: reports are keyed by number, so an old one is
    # harmless. Only the implausible is refused: the future, or beyond two years.
    _cwa.check_time_window(datetime.fromisoformat(rec["origin_time"]), max_age=timedelta(days=730),
                           field=f"{where} origin time")
    check_range(rec["depth_km"], 0, 700, field=f"{where} depth_km")
    check_range(rec["magnitude"], 0, 10, field=f"{where} magnitude")
    if sum(len(c["stations"]) for c in rec["intensities"].values()) > 2000:
        raise FeedError("validate", f"{where}: more than 2000 stations")


def quake_rows(rec: dict, received_at: datetime):
    yield "cwa_quake_report", (
        rec["report_no"], datetime.fromisoformat(rec["origin_time"]), rec["report_type"], rec["report_color"],
        rec["lon"], rec["lat"], rec["location"], rec["depth_km"], rec["magnitude_type"], rec["magnitude"],
        rec["max_intensity"], rec["max_intensity_rank"], rec["taichung_intensity"], rec["taichung_intensity_rank"],
        rec["intensities"], rec["content"], rec["web"], rec["report_image"], rec["shakemap_image"], received_at)


QUAKE_REPORT = Table("cwa_quake_report", (
    "report_no", "origin_time", "report_type", "report_color", "lon", "lat", "location", "depth_km",
    "magnitude_type", "magnitude", "max_intensity", "max_intensity_rank", "taichung_intensity",
    "taichung_intensity_rank", "intensities", "content", "web", "report_image", "shakemap_image", "received_at"),
    key=("report_no",), mode="latest", time_column="origin_time")

QUAKES = Feed(
    name="cwa-quake",
    description="CWA felt-earthquake reports (E-A0015-001): epicentre, magnitude, intensity by county, "
                "Taichung intensity / 中央氣象署顯著有感地震報告",
    format="json",
    parse=parse_quake,
    check=check_quake,
    to_rows=quake_rows,
    # Event-driven: reports come when the ground shakes. 10 min is the poll interval, not a
    # promise of data, so a quiet feed is not a stale one.
    cadence=timedelta(minutes=10),
    topics=("ioc/v1/disaster/quake",),
    tables=(QUAKE_REPORT,),
    schema="cwa-quake.schema.json",
    max_bytes=8 << 20,  # ~50 kB per report with its station list; the API returns the latest ones
    extra={"cwa_datasets": DATASETS, "cwa_api": "datastore"},
    event_driven=True,
    empty_ok=True,
)
