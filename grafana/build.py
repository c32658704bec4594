"""Write the boards as Grafana dashboard JSON, one file per board, one folder per area.

The committed files under ``grafana/dashboards/`` are built from the Thái Bình scenario's
registry (its districts and site coordinates); ``citytwin grafana build --registry FILE``
builds them for another province. Grafana's file provider reads the folders as they are
(``foldersFromFilesStructure``), ``citytwin grafana push`` sends the same JSON.
"""

from __future__ import annotations

import json
from pathlib import Path

from analytics.kpis.settings import KpiSettings
from grafana.boards import all_boards
from grafana.model import Board, Json
from simulators.scenario import load_scenario
from twins.registry import RegistrySpec, SiteSpec

PACKAGE = Path(__file__).parent
DASHBOARDS = PACKAGE / "dashboards"
PROVISIONING = PACKAGE / "provisioning"
DEFAULT_SCENARIO = PACKAGE.parent / "simulators" / "scenarios" / "thaibinh.yaml"
DEFAULT_CONSOLE = "http://localhost:8080"


def scenario_sites(path: Path = DEFAULT_SCENARIO) -> list[SiteSpec]:
    """The sites of a simulator scenario's registry."""
    return list(load_scenario(path).registry_spec().sites)


def registry_sites(path: Path) -> list[SiteSpec]:
    """The sites of a registry file."""
    import yaml

    return list(RegistrySpec.model_validate(yaml.safe_load(path.read_text("utf-8"))).sites)


def boards(
    sites: list[SiteSpec] | None = None,
    console_url: str = DEFAULT_CONSOLE,
    kpis: KpiSettings | None = None,
) -> list[Board]:
    """Every board, for ``sites`` (default: the Thái Bình scenario's)."""
    return all_boards(
        scenario_sites() if sites is None else sites, console_url, kpis or KpiSettings()
    )


def board_text(board: Json) -> str:
    """The file content of a board: stable key order, Vietnamese kept readable."""
    return json.dumps(board, ensure_ascii=False, indent=2) + "\n"


def board_path(root: Path, board: Board) -> Path:
    return root / board.folder / f"{board.uid}.json"


def write_boards(root: Path, built: list[Board]) -> list[Path]:
    """Write every board under ``root/<folder>/<uid>.json``; stale board files are removed."""
    written = []
    for board in built:
        path = board_path(root, board)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(board_text(board.json()), encoding="utf-8")
        written.append(path)
    for stale in set(root.glob("*/*.json")) - set(written):
        stale.unlink()
    return written
