"""The report's words in Vietnamese (the default) and English, and numbers as each
language writes them (``12,5`` / ``12.5``).

The shell's catalogue (``citytwin.i18n``) is out of reach of analytics, and the report's
words are the report's alone: they live beside its template.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from analytics.alerts.model import RuleType, Severity
from analytics.kpis.catalogue import Domain, KpiDefinition, Unit
from analytics.kpis.scorecard import Light, Trend
from analytics.kpis.windows import PROVINCE_TZ
from analytics.report.period import Period, PeriodKind

Language = Literal["vi", "en"]
LANGUAGES: tuple[Language, ...] = ("vi", "en")

WORDS: dict[str, dict[Language, str]] = {
    "title": {"vi": "Báo cáo hiệu quả vận hành", "en": "Effectiveness report"},
    "generated": {"vi": "Lập lúc {at}", "en": "Generated {at}"},
    "catalogue": {"vi": "Bộ chỉ số phiên bản {version}", "en": "KPI catalogue {version}"},
    "summary": {"vi": "Tổng hợp chỉ số", "en": "KPI summary"},
    "lights": {
        "vi": "{green} đạt · {amber} gần đạt · {red} không đạt · {none} không có chỉ tiêu",
        "en": "{green} on target · {amber} near target · {red} off target · {none} without target",
    },
    "kpi": {"vi": "Chỉ số", "en": "KPI"},
    "actual": {"vi": "Thực tế", "en": "Actual"},
    "target": {"vi": "Chỉ tiêu", "en": "Target"},
    "status": {"vi": "Đánh giá", "en": "Status"},
    "previous": {"vi": "Kỳ trước", "en": "Previous"},
    "trend": {"vi": "Xu hướng", "en": "Trend"},
    "daily": {"vi": "Diễn biến theo ngày", "en": "Daily trends"},
    "daily_note": {
        "vi": "Giá trị từng ngày; đường nét đứt là chỉ tiêu.",
        "en": "Value of each day; the dashed line is the target.",
    },
    "alerts": {"vi": "Cảnh báo và sự cố", "en": "Alerts and incidents"},
    "alerts_total": {
        "vi": "{total} cảnh báo phát sinh, {resolved} đã xử lý, {false} cảnh báo sai,"
        " {active} chưa xử lý xong.",
        "en": "{total} alerts raised, {resolved} resolved, {false} false alarms,"
        " {active} still active.",
    },
    "response": {"vi": "Thời gian phản hồi", "en": "Response times"},
    "to_acknowledge": {"vi": "Đến khi xác nhận", "en": "To acknowledge"},
    "to_resolve": {"vi": "Đến khi xử lý xong", "en": "To resolve"},
    "count": {"vi": "Số lượng", "en": "Count"},
    "mean": {"vi": "Trung bình", "en": "Mean"},
    "median": {"vi": "Trung vị", "en": "Median"},
    "p90": {"vi": "P90", "en": "P90"},
    "longest": {"vi": "Lâu nhất", "en": "Longest"},
    "waiting": {"vi": "Đang chờ", "en": "Waiting"},
    "minutes_axis": {"vi": "phút", "en": "minutes"},
    "alerts_axis": {"vi": "số cảnh báo", "en": "alerts"},
    "by_type": {"vi": "Cảnh báo theo loại", "en": "Alerts by type"},
    "top": {"vi": "Sự cố nổi bật", "en": "Top incidents"},
    "top_note": {
        "vi": "Theo mức độ, rồi theo thời gian kéo dài.",
        "en": "By severity, then by how long they lasted.",
    },
    "opened": {"vi": "Phát sinh", "en": "Opened"},
    "type": {"vi": "Loại", "en": "Type"},
    "severity": {"vi": "Mức độ", "en": "Severity"},
    "device": {"vi": "Thiết bị", "en": "Device"},
    "duration": {"vi": "Kéo dài", "en": "Duration"},
    "message": {"vi": "Nội dung", "en": "Message"},
    "ongoing": {"vi": "chưa xong", "en": "ongoing"},
    "no_data": {
        "vi": "Không có dữ liệu cho kỳ này.",
        "en": "There is no data for this period.",
    },
    "no_kpis": {
        "vi": "Không có dữ liệu chỉ số cho kỳ này (bộ tính chỉ số chưa ghi điểm `kpi` nào).",
        "en": "There is no KPI data for this period (the KPI engine wrote no `kpi` points).",
    },
    "no_alerts": {
        "vi": "Không có cảnh báo nào trong kỳ này.",
        "en": "No alerts were raised in this period.",
    },
    "page": {"vi": "Trang", "en": "Page"},
}

DOMAINS: dict[Domain, dict[Language, str]] = {
    Domain.SERVICE_CENTRE: {"vi": "Trung tâm phục vụ hành chính công", "en": "Service centre"},
    Domain.MEETING_ROOMS: {"vi": "Phòng họp", "en": "Meeting rooms"},
    Domain.CAMERAS: {"vi": "Camera", "en": "Cameras"},
    Domain.SENSORS: {"vi": "Cảm biến", "en": "Sensors"},
    Domain.OPERATIONS: {"vi": "Vận hành (cảnh báo)", "en": "Operations (alerts)"},
}

UNITS: dict[Unit, dict[Language, str]] = {
    Unit.COUNT: {"vi": "", "en": ""},
    Unit.PERCENT: {"vi": "%", "en": "%"},
    Unit.MINUTES: {"vi": "phút", "en": "min"},
    Unit.HOURS: {"vi": "giờ", "en": "h"},
    Unit.PER_HOUR: {"vi": "/giờ", "en": "/h"},
    Unit.FPS: {"vi": "khung/giây", "en": "fps"},
    Unit.DOCUMENTS: {"vi": "tài liệu", "en": "documents"},
}

LIGHTS: dict[Light, dict[Language, str]] = {
    Light.GREEN: {"vi": "Đạt", "en": "On target"},
    Light.AMBER: {"vi": "Gần đạt", "en": "Near target"},
    Light.RED: {"vi": "Không đạt", "en": "Off target"},
    Light.NONE: {"vi": "—", "en": "—"},
}

TRENDS: dict[Trend, dict[Language, str]] = {
    Trend.IMPROVING: {"vi": "▲ Cải thiện", "en": "▲ Improving"},
    Trend.WORSENING: {"vi": "▼ Xấu đi", "en": "▼ Worsening"},
    Trend.STEADY: {"vi": "● Ổn định", "en": "● Steady"},
    Trend.NEW: {"vi": "Mới", "en": "New"},
}

RULE_TYPES: dict[RuleType, dict[Language, str]] = {
    RuleType.THRESHOLD: {"vi": "Vượt ngưỡng", "en": "Threshold"},
    RuleType.STUCK: {"vi": "Số liệu không đổi", "en": "Stuck value"},
    RuleType.OFFLINE: {"vi": "Mất kết nối", "en": "Offline"},
    RuleType.STREAM_DOWN: {"vi": "Mất luồng camera", "en": "Stream down"},
    RuleType.OFFICER_ABSENCE: {"vi": "Cán bộ vắng mặt", "en": "Officer absent"},
    RuleType.INTRUSION: {"vi": "Xâm nhập", "en": "Intrusion"},
    RuleType.QUEUE_OVERLOAD: {"vi": "Quá tải hàng chờ", "en": "Queue overload"},
    RuleType.GHOST_BOOKING: {"vi": "Đặt phòng không dùng", "en": "Ghost booking"},
    RuleType.UNBOOKED_USE: {"vi": "Dùng phòng không đặt", "en": "Unbooked use"},
    RuleType.CITIZEN_REPORT: {"vi": "Phản ánh của người dân", "en": "Citizen report"},
}

SEVERITIES: dict[Severity, dict[Language, str]] = {
    Severity.INFO: {"vi": "Thông tin", "en": "Info"},
    Severity.WARNING: {"vi": "Cảnh báo", "en": "Warning"},
    Severity.MAJOR: {"vi": "Nghiêm trọng", "en": "Major"},
    Severity.CRITICAL: {"vi": "Khẩn cấp", "en": "Critical"},
}

MONTHS_EN = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
)  # fmt: skip


def word(key: str, language: Language, **values: object) -> str:
    return WORDS[key][language].format(**values)


def kpi_name(definition: KpiDefinition, language: Language) -> str:
    return definition.name_vi if language == "vi" else definition.name_en


def number(value: float, language: Language, digits: int = 1) -> str:
    """``1234.5`` → ``1.234,5`` (vi) or ``1,234.5`` (en); whole numbers without decimals."""
    shown = f"{value:,.0f}" if float(value).is_integer() else f"{value:,.{digits}f}"
    if language == "vi":
        shown = shown.replace(",", "\0").replace(".", ",").replace("\0", ".")
    return shown


def quantity(value: float | None, unit: Unit, language: Language) -> str:
    """A value with its unit (``12,5 phút``), or an em dash for none."""
    if value is None:
        return "—"
    suffix = UNITS[unit][language]
    shown = number(value, language)
    if not suffix:
        return shown
    return f"{shown}{suffix}" if suffix == "%" else f"{shown} {suffix}"


def minutes(value: float | None, language: Language) -> str:
    return quantity(value, Unit.MINUTES, language)


def short_day(day: date, language: Language) -> str:
    return f"{day:%d/%m}" if language == "vi" else f"{day.day} {MONTHS_EN[day.month - 1][:3]}"


def long_day(day: date, language: Language) -> str:
    if language == "vi":
        return f"{day:%d/%m/%Y}"
    return f"{day.day} {MONTHS_EN[day.month - 1]} {day.year}"


def period_name(period: Period, language: Language) -> str:
    """``Tuần 48/2026 (23/11/2026 – 29/11/2026)`` or ``Tháng 11/2026``."""
    first, last = period.first_day, period.last_day
    span = f"{long_day(first, language)} – {long_day(last, language)}"
    if period.kind is PeriodKind.WEEK:
        year, week, _ = first.isocalendar()
        if language == "vi":
            return f"Tuần {week}/{year} ({span})"
        return f"Week {week} of {year} ({span})"
    if language == "vi":
        return f"Tháng {first.month}/{first.year} ({span})"
    return f"{MONTHS_EN[first.month - 1]} {first.year} ({span})"


def local_time(moment: datetime, language: Language) -> str:
    local = moment.astimezone(PROVINCE_TZ)
    if language == "vi":
        return f"{local:%H:%M %d/%m/%Y}"
    return f"{local:%Y-%m-%d %H:%M}"


def duration(minutes_: float, language: Language) -> str:
    """``95`` → ``1 giờ 35 phút`` / ``1 h 35 min``; past a day, days and hours."""
    days, rest = divmod(round(minutes_), 24 * 60)
    hours, rest = divmod(rest, 60)
    names = ("ngày", "giờ", "phút") if language == "vi" else ("d", "h", "min")
    parts = [f"{n} {name}" for n, name in zip((days, hours, rest), names, strict=True) if n]
    return " ".join(parts[:2]) if parts else f"0 {names[2]}"
