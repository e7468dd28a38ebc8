"""The scenarios as data: what happens when, in scenario hours from the start.

Every scenario runs on a calm baseline (weather of the season and hour, a few 110 calls an
hour, the odd road event, every base station up). `normal` is only that baseline; `typhoon`
and `earthquake` add a timeline. After its `length` a scenario is back to the baseline and
keeps running. Places are named (districts, villages, roads); the generators resolve them to
real sites with the seed.
"""

from __future__ import annotations

from .timeline import (AlertInfo, AlertSeries, AlertStep, CaseType, HeatAdvisory, IncidentWave, OutagePlan, Quake,
                       RoadEvent, Scenario, ShelterPlan, TrackFix, Typhoon)

MOUNTAIN = ("和平區", "東勢區", "新社區", "石岡區", "太平區")
FOOTHILL = ("霧峰區", "大里區", "北屯區", "潭子區", "豐原區", "后里區", "外埔區")
PLAIN = ("中區", "東區", "南區", "西區", "北區", "西屯區", "南屯區", "大雅區", "神岡區", "烏日區",
         "大肚區", "龍井區", "沙鹿區", "梧棲區", "清水區", "大甲區", "大安區")
ALL_DISTRICTS = MOUNTAIN + FOOTHILL + PLAIN


# --- the baseline, shared by every scenario ----------------------------------------------------------

BASELINE_CALLS_PER_HOUR = ((0, 2.0), (6, 1.5), (9, 4.0), (13, 4.5), (18, 6.0), (22, 5.0), (24, 2.0))
BASELINE_MIX = (
    CaseType("traffic_accident", 2, 0.30, "汽機車擦撞，無人受傷", at_accident_site=True),
    CaseType("traffic_accident", 1, 0.05, "車禍有人受傷，請求救護", at_accident_site=True),
    CaseType("theft", 3, 0.15, "機車失竊"),
    CaseType("disturbance", 3, 0.15, "噪音擾鄰"),
    CaseType("fraud", 3, 0.08, "疑似詐騙電話"),
    CaseType("violence", 2, 0.05, "酒後鬥毆"),
    CaseType("suspicious", 3, 0.07, "可疑人士徘徊"),
    CaseType("missing_person", 2, 0.03, "長者走失"),
    CaseType("other", 3, 0.12, "其他民眾報案"),
)
BASELINE_ROADWORKS = 3  # long-running road works, active all along (the feed is never silent)
BASELINE_ROAD_EVENTS_PER_HOUR = 0.5
BASELINE_ROAD_KINDS = (  # kind, weight, minutes (min, max), description
    ("accident", 0.4, (30, 90), "交通事故處理中，請減速慢行"),
    ("construction", 0.25, (120, 360), "道路施工，車道縮減"),
    ("obstacle", 0.2, (20, 60), "路面障礙物，清除中"),
    ("signal_fault", 0.15, (30, 90), "號誌故障，員警指揮交通"),
)


# --- normal ---------------------------------------------------------------------------------------

NORMAL = Scenario(name="normal", title="平日 A calm day", length_h=0.0, default_speed=1.0,
                  heat=HeatAdvisory(districts=PLAIN + FOOTHILL))


# --- typhoon --------------------------------------------------------------------------------------

CWA_DRILL = "cwa-drill@ioc.simulator"
CWA_DRILL_NAME = "中央氣象署（演練模擬）"
CWA_WEB = "https://www.cwa.gov.tw/V8/C/P/Warning/FIFOWS.html"
SWCB_DRILL = "swcb-drill@ioc.simulator"
WRA_DRILL = "wra-drill@ioc.simulator"


def _rain_info(level: str, districts: tuple[str, ...]) -> AlertInfo:
    severity, color = {"大雨": ("Moderate", "黃色"), "豪雨": ("Severe", "橙色"),
                       "大豪雨": ("Extreme", "紅色"), "超大豪雨": ("Extreme", "紫色")}[level]
    return AlertInfo("降雨", "rainfall", "Met", severity, "Expected", "Likely", "Monitor", level, color, districts)


def _typhoon_info(urgency: str, severity: str) -> AlertInfo:
    return AlertInfo("颱風", "typhoon", "Met", severity, urgency, "Likely", "Prepare", "海上陸上颱風警報", "紅色",
                     ALL_DISTRICTS)


_DEBRIS_YELLOW = (("新社區", "福興里"), ("新社區", "中和里"), ("太平區", "頭汴里"), ("太平區", "東汴里"))
_DEBRIS_RED = (("和平區", "博愛里"), ("和平區", "自由里"), ("和平區", "達觀里"), ("和平區", "中坑里"),
               ("和平區", "南勢里"), ("和平區", "天輪里"), ("東勢區", "中嵙里"), ("東勢區", "慶福里"))


