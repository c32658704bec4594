"""Maintenance windows: a site, or one device of it, opens no alerts for a while.

A window is matched against the signal's event time, so replaying a day yields the same
suppressions as living it. It suppresses *opening* only: an alert already open when the
window starts stays open and still resolves when its condition clears. A suppressed
signal is kept in ``alert_signals`` with the outcome ``suppressed`` and the window's id
(there is no alert for a history to hang on).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from analytics.alerts.errors import AlertInputError, AlertNotFoundError
from analytics.alerts.records import MaintenanceWindow
from analytics.alerts.tables import MaintenanceWindowRow


def check_window(site: str, device: str | None, starts_at: datetime, ends_at: datetime) -> None:
    """AlertInputError unless the window names a site and ends after it starts."""
    if not site:
        raise AlertInputError("a maintenance window needs a site")
    if device == "":
        raise AlertInputError(f"maintenance window of site {site!r}: empty device name")
    for name, value in (("starts_at", starts_at), ("ends_at", ends_at)):
        if value.tzinfo is None:
            raise AlertInputError(
                f"maintenance window of site {site!r}: {name} {value.isoformat()} has no time zone"
            )
    if ends_at <= starts_at:
        raise AlertInputError(
            f"maintenance window of site {site!r}: ends_at {ends_at.isoformat()} is not"
            f" after starts_at {starts_at.isoformat()}"
        )


def add_window(
    session: Session,
    *,
    site: str,
    device: str | None,
    starts_at: datetime,
    ends_at: datetime,
    reason: str,
    actor: str,
    now: datetime,
) -> MaintenanceWindow:
    check_window(site, device, starts_at, ends_at)
    row = MaintenanceWindowRow(
        site=site,
        device=device,
        starts_at=starts_at,
        ends_at=ends_at,
        reason=reason,
        created_by=actor,
        created_at=now,
    )
    session.add(row)
    session.flush()
    return MaintenanceWindow.from_row(row)


def delete_window(session: Session, window_id: int) -> None:
    row = session.get(MaintenanceWindowRow, window_id)
    if row is None:
        raise AlertNotFoundError(f"no maintenance window with id {window_id}")
    session.delete(row)


def list_windows(session: Session, site: str | None = None) -> list[MaintenanceWindow]:
    query = select(MaintenanceWindowRow).order_by(MaintenanceWindowRow.starts_at)
    if site is not None:
        query = query.where(MaintenanceWindowRow.site == site)
    return [MaintenanceWindow.from_row(row) for row in session.scalars(query)]


def window_covering(session: Session, site: str, device: str, at: datetime) -> int | None:
    """The id of a window that covers ``device`` of ``site`` at ``at`` (start inclusive,
    end exclusive), or None."""
    query = (
        select(MaintenanceWindowRow.id)
        .where(
            MaintenanceWindowRow.site == site,
            MaintenanceWindowRow.starts_at <= at,
            MaintenanceWindowRow.ends_at > at,
            or_(MaintenanceWindowRow.device.is_(None), MaintenanceWindowRow.device == device),
        )
        .order_by(MaintenanceWindowRow.id)
        .limit(1)
    )
    return session.scalar(query)
