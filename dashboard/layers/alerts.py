"""CAP disaster alerts in force: Taichung's districts shaded by the most severe alert covering
them (colour, hatching and a marker shape per severity class), hover with event and headline.
The alert ticker tile reads the same query."""

from __future__ import annotations

from datetime import datetime
from functools import cache

import plotly.graph_objects as go

from ingest.feeds.cap import DEFAULT_VALIDITY

from ..basemap import districts
from ..data import live_for, shared
from ..i18n import t
from ._common import NORMAL, clock, district_labels, district_name, inert, legend_name, same_data_same_patch
from ._style import BACKGROUND, SEVERITY
from .base import Layer

CLASSES = ("Extreme", "Severe", "Moderate", "Minor", "Unknown")  # most severe first
RANK = {"Extreme": 4, "Severe": 3, "Moderate": 2, "Minor": 1, "Unknown": 0}
# Hatching per class, so the classes differ without colour vision too.
PATTERN = {"Extreme": "x", "Severe": "/", "Moderate": ".", "Minor": "", "Unknown": "-"}
FILL_ALPHA = 0.3  # the markers of other layers must stay readable on top
LEGEND_TITLE = "#c9d6e3"  # the legend's own text colour (figures.LEGEND_FONT)


# The areas of Actual Alert/Update messages covering Taichung whose validity spans `as_of`
# (an <expires> after it, or none and sent within DEFAULT_VALIDITY): found through the expires
# index in the chunks sent by `as_of`, so the cost follows what is in force, not the years of
# history. (OFFSET 0 keeps the planner to that path: with every filter inside, it plans 5x longer.)
CANDIDATES = """
    SELECT c.sender, c.identifier, c.sent, c.info_index, c.area_index, c.language, c.event, c.severity,
           c.severity_rank, c.urgency, c.certainty, c.effective, c.onset,
           coalesce(c.expires, c.sent + %(validity)s) AS expires_at, c.headline, c.sender_name, c.area_desc,
           c.districts
      FROM (SELECT * FROM cap_area
             WHERE sent <= %(as_of)s AND (expires > %(as_of)s OR (expires IS NULL AND sent > %(default_since)s))
            OFFSET 0) c
     WHERE c.status = 'Actual' AND c.msg_type IN ('Alert', 'Update')
       AND coalesce(c.effective, c.sent) <= %(as_of)s AND c.districts <> '{}'
     ORDER BY c.severity_rank DESC, c.sent DESC, c.sender, c.identifier, c.info_index, c.area_index"""

# The references a set of messages make (their own <references>), same sender only.
# `sent = ANY(...)` lets TimescaleDB skip, when planning, every chunk but theirs.
REFERENCES_OF = """
    SELECT r.sender, r.identifier, r.sent, r.ref_sender, r.ref_identifier, r.ref_sent
      FROM cap_reference r
      JOIN unnest(%(senders)s::text[], %(identifiers)s::text[], %(sents)s::timestamptz[])
           AS m (sender, identifier, sent)
        ON r.sender = m.sender AND r.identifier = m.identifier AND r.sent = m.sent
     WHERE r.sent = ANY(%(sents)s::timestamptz[]) AND r.ref_sender = r.sender AND r.sent <= %(as_of)s"""

# The Updates and Cancels, sent between `since` and `as_of` by the same sender, that refer to
# a set of messages.
ENDING = """
    SELECT r.ref_sender, r.ref_identifier, r.ref_sent, r.identifier, r.sent
      FROM cap_reference r
      JOIN unnest(%(senders)s::text[], %(identifiers)s::text[], %(sents)s::timestamptz[])
           AS t (sender, identifier, sent)
        ON r.ref_sender = t.sender AND r.ref_identifier = t.identifier AND r.ref_sent = t.sent
     WHERE r.sender = r.ref_sender AND r.msg_type IN ('Update', 'Cancel')
       AND r.sent >= %(since)s AND r.sent <= %(as_of)s"""
MAX_LINEAGE = 100  # reference chains end (cycles included): a guard, never reached by real alerts


def _keys(keys) -> dict:
    senders, identifiers, sents = (list(x) for x in zip(*keys)) if keys else ([], [], [])
    return {"senders": senders, "identifiers": identifiers, "sents": sents}


