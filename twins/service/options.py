"""What a request asks besides its resource: preconditions, and whether to wait for it.

Ditto takes each of these as a header or as a query parameter of the same name (the
query parameter wins when both are sent):

    condition             RQL tested against the thing before a read or write (412)
    if-match, if-none-match  ETag preconditions (headers only)
    if-equal              update | skip | skip-minimizing-merge
    response-required     false: 202 at once, no answer body
    timeout               seconds (``42``, ``42s``, ``500ms``, ``1m``), at most 60 s;
                          ``0`` means response-required=false
    allow-policy-lockout  true: a policy may leave its writer without WRITE on policy:/

All of them are parsed before anything is read or written, so a bad value is a 400 and
changes nothing. So are the query parameters that are not preconditions: ``fields``,
``extraFields``, ``namespaces`` and ``channel``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from twins.errors import DittoBadRequestError
from twins.pointer import Pointer
from twins.service.conditions import Conditions, IfEqual
from twins.service.fields import parse_fields
from twins.service.rql import parse_rql
from twins.thing_id import NAMESPACE_PATTERN

MAX_TIMEOUT_SECONDS = 60.0
_DURATION = re.compile(r"([0-9]{1,9})(ms|s|m)?")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, None: 1.0}
_NAMESPACE = re.compile(f"^{NAMESPACE_PATTERN}$")


@dataclass(slots=True, frozen=True)
class RequestOptions:
    """The parsed options of one request."""

    conditions: Conditions = field(default_factory=Conditions)
    response_required: bool = True
    allow_policy_lockout: bool = False


def _invalid(name: str, raw: str, reason: str) -> DittoBadRequestError:
    return DittoBadRequestError(
        f"the value {raw!r} of {name!r} is invalid: {reason}",
        error="header.invalid",
        description=f"Send {name!r} as a header or a query parameter with a valid value.",
    )


def _value(name: str, params: Mapping[str, str], headers: Mapping[str, str]) -> str | None:
    raw = params.get(name)
    return headers.get(name) if raw is None else raw


def parse_flag(name: str, raw: str | None, default: bool) -> bool:
    """``true``/``false`` (any case), else a 400 naming the parameter."""
    if raw is None:
        return default
    lowered = raw.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    raise _invalid(name, raw, "use true or false")


def parse_timeout(raw: str) -> float:
    """Seconds of a Ditto ``timeout``: ``42``, ``42s``, ``500ms``, ``1m``."""
    match = _DURATION.fullmatch(raw.strip())
    if match is None:
        raise _invalid("timeout", raw, "use a duration such as 10, 10s, 500ms or 1m")
    seconds = int(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if seconds > MAX_TIMEOUT_SECONDS:
        raise _invalid("timeout", raw, f"at most {MAX_TIMEOUT_SECONDS:.0f}s")
    return seconds


def parse_if_equal(raw: str | None) -> IfEqual:
    """Ditto's ``if-equal``, ``update`` when absent."""
    if raw is None:
        return IfEqual.UPDATE
    try:
        return IfEqual(raw.strip().lower())
    except ValueError:
        choices = ", ".join(member.value for member in IfEqual)
        raise _invalid("if-equal", raw, f"use one of {choices}") from None


def parse_condition(raw: str | None) -> Conditions:
    """The RQL ``condition`` (400 ``things:condition.invalid`` when it does not parse)."""
    if raw is None:
        return Conditions()
    try:
        node = parse_rql(raw)
    except DittoBadRequestError as exc:
        raise DittoBadRequestError(
            f"the condition {raw!r} is not valid RQL: {exc.message}",
            error="things:condition.invalid",
            description=exc.description,
        ) from exc
    return Conditions(condition=node, condition_text=raw)


def parse_request_options(
    params: Mapping[str, str], headers: Mapping[str, str], *, preconditions: bool = True
) -> RequestOptions:
    """Every option of a request, or the 400 of the first bad one.

    ``preconditions=False`` for requests that take none (``POST /things`` has its own).
    """
    condition = parse_condition(_value("condition", params, headers)) if preconditions else None
    if_equal = parse_if_equal(_value("if-equal", params, headers))
    response_required = parse_flag(
        "response-required", _value("response-required", params, headers), True
    )
    raw_timeout = _value("timeout", params, headers)
    if raw_timeout is not None and parse_timeout(raw_timeout) == 0:
        response_required = False
    lockout = parse_flag(
        "allow-policy-lockout", _value("allow-policy-lockout", params, headers), False
    )
    conditions = Conditions(
        if_match=headers.get("if-match") if preconditions else None,
        if_none_match=headers.get("if-none-match") if preconditions else None,
        condition=condition.condition if condition else None,
        condition_text=condition.condition_text if condition else "",
        if_equal=if_equal,
    )
    return RequestOptions(conditions, response_required, lockout)


def parse_field_param(
    params: Mapping[str, str], name: str = "fields"
) -> tuple[Pointer, ...] | None:
    """The field selector of ``fields`` (or ``extraFields``), None when absent."""
    raw = params.get(name)
    return None if raw is None else parse_fields(raw)


def parse_namespaces(raw: str | None) -> tuple[str, ...]:
    """``namespaces=a.b,c``: each a valid namespace, else a 400 naming it."""
    if not raw:
        return ()
    names = tuple(part.strip() for part in raw.split(","))
    for name in names:
        if not _NAMESPACE.fullmatch(name):
            raise DittoBadRequestError(
                f"namespaces: {name!r} is not a namespace (dot-separated segments starting"
                " with a letter)",
                error="things:namespace.invalid",
            )
    return names


def check_channel(params: Mapping[str, str]) -> None:
    """Only Ditto's ``twin`` channel is served (no live channel, so no condition for it)."""
    if "live-channel-condition" in params:
        raise DittoBadRequestError(
            "live-channel-condition is not supported by the embedded twin service: there is"
            " no live channel",
            error="twins:channel.unsupported",
        )
    channel = params.get("channel")
    if channel not in (None, "twin"):
        raise DittoBadRequestError(
            f"channel={channel!r} is not supported by the embedded twin service; only 'twin'",
            error="twins:channel.unsupported",
        )
