"""Whether a failed webhook attempt is worth repeating, and when.

Worth repeating: a server error (5xx), 408, 429, a timeout, a refused or dropped
connection — the receiver may be back soon. Not worth it: any other 4xx (the receiver
refuses this request and will refuse it again) and redirects (webhooks are not followed to
another address; fix the URL). A 429 or 503 with ``Retry-After`` (seconds, or an HTTP
date) waits what the receiver asked, up to a limit, instead of the backoff's delay.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC
from email.utils import parsedate_to_datetime

RETRIED_STATUSES = frozenset({408, 429})


@dataclass(slots=True, frozen=True)
class Verdict:
    """What to do after one answer: repeat it (after ``wait`` seconds if the receiver said)."""

    retry: bool
    wait: float | None = None


def judge_status(status: int, retry_after: str | None, now: float) -> Verdict:
    """The verdict on an HTTP answer that is not a 2xx (``now`` in Unix seconds)."""
    if status >= 500 or status in RETRIED_STATUSES:
        wait = parse_retry_after(retry_after, now) if status in (429, 503) else None
        return Verdict(retry=True, wait=wait)
    return Verdict(retry=False)


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` header; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - now)
