"""Callback outputs serialized once, and copied byte for byte into every screen's response.

Dash turns a response into JSON through plotly's encoder. A response of plain data goes
straight through orjson, in C; one holding a Dash component or a Patch is first walked value by
value in Python (plotly's `clean_to_json_compatible`): with 20 wall screens that walk was about
60% of the dashboard's time. What many screens receive alike (a layer's arrays, the tiles, the
health strip) is therefore serialized once per snapshot into an `orjson.Fragment`, which is
plain data to Dash and to orjson, and the rest of a response is kept plain.
"""

from __future__ import annotations

import hashlib
from decimal import Decimal

import orjson

OPTIONS = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS  # as plotly's own orjson engine


def _plain(value):
    """What orjson cannot write itself, the way plotly would write it."""
    if hasattr(value, "to_plotly_json"):  # Dash components, Patch, plotly objects
        return value.to_plotly_json()
    if isinstance(value, Decimal):
        return float(value)
    if hasattr(value, "tolist"):  # numpy scalars and arrays orjson does not take
        return value.tolist()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"cannot send a {type(value).__name__} to the browser")


def encoded(value) -> bytes:
    """`value` as JSON bytes, as Dash would send it."""
    return orjson.dumps(value, default=_plain, option=OPTIONS)


def shared(encoded_value: bytes) -> orjson.Fragment:
    """JSON bytes to embed as they are in any number of responses."""
    return orjson.Fragment(encoded_value)


def digest(*chunks: bytes) -> str:
    """A short digest of encoded values: equal digests, equal bytes sent."""
    h = hashlib.blake2b(digest_size=12)
    for chunk in chunks:
        h.update(chunk)
        h.update(b"\0")
    return h.hexdigest()


def plain(value):
    """A Patch (or anything with `to_plotly_json`) as the plain data Dash would send for it."""
    return value.to_plotly_json() if hasattr(value, "to_plotly_json") else value