def _debris(level: str, villages) -> AlertInfo:
    severity, color = {"黃色警戒": ("Moderate", "黃色"), "紅色警戒": ("Severe", "紅色")}[level]
    return AlertInfo("土石流", "debrisFlow", "Geo", severity, "Expected", "Likely", "Evacuate", f"土石流{level}", color,
                     villages=tuple(villages))


TYPHOON_ALERTS = (
    AlertSeries("typhoon", CWA_DRILL, CWA_DRILL_NAME, "https://www.cwa.gov.tw/V8/C/P/Typhoon/TY_NEWS.html", (
        AlertStep(2.0, "Alert", "海上陸上颱風警報", "演習颱風暴風圈逐漸接近，對臺中市及東北部海面構成威脅，請嚴加戒備。",
                  (_typhoon_info("Expected", "Severe"),), valid_h=4.0),
        AlertStep(5.0, "Update", "海上陸上颱風警報", "演習颱風持續向西北西移動，預計今晚通過北部陸地，山區嚴防豪雨。",
                  (_typhoon_info("Expected", "Severe"),), valid_h=4.0),
        AlertStep(8.0, "Update", "海上陸上颱風警報", "演習颱風中心於宜蘭附近登陸，臺中市山區持續豪雨，慎防坍方、落石及土石流。",
                  (_typhoon_info("Immediate", "Extreme"),), valid_h=4.0),
        AlertStep(11.0, "Update", "海上陸上颱風警報", "演習颱風中心通過北部陸地，即將出海，暴風圈仍籠罩臺中市。",
                  (_typhoon_info("Immediate", "Severe"),), valid_h=4.0),
        AlertStep(14.0, "Cancel", "解除陸上颱風警報", "演習颱風暴風圈已脫離臺灣陸地，解除陸上颱風警報。"),
    )),
    AlertSeries("rain", CWA_DRILL, CWA_DRILL_NAME, CWA_WEB, (
        AlertStep(4.0, "Alert", "大雨特報", "颱風外圍環流影響，臺中市山區有大雨發生的機率，請注意坍方及落石。",
                  (_rain_info("大雨", MOUNTAIN),)),
        AlertStep(6.0, "Update", "豪雨特報", "颱風環流影響，臺中市山區有豪雨，平地有大雨發生的機率。",
                  (_rain_info("豪雨", MOUNTAIN), _rain_info("大雨", FOOTHILL))),
        AlertStep(8.0, "Update", "豪雨特報", "颱風影響，和平區、東勢區有大豪雨，其他山區有豪雨，平地有大雨。",
                  (_rain_info("大豪雨", ("和平區", "東勢區")), _rain_info("豪雨", ("新社區", "石岡區", "太平區", "霧峰區")),
                   _rain_info("大雨", tuple(d for d in FOOTHILL + PLAIN if d != "霧峰區")))),
        AlertStep(11.0, "Update", "豪雨特報", "颱風逐漸遠離，山區仍有豪雨，平地大雨趨緩。",
                  (_rain_info("豪雨", ("和平區", "東勢區", "新社區")),
                   _rain_info("大雨", ("石岡區", "太平區", "霧峰區", "大里區", "北屯區")))),
        AlertStep(13.0, "Update", "大雨特報", "雨勢趨緩，山區仍有局部大雨。", (_rain_info("大雨", MOUNTAIN),)),
        AlertStep(15.5, "Cancel", "解除大雨特報", "雨勢減緩，解除大雨特報。"),
    )),
    AlertSeries("debris", SWCB_DRILL, "農業部農村發展及水土保持署（演練模擬）", "https://246.ardswc.gov.tw/", (
        AlertStep(7.0, "Alert", "土石流黃色警戒", "預測雨量達土石流警戒基準值，請警戒區內居民預作疏散避難準備。",
                  (_debris("黃色警戒", _DEBRIS_RED + _DEBRIS_YELLOW),), valid_h=6.0),
        AlertStep(9.0, "Update", "土石流紅色警戒", "實際降雨已達土石流警戒基準值，請警戒區內居民立即疏散避難。",
                  (_debris("紅色警戒", _DEBRIS_RED), _debris("黃色警戒", _DEBRIS_YELLOW)), valid_h=6.0),
        AlertStep(14.5, "Cancel", "解除土石流警戒", "雨勢趨緩，解除土石流警戒。"),
    )),
    AlertSeries("flood", WRA_DRILL, "經濟部水利署（演練模擬）", "https://fhy.wra.gov.tw/", (
        AlertStep(9.5, "Alert", "淹水警戒", "累積雨量已達淹水警戒值，低窪地區請嚴防積淹水。",
                  (AlertInfo("淹水", "flood", "Met", "Moderate", "Expected", "Likely", "Prepare", "二級淹水警戒", "黃色",
                             ("大里區", "烏日區", "南區", "太平區", "龍井區")),)),
        AlertStep(12.5, "Cancel", "解除淹水警戒", "雨勢趨緩，解除淹水警戒。"),
    )),
)

