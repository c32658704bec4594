"""Errors raised by the ingest package.

IngestError
├── InfluxError              InfluxDB's v1 HTTP API refused or did not answer
│   ├── InfluxUnavailableError   5xx, timeout or no connection (retried, then spooled)
│   └── InfluxRejectedError      4xx: the request itself is wrong (not retried)
├── SpoolError               the disk spool cannot be written or read
└── MqttError                the broker refused the connection or a subscription

A bad device message is never raised: it becomes a dead letter (`ingest.models.DeadLetter`).
"""

from __future__ import annotations


class IngestError(Exception):
    """Base of every error the ingest package raises."""


class InfluxError(IngestError):
    """InfluxDB's v1 HTTP API refused a request or did not answer."""


class InfluxUnavailableError(InfluxError):
    """5xx, a timeout or no connection: worth retrying later."""


class InfluxRejectedError(InfluxError):
    """A 4xx answer: retrying the same request cannot help."""

    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message)
        self.status = status


class SpoolError(IngestError):
    """The disk spool could not be written or read."""


class MqttError(IngestError):
    """The broker refused the connection or a subscription."""
