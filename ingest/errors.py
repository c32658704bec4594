"""Errors raised by the ingest package.

IngestError
├── InfluxError              InfluxDB's v1 HTTP API refused or did not answer
│   ├── InfluxUnavailableError   5xx, timeout, no connection, 401/403/404 and other 4xx
│   │                            an operator can fix (retried, then spooled)
│   ├── InfluxRejectedError      400: the points themselves are wrong (not retried)
│   └── InfluxTooLargeError      413: the body is too large (the batch is split)
├── SpoolError               the disk spool cannot be written or read
└── MqttError                the broker refused the connection or a subscription
    └── MqttPacketError      a packet breaks MQTT's framing or the layout of a PUBLISH
                             (ingest.mqtt_codec; the session drops that connection)

A bad device message is never raised: it becomes a dead letter (`ingest.models.DeadLetter`).
"""

from __future__ import annotations


class IngestError(Exception):
    """Base of every error the ingest package raises."""


class InfluxError(IngestError):
    """InfluxDB's v1 HTTP API refused a request or did not answer."""


class InfluxUnavailableError(InfluxError):
    """5xx, a timeout, no connection, or 401/403/404: worth retrying later."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class InfluxRejectedError(InfluxError):
    """A 400 answer (or a refused query): retrying the same request cannot help."""

    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message)
        self.status = status


class InfluxTooLargeError(InfluxError):
    """413: the write body is larger than the server takes; smaller ones may pass."""

    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message)
        self.status = status


class SpoolError(IngestError):
    """The disk spool could not be written or read."""


class MqttError(IngestError):
    """The broker refused the connection or a subscription."""


class MqttPacketError(MqttError):
    """A packet from the broker breaks MQTT's framing or the layout of a PUBLISH."""
