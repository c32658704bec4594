"""The NGSI-LD routes (ETSI GS CIM 009, the read-only part of the context-information API).

    GET /ngsi-ld/v1/entities                    query: type, id, attrs, q, georel, geometry,
                                                coordinates, geoproperty, limit, offset,
                                                count, options=keyValues
    GET /ngsi-ld/v1/entities/{entityId}         one entity: attrs, options
    GET /ngsi-ld/v1/temporal/entities/{entityId}  its history (``citytwin.open.temporal``)
    GET /ngsi-ld/v1/jsonld-contexts/citytwin.jsonld  the @context of every answer

An answer asked for as ``application/ld+json`` carries its ``@context`` in the body; any
other JSON answer carries it in a ``Link`` header, as the specification's §6.3.5 asks.
Parameters are taken as text and parsed here so that every refusal is a ProblemDetails
naming the parameter (the framework's 422 is not an NGSI-LD answer).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from analytics.kpis.influx import KpiInflux
from citytwin.open.entities import (
    EntityType,
    entities_of,
    parse_entity_id,
    simplified,
)
from citytwin.open.problems import OpenDataError, ProblemType, bad_parameter
from citytwin.open.query import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    Comparison,
    GeoQuery,
    parse_count,
    parse_geo,
    parse_q,
)
from citytwin.open.sensors import SensorSource, SensorTwin
from citytwin.open.temporal import parse_temporal, temporal_entity

NGSI_LD = "/ngsi-ld/v1"
CONTEXT_PATH = f"{NGSI_LD}/jsonld-contexts/citytwin.jsonld"
LD_JSON = "application/ld+json"
JSON_LD_CONTEXT_REL = "http://www.w3.org/ns/json-ld#context"
COUNT_HEADER = "NGSILD-Results-Count"

Text = Annotated[str | None, Query()]


@cache
def context_document() -> dict[str, Any]:
    """The @context shipped in this package (never fetched from anywhere)."""
    text = (resources.files("citytwin.open") / "ngsi-ld-context.json").read_text("utf-8")
    document: dict[str, Any] = json.loads(text)
    return document


@cache
def _type_names() -> dict[str, EntityType]:
    """Each type by its short name and by its expanded IRI."""
    terms = context_document()["@context"]
    names = {kind.value: kind for kind in EntityType}
    names.update({terms[kind.value]: kind for kind in EntityType})
    return names


def _types(text: str | None) -> set[EntityType] | None:
    if text is None:
        return None
    if not text.strip():
        raise bad_parameter("type", "is empty")
    names = _type_names()
    return {names[name] for name in (part.strip() for part in text.split(",")) if name in names}


def _flag(name: str, text: str | None) -> bool:
    if text is None:
        return False
    if text not in {"true", "false"}:
        raise bad_parameter(name, f"{text!r} is not true or false")
    return text == "true"


def _key_values(options: str | None, format_: str | None) -> bool:
    wanted = {part.strip() for part in (options or "").split(",") if part.strip()}
    unknown = wanted - {"keyValues", "normalized"}
    if unknown:
        raise bad_parameter("options", f"{', '.join(sorted(unknown))}: use keyValues or normalized")
    if format_ not in {None, "simplified", "keyValues", "normalized"}:
        raise bad_parameter("format", f"{format_!r}: use simplified or normalized")
    return "keyValues" in wanted or format_ in {"simplified", "keyValues"}


def _attrs(text: str | None) -> set[str] | None:
    if text is None:
        return None
    names = {name.strip() for name in text.split(",") if name.strip()}
    if not names:
        raise bad_parameter("attrs", "is empty")
    return names


def _project(entity: Mapping[str, Any], attrs: set[str] | None) -> dict[str, Any]:
    if attrs is None:
        return dict(entity)
    return {k: v for k, v in entity.items() if k in {"id", "type"} or k in attrs}


class Answers:
    """JSON or JSON-LD bodies with the @context where the specification puts it."""

    def __init__(self, public_url: str | None) -> None:
        self.public_url = public_url.rstrip("/") if public_url else None

    def context_url(self, request: Request) -> str:
        base = self.public_url or str(request.base_url).rstrip("/")
        return base + CONTEXT_PATH

    def __call__(
        self, request: Request, body: Any, headers: Mapping[str, str] | None = None
    ) -> Response:
        context = self.context_url(request)
        out = dict(headers or {})
        if LD_JSON in request.headers.get("accept", ""):
            if isinstance(body, list):
                body = [{**item, "@context": context} for item in body]
            else:
                body = {**body, "@context": context}
            media = LD_JSON
        else:
            out["Link"] = f'<{context}>; rel="{JSON_LD_CONTEXT_REL}"; type="{LD_JSON}"'
            media = "application/json"
        return Response(orjson.dumps(body), media_type=media, headers=out)


@dataclass(slots=True, frozen=True)
class EntityIndex:
    """The entities of one list of sensors: sorted by id, by id, and simplified by id."""

    entities: list[dict[str, Any]]
    by_id: Mapping[str, dict[str, Any]]
    flat: Mapping[str, dict[str, Any]]


class EntityCache:
    """Builds the entities once per sensor list that `SensorSource` hands out."""

    def __init__(self, source: SensorSource) -> None:
        self._source = source
        self._built_from: list[SensorTwin] | None = None
        self._index = EntityIndex([], {}, {})

    async def index(self) -> EntityIndex:
        sensors = await self._source.sensors()
        if sensors is not self._built_from:
            entities = sorted(
                (entity for sensor in sensors for entity in entities_of(sensor)),
                key=lambda entity: str(entity["id"]),
            )
            self._index = EntityIndex(
                entities,
                {entity["id"]: entity for entity in entities},
                {entity["id"]: simplified(entity) for entity in entities},
            )
            self._built_from = sensors
        return self._index


def _matches(
    flat: Mapping[str, Any],
    comparisons: Sequence[Comparison],
    geo: GeoQuery | None,
) -> bool:
    if not all(comparison.matches(flat) for comparison in comparisons):
        return False
    return geo is None or geo.matches(flat)


def ngsi_router(
    source: SensorSource, influx: Callable[[], KpiInflux], answers: Answers
) -> APIRouter:
    router = APIRouter(prefix=NGSI_LD, tags=["open data: NGSI-LD"])

    entity_cache = EntityCache(source)

    @router.get("/entities", summary="Query the sensors' entities")
    async def query_entities(
        request: Request,
        type: Text = None,
        id: Text = None,
        attrs: Text = None,
        q: Text = None,
        georel: Text = None,
        geometry: Text = None,
        coordinates: Text = None,
        geoproperty: Text = None,
        limit: Text = None,
        offset: Text = None,
        count: Text = None,
        options: Text = None,
        format: Text = None,
    ) -> Response:
        """Entities matching every condition given, sorted by id, one page of them."""
        types = _types(type)
        ids = None if id is None else {part.strip() for part in id.split(",") if part.strip()}
        names = _attrs(attrs)
        comparisons = parse_q(q) if q is not None else ()
        geo = parse_geo(georel, geometry, coordinates, geoproperty)
        page_size = parse_count("limit", limit, DEFAULT_LIMIT, MAX_LIMIT)
        skip = parse_count("offset", offset, 0, 10**9)
        counted = _flag("count", count)
        key_values = _key_values(options, format)
        index = await entity_cache.index()
        found = [
            entity
            for entity in index.entities
            if (types is None or EntityType(entity["type"]) in types)
            and (ids is None or entity["id"] in ids)
            and (names is None or any(name in entity for name in names))
            and _matches(index.flat[entity["id"]], comparisons, geo)
        ]
        page = [_project(entity, names) for entity in found[skip : skip + page_size]]
        body = [simplified(entity) for entity in page] if key_values else page
        headers = {COUNT_HEADER: str(len(found))} if counted else None
        return answers(request, body, headers)

    async def one_entity(entity_id: str) -> dict[str, Any]:
        ref = parse_entity_id(entity_id)
        if ref is None and ":" not in entity_id:
            raise bad_parameter("entityId", f"{entity_id!r} is not a URI")
        if ref is not None:
            entity = (await entity_cache.index()).by_id.get(entity_id)
            if entity is not None:
                return entity
        raise OpenDataError(
            ProblemType.RESOURCE_NOT_FOUND,
            f"no entity {entity_id!r} (GET {NGSI_LD}/entities lists them)",
            parameter="entityId",
        )

    @router.get("/entities/{entityId}", summary="One entity")
    async def retrieve_entity(
        request: Request,
        entity_id: Annotated[str, Path(alias="entityId")],
        attrs: Text = None,
        options: Text = None,
        format: Text = None,
    ) -> Response:
        names = _attrs(attrs)
        key_values = _key_values(options, format)
        entity = _project(await one_entity(entity_id), names)
        return answers(request, simplified(entity) if key_values else entity)

    @router.get("/temporal/entities/{entityId}", summary="One entity's history")
    async def retrieve_temporal(
        request: Request,
        entity_id: Annotated[str, Path(alias="entityId")],
        timerel: Text = None,
        time_at: Annotated[str | None, Query(alias="timeAt")] = None,
        end_time_at: Annotated[str | None, Query(alias="endTimeAt")] = None,
        attrs: Text = None,
        last_n: Annotated[str | None, Query(alias="lastN")] = None,
        options: Text = None,
    ) -> Response:
        """Measured values between timeAt and endTimeAt (before/after one moment)."""
        await one_entity(entity_id)
        ref = parse_entity_id(entity_id)
        assert ref is not None
        query = parse_temporal(
            ref,
            timerel=timerel,
            time_at=time_at,
            end_time_at=end_time_at,
            attrs=attrs,
            last_n=last_n,
            options=options,
        )
        return answers(request, await temporal_entity(influx, ref, query))

    @router.get("/jsonld-contexts/citytwin.jsonld", summary="The @context of the entities")
    async def context() -> Response:
        return Response(orjson.dumps(context_document()), media_type=LD_JSON)

    return router
