"""The KPI catalogue: what each KPI measures, how, against which target.

The pilot's evaluation found "no KPI criteria to evaluate effectiveness"; this is that list.
Every KPI has an id (the `kpi` tag in InfluxDB), a Vietnamese and an English name, its
formula in words, unit, target and direction, the data it is computed from, the scopes
and windows it is written for, and how the tests check it against the simulators' ground
truth. ``docs/kpis.md`` is generated from it (``python -m analytics.kpis.docs``), and a
test fails when the two disagree. Change ``CATALOGUE_VERSION`` with any change of a
formula or target: it is written with every `kpi` point, so a chart can tell values of
different definitions apart.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from analytics.kpis.windows import Window

CATALOGUE_VERSION = "2026.12-1"


class Domain(StrEnum):
    SERVICE_CENTRE = "service_centre"
    MEETING_ROOMS = "meeting_rooms"
    CAMERAS = "cameras"
    SENSORS = "sensors"
    OPERATIONS = "operations"


class Unit(StrEnum):
    COUNT = "count"
    PERCENT = "%"
    MINUTES = "min"
    HOURS = "h"
    PER_HOUR = "per h"
    FPS = "fps"
    DOCUMENTS = "documents"


class Direction(StrEnum):
    """Which way is better; decides the traffic light and the trend's sign."""

    HIGHER = "higher"
    LOWER = "lower"


class Aggregation(StrEnum):
    """How a value comes from its contributions (and how it rolls up)."""

    COUNT = "count"  # Σ numerator; adds up over scopes and windows
    SUM = "sum"  # Σ numerator in the unit (hours, minutes)
    RATIO = "ratio"  # Σ numerator / Σ denominator (× 100 for %)
    MEAN = "mean"  # Σ values / number of values
    QUANTILE = "quantile"  # of the values in the window: does not add up, recomputed


class ScopeKind(StrEnum):
    COUNTER = "counter"
    ROOM = "room"
    CAMERA = "camera"
    SENSOR = "sensor"
    SITE = "site"
    SECTOR = "sector"
    PROVINCE = "province"


class TruthCheck(StrEnum):
    """How the tests hold a KPI against the simulators' ground truth."""

    EXACT = "within 1 %"
    BOUNDED = "within a stated bound"
    NOT_IN_TRUTH = "not in the ground truth"


AREA = frozenset({ScopeKind.SITE, ScopeKind.SECTOR, ScopeKind.PROVINCE})
COUNTER = frozenset({ScopeKind.COUNTER}) | AREA
ROOM = frozenset({ScopeKind.ROOM}) | AREA
CAMERA = frozenset({ScopeKind.CAMERA}) | AREA
SENSOR = frozenset({ScopeKind.SENSOR}) | AREA
ALL_WINDOWS = frozenset(Window)
DAYS_AND_LONGER = frozenset({Window.DAY, Window.WEEK, Window.MONTH})


@dataclass(slots=True, frozen=True)
class KpiDefinition:
    """One KPI of the catalogue."""

    id: str
    name_vi: str
    name_en: str
    domain: Domain
    formula: str
    unit: Unit
    target: float | None
    direction: Direction
    source: str
    aggregation: Aggregation
    scopes: frozenset[ScopeKind]
    truth: TruthCheck
    truth_note: str = ""
    windows: frozenset[Window] = ALL_WINDOWS
    quantile: float | None = None
    tolerance: float = 0.10
    """Amber band: within this fraction of the target on the wrong side (see scorecard)."""
    scale: float = 1.0
    """Factor of numerator/denominator (100 for a percentage)."""
    parts: tuple[str, ...] = field(default=())
    """Breakdowns written besides the whole (``rule_type``, ``severity``)."""


S = Domain.SERVICE_CENTRE
R = Domain.MEETING_ROOMS
EV = "counter_event, kiosk_event"
PRESENCE = "counter_event (officer_login/logout, break_started/ended) + office hours"

