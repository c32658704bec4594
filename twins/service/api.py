"""The HTTP face of the twin service: Eclipse Ditto's API v2 under ``/api/2/``.

    GET                /api/2/things?ids=…&fields=…          (Accept: text/event-stream:
                                                              the change stream)
    POST               /api/2/things                          create with a generated id
    GET PUT PATCH DELETE /api/2/things/{thingId}[/policyId|/definition|/attributes[/…]
                       |/features[/{id}[/definition|/properties[/…]|/desiredProperties[/…]]]]
    GET POST           /api/2/search/things                   RQL filter, sort, size, cursor
    GET POST           /api/2/search/things/count             a bare integer
    GET PUT DELETE     /api/2/policies/{policyId}
    GET                /api/2/whoami

Every answer that is not a success is Ditto's error body; bad input is a 4xx that says
what and where, never a 5xx. Point reads and writes are quick indexed SQLite statements
run on the event loop (one transaction each); searches run in worker threads on their own
read connections.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import parse_qs

import anyio.to_thread
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from twins.errors import DittoBadRequestError, DittoError, DittoTooLargeError
from twins.http_body import BodyTooLargeError, read_body
from twins.models import json_depth_exceeds
from twins.service.access import Access, ProvisionedNamespaces, no_namespaces
from twins.service.auth import Authenticator, Caller
from twins.service.conditions import Conditions
from twins.service.errors import JSON, exception_handlers
from twins.service.options import (
    RequestOptions,
    check_channel,
    parse_field_param,
    parse_namespaces,
    parse_request_options,
)
from twins.service.policy_service import PolicyService
from twins.service.replies import Reply
from twins.service.resources import THING, check_policy_id, check_thing_id, parse_resource
from twins.service.rql import parse_options, parse_rql
from twins.service.search import ThingSearch
from twins.service.sse import ChangeHub
from twins.service.store import TwinStore
from twins.service.stream import EVENT_STREAM, ChangeStreamEndpoint
from twins.service.things import TwinService
from twins.settings import TwinSettings

logger = logging.getLogger(__name__)

MERGE_PATCH = "application/merge-patch+json"
MAX_IDS = 200


def _options(request: Request, *, preconditions: bool = True) -> RequestOptions:
    return parse_request_options(request.query_params, request.headers, preconditions=preconditions)


def _reply_response(reply: Reply | None, options: RequestOptions) -> Response:
    """The answer; 202 without a body when the caller asked for no response."""
    if reply is None or not options.response_required:
        return Response(status_code=202)
    headers = {"ETag": reply.etag} if reply.etag else {}
    if reply.created:
        if reply.location:
            headers["Location"] = reply.location
        return Response(reply.body, status_code=201, media_type=JSON, headers=headers)
    if reply.body is None:
        return Response(status_code=204, headers=headers)
    return Response(reply.body, status_code=200, media_type=JSON, headers=headers)


def _unanswered(options: RequestOptions, action: Callable[[], Reply | None]) -> Reply | None:
    """Run ``action``; with ``response-required=false`` its refusal is logged, not answered.

    Ditto answers such a request with 202 before the command runs, so a client never
    learns that it was refused; parameters, body and credentials are checked before.
    """
    if options.response_required:
        return action()
    try:
        action()
    except DittoError as exc:
        logger.info("twin request without response refused: %s", exc)
    return None


class TwinApi:
    """Request handlers; each authenticates, parses, and calls `TwinService`."""

    def __init__(
        self,
        service: TwinService,
        policies: PolicyService,
        search: ThingSearch,
        authenticator: Authenticator,
        settings: TwinSettings,
    ) -> None:
        self.service = service
        self.policies = policies
        self.searcher = search
        self.authenticator = authenticator
        self.settings = settings
        self.stream = ChangeStreamEndpoint(service, settings.sse_heartbeat_seconds)

    def caller(self, request: Request) -> Caller:
        """Who is asking (401 when nobody we know)."""
        return self.authenticator.authenticate(request.headers)

    async def body(self, request: Request, *, merge: bool = False) -> Any:
        """The JSON body, at most ``max_body_bytes`` (413), well-formed (400)."""
        raw = await self.raw_body(request)
        media = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if merge and media != MERGE_PATCH:
            raise DittoError(
                f"PATCH needs Content-Type {MERGE_PATCH!r} (a JSON merge patch, RFC 7396),"
                f" not {media or 'none'!r}",
                status=415,
                error="mediatype.unsupported",
            )
        if not raw.strip():
            raise DittoBadRequestError("the request body is empty; send JSON", error="json.invalid")
        try:
            value = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise DittoBadRequestError(
                f"the request body is not valid JSON: {exc}", error="json.invalid"
            ) from exc
        if json_depth_exceeds(value):
            raise DittoBadRequestError(
                "the request body nests objects/arrays deeper than 64 levels",
                error="json.invalid",
            )
        return value

    async def raw_body(self, request: Request) -> bytes:
        """The body bytes, refusing more than the limit without reading it all."""
        try:
            return await read_body(request, self.settings.max_body_bytes)
        except BodyTooLargeError as exc:
            raise _too_large(exc.size, exc.limit) from exc

    # -- things ---------------------------------------------------------------------------

    async def things(self, request: Request) -> Response:
        """GET /api/2/things (list or change stream), POST /api/2/things (create)."""
        caller = self.caller(request)
        if request.method == "POST":
            return await self.create_with_generated_id(request, caller)
        if EVENT_STREAM in request.headers.get("accept", ""):
            return self.stream.open(request, caller)
        fields = parse_field_param(request.query_params)
        raw_ids = request.query_params.get("ids")
        if raw_ids is None:
            ids = self.service.store.list_ids(MAX_IDS)
        else:
            ids = [part.strip() for part in raw_ids.split(",") if part.strip()]
            if len(ids) > MAX_IDS:
                raise DittoBadRequestError(
                    f"ids names {len(ids)} things; at most {MAX_IDS} per request",
                    error="things:query.invalid",
                )
            for thing_id in ids:
                check_thing_id(thing_id)
        return Response(self.service.retrieve_many(caller, ids, fields), media_type=JSON)

    async def create_with_generated_id(self, request: Request, caller: Caller) -> Response:
        """POST /api/2/things: a new thing ``namespace:uuid``."""
        namespace = request.query_params.get("namespace") or self.settings.default_namespace
        parse_namespaces(namespace)
        options = _options(request, preconditions=False)
        body = await self.body(request)
        if isinstance(body, dict):
            body.pop("thingId", None)
        thing_id = f"{namespace}:{uuid.uuid4()}"
        reply = _unanswered(
            options,
            lambda: self.service.modify(
                caller,
                thing_id,
                THING,
                body,
                Conditions(if_none_match="*"),
                merge=False,
                allow_policy_lockout=options.allow_policy_lockout,
            ),
        )
        return _reply_response(reply, options)

    async def thing(self, request: Request) -> Response:
        """Every method on /api/2/things/{thingId}[/…]."""
        caller = self.caller(request)
        thing_id = check_thing_id(request.path_params["thing_id"])
        resource = parse_resource(request.path_params["rest"])
        check_channel(request.query_params)
        options = _options(request)
        conditions = options.conditions
        if request.method == "GET":
            fields = parse_field_param(request.query_params)
            reply = _unanswered(
                options,
                lambda: self.service.retrieve(caller, thing_id, resource, fields, conditions),
            )
            return _reply_response(reply, options)
        if request.method == "DELETE":

            def delete() -> Reply:
                self.service.delete(caller, thing_id, resource, conditions)
                return Reply(None)

            return _reply_response(_unanswered(options, delete), options)
        merge = request.method == "PATCH"
        body = await self.body(request, merge=merge)
        reply = _unanswered(
            options,
            lambda: self.service.modify(
                caller,
                thing_id,
                resource,
                body,
                conditions,
                merge=merge,
                allow_policy_lockout=options.allow_policy_lockout,
            ),
        )
        return _reply_response(reply, options)

    # -- policies -------------------------------------------------------------------------

    async def policy(self, request: Request) -> Response:
        """GET/PUT/DELETE /api/2/policies/{policyId}."""
        caller = self.caller(request)
        policy_id = check_policy_id(request.path_params["policy_id"])
        options = _options(request)
        conditions = options.conditions
        if request.method == "GET":
            reply = _unanswered(
                options, lambda: self.policies.retrieve(caller, policy_id, conditions)
            )
            return _reply_response(reply, options)
        if request.method == "DELETE":

            def delete() -> Reply:
                self.policies.delete(caller, policy_id, conditions)
                return Reply(None)

            return _reply_response(_unanswered(options, delete), options)
        body = await self.body(request)
        reply = _unanswered(
            options,
            lambda: self.policies.put(
                caller,
                policy_id,
                body,
                conditions,
                allow_policy_lockout=options.allow_policy_lockout,
            ),
        )
        return _reply_response(reply, options)

    async def whoami(self, request: Request) -> Response:
        """GET /api/2/whoami: the caller's subjects."""
        caller = self.caller(request)
        body = {"subjects": sorted(caller.subjects), "defaultSubject": caller.subject}
        return Response(orjson.dumps(body), media_type=JSON)

    # -- search ---------------------------------------------------------------------------

    async def search_params(self, request: Request) -> dict[str, str]:
        """Query parameters, plus the form fields of a POST (form wins)."""
        params = dict(request.query_params)
        if request.method == "POST":
            raw = await self.raw_body(request)
            try:
                form = parse_qs(raw.decode(), keep_blank_values=True, strict_parsing=False)
            except (UnicodeDecodeError, ValueError) as exc:
                raise DittoBadRequestError(
                    "the search form is not UTF-8 application/x-www-form-urlencoded",
                    error="thing-search:request.invalid",
                ) from exc
            params.update({key: values[-1] for key, values in form.items()})
        return params

    async def search(self, request: Request) -> Response:
        """GET/POST /api/2/search/things."""
        caller = self.caller(request)
        params = await self.search_params(request)
        filter_text = params.get("filter") or ""
        filter_node = parse_rql(filter_text) if filter_text else None
        namespaces = parse_namespaces(params.get("namespaces"))
        options = parse_options(params.get("option") or "")
        fields = parse_field_param(params)
        body = await anyio.to_thread.run_sync(
            self.searcher.search, caller, filter_node, filter_text, namespaces, options, fields
        )
        return Response(body, media_type=JSON)

    async def count(self, request: Request) -> Response:
        """GET/POST /api/2/search/things/count: a bare integer."""
        caller = self.caller(request)
        params = await self.search_params(request)
        filter_text = params.get("filter") or ""
        filter_node = parse_rql(filter_text) if filter_text else None
        namespaces = parse_namespaces(params.get("namespaces"))
        total = await anyio.to_thread.run_sync(self.searcher.count, caller, filter_node, namespaces)
        return Response(str(total), media_type=JSON)


