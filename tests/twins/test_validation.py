"""One formatter of validation errors: the same words for the same problem at every boundary."""

from __future__ import annotations

from typing import Annotated

import pytest
from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationError

from citytwin.settings import settings_problems
from twins.errors import ContractError
from twins.kinds import DeviceKind
from twins.models import describe_validation_error
from twins.payloads import parse_payload
from twins.thing_id import ThingId
from twins.topics import Channel
from twins.validation import describe, dotted, problems


def _positive(value: int) -> int:
    if value <= 0:
        raise ValueError("must be above zero")
    return value


class Item(BaseModel):
    model_config = ConfigDict(extra="forbid")

    size: Annotated[int, AfterValidator(_positive)] | str


class Order(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: list[Item]


def _error(data: object) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        Order.model_validate(data)
    return caught.value


def test_locations_drop_union_tags_and_messages_drop_value_error() -> None:
    found = problems(_error({"items": [{"size": 0}]}))
    assert (dotted(found[0].loc), found[0].message) == ("items[0].size", "must be above zero")


def test_every_boundary_words_an_unknown_field_the_same() -> None:
    error = _error({"items": [], "colour": "red"})
    assert describe(error) == "colour: unknown field (check the spelling)"
    assert describe_validation_error(error) == ("at '/colour': unknown field (check the spelling)")
    assert settings_problems(error) == [
        "colour: unknown setting (check the spelling; see `citytwin config show`)"
    ]
    with pytest.raises(ContractError, match=r"data\.colour: unknown field \(check the spelling\)"):
        parse_payload(
            ThingId("thaibinh.hcc", "kiosk-1"),
            DeviceKind.KIOSK,
            Channel.TELEMETRY,
            b'{"seq":1,"data":{"queue_length":1,"colour":"red"}}',
        )


def test_more_problems_than_shown_are_counted() -> None:
    error = _error({"items": [{"size": 0}, {"size": -1}]})
    assert describe(error, limit=1).endswith("(+3 more)")
