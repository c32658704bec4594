"""The desk citizen reports arrive at: each one a twin, its photos on disk, an alert raised
for the operator, and the operator's answer carried back to all three.

    submit   the ``report`` twin created (If-None-Match: *, so of two requests with one
             key only one creates it), its photos stored, an alert of type
             ``citizen_report`` opened and its id written into the twin
    assign   the twin goes to ``assigned``; the alert is assigned and, while open,
             acknowledged (an assignment is the first response)
    reply    the reply to the citizen is written into the twin; an open alert is
             acknowledged
    resolve  the twin goes to ``resolved`` (a reply is needed, given then or before);
             the alert is resolved

The twin is the record of the report, the alert the operator's work item; the alert's
transitions give the KPIs (time to first response = acknowledged − opened, time to
resolve = resolved − opened).

    ReportDeskError
     ├── ReportConflictError     same client key, other content; or a state that does
     │                           not allow the action (HTTP 409)
     ├── ReportNotFoundError     no such report, or one of another system (HTTP 404)
     └── ReportUnavailableError  the twin service or the alert store cannot be reached (503)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

import requests

from analytics.alerts.errors import AlertError, IllegalTransitionError
from analytics.alerts.model import AlertKey, AlertSignal, AlertState, RuleType, Severity
from citytwin.api.access import AlertAccess
from citytwin.api.errors import ApiRefusalError
from ingest.reports.categories import CATEGORY_NAMES, ReportCategory
from ingest.reports.photos import CleanPhoto
from ingest.reports.settings import ReportSettings
from ingest.reports.storage import PhotoStorage
from ingest.reports.twin import Report, ReportState, report_thing_id
from twins.client import DittoClient
from twins.errors import DittoError, DittoNotFoundError, DittoPreconditionFailedError

logger = logging.getLogger(__name__)

ALERT_RULE = "citizen-report"
SECTOR = "citizen_reception"


class ReportDeskError(Exception):
    pass


class ReportConflictError(ReportDeskError):
    def __init__(self, message: str, state: str = "") -> None:
        super().__init__(message)
        self.state = state


class ReportNotFoundError(ReportDeskError):
    pass


class ReportUnavailableError(ReportDeskError):
    pass


@dataclass(slots=True, frozen=True)
class Submission:
    """A report as checked, before it is kept."""

    system: str
    client_key: str
    fingerprint: str
    category: ReportCategory
    lat: float
    lon: float
    text: str
    photos: list[CleanPhoto]


@dataclass(slots=True, frozen=True)
class Submitted:
    report: Report
    created: bool


class ReportDesk:
    """Reports through the twin service (citytwin's account) and the alert lifecycle."""

    def __init__(
        self,
        settings: ReportSettings,
        twin_client: Callable[[], DittoClient],
        alerts: AlertAccess,
        photos: PhotoStorage,
        clock: Callable[[], datetime],
    ) -> None:
        self.settings = settings
        self.twin_client = twin_client
        self.alerts = alerts
        self.photos = photos
        self.clock = clock

    # ---- twins ---------------------------------------------------------------------------

    async def _twin(self, work: Callable[[DittoClient], object]) -> object:
        def run() -> object:
            with self.twin_client() as client:
                return work(client)

        try:
            return await asyncio.to_thread(run)
        except (DittoNotFoundError, DittoPreconditionFailedError):
            raise
        except (DittoError, requests.RequestException) as exc:
            logger.warning("report twins not reachable: %s", exc)
            raise ReportUnavailableError(f"the twin service did not answer: {exc}") from None

    async def _find(self, report_id: str) -> Report | None:
        try:
            thing = await self._twin(lambda c: c.get(report_id))
        except DittoNotFoundError:
            return None
        assert isinstance(thing, dict)
        return Report.from_thing(thing)

    async def get(self, report_id: str, *, system: str | None = None) -> Report:
        """The report; one of another system is as absent as one never sent."""
        if not report_id.startswith(f"{self.settings.namespace}:"):
            raise ReportNotFoundError(f"no report {report_id!r}")
        found = await self._find(report_id)
        if found is None or (system is not None and found.system != system):
            raise ReportNotFoundError(f"no report {report_id!r}")
        return found

    async def search(
        self,
        *,
        system: str | None = None,
        state: ReportState | None = None,
        category: ReportCategory | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[Report]:
        """Reports matching every filter given, newest first."""
        terms = ['eq(attributes/kind,"report")']
        if system is not None:
            terms.append(f'eq(attributes/system,"{system}")')
        if state is not None:
            terms.append(f'eq(features/lifecycle/properties/state,"{state}")')
        if category is not None:
            terms.append(f'eq(attributes/category,"{category}")')
        rql = f"and({','.join(terms)})"
        things = await self._twin(
            lambda c: list(c.search(rql, namespaces=[self.settings.namespace]))
        )
        assert isinstance(things, list)
        reports = [Report.from_thing(t) for t in things]
        reports = [
            r
            for r in reports
            if (since is None or r.received_at >= since)
            and (until is None or r.received_at < until)
        ]
        return sorted(reports, key=lambda r: r.received_at, reverse=True)

    async def _write_lifecycle(self, report: Report) -> None:
        await self._twin(
            lambda c: c.put(report.id, "features/lifecycle/properties", report.lifecycle())
        )

    # ---- intake --------------------------------------------------------------------------

    async def submit(self, submission: Submission) -> Submitted:
        """Keep the report, or find the one this client key gave before."""
        report_id = report_thing_id(
            self.settings.namespace, submission.system, submission.client_key
        )
        earlier = await self._find(report_id)
        if earlier is not None:
            return Submitted(self._same(earlier, submission), created=False)
        report = Report(
            id=report_id,
            system=submission.system,
            client_key=submission.client_key,
            fingerprint=submission.fingerprint,
            category=submission.category,
            lat=submission.lat,
            lon=submission.lon,
            text=submission.text,
            photos=len(submission.photos),
            received_at=self.clock(),
        )
        try:
            await self._twin(lambda c: c.create_thing(report.thing()))
        except DittoPreconditionFailedError:
            # the same key arrived twice at once: the other request created it (and keeps
            # its photos: they are written only by the request whose twin was created)
            raced = await self._find(report_id)
            if raced is None:
                raise ReportUnavailableError(f"report {report_id} vanished while created") from None
            return Submitted(self._same(raced, submission), created=False)
        try:
            for number, photo in enumerate(submission.photos, start=1):
                self.photos.put(report_id, number, photo.jpeg)
        except OSError as exc:
            logger.error("photos of citizen report %s not kept: %s", report_id, exc)
            self.photos.remove(report_id)
            await self._twin(lambda c: c.delete(report_id))
            raise ReportUnavailableError(
                f"the photos of report {report_id} could not be kept ({exc}); nothing is kept,"
                " send it again"
            ) from None
        logger.info(
            "citizen report %s from %s: %s at %.5f,%.5f with %d photo(s)",
            report_id,
            report.system,
            report.category,
            report.lat,
            report.lon,
            report.photos,
        )
        return Submitted(await self._raise_alert(report), created=True)

    def _same(self, earlier: Report, submission: Submission) -> Report:
        if earlier.fingerprint != submission.fingerprint:
            raise ReportConflictError(
                f"client_key {submission.client_key!r} was used by {submission.system} for"
                f" report {earlier.id} with other content (category, location, text or"
                " photos): send a new client_key for a new report"
            )
        return earlier

    async def _raise_alert(self, report: Report) -> Report:
        """Open the operator's alert; a store that is down leaves the report kept and
        alertless, and the next read of it tries again (``ensure_alert``)."""
        names = CATEGORY_NAMES[report.category]
        summary = report.text if len(report.text) <= 80 else report.text[:79] + "…"
        signal = AlertSignal(
            key=AlertKey(rule=ALERT_RULE, device=report.id),
            rule_type=RuleType.CITIZEN_REPORT,
            active=True,
            at=report.received_at,
            severity=Severity.WARNING,
            site=self.settings.site,
            sector=SECTOR,
            message_vi=f"Phản ánh của người dân: {names['vi']} — {summary}",
            message_en=f"Citizen report: {names['en']} — {summary}",
            details={
                "report": report.id,
                "category": str(report.category),
                "lat": report.lat,
                "lon": report.lon,
                "system": report.system,
                "photos": report.photos,
            },
        )
        try:
            lifecycle = await self.alerts.lifecycle()
            applied = await lifecycle.apply(signal)
        except (AlertError, ApiRefusalError) as exc:
            logger.warning("alert of citizen report %s not raised yet: %s", report.id, exc)
            return report
        if applied.alert is None:
            return report
        with_alert = replace(report, alert_id=applied.alert.id)
        await self._write_lifecycle(with_alert)
        return with_alert

    async def ensure_alert(self, report: Report) -> Report:
        """The report with its alert, raising it now if the store was down at intake."""
        if report.alert_id is not None or report.state is ReportState.RESOLVED:
            return report
        return await self._raise_alert(report)

    # ---- the operator's answer -----------------------------------------------------------

    def _open(self, report: Report, action: str) -> None:
        if report.state is ReportState.RESOLVED:
            raise ReportConflictError(
                f"report {report.id} is resolved since {report.resolved_at}: it cannot be {action}",
                state=str(report.state),
            )

    async def _acknowledge(self, report: Report, actor: str) -> None:
        if report.alert_id is None:
            return
        lifecycle = await self.alerts.lifecycle()
        alert = await lifecycle.get(report.alert_id)
        if alert.state == AlertState.OPEN:
            await lifecycle.acknowledge(report.alert_id, actor=actor, note="report answered")

    async def assign(self, report_id: str, assignee: str, actor: str) -> Report:
        report = await self.ensure_alert(await self.get(report_id))
        self._open(report, "assigned")
        now = self.clock()
        updated = replace(report, state=ReportState.ASSIGNED, assignee=assignee, assigned_at=now)
        if report.alert_id is not None:
            lifecycle = await self.alerts.lifecycle()
            # resolved in the inbox already: the report still records who has it
            with contextlib.suppress(IllegalTransitionError):
                await lifecycle.assign(report.alert_id, assignee=assignee, actor=actor)
            await self._acknowledge(report, actor)
        await self._write_lifecycle(updated)
        return updated

    async def reply(self, report_id: str, text: str, actor: str) -> Report:
        report = await self.ensure_alert(await self.get(report_id))
        self._open(report, "replied to")
        updated = replace(report, reply=text, replied_at=self.clock())
        await self._acknowledge(report, actor)
        await self._write_lifecycle(updated)
        return updated

    async def resolve(self, report_id: str, reply: str | None, actor: str) -> Report:
        report = await self.ensure_alert(await self.get(report_id))
        self._open(report, "resolved again")
        if reply is None and report.reply is None:
            raise ValueError(
                f"report {report.id} has no reply to the citizen yet: send one with it"
            )
        now = self.clock()
        updated = replace(
            report,
            state=ReportState.RESOLVED,
            reply=reply if reply is not None else report.reply,
            replied_at=now if reply is not None else report.replied_at,
            resolved_at=now,
        )
        if report.alert_id is not None:
            lifecycle = await self.alerts.lifecycle()
            # resolved in the inbox before the report was
            with contextlib.suppress(IllegalTransitionError):
                await lifecycle.resolve(report.alert_id, actor=actor, note="report resolved")
        await self._write_lifecycle(updated)
        return updated
