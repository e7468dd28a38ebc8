"""Site lists, published retained so every new subscriber learns them: the real shelter list
(`shelters`), the real CCTV list (`tdx-cctv`) and the detector sites (`tdx-vd`). Sent at the
start and again every few real hours, well inside those feeds' cadences (30 days, 1 day)."""

from __future__ import annotations

from ..base import Message, SimTime
from ..places import file_bytes
from ..traffic import TrafficSimulator

SHELTER_LIST_TOPIC = "ioc/v1/disaster/shelter-list"
CCTV_LIST_TOPIC = "ioc/v1/traffic/cctv-sites"
REPUBLISH_S = 6 * 3600.0


class SiteLists:
    def __init__(self, traffic: TrafficSimulator, republish_s: float = REPUBLISH_S):
        self.traffic = traffic
        self.republish_s = republish_s
        self.sent_rounds = 0

    def tick(self, now: SimTime) -> list[Message]:
        due = int(now.real_elapsed_s // self.republish_s) + 1
        if due <= self.sent_rounds:
            return []
        self.sent_rounds = due
        return [
            Message(SHELTER_LIST_TOPIC, file_bytes("poi", "taichung_shelters_nfa_v9.csv"), True),
            Message(CCTV_LIST_TOPIC, file_bytes("poi", "taichung_cctv_2023-11.csv"), True),
            Message(*self.traffic.site_list()),
        ]
