"""Ingest's /metrics names devices: loopback only, or HTTP basic."""

from __future__ import annotations

import httpx
import pytest
from pydantic import SecretStr, ValidationError

from ingest.metrics import METRICS_USER, IngestMetrics, serve_metrics
from ingest.settings import IngestSettings

DEVICE = "thaibinh.hcc:counter-07"


def test_metrics_on_loopback_need_no_password_by_default() -> None:
    settings = IngestSettings()
    assert settings.metrics_host == "127.0.0.1"
    assert not settings.metrics_password.get_secret_value()


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.0.0.5", "ingest.example"])
def test_metrics_open_to_other_machines_without_a_password_are_refused(host: str) -> None:
    with pytest.raises(ValidationError, match="set metrics_password"):
        IngestSettings(metrics_host=host)


def test_metrics_with_a_password_show_no_device_to_a_caller_without_it() -> None:
    settings = IngestSettings(metrics_host="0.0.0.0", metrics_password=SecretStr("scrape-me"))
    metrics = IngestMetrics()
    metrics.deadletters.labels(device=DEVICE, reason="schema").inc()
    password = settings.metrics_password.get_secret_value()
    with serve_metrics(metrics, "127.0.0.1", 0, password) as port:
        url = f"http://127.0.0.1:{port}/metrics"
        anonymous = httpx.get(url)
        wrong = httpx.get(url, auth=(METRICS_USER, "guess"))
        scraper = httpx.get(url, auth=(METRICS_USER, password))
    assert anonymous.status_code == 401
    assert wrong.status_code == 401
    assert DEVICE not in anonymous.text + wrong.text
    assert scraper.status_code == 200
    assert f'device="{DEVICE}"' in scraper.text
