"""The indicator catalogue: what sectors report, in which unit and period, against which
target, and whether it may be published as open data.

The province's statistics office owns the list, so it is a YAML file (``catalogue.yaml``
here, or ``indicators.catalogue`` in the settings) rather than code; a bad file is refused
with its line and field, as every citytwin YAML file is.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from analytics.indicators.periods import Period
from analytics.kpis.catalogue import Direction
from twins.yaml_source import load_yaml_model

DEFAULT_CATALOGUE = Path(__file__).with_name("catalogue.yaml")
Code = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{1,63}$")]
Sector = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{1,63}$")]


class IndicatorDefinition(BaseModel):
    """One indicator: ``minimum``/``maximum`` bound what a figure may be (a share of 140 %
    is a typing error, not a result)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    code: Code
    name_vi: Annotated[str, Field(min_length=1, max_length=200)]
    name_en: Annotated[str, Field(min_length=1, max_length=200)]
    unit: Annotated[str, Field(min_length=1, max_length=40)]
    period: Period
    sector: Sector
    target: float | None = None
    direction: Direction = Direction.HIGHER
    tolerance: Annotated[float, Field(ge=0, le=1)] = 0.10
    minimum: float | None = None
    maximum: float | None = None
    public: bool = False

    @model_validator(mode="after")
    def _bounds_in_order(self) -> IndicatorDefinition:
        if self.minimum is not None and self.maximum is not None and self.minimum > self.maximum:
            raise ValueError(f"minimum {self.minimum} is above maximum {self.maximum}")
        return self


class IndicatorCatalogue(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Annotated[str, Field(min_length=1, max_length=40)]
    indicators: Annotated[list[IndicatorDefinition], Field(min_length=1)]

    @model_validator(mode="after")
    def _codes_unique(self) -> IndicatorCatalogue:
        seen: set[str] = set()
        for definition in self.indicators:
            if definition.code in seen:
                raise ValueError(f"indicator {definition.code!r} is listed twice")
            seen.add(definition.code)
        return self

    def get(self, code: str) -> IndicatorDefinition | None:
        for definition in self.indicators:
            if definition.code == code:
                return definition
        return None

    def public(self) -> list[IndicatorDefinition]:
        return [definition for definition in self.indicators if definition.public]


def load_catalogue(path: Path | None = None) -> IndicatorCatalogue:
    """The catalogue at ``path`` (the shipped one by default); ``YamlModelError`` naming
    the line and field of what is wrong."""
    return load_yaml_model(path or DEFAULT_CATALOGUE, IndicatorCatalogue)
