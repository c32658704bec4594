"""Webhook signatures, as the Standard Webhooks specification lays them out.

Each POST carries three headers::

    webhook-id:        the delivery's id (the same on every retry: receivers drop repeats)
    webhook-timestamp: Unix seconds when this attempt was signed
    webhook-signature: v1,<base64 of HMAC-SHA256(key, "{id}.{timestamp}.{body}")>

The key is the subscription's secret as UTF-8, or — for a secret written
``whsec_<base64>``, the specification's form — the decoded bytes, so a receiver can verify
with any Standard Webhooks library as well as with `verify` here. The timestamp is inside
the signed content: a receiver that refuses timestamps outside a few minutes of its own
clock cannot be fed a recorded delivery later (replay).

Three lines of `hmac` do not warrant a dependency; following a published layout spares
every receiver an invented one.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping

from analytics.notify.errors import NotifyError

HEADER_ID = "webhook-id"
HEADER_TIMESTAMP = "webhook-timestamp"
HEADER_SIGNATURE = "webhook-signature"
TOLERANCE_SECONDS = 300
"""A receiver's replay window: timestamps further than this from its clock are refused."""


class SignatureError(NotifyError):
    """A delivery whose signature or timestamp does not verify (the message says which)."""


def secret_key(secret: str) -> bytes:
    """The HMAC key of a secret (``whsec_`` + base64, or any other text as UTF-8)."""
    if secret.startswith("whsec_"):
        try:
            return base64.b64decode(secret.removeprefix("whsec_"), validate=True)
        except binascii.Error:
            raise ValueError("a 'whsec_' secret must be followed by base64") from None
    return secret.encode()


def signature(secret: str, delivery_id: str, timestamp: int, body: bytes) -> str:
    """``v1,<base64>`` over ``{id}.{timestamp}.{body}``."""
    content = f"{delivery_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signed_headers(secret: str, delivery_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three headers of one attempt."""
    return {
        HEADER_ID: delivery_id,
        HEADER_TIMESTAMP: str(timestamp),
        HEADER_SIGNATURE: signature(secret, delivery_id, timestamp, body),
    }


def verify(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    now: float,
    tolerance: float = TOLERANCE_SECONDS,
) -> str:
    """What a receiver does: check the timestamp window and the signature; the delivery id.

    ``headers`` must look names up without regard to case (Starlette's, httpx's, or a dict
    of lower-case names). Raises `SignatureError`. The signature header may hold several
    space-separated signatures (during a key rotation); one match suffices.
    """
    delivery_id = headers.get(HEADER_ID)
    stamp = headers.get(HEADER_TIMESTAMP)
    offered = headers.get(HEADER_SIGNATURE)
    if not delivery_id or not stamp or not offered:
        raise SignatureError(
            f"missing {HEADER_ID}, {HEADER_TIMESTAMP} or {HEADER_SIGNATURE} header"
        )
    try:
        timestamp = int(stamp)
    except ValueError:
        raise SignatureError(f"{HEADER_TIMESTAMP} {stamp!r} is not Unix seconds") from None
    if abs(now - timestamp) > tolerance:
        raise SignatureError(
            f"{HEADER_TIMESTAMP} {timestamp} is {now - timestamp:+.0f} s from now, outside"
            f" ±{tolerance:g} s (a replay, or a clock that is off)"
        )
    expected = signature(secret, delivery_id, timestamp, body)
    if not any(hmac.compare_digest(expected, part) for part in offered.split()):
        raise SignatureError(f"{HEADER_SIGNATURE} does not match the body (wrong secret?)")
    return delivery_id
