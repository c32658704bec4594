"""The Ditto client every citytwin component uses to read and write twins.

It speaks Eclipse Ditto's HTTP API v2, so it works unchanged against the embedded twin
service or a real Ditto (``TwinSettings.url``). One `requests.Session` with a connection
pool per client; use it as a context manager::

    with DittoClient("http://127.0.0.1:8080", "citytwin", password) as ditto:
        ditto.patch("thaibinh.hcc:counter-07", "features/queue/properties", {"waiting": 6})
        for thing in ditto.search('eq(attributes/site,"thaibinh.hcc")'):
            ...

Failures are `twins.errors.DittoError` subclasses carrying Ditto's error code and message
(`DittoNotFoundError`, `DittoPreconditionFailedError`, `DittoForbiddenError`, …); a
connection that fails or a 5xx is `DittoUnavailableError`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any
from urllib.parse import quote

import orjson
import requests
from requests.adapters import HTTPAdapter

from twins.errors import (
    DITTO_ERRORS_BY_STATUS,
    DittoError,
    DittoUnavailableError,
)

logger = logging.getLogger(__name__)

MERGE_PATCH = "application/merge-patch+json"
JSON = "application/json"
NO_BODY: Any = object()


@dataclass(slots=True, frozen=True)
class Versioned:
    """A value and its ETag (``"rev:7"`` for a thing, ``"hash:…"`` for a part)."""

    value: Any
    etag: str | None


@dataclass(slots=True, frozen=True)
class SearchPage:
    """One page of a search; ``cursor`` is None on the last page."""

    items: list[dict[str, Any]]
    cursor: str | None


def _path(thing_id: str, path: str = "") -> str:
    suffix = "/".join(quote(key, safe="") for key in path.strip("/").split("/") if key)
    base = f"/api/2/things/{quote(thing_id, safe=':')}"
    return f"{base}/{suffix}" if suffix else base


def error_from_response(response: requests.Response) -> DittoError:
    """The typed error for a non-success answer, with Ditto's code and message."""
    status = response.status_code
    body: Any = None
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        message = str(body.get("message") or response.reason)
        code = body.get("error")
        description = body.get("description")
    else:
        message = f"{response.request.method} {response.url}: {status} {response.reason}"
        code = None
        description = None
    cls = DITTO_ERRORS_BY_STATUS.get(status)
    if cls is None:
        cls = DittoUnavailableError if status >= 500 else DittoError
    return cls(
        message,
        error=str(code) if code else None,
        description=str(description) if description else None,
        status=status,
        headers=dict(response.headers),
    )