TYPHOON_TRACK = (
    TrackFix(-24, 125.6, 21.9, 960, 38, 48, 220, 70),
    TrackFix(-12, 124.4, 22.7, 950, 43, 53, 250, 90),
    TrackFix(0, 123.2, 23.5, 945, 45, 55, 260, 100),
    TrackFix(6, 122.4, 24.05, 945, 45, 55, 260, 100),
    TrackFix(9, 121.85, 24.45, 950, 43, 53, 250, 90),
    TrackFix(12, 121.1, 24.75, 965, 35, 45, 220, 70),
    TrackFix(15, 120.4, 25.05, 975, 30, 40, 200, 50),
    TrackFix(18, 119.7, 25.4, 980, 28, 35, 180, 0),
    TrackFix(24, 118.8, 26.0, 988, 23, 30, 150, 0),
    TrackFix(48, 116.5, 27.5, 998, 15, 23, 0, 0),
)

TYPHOON = Scenario(
    name="typhoon",
    title="颱風 A typhoon passing north of Taichung",
    length_h=18.0,
    default_speed=60.0,  # one scenario minute per second: the drill takes 18 minutes
    rain={
        "mountain": ((0, 0), (2, 0.5), (4, 6), (6, 22), (8, 48), (10, 55), (11, 45), (12, 28), (13.5, 12),
                     (15, 4), (17, 0.5), (18, 0)),
        "foothill": ((0, 0), (3, 0.3), (5, 3), (7, 14), (9, 32), (10.5, 38), (12, 22), (13.5, 8), (15, 2), (17, 0)),
        "plain": ((0, 0), (4, 0.2), (6, 2), (8, 10), (10, 24), (11, 28), (12.5, 16), (14, 5), (15.5, 1), (17, 0)),
    },
    slowdown=((0, 0), (6, 0.05), (8, 0.2), (10, 0.35), (12, 0.3), (14, 0.15), (17, 0.02), (18, 0)),
    alerts=TYPHOON_ALERTS,
    road_events=(
        RoadEvent("t8-landslide-baileng", "landslide", 7.5, 17.0, (120.9299, 24.1826), "台8線",
                  "台8線白冷路段邊坡坍方，土石掩埋道路", lanes=2),
        RoadEvent("t8-closure-baileng-guguan", "closure", 7.6, 17.0,
                  [(120.9299, 24.1826), (120.9650, 24.1900), (120.9950, 24.1960), (121.0187, 24.2016)], "台8線",
                  "台8線白冷至谷關路段預警性封閉，請改道行駛", lanes=2),
        RoadEvent("t8-rockfall-lishan", "landslide", 8.5, 15.5, (121.2459, 24.2432), "台8線",
                  "台8線梨山路段落石，單線管制通行", lanes=1),
        RoadEvent("flood-dali", "flooding", 9.0, 13.5, ("a1", "大里區"), None, "道路積水約30公分，機車勿行", lanes=2),
        RoadEvent("flood-wuri", "flooding", 9.3, 13.5, ("a1", "烏日區"), None, "道路積水，車輛請改道", lanes=2),
        RoadEvent("flood-south", "flooding", 9.6, 13.0, ("cctv", "南區"), None, "低窪路段積水", lanes=1),
        RoadEvent("flood-longjing", "flooding", 10.0, 13.5, ("a1", "龍井區"), None, "道路積水，車輛請改道", lanes=2),
        RoadEvent("closure-taiping-bridge", "closure", 10.0, 14.0, ("cctv", "太平區"), None,
                  "溪水暴漲，橋梁預警性封閉", lanes=None),
    ),
    extra_road_events=((6, 0), (8, 3), (10, 5), (12, 3), (14, 1), (16, 0)),
    extra_road_kinds=(("obstacle", 0.5, (40, 180), "路樹倒塌占用車道，清除中"),
                      ("signal_fault", 0.3, (30, 150), "停電致號誌故障，員警指揮交通"),
                      ("flooding", 0.2, (60, 240), "道路積水，請改道")),
    incidents=(IncidentWave(
        per_hour=((5, 0), (7, 4), (9, 14), (11, 16), (13, 8), (15, 3), (17, 0)),
        mix=(
            CaseType("other", 2, 0.28, "路樹倒塌阻礙通行"),
            CaseType("rescue", 1, 0.18, "民眾受困積水，請求救援", districts=("大里區", "烏日區", "南區", "太平區", "龍井區")),
            CaseType("rescue", 2, 0.10, "土石流警戒區居民撤離協助", districts=("和平區", "東勢區", "新社區", "太平區")),
            CaseType("traffic_accident", 2, 0.15, "雨天路滑自撞", at_accident_site=True),
            CaseType("other", 3, 0.12, "招牌鬆脫掉落"),
            CaseType("missing_person", 1, 0.05, "登山客失聯", districts=("和平區",)),
            CaseType("other", 2, 0.12, "電線掉落，請台電處理"),
        )),),
    shelters=ShelterPlan(open_h=7.5, open_spread_h=2.0, peak_h=11.5, close_h=16.5, disaster_types=("水災", "土石流"),
                         districts=("和平區", "東勢區", "新社區", "石岡區", "太平區", "大里區", "烏日區", "霧峰區")),
    outages=OutagePlan(down_h=(7.0, 10.5), up_h=(12.0, 17.0),
                       districts={"和平區": 0.55, "東勢區": 0.25, "新社區": 0.22, "石岡區": 0.12, "太平區": 0.06}),
    typhoon=Typhoon(td_no=99, ty_no=99, name_en="DRILL", name_zh="演習", track=TYPHOON_TRACK, tracked_until_h=18.0),
)


