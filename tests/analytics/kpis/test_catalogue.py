"""The catalogue is complete, consistent, and docs/kpis.md is what it generates."""

from __future__ import annotations

from pathlib import Path

from analytics.kpis.catalogue import CATALOGUE, CATALOGUE_VERSION, Aggregation, Domain
from analytics.kpis.docs import render

DOCS = Path(__file__).resolve().parents[3] / "docs" / "kpis.md"


def test_docs_are_generated_from_the_catalogue() -> None:
    assert DOCS.read_text(encoding="utf-8") == render(), (
        "docs/kpis.md differs from the catalogue: run"
        " `.venv/bin/python -m analytics.kpis.docs docs/kpis.md`"
    )


def test_the_page_gives_every_kpi_with_formula_unit_target_direction_and_source() -> None:
    page = render()
    assert CATALOGUE_VERSION in page
    for kpi in CATALOGUE:
        row = next(
            line for line in page.splitlines() if line.startswith(f"| `{kpi.id}` | {kpi.name_vi}")
        )
        for text in (kpi.name_en, kpi.formula, kpi.unit.value, kpi.direction.value, kpi.source):
            assert text.replace("|", "\\|") in row, (kpi.id, text)


def test_at_least_thirty_kpis_with_unique_ids_across_every_domain() -> None:
    ids = [kpi.id for kpi in CATALOGUE]
    assert len(ids) >= 30
    assert len(set(ids)) == len(ids)
    assert {kpi.domain for kpi in CATALOGUE} == set(Domain)
    for kpi in CATALOGUE:
        assert kpi.name_vi != kpi.name_en, kpi.id
        assert (kpi.aggregation is Aggregation.QUANTILE) == (kpi.quantile is not None), kpi.id
        assert kpi.scopes, kpi.id
        assert kpi.truth_note, kpi.id
