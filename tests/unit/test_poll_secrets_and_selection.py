"""Pollers: keys never survive into what is logged or stored, and the right pollers run."""

from __future__ import annotations

import pytest

from ingest.sources._fetch import Redactor, mask_url
from ingest.sources.polls import all_specs, select


@pytest.mark.parametrize("url, masked", [
    ("https://opendata.cwa.gov.tw/api/v1/rest/datastore/O-A0001-001?Authorization=CWA-1234&format=JSON",
     "https://opendata.cwa.gov.tw/api/v1/rest/datastore/O-A0001-001?Authorization=***&format=JSON"),
    ("https://user:pa55word@example.org/x?api_key=k&access_token=t&X-Amz-Signature=s&limit=20",
     "https://***@example.org/x?api_key=***&access_token=***&X-Amz-Signature=***&limit=20"),
    ("https://tdx.transportdata.tw/api/basic/v2/Road/Traffic/VD/City/Taichung?$format=JSON&$top=200&$skip=0",
     "https://tdx.transportdata.tw/api/basic/v2/Road/Traffic/VD/City/Taichung?$format=JSON&$top=200&$skip=0"),
])
def test_mask_url_hides_keys_and_passwords_and_keeps_the_rest(url, masked):
    assert mask_url(url) == masked


def test_redactor_removes_known_secrets_plain_and_url_encoded():
    redact = Redactor(["s3cr3t/key+1", "abc"])  # too short to mask safely: ignored
    assert redact("GET ?Authorization=s3cr3t%2Fkey%2B1 failed; s3cr3t/key+1 again; abc") == \
        "GET ?Authorization=*** failed; *** again; abc"


def test_keyed_sources_run_once_configured_and_key_less_ones_only_when_named(monkeypatch):
    for name in ("IOC_CWA_API_KEY", "IOC_TDX_CLIENT_ID", "IOC_TDX_CLIENT_SECRET", "IOC_POLL_SOURCES"):
        monkeypatch.delenv(name, raising=False)
    chosen, off = select()
    assert chosen == [] and "IOC_CWA_API_KEY is not set" in off["cwa-rain"]

    monkeypatch.setenv("IOC_CWA_API_KEY", "CWA-KEY-1")
    assert [s.name for s in select()[0]] == ["cwa-stations", "cwa-rain", "cwa-quake", "cwa-typhoon"]
    monkeypatch.setenv("IOC_POLL_SOURCES", "all")
    assert {"cap", "sta"} <= {s.name for s in select()[0]}
    monkeypatch.setenv("IOC_POLL_SOURCES", "cap,tdx-vd")
    chosen, off = select()
    assert [s.name for s in chosen] == ["cap"] and "not set" in off["tdx-vd"]
    assert [s.name for s in select(["sta"])[0]] == ["sta"]
    with pytest.raises(ValueError, match="unknown poller"):
        select(["cwa-radar"])


def test_intervals_can_be_overridden(monkeypatch):
    monkeypatch.setenv("IOC_POLL_INTERVALS", "tdx-vdlive=120, cap=300")
    specs = all_specs()
    assert [specs[n].interval_s for n in ("tdx-vdlive", "cap", "cwa-typhoon")] == [120, 300, 3600]
