"""What each wall screen's map is sent on a refresh: only the layers whose data changed since
that screen drew them, encoded once per snapshot however many screens show it."""

from __future__ import annotations

from dash import Patch

from dashboard import wire
from dashboard.figures import apply_patches, base_map
from dashboard.layers import all_layers
from dashboard.snapshot import FAILED


def changes(snap: dict, lang: str, drawn_level: str | None, drawn: dict | None, *, live: bool,
            now: float) -> tuple:
    """What a screen's map needs from a snapshot: (figure or patch, None when nothing; level;
    what it then shows). A new level reconfigures the map (its layers for that level); otherwise
    only layers whose data changed since this screen drew them are sent, a layer with
    `redraw_every_s` at most that often on the live wall (drawn["@<layer>"]: when it was drawn)."""
    level = snap["level"]["level"]
    redraw = level != drawn_level
    fig = base_map(lang, level) if redraw else Patch()
    drawn = {} if redraw else dict(drawn or {})
    changed = False
    for layer_id, (digest, updates, encoded, every_s) in layer_updates(snap, lang).items():
        if drawn.get(layer_id) == digest:
            continue
        if not redraw and live and every_s and now - drawn.get(f"@{layer_id}", 0) < every_s:
            continue  # drawn moments ago: this change waits for a later refresh
        apply_patches(fig, layer_id, updates if redraw else encoded)
        drawn[layer_id] = digest
        drawn[f"@{layer_id}"] = round(now, 1)
        changed = True
    if not (redraw or changed):
        return None, level, drawn
    # Plain data and shared, already-encoded parts only: Dash's encoder takes its fast path.
    return (fig if redraw else wire.plain(fig)), level, drawn


def layer_updates(snap: dict, lang: str) -> dict[str, tuple[str, list[dict], list[dict], float]]:
    """Each layer's trace updates for a snapshot and language: (digest, the updates, the same
    with every value already encoded, its `redraw_every_s`), computed once per snapshot however
    many screens show it."""
    memo = snap.setdefault("_updates", {})
    if lang not in memo:
        found = {}
        for layer in all_layers():
            data = snap["layers"].get(layer.id)
            if layer.patch is not None and data is not None and data is not FAILED:
                updates = layer.patch(data, lang)
                chunks: list[bytes] = []
                encoded = []
                for update in updates:
                    trace = {}
                    for path, value in update.items():
                        value_json = wire.encoded(value)
                        chunks += (path.encode(), value_json)
                        trace[path] = wire.shared(value_json)
                    encoded.append(trace)
                found[layer.id] = (wire.digest(*chunks), updates, encoded, layer.redraw_every_s)
        memo[lang] = found
    return memo[lang]