def ended_messages(db, messages: set[tuple], as_of: datetime) -> set[tuple]:
    """Which of `messages` (sender, identifier, sent) are cancelled or superseded at `as_of`,
    by the rule of cap_message_fate (schemas/sql/020_cap.sql), asked only about these: a
    message ends when an Update or Cancel of its own sender, sent by `as_of`, refers to it, or
    refers to a message it descends from and was sent after it. An Update or Cancel is sent
    after what it refers to, so references older than the oldest message are not read."""
    parents: dict[tuple, set[tuple]] = {}  # message -> the messages it refers to
    asked: set[tuple] = set()
    frontier = set(messages)
    for _ in range(MAX_LINEAGE):
        if not frontier:
            break
        asked |= frontier
        for r in db.rows(REFERENCES_OF, {**_keys(frontier), "as_of": as_of}):
            parents.setdefault((r["sender"], r["identifier"], r["sent"]), set()).add(
                (r["ref_sender"], r["ref_identifier"], r["ref_sent"]))
        frontier = {p for ps in parents.values() for p in ps} - asked
    ancestors: dict[tuple, set[tuple]] = {}
    for m in messages:
        stack, seen = list(parents.get(m, ())), set()
        while stack:
            a = stack.pop()
            if a not in seen:
                seen.add(a)
                stack.extend(parents.get(a, ()))
        ancestors[m] = seen
    targets = set(messages) | {a for s in ancestors.values() for a in s}
    hits: dict[tuple, list[tuple]] = {}
    for r in db.rows(ENDING, {**_keys(targets), "as_of": as_of, "since": min(m[2] for m in messages)}):
        hits.setdefault((r["ref_sender"], r["ref_identifier"], r["ref_sent"]), []).append((r["identifier"], r["sent"]))
    ended = set()
    for m in messages:
        direct = any((identifier, sent) != (m[1], m[2]) for identifier, sent in hits.get(m, ()))
        through = any(sent > m[2] for a in ancestors[m] for _identifier, sent in hits.get(a, ()))
        if direct or through:
            ended.add(m)
    return ended


@shared
# Alerts change when a message arrives (read at once) or one expires (shown within 5 s). The
# newest messages are within the last chunks: the check skips the others.
@live_for(5, changed="SELECT count(*), max(received_at) FROM cap_alert WHERE sent > now() - interval '60 days'")
def alerts_in_force(db, as_of: datetime) -> dict:
    """The CAP alerts in force over Taichung at `as_of`, as cap_alerts_in_force(as_of) has them
    (cancelled and superseded ones are not), one entry per message, and each district's most
    severe alert. Bounded statements instead of that function, whose cost grows with every
    reference ever stored (about a second with two years of the national platform's alerts)."""
    rows = db.rows(CANDIDATES, {"as_of": as_of, "validity": DEFAULT_VALIDITY,
                                "default_since": as_of - DEFAULT_VALIDITY})
    if rows:
        ended = ended_messages(db, {(r["sender"], r["identifier"], r["sent"]) for r in rows}, as_of)
        rows = [r for r in rows if (r["sender"], r["identifier"], r["sent"]) not in ended]
    return summarise(rows, as_of)


def summarise(rows: list[dict], as_of: datetime) -> dict:
    """Area rows (one per message x info x area) -> alerts (one per message) and districts."""
    alerts: dict[tuple, dict] = {}
    for r in rows:
        key = (r["sender"], r["identifier"], r["sent"])
        a = alerts.get(key)
        if a is None:
            a = alerts[key] = {"id": f"{r['sender']}|{r['identifier']}|{r['sent'].isoformat()}",
                               "sender": r["sender"], "identifier": r["identifier"], "sent": r["sent"],
                               "severity": "Unknown", "rank": -1, "infos": {}, "areas": [], "districts": set(),
                               "effective": r["effective"] or r["sent"], "expires_at": r["expires_at"]}
        severity = r["severity"] if r["severity"] in RANK else "Unknown"
        if RANK[severity] > a["rank"]:
            a["severity"], a["rank"] = severity, RANK[severity]
        a["infos"].setdefault(r["info_index"], {
            "language": r["language"] or "", "event": r["event"], "headline": r["headline"],
            "severity": severity, "sender_name": r["sender_name"], "urgency": r["urgency"],
            "certainty": r["certainty"], "onset": r["onset"]})
        if r["area_desc"] and r["area_desc"] not in a["areas"]:
            a["areas"].append(r["area_desc"])
        a["districts"].update(r["districts"] or ())
        if r["effective"] and r["effective"] < a["effective"]:
            a["effective"] = r["effective"]
        if r["expires_at"] and r["expires_at"] > a["expires_at"]:
            a["expires_at"] = r["expires_at"]
    ordered = sorted(alerts.values(), key=lambda a: (-a["rank"], -a["sent"].timestamp(), a["id"]))
    by_district: dict[str, dict] = {}
    for a in ordered:
        a["districts"] = sorted(a["districts"])
        for code in a["districts"]:
            d = by_district.setdefault(code, {"severity": a["severity"], "rank": a["rank"], "alerts": []})
            d["alerts"].append(a["id"])
    local = [a for a in ordered if a["districts"]]
    return {"as_of": as_of, "alerts": local, "elsewhere": len(ordered) - len(local), "districts": by_district,
            "data_time": max((a["sent"] for a in local), default=None), "stale": False}


