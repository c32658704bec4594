"""The errors of the effectiveness report (tree in `analytics.report`)."""

from __future__ import annotations


class ReportError(Exception):
    """Base of the report's errors."""


class ReportInputError(ReportError):
    """A period, a start date or a site the report cannot be made for."""


class ReportSourceError(ReportError):
    """InfluxDB or the alert store did not answer, or refused the report's query."""


class ReportRenderError(ReportError):
    """The HTML or the PDF could not be written."""
