"""One room's calendar on a CalDAV server, followed by sync-token or by ETags.

``RoomCalendar.poll`` returns the calendar's objects (href → iCalendar text) whenever
they changed since the last poll, and None when nothing did. It asks the server for the
changes since its sync-token (RFC 6578 ``sync-collection``, through ``caldav``'s
``objects_by_sync_token``/``sync``); a server that refuses that REPORT is followed by
ETags instead: a ``PROPFIND`` of every object's ``getetag`` each poll, and a ``GET`` of
the objects whose ETag changed. The ``caldav`` client is synchronous; the sync runs it in
a worker thread.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import caldav
import requests
from caldav.elements import dav
from caldav.lib import error as dav_errors

from ingest.calendar.errors import CalendarUnreachableError

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class RoomCalendar:
    """The calendar of one room (``url``) and what is known of it."""

    client: caldav.DAVClient
    url: str
    room: str
    objects: dict[str, str] = field(default_factory=dict)
    """href → iCalendar text of every object last seen."""
    etags: dict[str, str] = field(default_factory=dict)
    by_etag: bool = False
    """True once the server refused ``sync-collection``: followed by ETags."""
    _collection: Any = None

    def calendar(self) -> caldav.Calendar:
        return caldav.Calendar(client=self.client, url=self.url)

    def ensure(self, name: str) -> bool:
        """Create the calendar when missing (MKCALENDAR); True when it was created."""
        try:
            try:
                self.calendar().get_properties([dav.DisplayName()])
                return False
            except dav_errors.NotFoundError:
                pass
            home, cal_id = self.url.rstrip("/").rsplit("/", 1)
            caldav.CalendarSet(client=self.client, url=home + "/").make_calendar(
                name=name, cal_id=cal_id
            )
            return True
        except (dav_errors.DAVError, requests.RequestException) as exc:
            raise CalendarUnreachableError(_reason(self.url, exc)) from exc

    def poll(self) -> dict[str, str] | None:
        """The objects when they changed since the last poll, else None.

        Raises ``CalendarUnreachableError`` naming the calendar and the cause.
        """
        try:
            if self.by_etag:
                return self._poll_etags()
            try:
                return self._poll_sync_token()
            except dav_errors.ReportError as exc:
                logger.warning(
                    "calendar %s refuses sync-collection (%s); following it by ETags",
                    self.url,
                    exc,
                )
                self.by_etag = True
                self._collection = None
                return self._poll_etags()
        except (dav_errors.DAVError, requests.RequestException) as exc:
            self._collection = None  # start over at the next poll: the token may be gone
            raise CalendarUnreachableError(_reason(self.url, exc)) from exc

    def _poll_sync_token(self) -> dict[str, str] | None:
        if self._collection is None:
            self._collection = self.calendar().objects_by_sync_token(load_objects=True)
            objects = {str(obj.url.canonical()): _text(obj) for obj in self._collection}
            changed = objects != self.objects
            self.objects = objects
            return objects if changed else None
        updated, deleted = self._collection.sync()
        if not updated and not deleted:
            return None
        for obj in deleted:
            self.objects.pop(str(obj.url.canonical()), None)
        for obj in updated:
            self.objects[str(obj.url.canonical())] = _text(obj)
        return dict(self.objects)

    def _poll_etags(self) -> dict[str, str] | None:
        calendar = self.calendar()
        url = calendar.url
        assert url is not None  # built from self.url
        found = calendar.get_properties([dav.GetEtag()], depth=1)
        own = str(url.canonical().path).rstrip("/")
        etags = {
            str(url.join(path).canonical()): str(props.get(dav.GetEtag.tag, ""))
            for path, props in found.items()
            if str(path).rstrip("/") != own
        }
        if etags == self.etags:
            return None
        objects = {href: text for href, text in self.objects.items() if href in etags}
        for href, etag in etags.items():
            if self.etags.get(href) != etag or href not in objects:
                obj = caldav.CalendarObjectResource(client=self.client, url=href)
                objects[href] = _text(obj.load())
        self.etags = etags
        self.objects = objects
        return dict(objects)


def _text(obj: Any) -> str:
    data = obj.data
    return data.decode("utf-8", "replace") if isinstance(data, bytes) else str(data or "")


def _reason(url: str, exc: Exception) -> str:
    match exc:
        case dav_errors.AuthorizationError():
            return f"calendar {url}: the CalDAV server refused the login ({exc.reason})"
        case dav_errors.NotFoundError():
            return f"calendar {url}: no such calendar on the CalDAV server"
        case requests.ConnectionError():
            return f"calendar {url}: the CalDAV server does not answer"
        case requests.Timeout():
            return f"calendar {url}: the CalDAV server did not answer in time"
        case _:
            return f"calendar {url}: {type(exc).__name__}: {exc}"