# --- earthquake -----------------------------------------------------------------------------------

EARTHQUAKE = Scenario(
    name="earthquake",
    title="地震 A strong earthquake near 東勢",
    length_h=8.0,
    default_speed=30.0,  # the drill takes 16 minutes
    slowdown=((0.2, 0), (0.22, 0.4), (1, 0.35), (3, 0.15), (6, 0.05), (8, 0)),
    quakes=(
        Quake(0.2, 120.86, 24.22, 10.0, 6.8, "臺中市政府東方 19.6 公里 (位於臺中市東勢區)"),
        Quake(1.5, 120.92, 24.25, 9.0, 5.2, "臺中市政府東北東方 25.8 公里 (位於臺中市和平區)"),
    ),
    road_events=(
        RoadEvent("t8-landslide-quake", "landslide", 0.25, 8.0, (120.9299, 24.1826), "台8線",
                  "強震造成台8線白冷路段邊坡崩塌，道路中斷", lanes=2),
        RoadEvent("t8-closure-quake", "closure", 0.3, 8.0,
                  [(120.8330, 24.2464), (120.8800, 24.2300), (120.9299, 24.1826)], "台8線",
                  "台8線東勢至白冷路段封閉檢查", lanes=2),
        RoadEvent("dongshi-bridge-check", "closure", 0.35, 4.0, ("cctv", "東勢區"), None,
                  "橋梁震後安全檢查，暫停通行"),
        RoadEvent("shigang-road-crack", "obstacle", 0.4, 6.0, ("a1", "石岡區"), None, "路面龜裂隆起", lanes=1),
        RoadEvent("fengyuan-signal", "signal_fault", 0.22, 2.5, ("cctv", "豐原區"), None, "地震停電，號誌故障"),
        RoadEvent("taiping-signal", "signal_fault", 0.22, 2.0, ("cctv", "太平區"), None, "地震停電，號誌故障"),
    ),
    extra_road_events=((0.2, 0), (0.25, 6), (1, 3), (3, 1), (5, 0)),
    extra_road_kinds=(("obstacle", 0.4, (60, 240), "掉落物占用車道"),
                      ("signal_fault", 0.35, (30, 180), "停電致號誌故障，員警指揮交通"),
                      ("closure", 0.25, (120, 360), "路面龜裂，封閉檢查")),
    incidents=(IncidentWave(
        per_hour=((0.2, 0), (0.22, 30), (0.6, 24), (1.5, 10), (3, 4), (6, 1), (8, 0)),
        near_epicentre=True,
        mix=(
            CaseType("rescue", 1, 0.15, "建物倒塌，有人受困"),
            CaseType("fire", 1, 0.14, "震後火警"),
            CaseType("other", 1, 0.10, "瓦斯外洩"),
            CaseType("rescue", 2, 0.18, "電梯受困"),
            CaseType("other", 3, 0.15, "牆面龜裂、外牆掉落"),
            CaseType("traffic_accident", 2, 0.13, "路口號誌停電擦撞", at_accident_site=True),
            CaseType("other", 3, 0.15, "民眾驚慌報案"),
        )),),
    shelters=ShelterPlan(open_h=0.6, open_spread_h=1.0, peak_h=3.0, close_h=7.5, disaster_types=("震災",),
                         radius_km=25.0, per_district=3, fill=(0.2, 0.7)),
    outages=OutagePlan(down_h=(0.2, 0.45), up_h=(1.0, 6.5), rings_km=((10.0, 0.6), (20.0, 0.25), (35.0, 0.06))),
)

SCENARIOS = {s.name: s for s in (NORMAL, TYPHOON, EARTHQUAKE)}


def get(name: str) -> Scenario:
    try:
        return SCENARIOS[name]
    except KeyError:
        raise KeyError(f"unknown scenario {name!r}; known: {', '.join(SCENARIOS)}") from None
