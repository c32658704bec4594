"""Search and count: RQL over the store, limited to what the caller may read.

A thing counts only where the caller may read every field its filter and sort test:
otherwise ``count?filter=eq(attributes/secret,"…")`` would reveal a hidden value one guess
at a time. (Ditto treats a hidden field as absent, so ``not(…)`` over one can match there
and not here: stricter, never leakier.) Pages are at most `MAX_PAGE_SIZE`; a cursor is
bound to the filter, namespaces and sort it was given out for.
"""

from __future__ import annotations

import base64
import hashlib
import threading
from collections import OrderedDict
from typing import Any

import orjson

from twins.errors import DittoBadRequestError
from twins.pointer import Pointer
from twins.service.access import Access
from twins.service.auth import Caller
from twins.service.policies import MISSING, READ
from twins.service.rql import Node, SearchOptions, referenced_fields
from twins.service.store import SearchQuery, StoredPolicy, TwinStore
from twins.service.views import ALWAYS_VISIBLE, project, readable_thing

DEFAULT_PAGE_SIZE = 25
MAX_PAGE_SIZE = 200
MAX_CURSOR_OFFSET = 2**62  # beyond any store; a larger one was forged and overflows SQLite
_SEARCHABLE_CACHE_SIZE = 512

Generation = tuple[int, int]


class ThingSearch:
    """``/api/2/search/things`` and its count (both run in worker threads).

    Which policies let a caller search on which fields is worked out over every policy,
    so it is kept per (subjects, fields) until any policy changes
    (`TwinStore.policy_generation`), with the policies themselves: otherwise each search
    would read and walk every policy of the province.
    """

    def __init__(self, store: TwinStore, access: Access) -> None:
        self.store = store
        self.access = access
        self._lock = threading.Lock()
        self._policies: tuple[Generation, dict[str, StoredPolicy]] | None = None
        self._searchable: OrderedDict[
            tuple[Generation, frozenset[str], tuple[Pointer, ...]], tuple[str, ...]
        ] = OrderedDict()

    def policies(self) -> tuple[Generation, dict[str, StoredPolicy]]:
        """Every policy by id, as of the store's current policy generation."""
        generation = self.store.policy_generation()
        with self._lock:
            cached = self._policies
        if cached is not None and cached[0] == generation:
            return cached
        loaded = (generation, {p.policy_id: p for p in self.store.policies_granting()})
        with self._lock:
            self._policies = loaded
        return loaded

    def searchable_policy_ids(self, caller: Caller, tested: tuple[Pointer, ...]) -> tuple[str, ...]:
        """The policies under which the caller may search things on the ``tested`` fields."""
        generation, policies = self.policies()
        guarded = tuple(path for path in tested if path and path[0] not in ALWAYS_VISIBLE)
        key = (generation, caller.subjects, guarded)
        with self._lock:
            found = self._searchable.get(key)
            if found is not None:
                self._searchable.move_to_end(key)
                return found
        ids = []
        for policy in policies.values():
            enforcer = self.access.enforcer(caller, policy)
            if not enforcer.has_partial((), READ):
                continue
            if all(enforcer.has_unrestricted(path, READ) for path in guarded):
                ids.append(policy.policy_id)
        result = tuple(ids)
        with self._lock:
            self._searchable[key] = result
            while len(self._searchable) > _SEARCHABLE_CACHE_SIZE:
                self._searchable.popitem(last=False)
        return result

    def search(
        self,
        caller: Caller,
        filter_node: Node | None,
        filter_text: str,
        namespaces: tuple[str, ...],
        options: SearchOptions,
        fields: tuple[Pointer, ...] | None,
    ) -> bytes:
        """One page of search results, ``{"items": […], "cursor": …}``."""
        size = options.size or DEFAULT_PAGE_SIZE
        if size > MAX_PAGE_SIZE:
            raise DittoBadRequestError(
                f"size({size}) is over the largest page of {MAX_PAGE_SIZE}",
                error="thing-search:option.invalid",
            )
        fingerprint = _fingerprint(filter_text, namespaces, options)
        offset = options.offset or 0
        if options.cursor is not None:
            offset = _read_cursor(options.cursor, fingerprint)
        tested = referenced_fields(filter_node) + tuple(path for path, _ in options.sort)
        query = SearchQuery(
            filter=filter_node,
            namespaces=namespaces,
            policy_ids=self.searchable_policy_ids(caller, tested),
            sort=options.sort,
            limit=size + 1,
            offset=offset,
        )
        rows = self.store.search(query)
        _, policies = self.policies()
        items = []
        for row in rows[:size]:
            enforcer = self.access.enforcer(caller, policies.get(row.policy_id))
            document = readable_thing(enforcer, row.with_meta())
            if document is MISSING:
                continue
            items.append(project(document, fields))
        result: dict[str, Any] = {"items": items}
        if len(rows) > size and options.offset is None:
            result["cursor"] = _make_cursor(offset + size, fingerprint)
        return orjson.dumps(result)

    def count(self, caller: Caller, filter_node: Node | None, namespaces: tuple[str, ...]) -> int:
        """How many visible things match."""
        query = SearchQuery(
            filter=filter_node,
            namespaces=namespaces,
            policy_ids=self.searchable_policy_ids(caller, referenced_fields(filter_node)),
        )
        return self.store.count(query)


def _fingerprint(filter_text: str, namespaces: tuple[str, ...], options: SearchOptions) -> str:
    source = orjson.dumps([filter_text, namespaces, [list(s) for s in options.sort]])
    return hashlib.blake2b(source, digest_size=6).hexdigest()


def _make_cursor(offset: int, fingerprint: str) -> str:
    raw = f"{fingerprint}:{offset}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _read_cursor(cursor: str, fingerprint: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        stamp, _, offset = raw.partition(":")
        value = int(offset)
    except (ValueError, UnicodeDecodeError) as exc:
        raise DittoBadRequestError(
            f"cursor({cursor}) is not a cursor this service gave out",
            error="thing-search:option.invalid",
        ) from exc
    if stamp != fingerprint or not 0 <= value < MAX_CURSOR_OFFSET:
        raise DittoBadRequestError(
            f"cursor({cursor}) belongs to another search; repeat the same filter, namespaces"
            " and sort with it",
            error="thing-search:option.invalid",
        )
    return value
