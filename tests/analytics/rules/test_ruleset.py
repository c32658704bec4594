"""Rule files: validated at load with file:line: field errors, reloaded without a restart."""

from __future__ import annotations

from pathlib import Path

import pytest

from analytics.alerts.model import RAISED_BY_RULES, RuleType, Severity
from analytics.rules.config import ThresholdRule
from analytics.rules.engine import RuleEngine
from analytics.rules.errors import RuleFileError
from analytics.rules.ruleset import DEFAULTS, RuleSet
from simulators.scenario import load_scenario, scenario_path
from tests.analytics.rules.feed import OFFICE_CALENDAR, Device, local, write
from twins.kinds import DeviceKind, Sector
from twins.payloads import SensorTelemetry

FLOOD = """\
site: thaibinh.flood
kind: sensor
rules:
  - id: flood-water-level
    type: threshold
    field: water_level_cm
    above: 250
    severity: critical
"""


def problems_of(directory: Path) -> list[str]:
    with pytest.raises(RuleFileError) as caught:
        RuleSet.load(directory)
    return caught.value.problems


def test_the_bundled_thaibinh_rules_load_and_cover_every_kind() -> None:
    rules = RuleSet.load(DEFAULTS / "thaibinh").current
    types = {bound.rule.type for bound in rules.rules}
    assert types == RAISED_BY_RULES
    flood = rules.for_device("thaibinh.flood", DeviceKind.SENSOR)
    water = [b.rule for b in flood if b.rule.id == "flood-water-level"]
    assert isinstance(water[0], ThresholdRule)
    assert water[0].above == 250
    assert water[0].severity is Severity.CRITICAL
    counters = rules.for_device("thaibinh.hcc", DeviceKind.COUNTER)
    absence = next(b for b in counters if b.rule.type is RuleType.OFFICER_ABSENCE)
    assert absence.calendar is not None
    assert absence.calendar.is_open(local("09:00"))
    # a pattern covers the repeated sites; a site of another province is not covered
    assert rules.for_device("thaibinh.school03", DeviceKind.CAMERA)
    assert not rules.for_device("namdinh.hcc", DeviceKind.CAMERA)


def test_a_misspelt_key_names_file_line_and_field(tmp_path: Path) -> None:
    path = write(tmp_path, "flood.yaml", FLOOD.replace("    above: 250", "    abve: 250"))
    assert problems_of(tmp_path) == [f"{path}:7: rules[0].abve: unknown field (check the spelling)"]


def test_a_wrong_value_names_file_line_and_field(tmp_path: Path) -> None:
    text = FLOOD.replace("above: 250", "above: high").replace("critical", "urgent")
    path = write(tmp_path, "flood.yaml", text)
    assert sorted(problems_of(tmp_path)) == [
        f"{path}:7: rules[0].above: Input should be a valid number, unable to parse string as a"
        " number",
        f"{path}:8: rules[0].severity: unknown severity 'urgent'"
        " (one of: info, warning, major, critical)",
    ]


def test_an_unknown_rule_type_and_one_that_does_not_fit_the_kind(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "flood.yaml",
        FLOOD
        + """\
  - {id: gate, type: intrusion}
  - {id: what, type: flooding}
""",
    )
    found = problems_of(tmp_path)
    assert found == [
        f"{path}:10: rules[2].type: unknown rule type 'flooding' (one of: threshold, stuck,"
        " offline, stream_down, officer_absence, intrusion, queue_overload, ghost_booking,"
        " unbooked_use)"
    ]
    write(tmp_path, "flood.yaml", FLOOD + "  - {id: gate, type: intrusion}\n")
    assert problems_of(tmp_path) == [
        f"{path}:9: rules[1].type: intrusion rules watch camera, not sensor"
    ]


def test_an_unknown_calendar_and_a_rule_id_used_twice(tmp_path: Path) -> None:
    write(tmp_path, "calendars.yaml", OFFICE_CALENDAR)
    write(tmp_path, "a_flood.yaml", FLOOD)
    second = write(
        tmp_path,
        "hcc/counters.yaml",
        """\
site: thaibinh.hcc
kind: counter
rules:
  - id: flood-water-level
    type: offline
  - id: absent
    type: officer_absence
    calendar: weekend
""",
    )
    found = problems_of(tmp_path)
    assert found == [
        f"{second}:4: rules[0].id: rule id 'flood-water-level' is already defined in"
        f" {tmp_path / 'a_flood.yaml'}",
        f"{second}:8: rules[1].calendar: no calendar 'weekend' in calendars.yaml (known: office)",
    ]


