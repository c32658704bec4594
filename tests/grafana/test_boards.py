"""The committed boards: generated, valid against Grafana's schema, and their macros
expanded as Grafana's InfluxDB datasource expands them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from analytics.kpis.catalogue import CATALOGUE
from analytics.kpis.scorecard import Light, light_of
from grafana.boards import traffic_light
from grafana.build import DASHBOARDS, boards, write_boards
from grafana.errors import BoardError
from grafana.influxql import Selection, expand, format_interval, group_interval

SCHEMAS = Path(__file__).resolve().parents[3] / "shared" / "ref" / "grafana" / "foundation-sdk-main"
if not SCHEMAS.exists():
    SCHEMAS = Path("/work/shared/ref/grafana/foundation-sdk-main")
COMMITTED = sorted(DASHBOARDS.glob("*/*.json"))


def _schema(name: str) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads((SCHEMAS / name).read_text(encoding="utf-8"))
    return schema


def test_regenerating_the_boards_gives_the_committed_files(tmp_path: Path) -> None:
    written = write_boards(tmp_path, boards())
    assert sorted(p.relative_to(DASHBOARDS) for p in COMMITTED) == sorted(
        p.relative_to(tmp_path) for p in written
    )
    for path in written:
        committed = DASHBOARDS / path.relative_to(tmp_path)
        assert committed.read_bytes() == path.read_bytes(), f"{committed} is stale: rebuild"


@pytest.mark.parametrize("path", COMMITTED, ids=lambda p: p.stem)
def test_each_board_validates_against_grafanas_dashboard_schema(path: Path) -> None:
    validator = jsonschema.Draft7Validator(_schema("dashboard.jsonschema.json"))
    board = json.loads(path.read_text(encoding="utf-8"))
    problems = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(board)]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("path", COMMITTED, ids=lambda p: p.stem)
def test_each_time_series_panel_validates_against_the_panel_schema(path: Path) -> None:
    definitions = _schema("timeseries.jsonschema.json")["definitions"]
    board = json.loads(path.read_text(encoding="utf-8"))
    for panel in board["panels"]:
        if panel["type"] != "timeseries":
            continue
        for name, value in (
            ("Options", panel["options"]),
            ("FieldConfig", panel["fieldConfig"]["defaults"].get("custom", {})),
        ):
            schema = {"$ref": f"#/definitions/{name}", "definitions": definitions}
            errors = [e.message for e in jsonschema.Draft7Validator(schema).iter_errors(value)]
            assert not errors, f"{board['uid']} «{panel['title']}» {name}: {errors}"


def test_the_schema_refuses_a_panel_with_an_unknown_key() -> None:
    """The schema is strict enough to catch a misspelt panel key."""
    board = boards()[0].json()
    board["panels"][0]["gridpos"] = {"h": 1}
    validator = jsonschema.Draft7Validator(_schema("dashboard.jsonschema.json"))
    assert any("gridpos" in e.message for e in validator.iter_errors(board))


def _vietnamese(text: str) -> bool:
    """Letters outside ASCII (µ of µg/m³ aside): Vietnamese ones."""
    return any(c.isalpha() and not c.isascii() and c != "µ" for c in text)


def test_every_title_is_vietnamese_and_every_description_english() -> None:
    for board in boards():
        body = board.json()
        for panel in body["panels"]:
            assert panel["title"], panel
            assert panel["description"], panel
            assert not _vietnamese(panel["description"]), panel["title"]
    titles = [p["title"] for b in boards() for p in b.json()["panels"]] + [
        b.title for b in boards()
    ]
    assert sum(_vietnamese(t) for t in titles) > 0.8 * len(titles)


def test_board_uids_and_panel_ids_are_unique() -> None:
    uids = [b.uid for b in boards()]
    assert len(uids) == len(set(uids)) == 9
    for board in boards():
        ids = [p["id"] for p in board.json()["panels"]]
        assert len(ids) == len(set(ids))


def test_long_range_panels_read_the_rollups() -> None:
    for board in boards():
        for panel in board.json()["panels"]:
            for target in panel.get("targets", []):
                if panel.get("timeFrom") == "30d":
                    assert '"rollup_1m".' in target["query"], panel["title"]
                    assert '"mean_' in target["query"], panel["title"]
                else:
                    assert "rollup_1m" not in target.get("query", ""), panel["title"]


@pytest.mark.parametrize("kpi", [d for d in CATALOGUE if d.target is not None], ids=lambda d: d.id)
def test_the_scorecards_traffic_lights_agree_with_the_scorecard(kpi: Any) -> None:
    steps = traffic_light(kpi)["steps"]
    colours = {"green": Light.GREEN, "orange": Light.AMBER, "red": Light.RED}
    target = kpi.target
    for actual in (target * 0.5, target * 0.95, target, target * 1.05, target * 1.5, 0.0, 1.0):
        colour = steps[0]["color"]
        for step in steps[1:]:
            if actual >= step["value"]:
                colour = step["color"]
        assert colours[colour] is light_of(kpi, actual), (kpi.id, actual, steps)


SITES = Selection(("a.hcc", "b.hcc"), multi=True)
ALL_SITES = Selection((), True, True, "", ("a.hcc", "b/c"))


def test_time_filter_and_intervals_expand_as_grafana_does() -> None:
    query = "SELECT mean(x) FROM m WHERE $timeFilter GROUP BY time($__interval)"
    got = expand(query, from_ms=0, to_ms=90_000_000, variables={}, max_data_points=1000)
    assert got == "SELECT mean(x) FROM m WHERE time >= 0ms and time <= 90000000ms GROUP BY time(1m)"
    assert expand("$interval $__interval_ms", from_ms=0, to_ms=90_000_000, variables={}) == (
        "1m 90000"
    )
    assert group_interval(0, 3_600_000, 1000, "1m") == 60_000
    assert format_interval(90_000) == "1m"
    assert format_interval(7_200_000) == "2h"
    assert format_interval(500) == "500ms"


def test_multi_value_variables_become_escaped_alternatives() -> None:
    variables = {"site": SITES, "all": ALL_SITES, "one": Selection(("a.b",), multi=True)}
    got = expand("/^$site$/ /^${all}$/ /^[[one]]$/", from_ms=0, to_ms=1, variables=variables)
    assert got == r"/^(a\.hcc|b\.hcc)$/ /^(a\.hcc|b\/c)$/ /^a\.b$/"


def test_single_value_and_all_value_variables_are_not_escaped() -> None:
    variables = {
        "district": Selection((r"a\.hcc|b\.hcc",), multi=False),
        "sector": Selection((), True, True, ".*", ("x",)),
    }
    got = expand(
        "/^($district)$/ /^$sector$/ ${district:csv}", from_ms=0, to_ms=1, variables=variables
    )
    assert got == r"/^(a\.hcc|b\.hcc)$/ /^.*$/ a\.hcc|b\.hcc"


def test_an_unknown_variable_is_named() -> None:
    with pytest.raises(BoardError, match=r"\$nowhere"):
        expand("SELECT 1 FROM m WHERE x = '$nowhere'", from_ms=0, to_ms=1, variables={})


def test_provisioning_names_the_boards_datasources_and_real_settings() -> None:
    """The datasource uids are the ones every query names, and each environment variable
    the file reads is a citytwin setting (CITYTWIN_SECTION__FIELD)."""
    import re

    import yaml

    from citytwin.settings import CitytwinSettings
    from grafana.build import PROVISIONING
    from grafana.model import INFLUX_UID, SITES_UID

    text = (PROVISIONING / "datasources" / "citytwin.yml").read_text(encoding="utf-8")
    sources = yaml.safe_load(text)["datasources"]
    assert {s["uid"] for s in sources} == {INFLUX_UID, SITES_UID}
    influx = next(s for s in sources if s["uid"] == INFLUX_UID)
    assert influx["jsonData"]["version"] == "InfluxQL"
    names = re.findall(r"\$\{CITYTWIN_(\w+)\}", text)
    assert len(names) == 4
    for name in names:
        section, field = name.lower().split("__")
        model = CitytwinSettings.model_fields[section].annotation
        assert model is not None
        assert field in model.model_fields, name
    provider = yaml.safe_load((PROVISIONING / "dashboards" / "citytwin.yml").read_text("utf-8"))
    [files] = provider["providers"]
    assert files["options"]["foldersFromFilesStructure"] is True
