"""Camera rules: intrusion into a restricted zone inside its hours."""

from __future__ import annotations

import fnmatch

from analytics.alerts.model import AlertSignal, RuleType
from analytics.rules.config import IntrusionRule
from analytics.rules.evaluators.base import Evaluator
from analytics.rules.inputs import Fact
from twins.presence import PresenceEvent
from twins.zones import ZoneType


class IntrusionEvaluator(Evaluator[IntrusionRule]):
    """Active from the frame a person entered a watched restricted zone (the presence
    event's ``at`` and ``watched``) until the frame it was empty again; one alert per
    zone (the alert key's zone)."""

    rule_type = RuleType.INTRUSION

    def on_fact(self, fact: Fact) -> list[AlertSignal]:
        body = fact.body
        if not isinstance(body, PresenceEvent) or body.zone_type is not ZoneType.RESTRICTED:
            return []
        if not any(fnmatch.fnmatchcase(body.zone, pattern) for pattern in self.rule.zones):
            return []
        thing = self.subject.thing
        if body.present and body.watched and body.people >= self.rule.min_people:
            return self.raised(
                fact.ts,
                f"{thing}: phát hiện xâm nhập khu vực cấm '{body.zone}' ({body.people} người)",
                f"{thing}: intrusion into restricted zone '{body.zone}' ({body.people} people)",
                zone=body.zone,
                people=body.people,
            )
        if body.present and body.watched:
            return []  # fewer people than the rule needs: an open alert stays open
        return self.cleared(
            fact.ts,
            f"{thing}: khu vực cấm '{body.zone}' không còn người",
            f"{thing}: restricted zone '{body.zone}' is empty again",
            zone=body.zone,
        )
