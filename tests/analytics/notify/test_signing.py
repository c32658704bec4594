"""Signatures round-trip for any body, and any change to what is signed is caught; the
retry verdicts read ``Retry-After`` as receivers write it."""

from __future__ import annotations

from base64 import b64encode

import pytest
from hypothesis import given
from hypothesis import strategies as st

from analytics.notify.retry import judge_status, parse_retry_after
from analytics.notify.signing import SignatureError, signed_headers, verify

NOW = 1_800_000_000

secrets = st.one_of(
    st.text(min_size=16, max_size=40),
    st.binary(min_size=16, max_size=48).map(lambda key: "whsec_" + b64encode(key).decode()),
)


@given(secret=secrets, body=st.binary(max_size=2000), delivery=st.text("abcdef0123_", min_size=1))
def test_a_signed_body_verifies(secret: str, body: bytes, delivery: str) -> None:
    headers = signed_headers(secret, delivery, NOW, body)
    assert verify(secret, headers, body, now=NOW + 299) == delivery


@given(body=st.binary(min_size=1, max_size=500), data=st.data())
def test_any_changed_byte_or_header_is_refused(body: bytes, data: st.DataObject) -> None:
    secret = "a-secret-of-the-ops-desk"
    headers = signed_headers(secret, "msg_1", NOW, body)
    index = data.draw(st.integers(0, len(body) - 1))
    flipped = body[:index] + bytes([body[index] ^ 0x01]) + body[index + 1 :]
    with pytest.raises(SignatureError):
        verify(secret, headers, flipped, now=NOW)
    with pytest.raises(SignatureError):
        verify(secret, {**headers, "webhook-id": "msg_2"}, body, now=NOW)
    with pytest.raises(SignatureError):  # a re-signed timestamp without the key
        verify(secret, {**headers, "webhook-timestamp": str(NOW + 1)}, body, now=NOW)


def test_missing_headers_and_a_rotated_key_list() -> None:
    body = b"{}"
    with pytest.raises(SignatureError, match="missing"):
        verify("a-secret-of-the-ops-desk", {}, body, now=NOW)
    old = signed_headers("the-old-secret-of-the-desk", "msg_1", NOW, body)
    new = signed_headers("the-new-secret-of-the-desk", "msg_1", NOW, body)
    both = {**new, "webhook-signature": f"{old['webhook-signature']} {new['webhook-signature']}"}
    assert verify("the-old-secret-of-the-desk", both, body, now=NOW) == "msg_1"


@pytest.mark.parametrize(
    ("status", "retry_after", "retry", "wait"),
    [
        (500, None, True, None),
        (502, "30", True, None),  # Retry-After counts on 429 and 503 only
        (503, "30", True, 30.0),
        (408, None, True, None),
        (429, "Fri, 15 Jan 2027 08:00:30 GMT", True, 30.0),
        (429, "soon", True, None),
        (400, None, False, None),
        (401, None, False, None),
        (404, None, False, None),
        (410, None, False, None),
        (301, None, False, None),
    ],
)
def test_which_answers_are_tried_again(
    status: int, retry_after: str | None, retry: bool, wait: float | None
) -> None:
    verdict = judge_status(status, retry_after, now=NOW)
    assert (verdict.retry, verdict.wait) == (retry, wait)


def test_a_retry_after_date_in_the_past_means_now() -> None:
    assert parse_retry_after("Thu, 01 Jan 2026 00:00:00 GMT", now=NOW) == 0.0
