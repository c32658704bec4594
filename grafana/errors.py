"""Errors of the boards, their provisioning and their previews.

GrafanaError
 ├── BoardError       a board or a query that cannot be built or expanded
 ├── PushError        Grafana refused or could not be reached while pushing
 └── PreviewError     a panel's query failed while rendering a preview
"""

from __future__ import annotations


class GrafanaError(Exception):
    """Base of the errors of the ``grafana`` package."""


class BoardError(GrafanaError):
    """A board or one of its queries is wrong."""


class PushError(GrafanaError):
    """Grafana refused a request of ``citytwin grafana push`` or could not be reached."""


class PreviewError(GrafanaError):
    """A preview could not be rendered."""
