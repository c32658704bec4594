"""`citytwin report` over a stored week: the PDF's pages read back as text and pixels."""

from __future__ import annotations

from pathlib import Path

from analytics.alerts.model import Severity
from analytics.report.charts import (
    ACKNOWLEDGE_COLOUR,
    SERIES_COLOUR,
    SEVERITY_COLOURS,
    TARGET_COLOUR,
)
from tests.analytics.report.conftest import CliRun
from tests.analytics.report.pdf import line_with, page_pixels, page_texts, pixels_of
from tests.analytics.report.week import QUIET_SITE, SITE, SITE_NAME

ENOUGH = 150
"""Pixels of a colour that make a drawn line or bar at 144 dpi (a 2-px line across a
chart is several hundred); text and antialiasing of other colours stay far below."""


def _pdf(out: Path, stem: str) -> Path:
    html, pdf = out / f"{stem}.html", out / f"{stem}.pdf"
    assert html.is_file()
    assert pdf.is_file()
    return pdf


def test_the_vietnamese_report_shows_the_week_kpis_charts_and_alerts(
    run_report_process: CliRun, tmp_path: Path
) -> None:
    result = run_report_process(
        "--site", SITE, "--start", "2026-11-25", "--out", str(tmp_path / "out")
    )
    assert result.returncode == 0, result.stderr
    pdf = _pdf(tmp_path / "out", f"report-{SITE}-2026-W48")
    assert "Đã ghi báo cáo" in result.stdout
    pages = page_texts(pdf)
    assert len(pages) >= 3
    first = pages[0]
    assert "Báo cáo hiệu quả vận hành" in first
    assert SITE_NAME in first
    assert "Tuần 48/2026 (23/11/2026 – 29/11/2026)" in first
    waiting = line_with(first, "Thời gian chờ trung bình")
    assert "12,4 phút" in waiting
    assert "≤ 15 phút" in waiting
    assert "Đạt" in waiting
    assert "14 phút" in waiting
    assert "Cải thiện" in waiting
    availability = line_with(first, "Tỷ lệ có mặt của cán bộ")
    assert "88%" in availability
    assert "Không đạt" in availability
    assert "Xấu đi" in availability
    assert "Gần đạt" in line_with(first, "Tỷ lệ gọi số đúng hạn")
    # the alert KPIs as the KPI engine computed them from the exported transitions
    assert "15" in line_with(first, "Số cảnh báo phát sinh")
    mtta = line_with(first, "Thời gian xác nhận trung bình (MTTA)")
    assert "4,5 phút" in mtta
    assert "Đạt" in mtta
    mttr = line_with(first, "Thời gian xử lý trung bình (MTTR)")
    assert "40 phút" in mttr
    assert "Không đạt" in mttr
    assert "7,1%" in line_with(first, "Tỷ lệ cảnh báo sai")

    daily = next(i for i, text in enumerate(pages) if "Diễn biến theo ngày" in text)
    alerts = next(i for i, text in enumerate(pages) if "Cảnh báo và sự cố" in text)
    assert 0 < daily < alerts
    assert "Thời gian chờ trung bình (phút)" in pages[daily]  # a chart's caption
    charts = page_pixels(pdf, daily)
    assert pixels_of(charts, SERIES_COLOUR) > ENOUGH
    assert pixels_of(charts, TARGET_COLOUR) > ENOUGH

    text = "\n".join(pages[alerts:])  # the incidents' table may go on
    assert "15 cảnh báo phát sinh, 14 đã xử lý, 1 cảnh báo sai, 1 chưa xử lý xong." in text
    acknowledge = line_with(text, "Đến khi xác nhận")
    assert acknowledge.split()[4:7] == ["14", "4,5", "phút"]  # count, mean as the MTTA
    assert acknowledge.endswith(" 1")  # the offline camera waits
    assert "40 phút" in line_with(text, "Đến khi xử lý xong")
    incidents = " ".join(text[text.index("Sự cố nổi bật") :].split())  # cells wrap
    assert incidents.count("Khẩn cấp") == 7  # the intrusions first, then the longest absences
    assert incidents.count("Nghiêm trọng") == 3
    assert incidents.index("Khẩn cấp") < incidents.index("Nghiêm trọng")
    assert "50 phút" in incidents  # Sunday's absence, the longest
    assert "cam-11" not in incidents  # the offline warning ranks below the ten
    drawn = page_pixels(pdf, alerts)
    assert pixels_of(drawn, ACKNOWLEDGE_COLOUR) > ENOUGH
    assert pixels_of(drawn, SEVERITY_COLOURS[Severity.CRITICAL], tolerance=16) > ENOUGH
    assert pixels_of(drawn, SEVERITY_COLOURS[Severity.MAJOR]) > ENOUGH