CATALOGUE: tuple[KpiDefinition, ...] = (
    # --- service centre --------------------------------------------------------------------
    KpiDefinition(
        "tickets_issued", "Số phiếu đã phát", "Tickets issued", S,
        "number of ticket_issued events in the window", Unit.COUNT, None, Direction.HIGHER,
        "kiosk_event type=ticket_issued", Aggregation.COUNT, AREA, TruthCheck.EXACT,
        "served + no-show + unserved tickets of the day (day windows)",
    ),
    KpiDefinition(
        "tickets_served", "Số phiếu đã phục vụ", "Tickets served", S,
        "number of service_finished events in the window", Unit.COUNT, None, Direction.HIGHER,
        "counter_event type=service_finished", Aggregation.COUNT, COUNTER, TruthCheck.EXACT,
        "ticket_served lines by their end",
    ),
    KpiDefinition(
        "tickets_no_show", "Số phiếu vắng mặt", "No-show tickets", S,
        "number of no_show events in the window", Unit.COUNT, None, Direction.LOWER,
        "counter_event type=no_show", Aggregation.COUNT, COUNTER, TruthCheck.EXACT,
        "no_show lines by their end",
    ),
    KpiDefinition(
        "waiting_time_mean", "Thời gian chờ trung bình", "Mean waiting time", S,
        "mean over tickets served in the window of (service_started − ticket_issued)",
        Unit.MINUTES, 15.0, Direction.LOWER, EV, Aggregation.MEAN, COUNTER, TruthCheck.EXACT,
        "ticket_served details.wait_s",
    ),
    KpiDefinition(
        "waiting_time_median", "Thời gian chờ trung vị", "Median waiting time", S,
        "median over tickets served in the window of (service_started − ticket_issued)",
        Unit.MINUTES, 10.0, Direction.LOWER, EV, Aggregation.QUANTILE, COUNTER,
        TruthCheck.EXACT, "ticket_served details.wait_s", quantile=0.5,
    ),
    KpiDefinition(
        "waiting_time_p90", "Thời gian chờ P90", "Waiting time P90", S,
        "90th percentile over tickets served in the window of (service_started −"
        " ticket_issued)", Unit.MINUTES, 30.0, Direction.LOWER, EV, Aggregation.QUANTILE,
        COUNTER, TruthCheck.EXACT, "ticket_served details.wait_s", quantile=0.9,
    ),
    KpiDefinition(
        "service_time_mean", "Thời gian phục vụ trung bình", "Mean service time", S,
        "mean duration_s of the service_finished events in the window", Unit.MINUTES, 12.0,
        Direction.LOWER, "counter_event type=service_finished", Aggregation.MEAN, COUNTER,
        TruthCheck.EXACT, "ticket_served details.service_s",
    ),
    KpiDefinition(
        "sla_called_within_target", "Tỷ lệ gọi số đúng hạn", "Called within target wait", S,
        "tickets first called in the window within sla_wait_minutes of issue ÷ tickets first"
        " called in the window", Unit.PERCENT, 80.0, Direction.HIGHER, EV, Aggregation.RATIO,
        COUNTER, TruthCheck.BOUNDED,
        "the ground truth has no call time of a served ticket, only its service start, which"
        " follows the call by 20–90 s: the KPI lies between the shares of tickets whose wait"
        " is ≤ target and ≤ target + 90 s",
        scale=100.0,
    ),
    KpiDefinition(
        "no_show_rate", "Tỷ lệ vắng mặt khi gọi", "No-show rate", S,
        "no_show ÷ (no_show + service_finished) in the window", Unit.PERCENT, 8.0,
        Direction.LOWER, "counter_event type=no_show, service_finished", Aggregation.RATIO,
        COUNTER, TruthCheck.EXACT, "no_show ÷ (no_show + ticket_served)", scale=100.0,
    ),
    KpiDefinition(
        "tickets_unserved", "Số phiếu không được phục vụ", "Tickets unserved", S,
        "tickets issued in the day with no service_started and no no_show by the end of the"
        " day (final once the day has closed)", Unit.COUNT, None, Direction.LOWER, EV,
        Aggregation.COUNT, AREA, TruthCheck.EXACT, "unserved details.tickets",
        windows=DAYS_AND_LONGER,
    ),
    KpiDefinition(
        "unserved_rate", "Tỷ lệ bỏ về / không được phục vụ", "Abandoned or unserved share", S,
        "tickets_unserved ÷ tickets_issued of the day", Unit.PERCENT, 2.0, Direction.LOWER,
        EV, Aggregation.RATIO, AREA, TruthCheck.EXACT, "unserved ÷ all tickets of the day",
        windows=DAYS_AND_LONGER, scale=100.0,
    ),
    KpiDefinition(
        "counter_staffed_hours", "Số giờ quầy có cán bộ", "Staffed counter-hours", S,
        "time in office hours the officer is logged in and not on a break", Unit.HOURS, None,
        Direction.HIGHER, PRESENCE, Aggregation.SUM, COUNTER, TruthCheck.EXACT,
        "office hours − officer_absent",
    ),
    KpiDefinition(
        "throughput_per_counter_hour", "Năng suất mỗi giờ quầy", "Throughput per counter-hour",
        S, "tickets_served ÷ counter_staffed_hours", Unit.PER_HOUR, 5.0, Direction.HIGHER,
        f"counter_event type=service_finished; {PRESENCE}", Aggregation.RATIO, COUNTER,
        TruthCheck.EXACT, "ticket_served ÷ (office hours − officer_absent)",
    ),
    KpiDefinition(
        "counter_utilisation", "Hiệu suất sử dụng quầy", "Counter utilisation", S,
        "time serving (service_started → service_finished) while staffed ÷ staffed time",
        Unit.PERCENT, 75.0, Direction.HIGHER, f"counter_event service_started/finished; {PRESENCE}",
        Aggregation.RATIO, COUNTER, TruthCheck.EXACT,
        "ticket_served [end − service_s, end) inside office hours − officer_absent",
        scale=100.0,
    ),
    KpiDefinition(
        "officer_availability", "Tỷ lệ có mặt của cán bộ", "Officer availability", S,
        "staffed time ÷ office hours (a login within login_grace_seconds of opening is on"
        " time)", Unit.PERCENT, 95.0, Direction.HIGHER, PRESENCE, Aggregation.RATIO, COUNTER,
        TruthCheck.EXACT, "1 − officer_absent ÷ office hours", tolerance=0.05, scale=100.0,
    ),
    KpiDefinition(
        "officer_absence_minutes", "Số phút cán bộ vắng mặt", "Officer absence minutes", S,
        "office hours − staffed time, in minutes", Unit.MINUTES, 20.0, Direction.LOWER,
        PRESENCE, Aggregation.SUM, COUNTER, TruthCheck.EXACT, "officer_absent minutes",
        tolerance=0.5,
    ),
    # --- meeting rooms ---------------------------------------------------------------------
    KpiDefinition(
        "room_booked_utilisation", "Tỷ lệ sử dụng theo lịch đặt", "Booked utilisation", R,
        "booked time (booking_started → booking_ended) in office hours ÷ office hours",
        Unit.PERCENT, 50.0, Direction.HIGHER, "meeting_room_event booking_started/ended",
        Aggregation.RATIO, ROOM, TruthCheck.NOT_IN_TRUTH,
        "the ground truth records when held meetings were occupied, not when they were booked",
        scale=100.0,
    ),
    KpiDefinition(
        "room_occupancy_rate", "Tỷ lệ phòng có người", "Occupancy rate", R,
        "occupied time (paperless sessions ∪ unbooked uses seen by the occupancy sensor) in"
        " office hours ÷ office hours", Unit.PERCENT, 40.0, Direction.HIGHER,
        "meeting_room_event session_started/ended; meeting_room_telemetry occupancy",
        Aggregation.RATIO, ROOM, TruthCheck.BOUNDED,
        "an unbooked use is seen through the occupancy sensor, which reports once a minute:"
        " each of its two ends is placed within half a report interval",
        scale=100.0,
    ),
    KpiDefinition(
        "booking_realisation", "Tỷ lệ lịch họp được thực hiện", "Booking realisation", R,
        "bookings (by start) held: their own session opened, or people in the room within"
        " ghost_grace_minutes of the start ÷ bookings", Unit.PERCENT, 90.0, Direction.HIGHER,
        "meeting_room_event; meeting_room_telemetry occupancy", Aggregation.RATIO, ROOM,
        TruthCheck.EXACT, "room_occupied with a booking ÷ (that + ghost_booking); day windows",
        scale=100.0,
    ),
    KpiDefinition(
        "ghost_booking_rate", "Tỷ lệ đặt phòng không sử dụng", "Ghost-booking rate", R,
        "bookings (by start) not held (see booking_realisation; the two add up to 100 %) ÷"
        " bookings", Unit.PERCENT, 10.0, Direction.LOWER,
        "meeting_room_event; meeting_room_telemetry occupancy", Aggregation.RATIO, ROOM,
        TruthCheck.EXACT, "ghost_booking ÷ bookings; day windows", scale=100.0,
    ),
    KpiDefinition(
        "room_unbooked_use", "Số lần dùng phòng không đặt lịch", "Unbooked uses", R,
        "runs of occupancy > 0 (two samples or more) outside every booking and session, by"
        " start", Unit.COUNT, None, Direction.LOWER,
        "meeting_room_telemetry occupancy; meeting_room_event", Aggregation.COUNT, ROOM,
        TruthCheck.EXACT,
        "unbooked_use lines; day windows. The simulated sensor cannot show a use that overlaps"
        " a meeting running late (the room's count is overwritten, not added): such uses are"
        " left out of the truth",
    ),
    KpiDefinition(
        "seat_utilisation", "Tỷ lệ sử dụng chỗ ngồi", "Seat utilisation", R,
        "mean over meetings (sessions and unbooked uses, by start) of the most people counted"
        " while no other meeting was in the room ÷ room capacity", Unit.PERCENT, 60.0,
        Direction.HIGHER,
        "meeting_room_telemetry occupancy; meeting_room_state capacity", Aggregation.MEAN,
        ROOM, TruthCheck.EXACT,
        "room_occupied details.people ÷ capacity; day windows. A meeting another one ended"
        " inside is left out: the simulated room then counts 0 people (the count is set, not"
        " decreased)",
        scale=100.0,
    ),
    KpiDefinition(
        "on_time_start", "Tỷ lệ họp đúng giờ", "On-time start", R,
        "booked meetings (by start) whose session started within on_time_minutes of the"
        " booking's start ÷ booked meetings held", Unit.PERCENT, 85.0, Direction.HIGHER,
        "meeting_room_event booking_started, session_started", Aggregation.RATIO, ROOM,
        TruthCheck.EXACT,
        "room_occupied start against the booking's hour (the simulators book on the hour);"
        " day windows",
        scale=100.0,
    ),
    KpiDefinition(
        "paperless_session_share", "Tỷ lệ phiên họp không giấy", "Paperless-session share", R,
        "meetings held with a paperless session ÷ meetings held (sessions and unbooked uses,"
        " by start)", Unit.PERCENT, 80.0, Direction.HIGHER,
        "meeting_room_event session_started paperless; meeting_room_telemetry occupancy",
        Aggregation.RATIO, ROOM, TruthCheck.EXACT,
        "room_occupied with details.documents ÷ room_occupied; day windows", scale=100.0,
    ),
    KpiDefinition(
        "documents_per_session", "Số tài liệu mỗi phiên họp", "Documents per session", R,
        "mean documents of the session_ended events in the window", Unit.DOCUMENTS, None,
        Direction.HIGHER, "meeting_room_event session_ended documents", Aggregation.MEAN, ROOM,
        TruthCheck.EXACT, "room_occupied details.documents; day windows",
    ),
    # --- cameras ---------------------------------------------------------------------------
    KpiDefinition(
        "camera_stream_uptime", "Tỷ lệ hoạt động của luồng camera", "Stream uptime",
        Domain.CAMERAS,
        "camera reports with fps > 0 × report interval ÷ time in the window (up to now)",
        Unit.PERCENT, 99.0, Direction.HIGHER, "camera_telemetry fps", Aggregation.RATIO, CAMERA,
        TruthCheck.BOUNDED,
        "1 − device_offline time of a camera that died; a report is a 30 s slot, so a window"
        " where the camera died or came back is off by up to one slot, and a camera switched"
        " off loses the reports still in its buffer, which the truth does not record (the test"
        " takes its last stored report as the end)."
        " Reports a camera"
        " buffered through a network outage arrive late and count as up (the stream was"
        " produced, not delivered): the hub's camera_stream is the viewer's side",
        tolerance=0.02, scale=100.0,
    ),
    KpiDefinition(
        "camera_mean_fps", "Số khung hình/giây trung bình", "Mean fps", Domain.CAMERAS,
        "mean fps of the camera reports with fps > 0", Unit.FPS, None, Direction.HIGHER,
        "camera_telemetry fps", Aggregation.MEAN, CAMERA, TruthCheck.EXACT,
        "the scenario's video fps (cameras not streamed report it as they idle)",
    ),
    # --- sensors ---------------------------------------------------------------------------
    KpiDefinition(
        "sensor_data_completeness", "Độ đầy đủ dữ liệu cảm biến", "Data completeness",
        Domain.SENSORS,
        "sensor reports received ÷ reports expected (time in the window up to now ÷ report"
        " interval)", Unit.PERCENT, 98.0, Direction.HIGHER, "sensor_telemetry",
        Aggregation.RATIO, SENSOR, TruthCheck.BOUNDED,
        "1 − device_offline time of a sensor that died, off by up to one report in the window"
        " it died in, and by the reports in its buffer when it was switched off; reports"
        " buffered through a network outage are complete, only late",
        tolerance=0.03, scale=100.0,
    ),
    KpiDefinition(
        "sensor_hours_above_limit", "Số giờ vượt ngưỡng", "Hours above limits", Domain.SENSORS,
        "time from a report above a field's limit until the first report at or below"
        " release_fraction × limit, summed over fields", Unit.HOURS, 0.0, Direction.LOWER,
        "sensor_telemetry temperature_c, pm25_ugm3, noise_dba, water_level_cm; limits",
        Aggregation.SUM, SENSOR, TruthCheck.EXACT, "threshold intervals",
    ),
    # --- operations ------------------------------------------------------------------------
    KpiDefinition(
        "alerts_opened", "Số cảnh báo phát sinh", "Alerts raised", Domain.OPERATIONS,
        "alert transitions to open in the window, in all and by rule type and severity",
        Unit.COUNT, None, Direction.LOWER, "alert state=open", Aggregation.COUNT, AREA,
        TruthCheck.NOT_IN_TRUTH, "alerts are the alert engine's, not the simulators'",
        parts=("rule_type", "severity"),
    ),
    KpiDefinition(
        "citizen_reports", "Số phản ánh của người dân", "Citizen reports", Domain.OPERATIONS,
        "citizen_report alert transitions to open in the window (one per report received),"
        " in all and by category", Unit.COUNT, None, Direction.LOWER,
        "alert state=open, rule_type=citizen_report, category", Aggregation.COUNT, AREA,
        TruthCheck.NOT_IN_TRUTH, "citizens' reports are not simulated", parts=("category",),
    ),
    KpiDefinition(
        "alert_mtta", "Thời gian xác nhận trung bình (MTTA)", "Mean time to acknowledge",
        Domain.OPERATIONS, "mean of (acknowledged − opened_at) of the acknowledgements in the"
        " window", Unit.MINUTES, 5.0, Direction.LOWER, "alert state=acknowledged, opened_at",
        Aggregation.MEAN, AREA, TruthCheck.NOT_IN_TRUTH,
        "operators' acknowledgements are not simulated", parts=("rule_type", "severity"),
    ),
    KpiDefinition(
        "alert_mttr", "Thời gian xử lý trung bình (MTTR)", "Mean time to resolve",
        Domain.OPERATIONS, "mean of (resolved − opened_at) of the resolutions in the window",
        Unit.MINUTES, 30.0, Direction.LOWER, "alert state=resolved, opened_at",
        Aggregation.MEAN, AREA, TruthCheck.NOT_IN_TRUTH,
        "operators' resolutions are not simulated", parts=("rule_type", "severity"),
    ),
    KpiDefinition(
        "alert_escalations", "Số lần leo thang cảnh báo", "Escalations", Domain.OPERATIONS,
        "alert transitions to escalated in the window", Unit.COUNT, 0.0, Direction.LOWER,
        "alert state=escalated", Aggregation.COUNT, AREA, TruthCheck.NOT_IN_TRUTH,
        "escalations follow operators' (simulated nowhere) delays", tolerance=0.0,
        parts=("rule_type", "severity"),
    ),
    KpiDefinition(
        "false_alert_share", "Tỷ lệ cảnh báo sai", "False-alert share", Domain.OPERATIONS,
        "alerts resolved as false by an operator ÷ alerts resolved in the window",
        Unit.PERCENT, 5.0, Direction.LOWER, "alert state=resolved, false_alarm",
        Aggregation.RATIO, AREA, TruthCheck.NOT_IN_TRUTH,
        "an operator's verdict is not simulated", parts=("rule_type",), scale=100.0,
    ),
)  # fmt: skip

BY_ID: dict[str, KpiDefinition] = {kpi.id: kpi for kpi in CATALOGUE}


def kpi(kpi_id: str) -> KpiDefinition:
    """The definition of ``kpi_id``; KeyError naming the known ids otherwise."""
    try:
        return BY_ID[kpi_id]
    except KeyError:
        raise KeyError(f"no KPI {kpi_id!r} in catalogue {CATALOGUE_VERSION}") from None
