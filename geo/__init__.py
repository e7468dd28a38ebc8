"""Geography of Taichung: districts, villages, population, base-station coverage."""

from pathlib import Path

DATA = Path(__file__).parent / "data"


def data_path(*parts: str) -> Path:
    """A file of the shipped reference data, e.g. data_path("poi", "taichung_cctv_2023-11.csv")."""
    return DATA.joinpath(*parts)
