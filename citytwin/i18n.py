"""Operator-facing text: Vietnamese first, English on request (``language: en``).

A small catalogue keyed by message id. gettext would need compiled ``.mo`` files and a
build step for a few dozen CLI strings; the console's own strings live with its templates.
"""

from __future__ import annotations

from typing import Literal

Language = Literal["vi", "en"]

MESSAGES: dict[str, dict[Language, str]] = {
    "healthy": {"vi": "hoạt động", "en": "healthy"},
    "unhealthy": {"vi": "không phản hồi", "en": "not answering"},
    "component": {"vi": "thành phần", "en": "component"},
    "endpoint": {"vi": "địa chỉ", "en": "endpoint"},
    "state": {"vi": "Trạng thái", "en": "State"},
    "all_healthy": {"vi": "Tất cả thành phần hoạt động.", "en": "All components healthy."},
    "some_unhealthy": {
        "vi": "Có thành phần không phản hồi: {names}.",
        "en": "Components not answering: {names}.",
    },
    "config_ok": {"vi": "Cấu hình hợp lệ.", "en": "Configuration is valid."},
    "config_bad": {
        "vi": "Cấu hình có {count} lỗi:",
        "en": "The configuration has {count} problem(s):",
    },
    "stack_starting": {
        "vi": "Đang khởi động citytwin (thư mục trạng thái {state_dir})…",
        "en": "Starting citytwin (state directory {state_dir})…",
    },
    "stack_ready": {
        "vi": "citytwin đã sẵn sàng: {url} — nhấn Ctrl-C để dừng.",
        "en": "citytwin is ready: {url} — press Ctrl-C to stop.",
    },
    "stack_stopped": {"vi": "citytwin đã dừng.", "en": "citytwin stopped."},
    "cannot_start": {"vi": "Không thể khởi động:", "en": "Cannot start:"},
    "provisioned": {
        "vi": "Đã cấp phát {total} thiết bị: thêm {added}, giữ {kept}, thu hồi {revoked}.",
        "en": "Provisioned {total} devices: {added} added, {kept} kept, {revoked} revoked.",
    },
    "report_written": {
        "vi": "Đã ghi báo cáo: {html} và {pdf}",
        "en": "Report written: {html} and {pdf}",
    },
    "report_failed": {
        "vi": "Không lập được báo cáo: {error}",
        "en": "Cannot make the report: {error}",
    },
    # operator console
    "title": {"vi": "Trung tâm Giám sát, Điều hành", "en": "Monitoring and Operations Centre"},
    "province": {"vi": "tỉnh Thái Bình", "en": "Thái Bình province"},
    "devices": {"vi": "Thiết bị", "en": "Devices"},
    "online": {"vi": "trực tuyến", "en": "online"},
    "offline": {"vi": "mất kết nối", "en": "offline"},
    "site": {"vi": "Địa điểm", "en": "Site"},
    "device": {"vi": "Thiết bị", "en": "Device"},
    "reading": {"vi": "Số liệu", "en": "Reading"},
    "last_seen": {"vi": "Lần cuối", "en": "Last seen"},
    "switch": {"vi": "English", "en": "Tiếng Việt"},
    "unavailable": {
        "vi": "Không đọc được dữ liệu bản sao số: {error}",
        "en": "Cannot read the twins: {error}",
    },
    "camera": {"vi": "Camera", "en": "Cameras"},
    "sensor": {"vi": "Cảm biến", "en": "Sensors"},
    "counter": {"vi": "Quầy dịch vụ", "en": "Service counters"},
    "kiosk": {"vi": "Máy lấy số", "en": "Queue kiosks"},
    "meeting_room": {"vi": "Phòng họp", "en": "Meeting rooms"},
    "health": {"vi": "Y tế", "en": "Health"},
    "education": {"vi": "Giáo dục", "en": "Education"},
    "public_administration": {"vi": "Hành chính công", "en": "Public administration"},
    "citizen_reception": {"vi": "Tiếp công dân", "en": "Citizen reception"},
    "environment": {"vi": "Môi trường", "en": "Environment"},
    "transport": {"vi": "Giao thông", "en": "Transport"},
    "government_office": {"vi": "Cơ quan nhà nước", "en": "Government office"},
    "twins_later": {
        "vi": "Chưa tạo được bản sao số (dịch vụ chưa chạy?): {error}. Sẽ tạo khi `citytwin up`.",
        "en": "Twins not created (is the twin service running?): {error}. `citytwin up` will.",
    },
    "twins_done": {
        "vi": "Bản sao số: tạo mới {created}, cập nhật {updated}.",
        "en": "Twins: {created} created, {updated} updated.",
    },
    "login_failed": {
        "vi": "Sai tên đăng nhập hoặc mật khẩu.",
        "en": "Wrong user name or password.",
    },
    "counter_reading": {
        "vi": "{waiting} người chờ · cán bộ {officer}",
        "en": "{waiting} waiting · officer {officer}",
    },
    "officer_present": {"vi": "có mặt", "en": "present"},
    "officer_absent": {"vi": "vắng mặt", "en": "absent"},
    "room_reading": {"vi": "{people} người", "en": "{people} people"},
    "kiosk_reading": {"vi": "{queue} số đang chờ", "en": "{queue} tickets waiting"},
    # camera wall
    "wall_title": {"vi": "Màn hình camera", "en": "Camera wall"},
    "overview_link": {"vi": "Tổng quan", "en": "Overview"},
    "no_signal": {"vi": "mất tín hiệu", "en": "no signal"},
    "stream_up": {"vi": "hoạt động", "en": "up"},
    "camera_count": {"vi": "{count} camera", "en": "{count} camera(s)"},
    "stream_down": {"vi": "mất luồng", "en": "down"},
    "stream_unknown": {"vi": "chưa rõ", "en": "unknown"},
    "connecting": {"vi": "đang kết nối…", "en": "connecting…"},
    "enlarge": {"vi": "Nhấn để phóng to / thu nhỏ", "en": "Click to enlarge / shrink"},
    "link_expired": {
        "vi": "Liên kết màn hình đã hết hạn: cần liên kết mới.",
        "en": "This screen's link has expired: a new link is needed.",
    },
    "link_refused": {
        "vi": "Liên kết không hợp lệ: {error}",
        "en": "The link is not valid: {error}",
    },
    "no_cameras": {"vi": "Không có camera nào để hiển thị.", "en": "No cameras to show."},
    # alert inbox and KPI scorecard
    "alerts_title": {"vi": "Hộp cảnh báo", "en": "Alert inbox"},
    "kpis_title": {"vi": "Bảng chỉ số KPI", "en": "KPI scorecard"},
    "alerts_live": {"vi": "trực tiếp", "en": "live"},
    "alerts_offline": {"vi": "mất kết nối trực tiếp", "en": "live feed lost"},
    "alerts_none": {"vi": "Không có cảnh báo nào.", "en": "No alerts."},
    "alerts_any": {"vi": "tất cả", "en": "any"},
    "alerts_severity": {"vi": "Mức độ", "en": "Severity"},
    "alerts_rule_type": {"vi": "Loại", "en": "Type"},
    "alerts_opened_at": {"vi": "Phát sinh", "en": "Raised"},
    "alerts_message": {"vi": "Nội dung", "en": "Message"},
    "alerts_assignee": {"vi": "Người xử lý", "en": "Assignee"},
    "alerts_actions": {"vi": "Thao tác", "en": "Actions"},
    "alerts_acknowledge": {"vi": "Xác nhận", "en": "Acknowledge"},
    "alerts_resolve": {"vi": "Đã xử lý", "en": "Resolve"},
    "alerts_false_alarm": {"vi": "Báo động giả", "en": "False alarm"},
    "alerts_history": {"vi": "Lịch sử", "en": "History"},
    "alerts_note": {"vi": "Ghi chú…", "en": "Note…"},
    "alerts_add_note": {"vi": "Thêm ghi chú", "en": "Add note"},
    "alerts_assign": {"vi": "Giao xử lý", "en": "Assign"},
    "alerts_evidence": {"vi": "Ảnh chụp", "en": "Snapshot"},
    "alerts_close": {"vi": "Đóng", "en": "Close"},
    "alerts_signed_in": {"vi": "Đăng nhập: {name} ({role})", "en": "Signed in: {name} ({role})"},
    "alerts_refused": {"vi": "Không thực hiện được: {error}", "en": "Not done: {error}"},
    "state_open": {"vi": "mới", "en": "open"},
    "state_acknowledged": {"vi": "đã xác nhận", "en": "acknowledged"},
    "state_resolved": {"vi": "đã xử lý", "en": "resolved"},
    "severity_info": {"vi": "thông tin", "en": "info"},
    "severity_warning": {"vi": "cảnh báo", "en": "warning"},
    "severity_major": {"vi": "nghiêm trọng", "en": "major"},
    "severity_critical": {"vi": "khẩn cấp", "en": "critical"},
    "rule_threshold": {"vi": "vượt ngưỡng", "en": "threshold"},
    "rule_stuck": {"vi": "số liệu đứng yên", "en": "stuck reading"},
    "rule_offline": {"vi": "mất kết nối", "en": "offline"},
    "rule_stream_down": {"vi": "mất luồng camera", "en": "stream down"},
    "rule_officer_absence": {"vi": "cán bộ vắng mặt", "en": "officer absent"},
    "rule_intrusion": {"vi": "xâm nhập", "en": "intrusion"},
    "rule_queue_overload": {"vi": "quá tải hàng chờ", "en": "queue overload"},
    "rule_ghost_booking": {"vi": "đặt phòng không dùng", "en": "ghost booking"},
    "rule_unbooked_use": {"vi": "dùng phòng không đặt", "en": "unbooked use"},
    "rule_citizen_report": {"vi": "phản ánh của người dân", "en": "citizen report"},
    "action_opened": {"vi": "phát sinh", "en": "opened"},
    "action_updated": {"vi": "cập nhật", "en": "updated"},
    "action_acknowledged": {"vi": "xác nhận", "en": "acknowledged"},
    "action_resolved": {"vi": "xử lý xong", "en": "resolved"},
    "action_escalated": {"vi": "leo thang", "en": "escalated"},
    "action_assigned": {"vi": "giao xử lý", "en": "assigned"},
    "action_noted": {"vi": "ghi chú", "en": "note"},
    "action_evidence": {"vi": "ảnh chụp", "en": "snapshot"},
    "kpi_scope": {"vi": "Phạm vi", "en": "Scope"},
    "kpi_window": {"vi": "Kỳ", "en": "Period"},
    "kpi_name": {"vi": "Chỉ số", "en": "KPI"},
    "kpi_actual": {"vi": "Thực tế", "en": "Actual"},
    "kpi_target": {"vi": "Mục tiêu", "en": "Target"},
    "kpi_previous": {"vi": "Kỳ trước", "en": "Previous"},
    "kpi_light": {"vi": "Đánh giá", "en": "Status"},
    "kpi_trend": {"vi": "Xu hướng", "en": "Trend"},
    "kpi_none": {
        "vi": "Chưa có số liệu KPI cho phạm vi và kỳ này.",
        "en": "No KPI values for this scope and period yet.",
    },
    "indicators_title": {"vi": "Chỉ tiêu kinh tế – xã hội", "en": "Sector indicators"},
    "indicator_period": {"vi": "Kỳ báo cáo", "en": "Reported period"},
    "indicator_none": {
        "vi": "Các sở, ngành chưa báo cáo chỉ tiêu nào cho phạm vi này.",
        "en": "No sector has reported an indicator for this scope yet.",
    },
    "kpi_unavailable": {
        "vi": "Không đọc được số liệu KPI: {error}",
        "en": "Cannot read the KPIs: {error}",
    },
    "light_green": {"vi": "đạt", "en": "on target"},
    "light_amber": {"vi": "gần đạt", "en": "near target"},
    "light_red": {"vi": "không đạt", "en": "off target"},
    "light_none": {"vi": "không có mục tiêu", "en": "no target"},
    "trend_improving": {"vi": "cải thiện", "en": "improving"},
    "trend_worsening": {"vi": "xấu đi", "en": "worsening"},
    "trend_steady": {"vi": "ổn định", "en": "steady"},
    "trend_new": {"vi": "mới", "en": "new"},
    "window_15m": {"vi": "15 phút", "en": "15 minutes"},
    "window_hour": {"vi": "giờ", "en": "hour"},
    "window_day": {"vi": "ngày", "en": "day"},
    "window_week": {"vi": "tuần", "en": "week"},
    "window_month": {"vi": "tháng", "en": "month"},
    "role_viewer": {"vi": "xem", "en": "viewer"},
    "role_operator": {"vi": "trực ban", "en": "operator"},
    "role_admin": {"vi": "quản trị", "en": "admin"},
    # simulator CLI
    "sim_provisioned": {
        "vi": "Đã cấp quyền {devices} thiết bị của kịch bản {scenario} ({added} mới); sự thật "
        "nền: {truth}",
        "en": "Provisioned {devices} devices of scenario {scenario} ({added} new); ground "
        "truth: {truth}",
    },
    "sim_progress": {
        "vi": "\r{sim} ×{speed:g}{live} | {rate:.0f} tin/s | {online}/{devices} thiết bị trực "
        "tuyến | {incidents} sự cố | đệm {buffered} | {streams} luồng video ",
        "en": "\r{sim} ×{speed:g}{live} | {rate:.0f} msg/s | {online}/{devices} devices "
        "online | {incidents} incidents | buffered {buffered} | {streams} video streams "
        "",
    },
    "sim_live": {
        "vi": " (thời gian thực)",
        "en": " (live)",
    },
    "sim_summary": {
        "vi": "Kết thúc {scenario}: {start} → {end} trong {wall:.0f} s; {messages} tin nhắn, "
        "{incidents} sự cố, {reconnects} lần kết nối lại, {dropped} tin bị bỏ.",
        "en": "Finished {scenario}: {start} → {end} in {wall:.0f} s; {messages} messages, "
        "{incidents} incidents, {reconnects} reconnects, {dropped} dropped.",
    },
    "sim_truth": {
        "vi": "Sự thật nền ({lines} dòng): {path}",
        "en": "Ground truth ({lines} lines): {path}",
    },
    "sim_stream": {
        "vi": "Luồng camera: {thing} {url}",
        "en": "Camera stream: {thing} {url}",
    },
    "sim_bad_scenario": {
        "vi": "Kịch bản không hợp lệ:",
        "en": "Invalid scenario:",
    },
    "sim_failed": {
        "vi": "Mô phỏng thất bại: {error}",
        "en": "Simulation failed: {error}",
    },
    "sim_bad_duration": {
        "vi": "thời lượng '{value}' không hợp lệ; ví dụ 10m, 90s, 2h",
        "en": "duration '{value}' is not valid; e.g. 10m, 90s, 2h",
    },
    "credentials_at": {
        "vi": "Mật khẩu thiết bị (chỉ chủ sở hữu đọc được): {path}",
        "en": "Device passwords (owner-readable only): {path}",
    },
}


def text(message_id: str, language: Language, **values: object) -> str:
    """The message in ``language`` with ``values`` filled in."""
    return MESSAGES[message_id][language].format(**values)
