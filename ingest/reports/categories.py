"""The fixed list of what a citizen may report, with its names in both languages.

The list is closed on purpose: the operator's inbox, the alerts and the KPIs group by it,
and a free-text category would split one problem over many spellings.
"""

from __future__ import annotations

from enum import StrEnum


class ReportCategory(StrEnum):
    """What a report is about."""

    ROAD = "road"
    LIGHTING = "lighting"
    WASTE = "waste"
    FLOODING = "flooding"
    WATER_SUPPLY = "water_supply"
    POLLUTION = "pollution"
    TRAFFIC = "traffic"
    PUBLIC_ORDER = "public_order"
    PUBLIC_SERVICE = "public_service"
    OTHER = "other"


CATEGORY_NAMES: dict[ReportCategory, dict[str, str]] = {
    ReportCategory.ROAD: {"vi": "Hư hỏng đường, cầu", "en": "Damaged road or bridge"},
    ReportCategory.LIGHTING: {"vi": "Chiếu sáng công cộng", "en": "Street lighting"},
    ReportCategory.WASTE: {"vi": "Rác thải, vệ sinh", "en": "Waste and sanitation"},
    ReportCategory.FLOODING: {"vi": "Ngập úng", "en": "Flooding"},
    ReportCategory.WATER_SUPPLY: {"vi": "Cấp nước", "en": "Water supply"},
    ReportCategory.POLLUTION: {"vi": "Ô nhiễm môi trường", "en": "Pollution"},
    ReportCategory.TRAFFIC: {"vi": "Trật tự giao thông", "en": "Traffic order"},
    ReportCategory.PUBLIC_ORDER: {"vi": "An ninh, trật tự", "en": "Public order"},
    ReportCategory.PUBLIC_SERVICE: {"vi": "Dịch vụ công", "en": "Public service"},
    ReportCategory.OTHER: {"vi": "Khác", "en": "Other"},
}
