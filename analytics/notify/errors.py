"""The errors of notifications (the tree is drawn in the package docstring)."""

from __future__ import annotations


class NotifyError(Exception):
    """Something about notifications failed."""


class NotifyConfigError(NotifyError, ValueError):
    """The notification settings name something that cannot work (the message says where)."""