def info_for(alert: dict, lang: str) -> dict:
    """The alert's info in the reader's language when it has one, else its first."""
    infos = [alert["infos"][i] for i in sorted(alert["infos"])]
    prefix = "zh" if lang == "zh-TW" else "en"
    return next((i for i in infos if i["language"].lower().startswith(prefix)), infos[0])


def severity_label(severity: str, lang: str) -> str:
    return t(f"layers.severity.{severity}", lang)


@cache
def _areas_by_code() -> dict:
    return {a.code: a for a in districts()}


def _traces(lang: str) -> list:
    traces = []
    for cls in CLASSES:
        colour, _symbol = SEVERITY[cls]
        traces.append(go.Scatter(
            x=[], y=[], mode="lines", fill="toself", name=severity_label(cls, lang), legendgroup="alerts",
            fillcolor=_rgba(colour, FILL_ALPHA), line=dict(color=colour, width=2),
            fillpattern=dict(shape=PATTERN[cls], fgcolor=colour, bgcolor=_rgba(colour, FILL_ALPHA), size=10,
                             solidity=0.25) if PATTERN[cls] else None,
            hoverinfo="skip", showlegend=cls != "Unknown"))
    # One marker per alerted district, at its name, with the class's shape and the hover text.
    traces.append(go.Scatter(
        x=[], y=[], mode="markers", name=t("layers.alerts", lang), legendgroup="alerts", showlegend=False,
        marker=dict(size=12, symbol=[], color=[], line=dict(color=BACKGROUND, width=1.2)),
        text=[], hovertemplate="%{text}<extra></extra>"))
    return traces


def _rgba(hex_colour: str, alpha: float) -> str:
    r, g, b = (int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def alert_hover(alert: dict, lang: str) -> str:
    info = info_for(alert, lang)
    return (f"{severity_label(alert['severity'], lang)} · {inert(info['event'], 40)}：{inert(info['headline'], 60)}"
            f"<br>　{t('layers.until', lang)} {clock(alert['expires_at'], alert['sent'])}")


def district_hover(code: str, entry: dict, alert_lines: dict, lang: str) -> str:
    """The district's name and its alerts, most severe first (`alert_lines`: id -> hover text)."""
    lines = [f"<b>{district_name(code, lang)}</b>", *(alert_lines[a] for a in entry["alerts"][:4])]
    if len(entry["alerts"]) > 4:
        lines.append(t("layers.more", lang, n=len(entry["alerts"]) - 4))
    return "<br>".join(lines)


def patch(data: dict, lang: str) -> list[dict]:
    areas = _areas_by_code()
    alert_lines = {a["id"]: alert_hover(a, lang) for a in data["alerts"]}  # once, not per district
    updates = []
    for cls in CLASSES:
        codes = [c for c, d in data["districts"].items() if d["severity"] == cls and c in areas]
        xs: list = []
        ys: list = []
        for code in sorted(codes):
            xs.extend(areas[code].xs)
            ys.extend(areas[code].ys)
        name = severity_label(cls, lang)
        update = {"x": xs, "y": ys, "name": t("layers.class_count", lang, name=name, n=len(codes)) if codes else name}
        if cls == "Unknown":
            update["showlegend"] = bool(codes)  # listed only when such an alert is in force
        updates.append(update)
    title = legend_name("layers.alerts", data, lang, empty_key="layers.none_in_force")
    for u in updates:
        u["legendgrouptitle.text"] = title
        u["legendgrouptitle.font.color"] = LEGEND_TITLE
    labels = district_labels()
    codes = sorted(c for c in data["districts"] if c in labels)
    updates.append({
        "x": [labels[c][0] for c in codes],
        "y": [labels[c][1] + 0.014 for c in codes],  # just above the district's name
        "marker.symbol": [SEVERITY[data["districts"][c]["severity"]][1] for c in codes],
        "marker.color": [SEVERITY[data["districts"][c]["severity"]][0] for c in codes],
        "text": [district_hover(c, data["districts"][c], alert_lines, lang) for c in codes],
    })
    return updates


ALERTS = Layer(id="alerts", title_key="layers.alerts", order=10, traces=_traces, query=alerts_in_force,
               patch=same_data_same_patch(patch), feeds=("cap",), levels=NORMAL)
