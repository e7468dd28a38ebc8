"""Nearest open shelters to an alert's area or an incident (EPSG:3826 distances)."""

from __future__ import annotations

import pytest
from shapely.geometry import Polygon

from ioc.ops.geometry import cap_area_tm2, point_tm2, to_tm2
from ioc.ops.shelters import nearest, summary, with_room

# Around Taichung City Hall (120.6469, 24.1617); 0.01 deg of longitude here is about 1.02 km.
HALL = (120.6469, 24.1617)


def shelter(sid, lon, lat, status="open", capacity=100, occupancy=10):
    return {"shelter_id": sid, "name": f"S{sid}", "lon": lon, "lat": lat, "status": status,
            "capacity": capacity, "occupancy": occupancy, "status_time": None, "address": None}


SHELTERS = [
    shelter("far", HALL[0] + 0.10, HALL[1]),
    shelter("near", HALL[0] + 0.01, HALL[1]),
    shelter("mid", HALL[0] + 0.03, HALL[1]),
    shelter("full", HALL[0] + 0.001, HALL[1], status="full"),
    shelter("closed", HALL[0], HALL[1], status="closed"),
    shelter("nowhere", None, None),
]


def test_nearest_to_a_point_in_metres_open_shelters_only():
    found = nearest(SHELTERS, point_tm2(*HALL), n=3)
    assert [s["shelter_id"] for s in found] == ["near", "mid", "far"]
    assert found[0]["distance_m"] == pytest.approx(1017, rel=0.02)
    assert not any(s["inside"] for s in found)


def test_distance_to_an_area_is_zero_inside_and_to_its_edge_outside():
    # A square of about 2 km around the city hall: "near" is inside it, "mid" outside.
    square = Polygon([(HALL[0] - 0.01, HALL[1] - 0.01), (HALL[0] + 0.015, HALL[1] - 0.01),
                      (HALL[0] + 0.015, HALL[1] + 0.01), (HALL[0] - 0.01, HALL[1] + 0.01)])
    found = nearest(SHELTERS, to_tm2(square), n=5)
    by = {s["shelter_id"]: s for s in found}
    assert by["near"]["inside"] and by["near"]["distance_m"] == 0
    assert by["mid"]["distance_m"] == pytest.approx(1525, rel=0.03)  # 0.015 deg beyond the edge
    assert list(by) == ["near", "mid", "far"]


def test_cap_circles_and_district_fallback_make_areas():
    circle = cap_area_tm2([], [{"center": {"type": "Point", "coordinates": list(HALL)}, "radius_km": 2}], [])
    assert circle.area == pytest.approx(3.14159 * 2000 ** 2, rel=0.01)
    assert circle.covers(point_tm2(HALL[0] + 0.01, HALL[1]))
    district = cap_area_tm2([], [], ["66000060"])  # 西屯區, where the city hall is
    assert district is not None and district.covers(point_tm2(*HALL))
    broken = cap_area_tm2([{"type": "Polygon", "coordinates": "nonsense"}], [], [])
    assert broken is None
    assert nearest(SHELTERS, None) == []


def test_room_left_and_summary():
    rows = [with_room(s) for s in SHELTERS[:5]]
    assert rows[0]["room"] == 90 and rows[0]["occupancy_pct"] == 10.0
    s = summary(rows)
    assert (s["open"], s["full"], s["capacity"], s["occupancy"]) == (3, 1, 400, 40)
