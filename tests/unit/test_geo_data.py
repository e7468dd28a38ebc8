"""Boundaries and population as shipped in geo/data (real MOI data, see geo/data/PROVENANCE.md)."""

from __future__ import annotations

import pytest

from geo import boundaries, population


def test_districts_and_villages_are_complete_and_in_twd97():
    districts = boundaries.districts()
    villages = boundaries.villages()
    assert len(districts) == 29 and len(villages) == 625
    assert districts.crs.to_epsg() == 3826 and villages.crs.to_epsg() == 3826
    assert districts["TOWNCODE"].tolist() == [f"66000{i:03d}" for i in range(10, 300, 10)]
    assert villages["VILLCODE"].str.fullmatch(r"\d{11}").all()
    assert set(villages["TOWNCODE"]) == set(districts["TOWNCODE"])


def test_areas_in_epsg3826_match_provenance():
    villages = population.villages_with_population("2021-03")
    assert villages["area_m2"].sum() / 1e6 == pytest.approx(2216.5, abs=0.1)
    heping = villages.loc[villages["district_name"] == "和平區", "area_m2"].sum() / 1e6
    assert heping == pytest.approx(1007.8, abs=0.1)
    # The city outline also spans the 清泉崗 air base (~7.1 km²), which lies in no village or
    # district; coverage figures use the villages, so the city area is theirs.
    outline = boundaries.city().geometry.area.sum() / 1e6
    assert outline - villages["area_m2"].sum() / 1e6 == pytest.approx(7.1, abs=0.1)
    assert boundaries.districts().geometry.area.sum() / 1e6 == pytest.approx(2216.5, abs=0.1)


@pytest.mark.parametrize("period, total", [("2015-03", 2_725_497), ("2021-03", 2_821_322)])
def test_population_totals(period, total):
    assert population.village_population(period)["population"].sum() == total
    assert population.villages_with_population(period)["population"].sum() == total
    assert population.UniformVillageDensity(period).population().sum() == total


def test_district_population_file_agrees_with_villages():
    for period in ("2015-03", "2021-03"):
        by_village = population.villages_with_population(period).groupby("district_code")["population"].sum()
        by_district = population.district_population(period)["population"]
        assert by_village.sort_index().tolist() == by_district.sort_index().tolist()


def test_join_is_by_code_despite_the_spelling_quirk():
    villages = population.villages_with_population("2021-03").set_index("code")
    people = population.village_population("2021-03")
    # Boundary file: 龜壳里; household register: 龜売里. Same village, joined on 66000220004.
    assert villages.loc["66000220004", "name"] != people.loc["66000220004", "village_name"]
    assert villages.loc["66000220004", "population"] == people.loc["66000220004", "population"]


def test_unknown_period_is_a_clear_error():
    with pytest.raises(population.PopulationPeriodError, match="available: 2015-03, 2021-03"):
        population.village_population("2022-03")


def test_cached_frames_are_handed_out_as_copies():
    first = boundaries.villages()
    first["VILLCODE"] = "x"
    assert boundaries.villages()["VILLCODE"].iloc[0] != "x"
    frame = population.villages_with_population("2015-03")
    frame["population"] = 0
    assert population.villages_with_population("2015-03")["population"].sum() == 2_725_497