def _too_large(size: int, limit: int) -> DittoTooLargeError:
    return DittoTooLargeError(
        f"the request body is {size} bytes or more; at most {limit} are allowed",
        error="things:thing.tooLarge",
        description="Send smaller changes (merge patches of the changed parts).",
    )


def create_twin_app(
    store: TwinStore,
    settings: TwinSettings,
    service_password: str,
    provisioned_namespaces: ProvisionedNamespaces = no_namespaces,
) -> Starlette:
    """The ASGI app serving ``/api/2/…`` over ``store``.

    ``service_password`` is the password of ``settings.username``, citytwin's own account;
    ``provisioned_namespaces`` says which namespaces provisioning owns right now (only
    admins create things and policies there).
    """
    store.ensure_indexes(settings.indexed_paths)
    hub = ChangeHub(settings.sse_queue_size)
    access = Access(provisioned_namespaces)
    service = TwinService(store, hub, settings.max_body_bytes, access)
    api = TwinApi(
        service,
        PolicyService(store, access),
        ThingSearch(store, access),
        Authenticator(settings, service_password),
        settings,
    )

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        hub.close()

    routes = [
        Route("/api/2/things", api.things, methods=["GET", "POST"]),
        Route(
            "/api/2/things/{thing_id}{rest:path}",
            api.thing,
            methods=["GET", "PUT", "PATCH", "DELETE"],
        ),
        Route("/api/2/search/things", api.search, methods=["GET", "POST"]),
        Route("/api/2/search/things/count", api.count, methods=["GET", "POST"]),
        Route("/api/2/policies/{policy_id}", api.policy, methods=["GET", "PUT", "DELETE"]),
        Route("/api/2/whoami", api.whoami, methods=["GET"]),
    ]
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers=exception_handlers(),
    )
    app.state.twin_service = service
    return app