def test_broken_yaml_and_an_impossible_date(tmp_path: Path) -> None:
    bad = write(tmp_path, "flood.yaml", FLOOD + "  - {id: x, type: offline\n")
    calendars = write(
        tmp_path, "calendars.yaml", OFFICE_CALENDAR + "    days_off: [{date: 2026-02-31}]\n"
    )
    found = problems_of(tmp_path)
    assert found[0].startswith(f"{calendars}: not valid YAML: day is out of range")
    assert found[1].startswith(f"{bad}:10: not valid YAML")


def test_reload_keeps_the_previous_rules_when_a_file_breaks(tmp_path: Path) -> None:
    path = write(tmp_path, "flood.yaml", FLOOD)
    ruleset = RuleSet.load(tmp_path)
    first = ruleset.current
    assert ruleset.reload().changed is False  # nothing changed on disk

    path.write_text(FLOOD.replace("above: 250", "above: [250]"), encoding="utf-8")
    result = ruleset.reload()
    assert not result.ok
    assert not result.changed
    assert result.errors[0].startswith(f"{path}:7: rules[0].above:")
    assert ruleset.current is first
    assert ruleset.last_errors == result.errors

    path.write_text(FLOOD.replace("above: 250", "above: 300"), encoding="utf-8")
    result = ruleset.reload()
    assert result.ok
    assert result.changed
    assert ruleset.current.version == first.version + 1
    rule = ruleset.current.rules[0].rule
    assert isinstance(rule, ThresholdRule)
    assert rule.above == 300
    assert ruleset.last_errors == ()


def test_a_reloaded_rule_applies_to_the_running_engine(tmp_path: Path) -> None:
    path = write(tmp_path, "flood.yaml", FLOOD)
    ruleset = RuleSet.load(tmp_path)
    engine = RuleEngine(ruleset.current, allowed_lateness_s=0)
    flood = Device("thaibinh.flood:flood-04", DeviceKind.SENSOR, Sector.ENVIRONMENT)
    raised = engine.push(flood.telemetry(SensorTelemetry(water_level_cm=280), local("09:30")))
    assert [(s.active, s.key.rule) for s in raised] == [(True, "flood-water-level")]

    # an unchanged rule keeps its state: no second alert, no clear
    assert engine.apply(ruleset.current) == []
    assert engine.push(flood.telemetry(SensorTelemetry(water_level_cm=285), local("09:31"))) == []

    # the limit raised to 300: the open alert is closed, the new rule judges afresh
    path.write_text(FLOOD.replace("above: 250", "above: 300"), encoding="utf-8")
    assert ruleset.reload().changed
    withdrawn = engine.apply(ruleset.current)
    assert [(s.active, s.details["reason"]) for s in withdrawn] == [(False, "rule_reloaded")]
    assert engine.push(flood.telemetry(SensorTelemetry(water_level_cm=290), local("09:32"))) == []
    raised = engine.push(flood.telemetry(SensorTelemetry(water_level_cm=310), local("09:33")))
    assert [s.active for s in raised] == [True]

    # a rule added to the file applies to a device the engine already knows
    path.write_text(
        FLOOD.replace("above: 250", "above: 300")
        + "  - {id: flood-stuck, type: stuck, minutes: 2, samples: 3}\n",
        encoding="utf-8",
    )
    assert ruleset.reload().changed
    assert engine.apply(ruleset.current) == []  # the threshold rule is unchanged: kept
    signals = []
    for minute in ("09:34", "09:35", "09:36"):
        reading = SensorTelemetry(water_level_cm=312)
        signals += engine.push(flood.telemetry(reading, local(minute)))
    assert [(s.key.rule, s.active) for s in signals] == [("flood-stuck", True)]


def test_a_missing_directory_is_an_error(tmp_path: Path) -> None:
    found = problems_of(tmp_path / "nowhere")
    assert found == [f"{tmp_path / 'nowhere'}: not a directory of rule files"]


def test_the_bundled_rules_agree_with_the_thaibinh_scenario() -> None:
    # the simulator writes its ground truth with these limits and office hours; rules
    # that drifted from them would score as misses rather than as wrong rules
    scenario = load_scenario(scenario_path("thaibinh"))
    rules = RuleSet.load(DEFAULTS / "thaibinh").current
    thresholds = {
        b.rule.field.value: b.rule for b in rules.rules if isinstance(b.rule, ThresholdRule)
    }
    for field, limit in scenario.thresholds.model_dump().items():
        if limit is None:
            assert field not in thresholds, field
            continue
        rule = thresholds[field]
        assert rule.above == limit, field
        assert rule.clear_limit == pytest.approx(limit * 0.95), field  # the truth's hysteresis
    office = rules.calendars["office"].spec
    scenario_office = scenario.office
    assert office.hours == [
        (scenario_office.opens, scenario_office.lunch_starts),
        (scenario_office.lunch_ends, scenario_office.closes),
    ]
    assert [day.value for day in office.days] == [day.value for day in scenario_office.days]