class DittoClient:
    """A client of Ditto's HTTP API v2 (the embedded twin service or a real Ditto)."""

    def __init__(
        self,
        base_url: str,
        username: str,
        password: str,
        *,
        timeout: float = 10.0,
        pool_size: int = 16,
        pre_authenticated: bool = False,
    ) -> None:
        """``pre_authenticated``: send Ditto's ``x-ditto-pre-authenticated: nginx:USER``
        header instead of HTTP basic — for a Ditto gateway on a private network that
        trusts it (``ENABLE_PRE_AUTHENTICATION``); ``password`` is then unused."""
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._session = requests.Session()
        if pre_authenticated:
            self._session.headers["x-ditto-pre-authenticated"] = f"nginx:{username}"
        else:
            self._session.auth = (username, password)
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=pool_size)
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)

    def __enter__(self) -> DittoClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the pooled connections."""
        self._session.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        json: Any = NO_BODY,
        content_type: str = JSON,
        headers: dict[str, str] | None = None,
        stream: bool = False,
        read_timeout: float | None = None,
        ok: Sequence[int] = (),
    ) -> requests.Response:
        """Send one request; a non-2xx answer (outside ``ok``) raises its `DittoError`.

        ``json`` is the body (``None`` sends JSON ``null``); leave it out for no body.
        """
        sent_headers = dict(headers or {})
        body = None
        if json is not NO_BODY:
            body = orjson.dumps(json)
            sent_headers["Content-Type"] = content_type
        timeout = (self.timeout, read_timeout if stream else self.timeout)
        try:
            response = self._session.request(
                method,
                self.base_url + path,
                params=params,
                data=body,
                headers=sent_headers,
                timeout=timeout,
                stream=stream,
            )
        except requests.RequestException as exc:
            raise DittoUnavailableError(
                f"{method} {self.base_url}{path} failed: {exc}", error="twins:unavailable"
            ) from exc
        if response.status_code >= 400 or (
            response.status_code >= 300 and response.status_code not in ok
        ):
            error = error_from_response(response)
            response.close()
            raise error
        return response

    # -- things ---------------------------------------------------------------------------

    def get(self, thing_id: str, path: str = "", *, fields: str | None = None) -> Any:
        """A thing (``path=""``) or one part: ``get(id, "features/queue/properties/waiting")``."""
        return self.get_versioned(thing_id, path, fields=fields).value

    def get_versioned(
        self,
        thing_id: str,
        path: str = "",
        *,
        fields: str | None = None,
        if_none_match: str | None = None,
    ) -> Versioned:
        """The value with its ETag; with ``if_none_match`` unchanged gives ``value=None``."""
        params = {"fields": fields} if fields else None
        headers = {"If-None-Match": if_none_match} if if_none_match else None
        response = self.request(
            "GET", _path(thing_id, path), params=params, headers=headers, ok=(304,)
        )
        etag = response.headers.get("ETag")
        if response.status_code == 304:
            return Versioned(None, etag)
        return Versioned(orjson.loads(response.content), etag)

    def get_things(self, thing_ids: Sequence[str], *, fields: str | None = None) -> list[Any]:
        """Several things at once (the visible ones, in the order asked)."""
        params = {"ids": ",".join(thing_ids)}
        if fields:
            params["fields"] = fields
        result: list[Any] = orjson.loads(
            self.request("GET", "/api/2/things", params=params).content
        )
        return result

    def put(
        self,
        thing_id: str,
        path: str,
        value: Any,
        *,
        if_match: str | None = None,
        if_none_match: str | None = None,
    ) -> bool:
        """Create or replace a thing or a part; True when it was created."""
        headers = _conditions(if_match, if_none_match)
        response = self.request("PUT", _path(thing_id, path), json=value, headers=headers)
        return response.status_code == 201

    def put_thing(
        self,
        thing: dict[str, Any],
        *,
        if_match: str | None = None,
        if_none_match: str | None = None,
    ) -> bool:
        """Create or replace a whole thing (its ``thingId`` says which)."""
        return self.put(thing["thingId"], "", thing, if_match=if_match, if_none_match=if_none_match)

    def create_thing(self, thing: dict[str, Any]) -> None:
        """Create a thing; `DittoPreconditionFailedError` when it already exists."""
        self.put_thing(thing, if_none_match="*")

    def patch(
        self,
        thing_id: str,
        path: str,
        patch: Any,
        *,
        if_match: str | None = None,
    ) -> None:
        """Apply a JSON merge patch (RFC 7396: ``null`` deletes) to a thing or a part."""
        self.request(
            "PATCH",
            _path(thing_id, path),
            json=patch,
            content_type=MERGE_PATCH,
            headers=_conditions(if_match, None),
        )

    def delete(self, thing_id: str, path: str = "", *, if_match: str | None = None) -> None:
        """Delete a thing (its policy stays) or a part of it."""
        self.request("DELETE", _path(thing_id, path), headers=_conditions(if_match, None))

    # -- policies -------------------------------------------------------------------------

    def get_policy(self, policy_id: str) -> dict[str, Any]:
        """A policy."""
        result: dict[str, Any] = orjson.loads(
            self.request("GET", f"/api/2/policies/{quote(policy_id, safe=':')}").content
        )
        return result

    def put_policy(self, policy: dict[str, Any], *, if_none_match: str | None = None) -> bool:
        """Create or replace a policy (its ``policyId`` says which); True when created.

        ``if_none_match="*"``: create only; `DittoPreconditionFailedError` if it exists.
        """
        path = f"/api/2/policies/{quote(policy['policyId'], safe=':')}"
        headers = _conditions(None, if_none_match)
        return self.request("PUT", path, json=policy, headers=headers).status_code == 201

    def delete_policy(self, policy_id: str) -> None:
        """Delete a policy."""
        self.request("DELETE", f"/api/2/policies/{quote(policy_id, safe=':')}")

    # -- search ---------------------------------------------------------------------------

    def search_page(
        self,
        filter: str | None = None,
        *,
        namespaces: Sequence[str] = (),
        fields: str | None = None,
        sort: str | None = None,
        size: int | None = None,
        cursor: str | None = None,
    ) -> SearchPage:
        """One page of things matching the RQL ``filter``."""
        params: dict[str, str] = {}
        if filter:
            params["filter"] = filter
        if namespaces:
            params["namespaces"] = ",".join(namespaces)
        if fields:
            params["fields"] = fields
        options = []
        if sort:
            options.append(f"sort({sort})")
        if size:
            options.append(f"size({size})")
        if cursor:
            options.append(f"cursor({cursor})")
        if options:
            params["option"] = ",".join(options)
        body = orjson.loads(self.request("GET", "/api/2/search/things", params=params).content)
        return SearchPage(list(body.get("items", [])), body.get("cursor"))

    def search(
        self,
        filter: str | None = None,
        *,
        namespaces: Sequence[str] = (),
        fields: str | None = None,
        sort: str | None = None,
        page_size: int = 200,
    ) -> Iterator[dict[str, Any]]:
        """Every matching thing, following the cursor page after page."""
        cursor: str | None = None
        while True:
            page = self.search_page(
                filter,
                namespaces=namespaces,
                fields=fields,
                sort=sort,
                size=page_size,
                cursor=cursor,
            )
            yield from page.items
            if page.cursor is None:
                return
            cursor = page.cursor

    def count(self, filter: str | None = None, *, namespaces: Sequence[str] = ()) -> int:
        """How many things match."""
        params: dict[str, str] = {}
        if filter:
            params["filter"] = filter
        if namespaces:
            params["namespaces"] = ",".join(namespaces)
        return int(self.request("GET", "/api/2/search/things/count", params=params).text)

    # -- change stream --------------------------------------------------------------------

    def watch(
        self,
        *,
        ids: Sequence[str] = (),
        namespaces: Sequence[str] = (),
        filter: str | None = None,
        fields: str | None = None,
        extra_fields: str | None = None,
        read_timeout: float | None = None,
    ) -> ChangeStream:
        """Subscribe to changes (server-sent events): the changed part of each thing.

        As in Ditto, ``filter`` is tested against the changed part only, enriched first
        with ``extra_fields`` (unchanged parts of the thing, e.g. ``attributes/site``),
        which the events then carry too.

        The subscription is live when this returns; iterate the stream for changes, and
        close it (or use it as a context manager) when done. It ends when the server closes
        it (reconnect to go on). ``read_timeout`` bounds the silence tolerated between
        server messages (the server sends a comment when idle); None waits for ever.
        """
        params: dict[str, str] = {}
        if ids:
            params["ids"] = ",".join(ids)
        if namespaces:
            params["namespaces"] = ",".join(namespaces)
        if filter:
            params["filter"] = filter
        if fields:
            params["fields"] = fields
        if extra_fields:
            params["extraFields"] = extra_fields
        response = self.request(
            "GET",
            "/api/2/things",
            params=params,
            headers={"Accept": "text/event-stream"},
            stream=True,
            read_timeout=read_timeout,
        )
        return ChangeStream(response, self.base_url)


class ChangeStream:
    """An open change stream: iterate for changes, close when done."""

    def __init__(self, response: requests.Response, base_url: str) -> None:
        self._response = response
        self._base_url = base_url
        self._events = _events(response)

    def __iter__(self) -> ChangeStream:
        return self

    def __next__(self) -> dict[str, Any]:
        try:
            return next(self._events)
        except requests.RequestException as exc:
            raise DittoUnavailableError(
                f"the change stream of {self._base_url} broke: {exc}",
                error="twins:unavailable",
            ) from exc

    def __enter__(self) -> ChangeStream:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection."""
        self._response.close()


def _events(response: requests.Response) -> Iterator[dict[str, Any]]:
    data: list[bytes] = []
    for line in response.iter_lines(chunk_size=None):
        if not line:
            if data:
                yield orjson.loads(b"\n".join(data))
                data = []
            continue
        if line.startswith(b":"):
            continue
        field, _, value = line.partition(b":")
        if field == b"data":
            data.append(value.removeprefix(b" "))


def _conditions(if_match: str | None, if_none_match: str | None) -> dict[str, str]:
    headers = {}
    if if_match:
        headers["If-Match"] = if_match
    if if_none_match:
        headers["If-None-Match"] = if_none_match
    return headers
