"""Scenario files: the bundled Thái Bình pilot, compact sites, errors naming line and field."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest

from simulators.errors import ScenarioError
from simulators.scenario import load_scenario
from twins.kinds import DeviceKind, Sector
from twins.registry import Registry

PILOT_CAMERA_SECTORS = {
    Sector.HEALTH,
    Sector.PUBLIC_ADMINISTRATION,
    Sector.EDUCATION,
    Sector.CITIZEN_RECEPTION,
}


def test_thaibinh_mirrors_the_pilot() -> None:
    registry = Registry(load_scenario("thaibinh").registry_spec())
    kinds = Counter(device.kind for device in registry)
    cameras = [device for device in registry if device.kind is DeviceKind.CAMERA]
    assert len(cameras) == 95
    assert {camera.sector for camera in cameras} == PILOT_CAMERA_SECTORS
    counters_per_site = Counter(d.site_id for d in registry if d.kind is DeviceKind.COUNTER)
    assert max(counters_per_site.values()) >= 10
    assert kinds[DeviceKind.MEETING_ROOM] >= 6
    assert kinds[DeviceKind.SENSOR] >= 50
    assert kinds[DeviceKind.KIOSK] >= 1


def test_thaibinh_scripts_the_pilots_alerts() -> None:
    scenario = load_scenario("thaibinh")
    scripted = {(i.what.value, i.device, i.at.strftime("%H:%M")) for i in scenario.incidents}
    assert ("officer_absent", "thaibinh.hcc:counter-07", "11:05") in scripted
    assert ("intrusion", "thaibinh.school03:cam-gate-01", "22:10") in scripted


def test_desk_cameras_watch_their_counter() -> None:
    registry = Registry(load_scenario("thaibinh").registry_spec())
    desk = next(d for d in registry if str(d.thing_id) == "thaibinh.hcc:cam-desk-07")
    assert desk.attributes == {"scene": "counter_desk", "watches": "counter-07"}


def test_simulated_time_starts_on_the_previous_working_day() -> None:
    scenario = load_scenario("thaibinh")
    monday_noon = datetime(2026, 11, 23, 12, 0, tzinfo=scenario.tz()).timestamp()
    start = datetime.fromtimestamp(scenario.start_time(monday_noon), scenario.tz())
    assert start == datetime(2026, 11, 20, 7, 0, tzinfo=scenario.tz())  # Friday


def scenario_file(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "broken.yaml"
    path.write_text(body, encoding="utf-8")
    return path


BASE = """\
name: broken
services:
  - {code: land, name: "Đất đai", share: 1, minutes: 10}
sites:
  - id: t.hcc
    name: Trung tâm
    sector: public_administration
    counters: 2
"""


def problems_of(path: Path) -> list[str]:
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    return caught.value.problems


def test_unknown_device_in_an_incident_names_line_and_field(tmp_path: Path) -> None:
    path = scenario_file(
        tmp_path,
        BASE
        + "incidents:\n"
        + '  - {what: officer_absent, device: "t.hcc:counter-01", at: "09:00"}\n'
        + "  - what: officer_absent\n"
        + '    device: "t.hcc:counter-09"\n'
        + '    at: "09:00"\n',
    )
    assert problems_of(path) == [
        f"{path}:12: incidents[1].device: no device 't.hcc:counter-09' in the scenario"
    ]


def test_wrong_value_names_line_and_field(tmp_path: Path) -> None:
    path = scenario_file(tmp_path, BASE.replace("sector: public_administration", "sector: mall"))
    [problem] = problems_of(path)
    assert problem.startswith(f"{path}:7: sites[0].sector: Input should be")


def test_misspelt_field_is_named(tmp_path: Path) -> None:
    path = scenario_file(tmp_path, BASE.replace("counters: 2", "countres: 2"))
    assert problems_of(path) == [f"{path}:8: sites[0].countres: unknown field (check the spelling)"]


def test_incident_on_the_wrong_kind_of_device(tmp_path: Path) -> None:
    path = scenario_file(
        tmp_path,
        BASE + "incidents:\n" + '  - {what: intrusion, device: "t.hcc:counter-01", at: "22:10"}\n',
    )
    [problem] = problems_of(path)
    assert problem == (
        f"{path}:10: incidents[0].device: intrusion needs a camera,"
        " but t.hcc:counter-01 is a counter"
    )


def test_repeated_sites_must_expand_to_valid_ids(tmp_path: Path) -> None:
    path = scenario_file(tmp_path, BASE.replace("id: t.hcc", 'id: "t.hcc-{n}"\n    repeat: 2'))
    [problem] = problems_of(path)
    assert problem.startswith(f"{path}:5: sites[0].id: String should match pattern")


def test_unknown_bundled_name_lists_the_bundled_ones() -> None:
    with pytest.raises(ScenarioError, match="bundled: smoke, thaibinh"):
        load_scenario("hanoi")
