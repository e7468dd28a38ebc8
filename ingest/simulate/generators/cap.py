"""Alerts (`cap`): the scenario's alert series (issued, updated, cancelled, each Update and the
Cancel referencing every earlier message of its series), CWA's earthquake report alert for each
quake, and on calm summer days a heat advisory (高溫資訊)."""

from __future__ import annotations

from datetime import timedelta

from ..base import Message, SimTime, unit_hash
from ..geography import district_areas
from ..quake_model import LABELS, district_intensities
from ..scenarios import CWA_DRILL, CWA_DRILL_NAME
from ..timeline import AlertInfo, AlertSeries, AlertStep, HeatAdvisory, Quake
from ..world import World
from .cap_xml import CapMessage

TOPIC = "ioc/v1/disaster/cap"
QUAKE_WEB = "https://scweb.cwa.gov.tw/"


class _Series:
    """The messages of one alert series sent so far."""

    def __init__(self, key: str, sender: str, sender_name: str, web: str):
        self.key, self.sender, self.sender_name, self.web = key, sender, sender_name, web
        self.sent: list[CapMessage] = []

    def message(self, world: World, now: SimTime, step: AlertStep, **extra) -> CapMessage:
        sent = now.stamp(step.at_h).replace(microsecond=0)
        if self.sent and sent <= self.sent[-1].sent:  # keep sends in order even at extreme speeds
            sent = self.sent[-1].sent + timedelta(seconds=1)
        msg = CapMessage(
            identifier=f"SIM-{self.key}-{world.run_tag}-{len(self.sent) + 1:02d}", sender=self.sender,
            sender_name=self.sender_name, sent=sent, msg_type=step.msg_type, headline=step.headline,
            description=step.description, web=self.web,
            expires=None if step.msg_type == "Cancel" else max(now.stamp(step.at_h + step.valid_h),
                                                                sent + timedelta(seconds=2)),
            infos=step.infos, references=[m.reference() for m in self.sent], **extra)
        self.sent.append(msg)
        return msg


class Alerts:
    def __init__(self, world: World):
        self.world = world
        scenario = world.scenario
        self.pending: list[tuple[float, _Series, AlertStep, dict]] = []
        for series in scenario.alerts:
            self._plan(series)
        for i, quake in enumerate(scenario.quakes):
            self._plan(quake_series(quake, i), parameters=quake_parameters(quake))
        self.pending.sort(key=lambda p: p[0])
        self.heat = scenario.heat
        self.heat_days: set = set()

    def _plan(self, series: AlertSeries, **extra) -> None:
        state = _Series(series.key, series.sender, series.sender_name, series.web)
        category = series.steps[0].infos[0].category if series.steps[0].infos else "Met"
        for step in series.steps:
            self.pending.append((step.at_h, state, step, {"cancel_category": category, **extra}))

    def tick(self, now: SimTime) -> list[Message]:
        out = []
        while self.pending and self.pending[0][0] <= now.hours:
            _, series, step, extra = self.pending.pop(0)
            out.append(Message(TOPIC, series.message(self.world, now, step, **extra).xml()))
        if self.heat is not None:
            out.extend(self._heat(now))
        return out

    def _heat(self, now: SimTime) -> list[Message]:
        heat: HeatAdvisory = self.heat
        local = now.local
        hour = local.hour + local.minute / 60
        day = local.date()
        if (day in self.heat_days or local.month not in heat.months or not heat.issue_hour <= hour < heat.until_hour
                or unit_hash(self.world.seed, "heat", day.isoformat()) >= heat.share_of_days):
            return []
        self.heat_days.add(day)
        at_h = now.hours
        step = AlertStep(at_h, "Alert", "高溫資訊",
                         "天氣高溫炎熱，臺中市平地有連續出現36度高溫的機率，請注意防曬、多補充水分、慎防熱傷害。",
                         (AlertInfo("高溫", "heat", "Met", "Minor", "Expected", "Likely", "Monitor", "高溫黃色36燈號", "黃色",
                                    heat.districts),), valid_h=heat.until_hour - hour)
        series = _Series(f"heat-{day:%Y%m%d}", CWA_DRILL, CWA_DRILL_NAME,
                         "https://www.cwa.gov.tw/V8/C/P/Warning/W29.html")
        return [Message(TOPIC, series.message(self.world, now, step).xml())]


def _quake_infos(quake: Quake) -> tuple[AlertInfo, ...]:
    """One info per intensity felt at 4 or more, listing its districts."""
    names = {code: area.name.removeprefix("臺中市") for code, area in district_areas().items()}
    by_rank: dict[int, list[str]] = {}
    for code, rank in district_intensities(quake).items():
        if rank >= 4:
            by_rank.setdefault(rank, []).append(names[code])
    infos = []
    for rank in sorted(by_rank, reverse=True):
        severity = "Extreme" if rank >= 7 else "Severe" if rank >= 5 else "Moderate"
        color = "紅色" if rank >= 7 else "橙色" if rank >= 5 else "黃色"
        infos.append(AlertInfo("地震", "earthquake", "Geo", severity, "Immediate", "Observed", "Assess",
                               f"震度{LABELS[rank]}", color, tuple(sorted(by_rank[rank]))))
    return tuple(infos)


def quake_parameters(quake: Quake) -> list[tuple[str, str]]:
    top = max(district_intensities(quake).values())
    return [("EventMagnitude", f"{quake.magnitude:.1f}"), ("EventDepth", f"{quake.depth_km:.1f}"),
            ("EventEpicenter", f"{quake.lat:.2f},{quake.lon:.2f}"), ("LocalMaxIntensity", f"臺中市;{LABELS[top]}")]


def quake_series(quake: Quake, index: int) -> AlertSeries:
    """CWA's earthquake report alert: issued a few minutes after the origin, updated with the
    revised report half an hour later, left to expire."""
    top = max(district_intensities(quake).values())
    text = (f"{quake.location}發生規模{quake.magnitude:.1f}地震，臺中市最大震度{LABELS[top]}，"
            "請注意餘震，檢查瓦斯及建物安全。")
    issue = quake.at_h + quake.report_after_min / 60
    infos = _quake_infos(quake)
    return AlertSeries(f"quake{index + 1}", CWA_DRILL, CWA_DRILL_NAME, QUAKE_WEB, (
        AlertStep(issue, "Alert", "地震報告", text, infos, valid_h=6.0),
        AlertStep(issue + 0.5, "Update", "地震報告（修正）", text, infos, valid_h=6.0),
    ))

