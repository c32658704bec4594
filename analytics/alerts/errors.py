"""What can go wrong in the alert store and the lifecycle, as one tree.

    AlertError
     ├── AlertStoreError            the database cannot be opened, migrated or used
     │    └── AlertStoreUrlError    the URL setting names no database the store can use
     ├── AlertNotFoundError         no alert (or maintenance window) with that id
     ├── IllegalTransitionError     the action is not allowed in the alert's state
     ├── AlertInputError            a caller's value is unusable (naive time, empty actor, …)
     ├── EvidenceError              a snapshot cannot be kept (not a JPEG, disk refuses)
     └── AlertExportError           InfluxDB refused the alert points or is unreachable
      └── AlertPointsRefusedError  InfluxDB answered 400: invalid points, never retried

Library exceptions (SQLAlchemy, psycopg, OSError, httpx) are translated at the boundary
with ``raise … from exc``; every message names the offending value and where it came from.
"""

from __future__ import annotations


class AlertError(Exception):
    """Base of every error of ``analytics.alerts``."""


class AlertStoreError(AlertError):
    """The alert database cannot be opened, migrated or used."""


class AlertStoreUrlError(AlertStoreError):
    """The store's URL setting is malformed or names an unsupported database."""


class AlertNotFoundError(AlertError):
    """No alert or maintenance window has the given id."""


class IllegalTransitionError(AlertError):
    """The action is not allowed in the alert's current state (e.g. acknowledging a
    resolved alert)."""


class AlertInputError(AlertError):
    """A value given to the lifecycle cannot be used."""


class EvidenceError(AlertError):
    """A snapshot cannot be kept as evidence."""


class AlertExportError(AlertError):
    """InfluxDB refused the alert points or could not be reached."""


class AlertPointsRefusedError(AlertExportError):
    """InfluxDB answered 400: the batch's valid points are stored, the others never will be
    (a field type conflict, a point outside the retention policy)."""
