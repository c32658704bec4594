"""Operations KPIs from the alert store's transitions (InfluxDB measurement ``alert``).

Each transition is a point at its time with the tags ``rule_type``, ``severity``,
``site``, ``sector``, ``device``, ``state`` (open, acknowledged, resolved, escalated) and
the fields ``alert_id``, ``key``, ``opened_at`` (epoch s), ``false_alarm``,
``escalation_level``. Time to acknowledge and to resolve are measured from ``opened_at``,
so they belong to the window of the acknowledgement or resolution. A citizen report's
alert also has the tag ``category``: its openings are the reports received, by category;
its MTTA (part ``rule_type=citizen_report``) the time to first response, its MTTR the time
to resolve.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from analytics.kpis.aggregate import Aggregator
from analytics.kpis.catalogue import BY_ID
from analytics.kpis.facts import area_chain

logger = logging.getLogger(__name__)
STATES = ("open", "acknowledged", "resolved", "escalated")
CITIZEN_REPORT = "citizen_report"
"""The alert type a citizen report raises (``analytics.alerts.model.RuleType``)."""


@dataclass(slots=True, frozen=True)
class AlertTransition:
    t: float
    state: str
    rule_type: str
    severity: str
    site: str
    sector: str
    opened_at: float | None
    false_alarm: bool
    category: str = ""
    """A citizen report's category (the ``category`` tag); empty for other alerts."""


def _parts(kpi: str, transition: AlertTransition) -> list[str]:
    parts = [""]
    for name in BY_ID[kpi].parts:
        parts.append(f"{name}={getattr(transition, name)}")
    return parts


def contribute(transitions: Iterable[AlertTransition], agg: Aggregator) -> None:
    for tr in transitions:
        if tr.state not in STATES or (
            tr.state in ("acknowledged", "resolved") and tr.opened_at is None
        ):
            logger.warning(
                "alert transition at %s of %s/%s skipped: state %r%s (expected one of %s"
                " with opened_at)", tr.t, tr.site, tr.rule_type, tr.state,
                "" if tr.opened_at is not None else " without opened_at", ", ".join(STATES),
            )  # fmt: skip
            continue
        chain = area_chain(tr.site, tr.sector)
        if tr.state == "open":
            for part in _parts("alerts_opened", tr):
                agg.count("alerts_opened", chain, tr.t, part=part)
            if tr.rule_type == CITIZEN_REPORT:
                for part in _parts("citizen_reports", tr):
                    agg.count("citizen_reports", chain, tr.t, part=part)
        elif tr.state == "escalated":
            for part in _parts("alert_escalations", tr):
                agg.count("alert_escalations", chain, tr.t, part=part)
        elif tr.opened_at is not None:
            kpi = "alert_mtta" if tr.state == "acknowledged" else "alert_mttr"
            minutes = max(0.0, tr.t - tr.opened_at) / 60
            for part in _parts(kpi, tr):
                agg.value(kpi, chain, tr.t, minutes, part=part)
        if tr.state == "resolved":
            for part in _parts("false_alert_share", tr):
                agg.count("false_alert_share", chain, tr.t, float(tr.false_alarm), 1.0, part=part)
