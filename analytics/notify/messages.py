"""The words people read: a title and a body per notice, Vietnamese first, then English.

Operators in the centre read Vietnamese; English follows in the same message for the
contractor's staff and for mail clients that mangle the first language (none should: the
text is UTF-8 end to end). The title carries the severity and the site so that a phone's
lock screen tells enough; times are written in the province's zone.

A catalogue of a few dozen phrases is plain dictionaries (as ``citytwin/i18n.py`` does for
the CLI, whose sector names these repeat — analytics may not import the shell); gettext
would need a build step for them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from analytics.alerts.model import AlertState, RuleType, Severity
from analytics.notify.notice import AlertNotice, Transition
from twins.kinds import Sector

SEVERITY_VI = {
    Severity.INFO: "Thông tin",
    Severity.WARNING: "Cảnh báo",
    Severity.MAJOR: "Nghiêm trọng",
    Severity.CRITICAL: "Khẩn cấp",
}
SEVERITY_EN = {
    Severity.INFO: "Info",
    Severity.WARNING: "Warning",
    Severity.MAJOR: "Major",
    Severity.CRITICAL: "Critical",
}
RULE_VI = {
    RuleType.THRESHOLD: "Vượt ngưỡng",
    RuleType.STUCK: "Giá trị không đổi",
    RuleType.OFFLINE: "Thiết bị mất kết nối",
    RuleType.STREAM_DOWN: "Mất tín hiệu camera",
    RuleType.OFFICER_ABSENCE: "Cán bộ vắng mặt tại quầy",
    RuleType.INTRUSION: "Xâm nhập khu vực cấm",
    RuleType.QUEUE_OVERLOAD: "Quá tải hàng chờ",
    RuleType.GHOST_BOOKING: "Đặt phòng không sử dụng",
    RuleType.UNBOOKED_USE: "Sử dụng phòng không đặt trước",
    RuleType.CITIZEN_REPORT: "Phản ánh hiện trường của người dân",
}
RULE_EN = {
    RuleType.THRESHOLD: "Threshold exceeded",
    RuleType.STUCK: "Stuck value",
    RuleType.OFFLINE: "Device offline",
    RuleType.STREAM_DOWN: "Camera stream down",
    RuleType.OFFICER_ABSENCE: "Officer absent from the desk",
    RuleType.INTRUSION: "Intrusion into a restricted zone",
    RuleType.QUEUE_OVERLOAD: "Queue overload",
    RuleType.GHOST_BOOKING: "Ghost booking",
    RuleType.UNBOOKED_USE: "Unbooked room use",
    RuleType.CITIZEN_REPORT: "Citizen report",
}
TRANSITION_VI = {
    Transition.OPENED: "Cảnh báo mới",
    Transition.ACKNOWLEDGED: "Đã tiếp nhận",
    Transition.RESOLVED: "Đã xử lý xong",
    Transition.ESCALATED: "Chuyển cấp",
    Transition.REMINDER: "Nhắc lại: chưa tiếp nhận",
}
TRANSITION_EN = {
    Transition.OPENED: "New alert",
    Transition.ACKNOWLEDGED: "Acknowledged",
    Transition.RESOLVED: "Resolved",
    Transition.ESCALATED: "Escalated",
    Transition.REMINDER: "Reminder: not acknowledged",
}
SECTOR_VI = {
    Sector.HEALTH: "Y tế",
    Sector.EDUCATION: "Giáo dục",
    Sector.PUBLIC_ADMINISTRATION: "Hành chính công",
    Sector.CITIZEN_RECEPTION: "Tiếp công dân",
    Sector.ENVIRONMENT: "Môi trường",
    Sector.TRANSPORT: "Giao thông",
    Sector.GOVERNMENT_OFFICE: "Cơ quan nhà nước",
}
SECTOR_EN = {
    Sector.HEALTH: "health",
    Sector.EDUCATION: "education",
    Sector.PUBLIC_ADMINISTRATION: "public administration",
    Sector.CITIZEN_RECEPTION: "citizen reception",
    Sector.ENVIRONMENT: "environment",
    Sector.TRANSPORT: "transport",
    Sector.GOVERNMENT_OFFICE: "government office",
}
STATE_VI = {
    AlertState.OPEN: "đang mở",
    AlertState.ACKNOWLEDGED: "đã tiếp nhận",
    AlertState.RESOLVED: "đã xử lý",
}


@dataclass(slots=True, frozen=True)
class Message:
    """What a channel sends: one title, one body (plain text)."""

    title: str
    body: str


def _sector(name: str, words: dict[Sector, str]) -> str:
    """The sector's name in one language (a sector the catalogue lacks, as written)."""
    try:
        return words[Sector(name)]
    except ValueError:
        return name


def _when(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%H:%M %d/%m/%Y")


def render(notice: AlertNotice, zone: ZoneInfo, console_url: str | None = None) -> Message:
    """Title and body of ``notice``: Vietnamese, then English."""
    severity = notice.severity
    rule_vi, rule_en = RULE_VI[notice.rule_type], RULE_EN[notice.rule_type]
    title = (
        f"[{SEVERITY_VI[severity]}] {TRANSITION_VI[notice.transition]}: {rule_vi} — {notice.site}"
        f" / [{SEVERITY_EN[severity]}] {TRANSITION_EN[notice.transition]}: {rule_en}"
    )
    zone_vi = f", vùng {notice.zone}" if notice.zone else ""
    zone_en = f", zone {notice.zone}" if notice.zone else ""
    link = f"{console_url.rstrip('/')}/alerts/{notice.alert_id}" if console_url else None
    vi = [
        f"{TRANSITION_VI[notice.transition]} · {rule_vi} · mức độ {SEVERITY_VI[severity]}",
        notice.message_vi,
        f"Địa điểm: {notice.site} ({_sector(notice.sector, SECTOR_VI)})"
        f" · thiết bị {notice.device}{zone_vi}",
        f"Bắt đầu lúc {_when(notice.opened_at, zone)}; trạng thái {STATE_VI[notice.state]}"
        f" lúc {_when(notice.at, zone)}",
    ]
    en = [
        f"{TRANSITION_EN[notice.transition]} · {rule_en} · severity {SEVERITY_EN[severity]}",
        notice.message_en,
        f"Site: {notice.site} ({_sector(notice.sector, SECTOR_EN)})"
        f" · device {notice.device}{zone_en}",
        f"Since {_when(notice.opened_at, zone)}; {notice.state.value} at {_when(notice.at, zone)}",
    ]
    if notice.escalation_level:
        vi.append(f"Cấp chuyển lên: {notice.escalation_level}")
        en.append(f"Escalation level: {notice.escalation_level}")
    if notice.actor:
        vi.append(f"Người thực hiện: {notice.actor}")
        en.append(f"By: {notice.actor}")
    if notice.evidence_url:
        vi.append(f"Ảnh bằng chứng: {notice.evidence_url}")
        en.append(f"Evidence snapshot: {notice.evidence_url}")
    if link:
        vi.append(f"Xem và xử lý: {link}")
        en.append(f"Open in the console: {link}")
    vi.append(f"Mã cảnh báo: {notice.alert_id}")
    en.append(f"Alert id: {notice.alert_id}")
    return Message(title=title, body="\n".join([*vi, "", "— English —", *en]))
