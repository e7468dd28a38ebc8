"""Encoded-once callback outputs (dashboard/wire.py) reach the browser exactly as Dash would
have sent the values themselves."""

from __future__ import annotations

import json
import math
from datetime import datetime, timezone
from decimal import Decimal

import numpy as np
import orjson
from dash import Patch, html
from dash._utils import to_json  # what Dash's callback dispatch calls on a response

from dashboard import wire


def _values():
    return {
        "tiles": [html.Div([html.Span("偵測器 1,998", className="tile-value"), html.Small("<8 分鐘前>")],
                           id={"type": "tile", "id": "detectors"})],
        "lat": np.array([24.1, 24.2, float("nan")]),
        "counts": np.array([1, 2, 3], dtype=np.int32),
        "when": datetime(2026, 11, 27, 8, 0, tzinfo=timezone.utc),
        "amount": Decimal("1.5"),
        "text": ["A/B", "雨量 12 mm"],
        "none": None,
    }


def test_encoded_values_read_back_as_dash_would_send_them():
    values = _values()
    direct = json.loads(to_json({"response": values}))["response"]
    embedded = json.loads(to_json({"response": {k: wire.shared(wire.encoded(v)) for k, v in values.items()}}))["response"]
    assert embedded == direct
    assert direct["lat"][2] is None and direct["amount"] == 1.5  # NaN and Decimal, the same way
    assert direct["tiles"][0]["props"]["children"][0]["props"]["children"] == "偵測器 1,998"


def test_a_patch_of_encoded_values_is_the_same_patch():
    values = _values()
    slow, fast = Patch(), Patch()
    slow["data"][3]["lat"] = values["lat"]
    fast["data"][3]["lat"] = wire.shared(wire.encoded(values["lat"]))
    assert json.loads(to_json(wire.plain(fast))) == json.loads(to_json(slow))
    assert wire.plain({"a": 1}) == {"a": 1}


def test_responses_of_plain_and_encoded_parts_escape_html_as_dash_does():
    # Dash's encoder escapes '<', '>' and '/' in the whole response: shared parts included.
    out = to_json({"x": wire.shared(wire.encoded(["</script>"]))})
    assert "</script>" not in out and json.loads(out) == {"x": ["</script>"]}


def test_digest_tells_different_bytes_apart():
    a, b = wire.encoded([1, 2]), wire.encoded([1, 3])
    assert wire.digest(a) == wire.digest(wire.encoded([1, 2]))
    assert wire.digest(a) != wire.digest(b)
    assert wire.digest(b"ab", b"c") != wire.digest(b"a", b"bc")  # chunk borders count
    assert not math.isnan(orjson.loads(wire.encoded(np.float64(2.5))))
