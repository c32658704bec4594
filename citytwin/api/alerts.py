"""The alerts API: read, filter and act on alerts through ``AlertLifecycle``.

    GET    /api/alerts                      list (filters, paging)           viewer
    GET    /api/alerts/changes?after=ID     alerts changed since a history id viewer
    GET    /api/alerts/stream               the same, live (server-sent events) viewer
    GET    /api/alerts/{id}                 one alert                        viewer
    GET    /api/alerts/{id}/history         what happened to it, oldest first viewer
    GET    /api/alerts/{id}/evidence        its JPEG snapshot                viewer
    POST   /api/alerts/{id}/acknowledge     take it on                       operator
    POST   /api/alerts/{id}/resolve         close it (manual | false_alarm)  operator
    POST   /api/alerts/{id}/assign          give it to someone               operator
    POST   /api/alerts/{id}/notes           add a note                       operator
    PUT    /api/alerts/{id}/evidence        attach a JPEG snapshot           operator
    GET    /api/maintenance                 maintenance windows              viewer
    POST   /api/maintenance                 add one                          admin
    DELETE /api/maintenance/{id}            remove one                       admin

Every action is one lifecycle call, so it lands in the alert's history, with the caller
as actor, in the same transaction as the change (and, for transitions, in the outbox
``citytwin analytics`` exports to InfluxDB).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

from fastapi import APIRouter, Header, Path, Query, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import AwareDatetime, BaseModel

from analytics.alerts.errors import (
    AlertError,
    AlertInputError,
    AlertNotFoundError,
    AlertStoreError,
    EvidenceError,
    IllegalTransitionError,
)
from analytics.alerts.evidence import MAX_SNAPSHOT_BYTES
from analytics.alerts.lifecycle import AlertLifecycle
from analytics.alerts.model import AlertState, RuleType
from analytics.alerts.queries import MAX_PAGE, AlertFilter, changes_after, find_alerts
from analytics.alerts.records import Resolution
from citytwin.api.access import AlertAccess, Callers
from citytwin.api.bodies import (
    ActionBody,
    AlertBody,
    AlertListBody,
    AssignBody,
    HistoryBody,
    MaintenanceBody,
    MaintenanceWindowBody,
    NoteBody,
    ResolveBody,
    SeverityName,
)
from citytwin.api.errors import ApiRefusalError, refusals
from citytwin.api.live import EVENT_STREAM, FeedTiming, alert_events, start_id
from citytwin.auth import Principal
from twins.http_body import BodyTooLargeError, read_body

logger = logging.getLogger(__name__)

T = TypeVar("T")

AlertId = Annotated[str, Path(description="the alert's id (32 hex digits)", max_length=64)]


class ChangesBody(BaseModel):
    """Alerts changed after a history id, as they are now; ask again with ``last_id``."""

    last_id: int
    alerts: list[AlertBody]


async def _guard(alert_id: str | None, lifecycle: AlertLifecycle, work: Awaitable[T]) -> T:
    """The lifecycle's errors as the API's refusals."""
    try:
        return await work
    except AlertNotFoundError as exc:
        raise ApiRefusalError(404, "not_found", str(exc)) from None
    except IllegalTransitionError as exc:
        extra = {}
        if alert_id is not None:
            extra["state"] = str((await lifecycle.get(alert_id)).state)
        raise ApiRefusalError(409, "conflict", str(exc), **extra) from None
    except AlertInputError as exc:
        raise ApiRefusalError(422, "invalid", str(exc)) from None
    except AlertStoreError as exc:
        raise ApiRefusalError(503, "unavailable", str(exc)) from None
    except EvidenceError as exc:
        raise ApiRefusalError(422, "invalid", str(exc), field="body") from None
    except AlertError as exc:
        raise ApiRefusalError(422, "invalid", str(exc)) from None


def alerts_router(access: AlertAccess, callers: Callers, timing: FeedTiming) -> APIRouter:
    """The routes of the module docstring, acting through ``access``'s lifecycle."""
    router = APIRouter(prefix="/api", tags=["alerts"])
    viewer, operator, admin = callers.viewer, callers.operator, callers.admin

    async def act(alert_id: str, work: Callable[[AlertLifecycle], Awaitable[T]]) -> T:
        lifecycle = await access.lifecycle()
        return await _guard(alert_id, lifecycle, work(lifecycle))

    @router.get(
        "/alerts",
        summary="List alerts",
        response_model=AlertListBody,
        responses=refusals(401, 422, 503),
    )
    async def list_alerts(
        _caller: Principal = viewer,
        site: Annotated[str | None, Query(description="the site (namespace)")] = None,
        state: Annotated[list[AlertState] | None, Query(description="repeat for several")] = None,
        severity: Annotated[list[SeverityName] | None, Query()] = None,
        rule_type: Annotated[list[RuleType] | None, Query()] = None,
        device: Annotated[
            str | None, Query(description="the device's thing id, e.g. thaibinh.hcc:cam-03")
        ] = None,
        since: Annotated[AwareDatetime | None, Query(description="onset at or after")] = None,
        until: Annotated[AwareDatetime | None, Query(description="onset before")] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> AlertListBody:
        """Alerts matching every filter given: not resolved first, then the most severe,
        then the newest onset."""
        if since is not None and until is not None and until <= since:
            raise ApiRefusalError(
                422,
                "invalid",
                f"until {until.isoformat()} is not after since {since.isoformat()}",
                field="until",
            )
        wanted = AlertFilter(
            site=site,
            states=frozenset(state or ()),
            severities=frozenset(name.severity for name in severity or ()),
            rule_types=frozenset(rule_type or ()),
            device=device,
            since=since,
            until=until,
        )
        lifecycle = await access.lifecycle()
        page = await _guard(
            None,
            lifecycle,
            lifecycle.store.run(
                lambda session: find_alerts(session, wanted, limit=limit, offset=offset)
            ),
        )
        return AlertListBody(
            total=page.total,
            limit=page.limit,
            offset=page.offset,
            alerts=[AlertBody.of(alert) for alert in page.alerts],
        )

    @router.get(
        "/alerts/changes",
        summary="Alerts changed since a history id",
        response_model=ChangesBody,
        responses=refusals(401, 422, 503),
    )
    async def alert_changes(
        _caller: Principal = viewer,
        after: Annotated[int, Query(ge=0, description="the last_id of the previous answer")] = 0,
    ) -> ChangesBody:
        """For pollers: every alert changed after ``after``; 0 starts from the beginning."""
        lifecycle = await access.lifecycle()
        changes = await _guard(
            None, lifecycle, lifecycle.store.run(lambda session: changes_after(session, after))
        )
        return ChangesBody(
            last_id=changes.last_id, alerts=[AlertBody.of(alert) for alert in changes.alerts]
        )

    @router.get(
        "/alerts/stream",
        summary="Live alert changes (server-sent events)",
        response_class=StreamingResponse,
        responses={200: {"content": {EVENT_STREAM: {}}}, **refusals(401, 503)},
    )
    async def alert_stream(
        _caller: Principal = viewer,
        site: Annotated[str | None, Query(description="only this site's alerts")] = None,
        last_event_id: Annotated[str | None, Header(description="resume after this id")] = None,
    ) -> StreamingResponse:
        """``event: alert`` with the alert as it is now, each time it changes."""
        lifecycle = await access.lifecycle()
        after = await _guard(None, lifecycle, start_id(lifecycle, last_event_id))
        return StreamingResponse(
            alert_events(lifecycle, after, timing, site),
            media_type=EVENT_STREAM,
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    @router.get(
        "/alerts/{alert_id}",
        summary="One alert",
        response_model=AlertBody,
        responses=refusals(401, 404, 422, 503),
    )
    async def get_alert(alert_id: AlertId, _caller: Principal = viewer) -> AlertBody:
        return AlertBody.of(await act(alert_id, lambda lifecycle: lifecycle.get(alert_id)))

    @router.get(
        "/alerts/{alert_id}/history",
        summary="An alert's history",
        response_model=list[HistoryBody],
        responses=refusals(401, 404, 422, 503),
    )
    async def alert_history(alert_id: AlertId, _caller: Principal = viewer) -> list[HistoryBody]:
        """Every transition and action, oldest first: who, when, states, note."""
        entries = await act(alert_id, lambda lifecycle: lifecycle.history(alert_id))
        return [HistoryBody.of(entry) for entry in entries]

    @router.get(
        "/alerts/{alert_id}/evidence",
        summary="An alert's snapshot (JPEG)",
        response_class=Response,
        responses={200: {"content": {"image/jpeg": {}}}, **refusals(401, 404, 422, 503)},
    )
    async def alert_evidence(alert_id: AlertId, _caller: Principal = viewer) -> Response:
        alert = await act(alert_id, lambda lifecycle: lifecycle.get(alert_id))
        if alert.evidence_path is None:
            raise ApiRefusalError(404, "not_found", f"alert {alert_id} has no snapshot")
        try:
            jpeg = access.evidence.read(alert.evidence_path)
        except EvidenceError as exc:
            logger.warning("alert %s: %s", alert_id, exc)
            raise ApiRefusalError(404, "not_found", str(exc)) from None
        return Response(
            jpeg,
            media_type="image/jpeg",
            headers={"Cache-Control": "private, max-age=3600"},
        )

    @router.put(
        "/alerts/{alert_id}/evidence",
        summary="Attach a snapshot (JPEG body) to an alert",
        response_model=AlertBody,
        responses=refusals(401, 403, 404, 413, 422, 503),
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"image/jpeg": {"schema": {"type": "string", "format": "binary"}}},
            }
        },
    )
    async def attach_evidence(
        alert_id: AlertId, request: Request, caller: Principal = operator
    ) -> AlertBody:
        """The snapshot becomes the alert's evidence (the history keeps the earlier one's
        path); not a JPEG or over 20 MiB is refused."""
        try:
            jpeg = await read_body(request, MAX_SNAPSHOT_BYTES)
        except BodyTooLargeError as exc:
            raise ApiRefusalError(413, "too_large", str(exc)) from None
        actor = caller.actor
        alert = await act(
            alert_id, lambda lifecycle: lifecycle.attach_evidence(alert_id, jpeg, actor=actor)
        )
        return AlertBody.of(alert)

    @router.post(
        "/alerts/{alert_id}/acknowledge",
        summary="Acknowledge an open alert",
        response_model=AlertBody,
        responses=refusals(401, 403, 404, 409, 422, 503),
    )
    async def acknowledge(
        alert_id: AlertId,
        caller: Principal = operator,
        body: ActionBody | None = None,
    ) -> AlertBody:
        """Only an open alert can be acknowledged (409 otherwise, naming its state)."""
        note = body.note if body else None
        alert = await act(
            alert_id,
            lambda lifecycle: lifecycle.acknowledge(alert_id, actor=caller.actor, note=note),
        )
        return AlertBody.of(alert)

    @router.post(
        "/alerts/{alert_id}/resolve",
        summary="Resolve an alert, as handled or as a false alarm",
        response_model=AlertBody,
        responses=refusals(401, 403, 404, 409, 422, 503),
    )
    async def resolve(
        alert_id: AlertId,
        caller: Principal = operator,
        body: ResolveBody | None = None,
    ) -> AlertBody:
        """An open or acknowledged alert; ``false_alarm`` counts in the false-alert share."""
        wanted = body or ResolveBody()
        false_alarm = wanted.resolution.value == Resolution.FALSE_ALARM
        alert = await act(
            alert_id,
            lambda lifecycle: lifecycle.resolve(
                alert_id, actor=caller.actor, false_alarm=false_alarm, note=wanted.note
            ),
        )
        return AlertBody.of(alert)

    @router.post(
        "/alerts/{alert_id}/assign",
        summary="Assign an alert to someone",
        response_model=AlertBody,
        responses=refusals(401, 403, 404, 409, 422, 503),
    )
    async def assign(
        alert_id: AlertId, body: AssignBody, caller: Principal = operator
    ) -> AlertBody:
        alert = await act(
            alert_id,
            lambda lifecycle: lifecycle.assign(
                alert_id, assignee=body.assignee, actor=caller.actor, note=body.note
            ),
        )
        return AlertBody.of(alert)

    @router.post(
        "/alerts/{alert_id}/notes",
        summary="Add a note to an alert's history",
        response_model=AlertBody,
        responses=refusals(401, 403, 404, 422, 503),
    )
    async def add_note(
        alert_id: AlertId, body: NoteBody, caller: Principal = operator
    ) -> AlertBody:
        """In any state, resolved alerts too."""
        alert = await act(
            alert_id, lambda lifecycle: lifecycle.note(alert_id, actor=caller.actor, text=body.text)
        )
        return AlertBody.of(alert)

    @router.get(
        "/maintenance",
        summary="Maintenance windows",
        response_model=list[MaintenanceWindowBody],
        responses=refusals(401, 503),
        tags=["maintenance"],
    )
    async def list_maintenance(
        _caller: Principal = viewer,
        site: Annotated[str | None, Query(description="one site's windows")] = None,
    ) -> list[MaintenanceWindowBody]:
        lifecycle = await access.lifecycle()
        windows = await _guard(None, lifecycle, lifecycle.maintenance_windows(site))
        return [MaintenanceWindowBody.of(window) for window in windows]

    @router.post(
        "/maintenance",
        summary="Add a maintenance window",
        status_code=201,
        response_model=MaintenanceWindowBody,
        responses=refusals(401, 403, 422, 503),
        tags=["maintenance"],
    )
    async def add_maintenance(
        body: MaintenanceBody, caller: Principal = admin
    ) -> MaintenanceWindowBody:
        """Signals of the site (or device) with an event time in [starts_at, ends_at) open
        no alert."""
        lifecycle = await access.lifecycle()
        window = await _guard(
            None,
            lifecycle,
            lifecycle.add_maintenance(
                site=body.site,
                device=body.device,
                starts_at=body.starts_at,
                ends_at=body.ends_at,
                reason=body.reason,
                actor=caller.actor,
            ),
        )
        return MaintenanceWindowBody.of(window)

    @router.delete(
        "/maintenance/{window_id}",
        summary="Remove a maintenance window",
        status_code=204,
        responses=refusals(401, 403, 404, 503),
        tags=["maintenance"],
    )
    async def remove_maintenance(
        window_id: Annotated[int, Path(ge=1)], _caller: Principal = admin
    ) -> Response:
        lifecycle = await access.lifecycle()
        await _guard(None, lifecycle, lifecycle.remove_maintenance(window_id))
        return Response(status_code=204)

    return router
