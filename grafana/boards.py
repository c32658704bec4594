"""The operations centre's boards: what each shows, from which measurement.

Titles and units are Vietnamese (the operators' language), descriptions English (for
whoever maintains the boards). Every query reads measurements citytwin writes
(docs/ingest.md, docs/kpis.md, docs/alerts.md, docs/video.md). Panels over 30 days read
the 1-minute rollups (retention policy ``rollup_1m``, fields ``mean_<field>``), so a long
range scans 1/60 of the points; panels of the chosen range read ``raw``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from analytics.kpis.catalogue import CATALOGUE, Aggregation, Direction, KpiDefinition, Unit
from analytics.kpis.settings import KpiSettings
from grafana.filters import CAMERA, DEVICE, SITE, variables
from grafana.model import (
    SITES,
    Board,
    Json,
    Panel,
    constant_variable,
    custom_variable,
    influx,
    influx_annotation,
    thresholds,
)
from twins.registry import SiteSpec

ROLLUP_RANGE = "30d"
ROLLUP_INTERVAL = "1h"
DEVICE_KINDS = ("counter", "kiosk", "camera", "sensor", "meeting_room")
ONLINE_MAPPING = [
    {
        "type": "value",
        "options": {
            "0": {"text": "Mất kết nối", "color": "red", "index": 0},
            "1": {"text": "Trực tuyến", "color": "green", "index": 1},
            "false": {"text": "Mất tín hiệu", "color": "red", "index": 2},
            "true": {"text": "Hoạt động", "color": "green", "index": 3},
        },
    }
]
SERIES = {
    "legend": {"calcs": [], "displayMode": "list", "placement": "bottom", "showLegend": True},
    "tooltip": {"mode": "multi", "sort": "none"},
}
STAT = {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False}}


def _kpi(kpi: str, window: str, scope: str) -> str:
    return (
        f'"kpi" = \'{kpi}\' AND "window" = \'{window}\' AND "scope" =~ /^{scope}$/'
        ' AND "part" !~ /./ AND $timeFilter'
    )


def _availability_panels() -> list[Panel]:
    return [
        Panel(
            "stat",
            "Thiết bị trực tuyến",
            "Devices whose last status in the range is online (device_availability.online).",
            [
                influx(
                    'SELECT sum("online") FROM (SELECT last("online") AS "online"'
                    f' FROM "device_availability" WHERE {DEVICE} AND $timeFilter'
                    ' GROUP BY "device", "site")'
                )
            ],
            width=6,
            height=5,
            unit="suffix: thiết bị",
            options=dict(STAT),
        ),
        Panel(
            "stat",
            "Thiết bị mất kết nối",
            "Devices whose last status in the range is offline or stale.",
            [
                influx(
                    'SELECT count("online") - sum("online") FROM (SELECT last("online")'
                    f' AS "online" FROM "device_availability" WHERE {DEVICE} AND $timeFilter'
                    ' GROUP BY "device", "site")'
                )
            ],
            width=6,
            height=5,
            unit="suffix: thiết bị",
            limits=thresholds((None, "green"), (1, "red")),
            options=dict(STAT),
        ),
    ]


def _sites_csv(sites: Iterable[SiteSpec]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["site", "name", "district", "latitude", "longitude"])
    for site in sorted(sites, key=lambda s: s.id):
        if site.lat is not None and site.lon is not None:
            writer.writerow([site.id, site.name, site.district or "", site.lat, site.lon])
    return out.getvalue()


def overview(sites: list[SiteSpec]) -> Board:
    geomap = Panel(
        "geomap",
        "Bản đồ địa điểm",
        "Every site with coordinates in the registry, coloured by the share of its devices"
        " online (last status in the range); coordinates come from the sites datasource.",
        [
            influx(
                'SELECT mean("online") * 100 AS "online" FROM (SELECT last("online")'
                f' AS "online" FROM "device_availability" WHERE {DEVICE} AND $timeFilter'
                ' GROUP BY "device", "site") GROUP BY "site"',
                table=True,
            ),
            {
                "refId": "SITES",
                "datasource": dict(SITES),
                "scenarioId": "csv_content",
                "csvContent": _sites_csv(sites),
            },
        ],
        width=12,
        height=14,
        unit="percent",
        limits=thresholds((None, "red"), (80, "orange"), (99, "green")),
        transformations=[{"id": "joinByField", "options": {"byField": "site", "mode": "inner"}}],
        options={
            "view": {"id": "coords", "lat": 20.45, "lon": 106.34, "zoom": 10},
            "controls": {"showZoom": True, "mouseWheelZoom": True},
            "basemap": {"type": "default", "name": "Nền"},
            "layers": [
                {
                    "type": "markers",
                    "name": "Địa điểm",
                    "location": {
                        "mode": "coords",
                        "latitude": "latitude",
                        "longitude": "longitude",
                    },
                    "config": {
                        "style": {
                            "size": {"fixed": 8},
                            "color": {"field": "online"},
                            "text": {"field": "name", "mode": "field"},
                        }
                    },
                }
            ],
        },
    )
    not_closed = Panel(
        "stat",
        "Cảnh báo chưa đóng",
        "Alerts opened in the range minus alerts resolved in it (measurement alert): the"
        " alerts still open when the range covers their whole life. InfluxDB holds"
        " transitions, not the alerts' current state (the alert store does).",
        [
            influx(
                'SELECT sum("n") FROM (SELECT count("alert_id") AS "n" FROM "alert"'
                f" WHERE \"state\" = 'open' AND {SITE} AND $timeFilter),"
                ' (SELECT -1 * count("alert_id") AS "n" FROM "alert"'
                f" WHERE \"state\" = 'resolved' AND {SITE} AND $timeFilter)"
            )
        ],
        width=4,
        height=6,
        unit="suffix: cảnh báo",
        limits=thresholds((None, "green"), (1, "orange"), (5, "red")),
        options=dict(STAT),
    )
    by_severity = Panel(
        "barchart",
        "Cảnh báo phát sinh theo mức độ",
        "Alerts opened in the range by their severity at opening (measurement alert, state=open).",
        [
            influx(
                'SELECT count("alert_id") AS "cảnh báo" FROM "alert"'
                f' WHERE "state" = \'open\' AND {SITE} AND $timeFilter GROUP BY "severity"',
                table=True,
            )
        ],
        width=8,
        height=6,
        unit="suffix: cảnh báo",
        options={"orientation": "horizontal", "xField": "severity", "showValue": "always"},
    )
    opened = Panel(
        "timeseries",
        "Cảnh báo phát sinh",
        "Alerts opened per interval by rule type; the incident markers are the same alerts.",
        [
            influx(
                f'SELECT count("alert_id") FROM "alert" WHERE "state" = \'open\' AND {SITE}'
                ' AND $timeFilter GROUP BY time($__interval), "rule_type" fill(none)',
                alias="$tag_rule_type",
            )
        ],
        width=12,
        height=8,
        unit="suffix: cảnh báo",
        custom={"drawStyle": "bars", "fillOpacity": 60},
        options=dict(SERIES),
    )
    return Board(
        "citytwin-overview",
        "Tổng quan vận hành",
        "The province at a glance: sites on the map, devices online, open alerts, incidents.",
        "Điều hành",
        [geomap, *_availability_panels(), not_closed, by_severity, opened],
        variables(sites, DEVICE_KINDS),
        [
            influx_annotation(
                "Sự cố",
                'SELECT "key", "alert_id", "rule_type" FROM "alert"'
                f" WHERE \"state\" = 'open' AND {SITE} AND $timeFilter",
                "key",
                "rule_type",
            )
        ],
        tags=["overview"],
    )


def _counter_panels() -> list[Panel]:
    waiting = Panel(
        "timeseries",
        "Số người chờ tại quầy",
        "People waiting at each counter (counter_telemetry.waiting).",
        [
            influx(
                f'SELECT mean("waiting") FROM "counter_telemetry" WHERE {DEVICE} AND $timeFilter'
                ' GROUP BY time($__interval), "device" fill(none)',
                alias="$tag_device",
            )
        ],
        unit="suffix: người",
        options=dict(SERIES),
    )
    staffed = Panel(
        "stat",
        "Quầy có cán bộ",
        "Counters whose last report in the range has an officer present.",
        [
            influx(
                'SELECT count("present") FROM (SELECT last("officer_present") AS "present"'
                f' FROM "counter_telemetry" WHERE {DEVICE} AND $timeFilter GROUP BY "device")'
                ' WHERE "present" = true'
            )
        ],
        width=6,
        height=5,
        unit="suffix: quầy",
        options=dict(STAT),
    )
    presence = Panel(
        "state-timeline",
        "Cán bộ tại quầy",
        "Whether an officer is at each counter over time (counter_telemetry.officer_present).",
        [
            influx(
                'SELECT last("officer_present") FROM "counter_telemetry"'
                f' WHERE {DEVICE} AND $timeFilter GROUP BY time($__interval), "device"'
                " fill(previous)",
                alias="$tag_device",
            )
        ],
        width=18,
        height=8,
        mappings=ONLINE_MAPPING,
        options={"showValue": "never", "mergeValues": True},
    )
    absences = Panel(
        "table",
        "Cán bộ vắng mặt",
        "Officer logouts and breaks in the range at the chosen sites (counter_event), newest"
        " first.",
        [
            influx(
                'SELECT "officer", "seq" FROM "counter_event" WHERE "type" =~'
                f" /^(officer_logout|break_started)$/ AND {SITE} AND $timeFilter"
                ' GROUP BY "device", "type" ORDER BY time DESC LIMIT 50',
                table=True,
            )
        ],
        width=12,
        height=8,
    )
    absence_minutes = Panel(
        "barchart",
        "Số phút vắng mặt theo quầy (hôm nay)",
        "officer_absence_minutes of each counter, day windows in the range (kpi).",
        [
            influx(
                'SELECT sum("value") AS "phút" FROM "kpi" WHERE '
                + _kpi("officer_absence_minutes", "day", "counter:($site):.*")
                + ' GROUP BY "scope"',
                table=True,
            )
        ],
        width=12,
        height=8,
        unit="suffix: phút",
        options={"orientation": "horizontal", "xField": "scope", "showValue": "auto"},
    )
    long_range = Panel(
        "timeseries",
        "Số người chờ — 30 ngày",
        "Mean people waiting per hour over 30 days, from the 1-minute rollups.",
        [
            influx(
                'SELECT mean("mean_waiting") FROM "rollup_1m"."counter_telemetry"'
                f" WHERE {DEVICE} AND $timeFilter GROUP BY time($__interval) fill(none)",
                alias="trung bình",
            )
        ],
        width=24,
        unit="suffix: người",
        time_from=ROLLUP_RANGE,
        interval=ROLLUP_INTERVAL,
        options=dict(SERIES),
    )
    return [waiting, staffed, presence, absences, absence_minutes, long_range]


def _wait_kpis(scope: str) -> list[Panel]:
    panels = []
    for kpi, title, unit, limits in (
        ("waiting_time_mean", "Thời gian chờ TB", "suffix: phút",
         thresholds((None, "green"), (15, "orange"), (16.5, "red"))),
        ("sla_called_within_target", "Gọi số đúng hạn (SLA)", "percent",
         thresholds((None, "red"), (72, "orange"), (80, "green"))),
    ):  # fmt: skip
        panels.append(
            Panel(
                "gauge" if unit == "percent" else "stat",
                title,
                f"{kpi} of the chosen sites, 15-minute windows, the latest in the range (kpi).",
                [
                    influx(
                        'SELECT last("value") FROM "kpi" WHERE '
                        + _kpi(kpi, "15m", scope)
                        + ' GROUP BY "scope"',
                        alias="$tag_scope",
                    )
                ],
                width=6,
                height=5,
                unit=unit,
                decimals=1,
                limits=limits,
                minimum=0 if unit == "percent" else None,
                maximum=100 if unit == "percent" else None,
                options=dict(STAT),
            )
        )
    return panels


def service_centre(sites: list[SiteSpec]) -> Board:
    queue = Panel(
        "stat",
        "Hàng đợi hiện tại",
        "Tickets waiting at the kiosks now: the last queue_length of each kiosk, summed.",
        [
            influx(
                'SELECT sum("q") FROM (SELECT last("queue_length") AS "q" FROM'
                f' "kiosk_telemetry" WHERE {SITE} AND $timeFilter GROUP BY "device")'
            )
        ],
        width=6,
        height=5,
        unit="suffix: phiếu",
        limits=thresholds((None, "green"), (20, "orange"), (40, "red")),
        options=dict(STAT),
    )
    return Board(
        "citytwin-service-centre",
        "Trung tâm phục vụ hành chính công",
        "Queue, waits, SLA, staffed counters and officer absences of the service centres.",
        "Hành chính công",
        [queue, *_wait_kpis("site:$site"), *_counter_panels()],
        variables(sites, ("counter",), ("public_administration",)),
        tags=["public_administration"],
    )


def reception(sites: list[SiteSpec]) -> Board:
    return Board(
        "citytwin-reception",
        "Phòng tiếp công dân",
        "Citizens waiting and officers present at the citizen-reception rooms.",
        "Hành chính công",
        [*_wait_kpis("site:$site"), *_counter_panels()],
        variables(sites, ("counter",), ("citizen_reception",)),
        tags=["citizen_reception"],
    )


def meeting_rooms(sites: list[SiteSpec]) -> Board:
    occupancy = Panel(
        "timeseries",
        "Số người trong phòng",
        "People counted in each room (meeting_room_telemetry.occupancy).",
        [
            influx(
                'SELECT max("occupancy") FROM "meeting_room_telemetry"'
                f' WHERE {DEVICE} AND $timeFilter GROUP BY time($__interval), "device" fill(none)',
                alias="$tag_device",
            )
        ],
        unit="suffix: người",
        options=dict(SERIES),
    )
    booked_vs_used = Panel(
        "barchart",
        "Đặt lịch và sử dụng thực tế",
        "Booked utilisation against occupancy rate of each room, day windows (kpi).",
        [
            influx(
                'SELECT last("value") AS "đặt lịch" FROM "kpi" WHERE '
                + _kpi("room_booked_utilisation", "day", "room:($site):.*")
                + ' GROUP BY "scope"',
                table=True,
            ),
            influx(
                'SELECT last("value") AS "sử dụng" FROM "kpi" WHERE '
                + _kpi("room_occupancy_rate", "day", "room:($site):.*")
                + ' GROUP BY "scope"',
                ref="B",
                table=True,
            ),
        ],
        unit="percent",
        transformations=[{"id": "joinByField", "options": {"byField": "scope", "mode": "outer"}}],
        options={"xField": "scope", "showValue": "auto"},
    )
    ghosts = Panel(
        "stat",
        "Đặt phòng không sử dụng",
        "Ghost-booking rate of the chosen sites, day windows: bookings nobody held (kpi).",
        [
            influx(
                'SELECT last("value") FROM "kpi" WHERE '
                + _kpi("ghost_booking_rate", "day", "site:$site")
                + ' GROUP BY "scope"',
                alias="$tag_scope",
            )
        ],
        width=6,
        unit="percent",
        decimals=0,
        limits=thresholds((None, "green"), (10, "orange"), (11, "red")),
        options=dict(STAT),
    )
    bookings = Panel(
        "table",
        "Lịch đặt phòng",
        "Bookings started in the range, with their title and attendees (meeting_room_event).",
        [
            influx(
                'SELECT "booking", "title", "attendees" FROM "meeting_room_event"'
                f" WHERE \"type\" = 'booking_started' AND {DEVICE} AND $timeFilter"
                ' GROUP BY "device" ORDER BY time DESC LIMIT 50',
                table=True,
            )
        ],
        width=18,
    )
    return Board(
        "citytwin-meeting-rooms",
        "Phòng họp",
        "Meeting rooms: people in them, bookings against real use, ghost bookings.",
        "Hành chính công",
        [occupancy, booked_vs_used, ghosts, bookings],
        variables(sites, ("meeting_room",)),
        tags=["meeting_rooms"],
    )


def cameras(sites: list[SiteSpec], console_url: str) -> Board:
    health = Panel(
        "state-timeline",
        "Tình trạng luồng camera",
        "Whether the hub receives each camera's stream (camera_stream.up, the viewer's side).",
        [
            influx(
                f'SELECT last("up") FROM "camera_stream" WHERE {CAMERA} AND $timeFilter'
                ' GROUP BY time($__interval), "device" fill(previous)',
                alias="$tag_device",
            )
        ],
        width=24,
        mappings=ONLINE_MAPPING,
        options={"showValue": "never", "mergeValues": True},
    )
    fps = Panel(
        "timeseries",
        "Khung hình/giây nhận được",
        "Frames per second the hub receives from each camera (camera_stream.fps).",
        [
            influx(
                f'SELECT mean("fps") FROM "camera_stream" WHERE {CAMERA} AND $timeFilter'
                ' GROUP BY time($__interval), "device" fill(none)',
                alias="$tag_device",
            )
        ],
        unit="suffix: khung/giây",
        options=dict(SERIES),
    )
    presence = Panel(
        "timeseries",
        "Số người theo vùng",
        "People the hub counts in each zone of each camera (camera_presence.people).",
        [
            influx(
                f'SELECT max("people") FROM "camera_presence" WHERE {CAMERA} AND $timeFilter'
                ' GROUP BY time($__interval), "device", "zone" fill(none)',
                alias="$tag_device / $tag_zone",
            )
        ],
        unit="suffix: người",
        options=dict(SERIES),
    )
    wall = Panel(
        "text",
        "Màn hình camera trực tiếp",
        "The console's live camera wall of the chosen sites (needs Grafana's"
        " panels.disable_sanitize_html so the iframe is kept).",
        width=24,
        height=14,
        options={
            "mode": "html",
            "content": '<iframe src="${console}/wall?site=${site:csv}"'
            ' style="width:100%;height:100%;border:0" allow="autoplay"></iframe>',
        },
    )
    board_variables = [
        *variables(sites, ("camera",)),
        constant_variable("console", "Base URL of the citytwin console.", console_url),
    ]
    return Board(
        "citytwin-cameras",
        "Camera",
        "Camera streams as the hub receives them, people per zone, and the live wall.",
        "Camera",
        [health, fps, presence, wall],
        board_variables,
        tags=["cameras"],
    )


SENSOR_FIELDS = (
    ("temperature_c", "Nhiệt độ", "celsius"),
    ("pm25_ugm3", "Bụi mịn PM2.5", "suffix: µg/m³"),
    ("noise_dba", "Tiếng ồn", "suffix: dBA"),
    ("water_level_cm", "Mực nước", "suffix: cm"),
)


def environment(sites: list[SiteSpec], limits: dict[str, float]) -> Board:
    panels = []
    for name, title, unit in SENSOR_FIELDS:
        limit = limits[name]
        panels.append(
            Panel(
                "timeseries",
                title,
                f"{name} of each sensor (sensor_telemetry); the red line is the KPI limit"
                f" {limit:g}.",
                [
                    influx(
                        f'SELECT mean("{name}") FROM "sensor_telemetry" WHERE {DEVICE}'
                        ' AND $timeFilter GROUP BY time($__interval), "device" fill(none)',
                        alias="$tag_device",
                    )
                ],
                unit=unit,
                limits=thresholds((None, "green"), (limit, "red")),
                custom={"thresholdsStyle": {"mode": "line+area"}},
                options=dict(SERIES),
            )
        )
    water = limits["water_level_cm"]
    panels.append(
        Panel(
            "timeseries",
            "Mực nước — 30 ngày",
            "Hourly maximum of the 1-minute mean water level over 30 days (rollup_1m).",
            [
                influx(
                    'SELECT max("mean_water_level_cm") FROM "rollup_1m"."sensor_telemetry"'
                    f' WHERE {DEVICE} AND $timeFilter GROUP BY time($__interval), "device"'
                    " fill(none)",
                    alias="$tag_device",
                )
            ],
            width=24,
            unit="suffix: cm",
            limits=thresholds((None, "green"), (water, "red")),
            custom={"thresholdsStyle": {"mode": "line"}},
            time_from=ROLLUP_RANGE,
            interval=ROLLUP_INTERVAL,
            options=dict(SERIES),
        )
    )
    return Board(
        "citytwin-environment",
        "Môi trường và ngập lụt",
        "Air, noise and flood sensors against the limits the KPIs use.",
        "Môi trường",
        panels,
        variables(sites, ("sensor",)),
        tags=["environment"],
    )


UNITS = {
    Unit.COUNT: "none",
    Unit.PERCENT: "percent",
    Unit.MINUTES: "suffix: phút",
    Unit.HOURS: "suffix: giờ",
    Unit.PER_HOUR: "suffix: /giờ",
    Unit.FPS: "suffix: khung/giây",
    Unit.DOCUMENTS: "suffix: tài liệu",
}
EPSILON = 1e-9


def traffic_light(definition: KpiDefinition) -> Json:
    """Grafana thresholds matching ``analytics.kpis.scorecard.light_of`` (a value on the
    target is green: the steps start just past it)."""
    target = definition.target
    if target is None:
        return thresholds((None, "blue"))
    band = definition.tolerance * abs(target)
    if definition.direction is Direction.HIGHER:
        return thresholds((None, "red"), (target - band, "orange"), (target, "green"))
    steps: list[tuple[float | None, str]] = [(None, "green"), (target + EPSILON, "orange")]
    if band > 0:
        steps.append((target + band + EPSILON, "red"))
    else:
        steps[-1] = (target + EPSILON, "red")
    return thresholds(*steps)


def _province_value(definition: KpiDefinition) -> str:
    if definition.aggregation in (Aggregation.COUNT, Aggregation.SUM):
        return 'sum("value")'
    return 'last("value")'


def kpi_scorecard(sites: list[SiteSpec]) -> Board:
    panels = []
    for definition in CATALOGUE:
        target = "" if definition.target is None else f" (mục tiêu {definition.target:g})"
        panels.append(
            Panel(
                "stat",
                definition.name_vi + target,
                f"{definition.name_en} ({definition.id}), province, day windows; target"
                f" {definition.target}, {definition.direction.value} is better.",
                [
                    influx(
                        f'SELECT {_province_value(definition)} FROM "kpi" WHERE '
                        + _kpi(definition.id, "day", "province")
                    )
                ],
                width=4,
                height=4,
                unit=UNITS[definition.unit],
                decimals=1,
                limits=traffic_light(definition),
                options={**STAT, "colorMode": "background", "graphMode": "none"},
            )
        )
    by_site = Panel(
        "table",
        "Bảng điểm theo địa điểm",
        "The latest day value of every KPI at each chosen site (kpi, scope site:…).",
        [
            influx(
                'SELECT last("value") AS "giá trị" FROM "kpi" WHERE "window" = \'day\''
                ' AND "scope" =~ /^site:$site$/ AND "part" !~ /./ AND $timeFilter'
                ' GROUP BY "kpi", "scope"',
                table=True,
            )
        ],
        width=12,
        height=12,
    )
    kpi_options = [(d.name_vi, d.id) for d in CATALOGUE]
    trend = Panel(
        "timeseries",
        "Xu hướng KPI theo ngày",
        "The chosen KPI per day at each chosen site over the range (kpi, day windows).",
        [
            influx(
                'SELECT last("value") FROM "kpi" WHERE '
                + _kpi("$kpi", "day", "site:$site")
                + ' GROUP BY time(1d), "scope" fill(none)',
                alias="$tag_scope",
            )
        ],
        width=12,
        height=12,
        custom={"drawStyle": "line", "showPoints": "always"},
        options=dict(SERIES),
    )
    board_variables = [
        *variables(sites, DEVICE_KINDS),
        custom_variable("kpi", "KPI", "The KPI the trend panel shows.", kpi_options),
    ]
    return Board(
        "citytwin-kpi",
        "Bảng điểm KPI",
        "Every KPI of the catalogue against its target, with traffic lights and trends.",
        "Điều hành",
        [*panels, by_site, trend],
        board_variables,
        time_from="now-30d",
        tags=["kpi"],
    )


def alerts(sites: list[SiteSpec]) -> Board:
    by_type = Panel(
        "barchart",
        "Cảnh báo theo loại",
        "Alerts opened in the range by rule type (measurement alert, state=open).",
        [
            influx(
                f'SELECT count("alert_id") AS "số cảnh báo" FROM "alert" WHERE "state" ='
                f" 'open' AND {SITE} AND $timeFilter GROUP BY \"rule_type\"",
                table=True,
            )
        ],
        unit="suffix: cảnh báo",
        options={"xField": "rule_type", "showValue": "always"},
    )
    times = [
        Panel(
            "stat",
            title,
            f"{kpi} of the chosen sites over the range, 15-minute windows, mean (kpi).",
            [influx('SELECT mean("value") FROM "kpi" WHERE ' + _kpi(kpi, "15m", "site:$site"))],
            width=6,
            height=6,
            unit="suffix: phút",
            decimals=1,
            limits=thresholds((None, "green"), (target, "orange"), (target * 1.1, "red")),
            options=dict(STAT),
        )
        for kpi, title, target in (
            ("alert_mtta", "Thời gian xác nhận TB (MTTA)", 5.0),
            ("alert_mttr", "Thời gian xử lý TB (MTTR)", 30.0),
        )
    ]
    table = Panel(
        "table",
        "Cảnh báo mới nhất",
        "The latest transitions of alerts (measurement alert), newest first.",
        [
            influx(
                'SELECT "alert_id", "key", "escalation_level" FROM "alert"'
                f' WHERE {SITE} AND $timeFilter GROUP BY "state", "severity", "rule_type"'
                " ORDER BY time DESC LIMIT 100",
                table=True,
            )
        ],
        width=24,
        height=10,
    )
    escalations = Panel(
        "timeseries",
        "Leo thang theo mức độ",
        "Escalations per interval by severity (measurement alert, state=escalated).",
        [
            influx(
                f'SELECT count("alert_id") FROM "alert" WHERE "state" = \'escalated\''
                f' AND {SITE} AND $timeFilter GROUP BY time($__interval), "severity"'
                " fill(none)",
                alias="$tag_severity",
            )
        ],
        width=24,
        custom={"drawStyle": "bars", "fillOpacity": 60},
        options=dict(SERIES),
    )
    return Board(
        "citytwin-alerts",
        "Cảnh báo",
        "Alerts: raised by type, time to acknowledge and to resolve, escalations.",
        "Điều hành",
        [by_type, *times, table, escalations],
        variables(sites, DEVICE_KINDS),
        tags=["alerts"],
    )


PLATFORM = "platform"
DEVICE_MEASUREMENTS = "/^(counter|kiosk|camera|sensor|meeting_room)_(telemetry|event|state)$/"


def platform(sites: list[SiteSpec]) -> Board:
    rate = Panel(
        "timeseries",
        "Tốc độ ghi dữ liệu",
        "Device points stored per interval, by measurement (count of seq in raw).",
        [
            influx(
                f'SELECT count("seq") FROM {DEVICE_MEASUREMENTS} WHERE {SITE} AND $timeFilter'
                " GROUP BY time($__interval) fill(0)",
                alias="$measurement",
            )
        ],
        width=24,
        unit="suffix: điểm",
        options=dict(SERIES),
    )
    sequence = Panel(
        "timeseries",
        "Tin nhắn trùng và bị mất",
        "Duplicates dropped and sequence numbers missing, per interval (device_sequence).",
        [
            influx(
                'SELECT sum("duplicates") AS "trùng", sum("missing") AS "mất"'
                f' FROM "device_sequence" WHERE {SITE} AND $timeFilter'
                " GROUP BY time($__interval) fill(0)",
            )
        ],
        unit="suffix: tin",
        custom={"drawStyle": "bars", "fillOpacity": 60},
        options=dict(SERIES),
    )
    states = Panel(
        "timeseries",
        "Trạng thái kết nối thiết bị",
        "Status points per interval by state: online, offline (last will) and stale (silent"
        " longer than 3 report intervals, written by ingest) — device_availability.",
        [
            influx(
                'SELECT count("online") FROM "device_availability"'
                f" WHERE {SITE} AND $timeFilter"
                ' GROUP BY time($__interval), "state" fill(0)',
                alias="$tag_state",
            )
        ],
        unit="suffix: thiết bị",
        custom={"drawStyle": "bars", "fillOpacity": 60},
        options=dict(SERIES),
    )
    metrics = Panel(
        "text",
        "Chỉ số của ingest",
        "Where the figures of this board come from, and what stays in Prometheus only.",
        width=24,
        height=5,
        options={
            "mode": "markdown",
            "content": (
                "Ingest ghi sức khỏe của chính nó và số liệu `$SYS` của broker vào"
                " measurement `platform` mỗi 10 giây (docs/ingest.md). Chỉ số theo từng"
                " thiết bị (thư chết, tin trùng, tin mất) vẫn ở `/metrics` của ingest"
                " (Prometheus)."
            ),
        },
    )
    return Board(
        "citytwin-platform",
        "Sức khỏe nền tảng",
        "Ingest and the broker: messages taken, lag, dead letters by reason, spool and broker"
        " figures (measurement platform), points stored, duplicates and gaps, stale devices.",
        "Nền tảng",
        [*_ingest_panels(), *_broker_panels(), rate, sequence, states, metrics],
        variables(sites, DEVICE_KINDS),
        tags=["platform"],
    )


INGEST = f'FROM "{PLATFORM}" WHERE "source" = \'ingest\' AND $timeFilter'
BROKER = f'FROM "{PLATFORM}" WHERE "source" = \'broker\' AND $timeFilter'
PER_SECOND = " * 1000 / $__interval_ms"


def _ingest_panels() -> list[Panel]:
    """Ingest's own health (measurement platform, source=ingest)."""
    connected = Panel(
        "stat",
        "Ingest kết nối broker",
        "Whether each ingest worker was connected to the broker at its last report"
        " (platform.mqtt_connected).",
        [influx(f'SELECT last("mqtt_connected") {INGEST} GROUP BY "worker"', alias="$tag_worker")],
        width=6,
        height=6,
        mappings=ONLINE_MAPPING,
        limits=thresholds((None, "red"), (1, "green")),
        options={**STAT, "colorMode": "background"},
    )
    taken = Panel(
        "timeseries",
        "Tin nhắn ingest nhận",
        "Messages received, accepted and points stored per second, all workers together"
        " (platform.messages, accepted, points_written: counts per report).",
        [
            influx(
                f'SELECT sum("messages"){PER_SECOND} AS "nhận",'
                f' sum("accepted"){PER_SECOND} AS "hợp lệ",'
                f' sum("points_written"){PER_SECOND} AS "điểm đã ghi"'
                f" {INGEST} GROUP BY time($__interval) fill(none)",
            )
        ],
        width=18,
        height=6,
        unit="suffix: tin/s",
        options=dict(SERIES),
    )
    lag = Panel(
        "timeseries",
        "Độ trễ ingest",
        "Mean time from receiving a batch's first message to its acknowledgement"
        " (platform.lag_seconds), by worker.",
        [
            influx(
                f'SELECT mean("lag_seconds") {INGEST} GROUP BY time($__interval), "worker"'
                " fill(none)",
                alias="$tag_worker",
            )
        ],
        unit="s",
        options=dict(SERIES),
    )
    deadletters = Panel(
        "timeseries",
        "Thư chết theo lý do",
        "Messages refused per interval, by reason (platform.deadletters of the points with"
        " a reason tag; docs/ingest.md lists the reasons).",
        [
            influx(
                f'SELECT sum("deadletters") {INGEST} AND "reason" =~ /./'
                ' GROUP BY time($__interval), "reason" fill(none)',
                alias="$tag_reason",
            )
        ],
        unit="suffix: tin",
        custom={"drawStyle": "bars", "fillOpacity": 60},
        options=dict(SERIES),
    )
    spool = Panel(
        "timeseries",
        "Hàng đợi đĩa (spool)",
        "Bytes waiting in each worker's disk spool while InfluxDB refuses or is away"
        " (platform.spool_bytes).",
        [
            influx(
                f'SELECT max("spool_bytes") {INGEST} GROUP BY time($__interval), "worker"'
                " fill(none)",
                alias="$tag_worker",
            )
        ],
        unit="bytes",
        options=dict(SERIES),
    )
    return [connected, taken, lag, deadletters, spool]


