"""One evaluator per rule type: a deterministic state machine over one device's facts."""

from __future__ import annotations

from typing import Any

from analytics.alerts.model import RuleType
from analytics.rules.evaluators.base import Evaluator, Subject
from analytics.rules.evaluators.cameras import IntrusionEvaluator
from analytics.rules.evaluators.counters import OfficerAbsenceEvaluator, QueueOverloadEvaluator
from analytics.rules.evaluators.devices import OfflineEvaluator, StreamDownEvaluator
from analytics.rules.evaluators.rooms import GhostBookingEvaluator, UnbookedUseEvaluator
from analytics.rules.evaluators.sensors import StuckEvaluator, ThresholdEvaluator

EVALUATORS: dict[RuleType, type[Evaluator[Any]]] = {
    RuleType.THRESHOLD: ThresholdEvaluator,
    RuleType.STUCK: StuckEvaluator,
    RuleType.OFFLINE: OfflineEvaluator,
    RuleType.STREAM_DOWN: StreamDownEvaluator,
    RuleType.OFFICER_ABSENCE: OfficerAbsenceEvaluator,
    RuleType.INTRUSION: IntrusionEvaluator,
    RuleType.QUEUE_OVERLOAD: QueueOverloadEvaluator,
    RuleType.GHOST_BOOKING: GhostBookingEvaluator,
    RuleType.UNBOOKED_USE: UnbookedUseEvaluator,
}
"""The evaluator class of each rule type."""

__all__ = ["EVALUATORS", "Evaluator", "Subject"]
