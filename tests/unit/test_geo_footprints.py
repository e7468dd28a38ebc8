"""Footprint polygons: circle areas to 0.1 %, sectors as beam-width shares of the circle."""

from __future__ import annotations

import math

import numpy as np
import pytest
import shapely

from geo.footprints import CIRCLE_SEGMENTS, QUAD_SEGS, circles, polygon_area_ratio, sectors


def test_circle_area_is_within_a_tenth_of_a_percent():
    radius = np.array([300.0, 800.0, 5000.0])
    areas = shapely.area(circles(np.zeros(3), np.zeros(3), radius))
    assert CIRCLE_SEGMENTS >= 64 and QUAD_SEGS >= 16
    np.testing.assert_allclose(areas, math.pi * radius**2, rtol=1e-3)
    assert areas[0] / (math.pi * 300.0**2) == pytest.approx(polygon_area_ratio(), rel=1e-12)


def test_circle_is_the_same_polygon_as_a_shapely_buffer():
    ours = circles([1000.0], [2000.0], [750.0])[0]
    theirs = shapely.buffer(shapely.Point(1000.0, 2000.0), 750.0, quad_segs=QUAD_SEGS)
    assert shapely.equals_exact(shapely.normalize(ours), shapely.normalize(theirs), tolerance=1e-6)


@pytest.mark.parametrize("beamwidth", [30.0, 60.0, 65.0, 90.0, 120.0, 200.0, 359.0])
def test_sector_area_is_its_share_of_the_circle(beamwidth):
    sector = sectors([0.0], [0.0], [1000.0], [37.0], [beamwidth])[0]
    assert shapely.is_valid(sector)
    assert sector.area == pytest.approx(math.pi * 1000.0**2 * beamwidth / 360.0, rel=1e-3)


def test_sector_points_along_its_azimuth_clockwise_from_north():
    east, south = sectors([0.0, 0.0], [0.0, 0.0], [1000.0, 1000.0], [90.0, 180.0], [60.0, 60.0])
    assert east.centroid.x > 500 and abs(east.centroid.y) < 1e-6
    assert south.centroid.y < -500 and abs(south.centroid.x) < 1e-6


def test_full_beam_is_a_circle_and_many_sectors_build_at_once():
    full = sectors([5.0], [5.0], [100.0], [0.0], [360.0])[0]
    assert full.area == pytest.approx(circles([5.0], [5.0], [100.0])[0].area, rel=1e-12)
    rng = np.random.default_rng(3)
    n = 50
    many = sectors(rng.uniform(0, 1e4, n), rng.uniform(0, 1e4, n), rng.uniform(100, 3000, n),
                   rng.uniform(0, 360, n), rng.uniform(1, 359, n))
    assert shapely.is_valid(many).all()