def _broker_panels() -> list[Panel]:
    """The broker's $SYS figures as ingest reported them (source=broker), and the analytics
    processes' own (source=analytics)."""
    clients = Panel(
        "timeseries",
        "Kết nối tới broker",
        "Clients connected to the broker (devices and services; $SYS clients/connected).",
        [
            influx(
                f'SELECT max("clients_connected") AS "kết nối" {BROKER}'
                " GROUP BY time($__interval) fill(none)",
            )
        ],
        unit="suffix: máy khách",
        options=dict(SERIES),
    )
    traffic = Panel(
        "timeseries",
        "Tin nhắn qua broker",
        "PUBLISH messages received, sent and dropped by the broker per second ($SYS"
        " publish/messages/*); dropped ones are queues or in-flight windows that were full.",
        [
            influx(
                'SELECT mean("messages_received_per_s") AS "nhận",'
                ' mean("messages_sent_per_s") AS "gửi",'
                ' mean("messages_dropped_per_s") AS "bị bỏ"'
                f" {BROKER} GROUP BY time($__interval) fill(none)",
            )
        ],
        unit="suffix: tin/s",
        options=dict(SERIES),
    )
    analytics = Panel(
        "timeseries",
        "Phân tích: sự kiện và tín hiệu",
        "Events the analytics processes took from ingest and signals their rules raised, per"
        " second (platform, source=analytics).",
        [
            influx(
                f'SELECT sum("events"){PER_SECOND} AS "sự kiện",'
                f' sum("signals"){PER_SECOND} AS "tín hiệu"'
                f' FROM "{PLATFORM}" WHERE "source" = \'analytics\' AND $timeFilter'
                " GROUP BY time($__interval) fill(none)",
            )
        ],
        width=24,
        unit="suffix: /s",
        options=dict(SERIES),
    )
    return [clients, traffic, analytics]


def all_boards(sites: list[SiteSpec], console_url: str, kpis: KpiSettings) -> list[Board]:
    """Every board of the operations centre, for the sites of a registry."""
    return [
        overview(sites),
        service_centre(sites),
        reception(sites),
        meeting_rooms(sites),
        cameras(sites, console_url),
        environment(sites, dict(kpis.limits)),
        kpi_scorecard(sites),
        alerts(sites),
        platform(sites),
    ]
