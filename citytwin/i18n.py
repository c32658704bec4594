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
    "state": {"vi": "trạng thái", "en": "state"},
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
    "credentials_at": {
        "vi": "Mật khẩu thiết bị (chỉ chủ sở hữu đọc được): {path}",
        "en": "Device passwords (owner-readable only): {path}",
    },
}


def text(message_id: str, language: Language, **values: object) -> str:
    """The message in ``language`` with ``values`` filled in."""
    return MESSAGES[message_id][language].format(**values)
