"""How long the effectiveness report takes to render: the province's month with every
KPI of the catalogue charted (the largest report there is) and alerts in every table.

    .venv/bin/python benchmarks/report_bench.py [--alerts 300] [--rounds 3]

Rendering only (charts, HTML, PDF layout): the data is made here, not read from InfluxDB
and the alert store, whose reads are a few queries per report.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analytics.alerts.model import AlertKey, AlertState, RuleType, Severity  # noqa: E402
from analytics.alerts.records import Alert, Resolution  # noqa: E402
from analytics.kpis.catalogue import CATALOGUE  # noqa: E402
from analytics.kpis.scorecard import build_scorecard  # noqa: E402
from analytics.report.gather import ReportData  # noqa: E402
from analytics.report.incidents import summarise  # noqa: E402
from analytics.report.period import PeriodKind, period_holding  # noqa: E402
from analytics.report.render import write_report  # noqa: E402
from analytics.report.scope import ReportScope  # noqa: E402


def _alerts(count: int, start: datetime) -> list[Alert]:
    types, found = list(RuleType), []
    for n in range(count):
        opened = start + timedelta(minutes=137 * n)
        found.append(
            Alert(
                f"a{n}", AlertKey("rule", f"site/dev-{n % 40}"), types[n % len(types)],
                Severity(1 + n % 4), AlertState.RESOLVED, "site", "health", opened,
                opened + timedelta(minutes=2 + n % 9), "operator", opened + timedelta(
                    minutes=15 + n % 60), "operator", Resolution.MANUAL, None, 0, None, None,
                "Cảnh báo", "Alert", {},
            )
        )  # fmt: skip
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alerts", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    period = period_holding(PeriodKind.MONTH, date(2026, 11, 1))
    values = {kpi.id: 50.0 + i for i, kpi in enumerate(CATALOGUE)}
    card = build_scorecard("province", period.window, period.start, values, values)
    daily = {
        kpi.id: [(day, 40.0 + (i * j) % 17) for j, day in enumerate(period.days)]
        for i, kpi in enumerate(CATALOGUE)
    }
    end = datetime.fromtimestamp(period.end, UTC)
    alerts = summarise(_alerts(args.alerts, datetime.fromtimestamp(period.start, UTC)), end)
    data = ReportData(
        ReportScope("province", None, "Tỉnh Thái Bình"), period, card, daily, alerts, end
    )
    with tempfile.TemporaryDirectory() as out:
        for round_ in range(1, args.rounds + 1):
            began, cpu = time.perf_counter(), time.process_time()
            files = write_report(data, "vi", Path(out))
            print(
                f"round {round_}: {time.perf_counter() - began:.2f} s wall,"
                f" {time.process_time() - cpu:.2f} s CPU; {len(daily)} charts,"
                f" {args.alerts} alerts; PDF {files.pdf.stat().st_size / 1e6:.2f} MB,"
                f" HTML {files.html.stat().st_size / 1e6:.2f} MB"
            )


if __name__ == "__main__":
    main()