def test_the_report_in_english(run_report: CliRun, tmp_path: Path) -> None:
    result = run_report(
        "--site", SITE, "--start", "2026-11-23", "--lang", "en", "--out", str(tmp_path)
    )
    assert result.returncode == 0, result.stderr
    assert "Report written" in result.stdout
    first, *_ = pages = page_texts(_pdf(tmp_path, f"report-{SITE}-2026-W48"))
    assert "Effectiveness report" in first
    assert "Week 48 of 2026 (23 November 2026 – 29 November 2026)" in first
    waiting = line_with(first, "Mean waiting time")
    assert "12.4 min" in waiting
    assert "On target" in waiting
    assert "Improving" in waiting
    assert "Báo cáo" not in "".join(pages)
    assert any("15 alerts raised, 14 resolved, 1 false alarms" in text for text in pages)


def test_a_site_without_data_still_gets_a_report_that_says_so(
    run_report: CliRun, tmp_path: Path
) -> None:
    result = run_report("--site", QUIET_SITE, "--start", "2026-11-23", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    pdf = _pdf(tmp_path, f"report-{QUIET_SITE}-2026-W48")
    pages = page_texts(pdf)
    assert "Trạm quan trắc Kiến Xương" in pages[0]
    assert "Không có dữ liệu cho kỳ này." in pages[0]
    assert any("Không có cảnh báo nào trong kỳ này." in text for text in pages)
    daily = next(i for i, text in enumerate(pages) if "Diễn biến theo ngày" in text)
    assert pixels_of(page_pixels(pdf, daily), SERIES_COLOUR) < ENOUGH  # no chart drawn


def test_an_unknown_site_is_refused_with_the_known_ones(run_report: CliRun) -> None:
    result = run_report("--site", "thaibinh.nowhere", "--start", "2026-11-23")
    assert result.returncode == 2
    assert "'thaibinh.nowhere' is not a site of" in result.stderr
    assert f"{QUIET_SITE}, {SITE}" in result.stderr


def test_a_bad_period_is_refused(run_report: CliRun) -> None:
    result = run_report("--period", "year")
    assert result.returncode == 2
    assert "--period 'year' is not a period (one of: week, month)" in result.stderr
    later = run_report("--period", "month", "--start", "2099-01-10")
    assert later.returncode == 2
    assert "the month 2099-01 has not begun" in later.stderr


def test_an_unreachable_influxdb_is_named(run_report: CliRun, tmp_path: Path) -> None:
    from tests.services import free_port

    url = f"http://127.0.0.1:{free_port()}"
    out = tmp_path / "out"
    result = run_report("--site", SITE, "--start", "2026-11-23", "--out", str(out), influx_url=url)
    assert result.returncode == 3
    assert f"InfluxDB at {url} did not answer" in result.stderr
    assert not out.exists()


def test_the_province_month_reports_every_site_and_what_the_engine_wrote(
    run_report: CliRun, tmp_path: Path
) -> None:
    result = run_report("--period", "month", "--start", "2026-11-30", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    pages = page_texts(_pdf(tmp_path, "report-province-2026-11"))
    assert "Tỉnh Thái Bình" in pages[0]
    assert "Tháng 11/2026 (01/11/2026 – 30/11/2026)" in pages[0]
    # the engine wrote the week, not the month: no month values, but the days are there
    assert "Không có dữ liệu chỉ số cho kỳ này" in pages[0]
    daily = next(i for i, text in enumerate(pages) if "Diễn biến theo ngày" in text)
    assert "Số cảnh báo phát sinh" in pages[daily]
    assert "Thời gian chờ trung bình (phút)" not in pages[daily]  # a site's, not the province's
    assert any("15 cảnh báo phát sinh" in text for text in pages)


def test_a_missing_alert_store_is_named_not_created(run_report: CliRun, tmp_path: Path) -> None:
    missing = tmp_path / "var" / "alerts" / "alerts.db"
    result = run_report("--start", "2026-11-23", "--alerts-url", f"sqlite:///{missing}")
    assert result.returncode == 3
    assert f"the alert store {missing} does not exist" in result.stderr
    assert not missing.exists()
