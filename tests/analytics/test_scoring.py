"""The ground-truth scoring's arithmetic on a crafted day: which truth lines an alert rule
must see, which alerts are true, and what precision, recall, delays and KPI errors come out."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from tests.analytics.scoring import (
    Episode,
    RaisedAlert,
    alert_table,
    alerts_of,
    compare_kpis,
    episodes_of,
    kpi_table,
    nearest_rank,
    score_alerts,
)

TZ = timezone(timedelta(hours=7))
DAY = "2026-12-07"


def at(clock: str) -> float:
    return datetime.fromisoformat(f"{DAY}T{clock}").replace(tzinfo=TZ).timestamp()


def line(what: str, device: str, start: str, end: str | None, **details: Any) -> dict[str, Any]:
    def stamp(clock: str) -> str:
        return datetime.fromisoformat(f"{DAY}T{clock}").replace(tzinfo=TZ).isoformat()

    return {
        "what": what,
        "device": f"thaibinh.hcc:{device}",
        "site": "thaibinh.hcc",
        "start": stamp(start),
        "end": None if end is None else stamp(end),
        "details": details,
    }


TRUTH = [
    line("officer_absent", "counter-01", "09:00", "09:20", cause="break"),
    line("officer_absent", "counter-01", "10:00", "10:05", cause="break"),
    line("officer_absent", "counter-02", "07:30", "07:50", cause="late"),
    line("officer_absent", "counter-02", "14:00", "14:30", cause="absence"),
    line("threshold", "flood-04", "09:30", "11:00", measure="water_level_cm"),
    line("device_offline", "cam-gate-01", "09:45", None, incident="device_dies"),
    line("ghost_booking", "room-01", "09:00", "10:00"),
    line("room_occupied", "room-01", "13:00", "14:00", booking="Giao ban", people=8),
    line("unbooked_use", "room-01", "13:20", "13:50", people=3),
    line("ticket_served", "counter-01", "08:00", "08:20", wait_s=600, service_s=600),
]


def alert(rule_type: str, device: str, clock: str) -> RaisedAlert:
    return RaisedAlert(rule_type, f"thaibinh.hcc:{device}", at(clock))


ALERTS = [
    alert("officer_absence", "counter-01", "09:10:30"),  # the break, 10.5 min in
    alert("officer_absence", "counter-01", "10:06"),  # a short break, just after it ended
    alert("officer_absence", "counter-02", "07:45"),  # late, with tickets waiting
    alert("officer_absence", "counter-02", "16:00"),  # nobody was away: false
    alert("threshold", "flood-04", "09:30"),
    alert("offline", "cam-gate-01", "09:44"),  # a will placed a minute early
    alert("stream_down", "cam-gate-01", "09:46"),  # no truth says a stream was down
    alert("threshold", "flood-04", "18:00"),  # after the scored span
]


def test_required_episodes_leave_out_short_absences_late_officers_and_booked_rooms() -> None:
    episodes = episodes_of(TRUTH)
    assert [(e.rule_type, e.device.split(":")[1], e.required) for e in episodes] == [
        ("officer_absence", "counter-01", True),
        ("officer_absence", "counter-01", False),
        ("officer_absence", "counter-02", False),
        ("officer_absence", "counter-02", True),
        ("threshold", "flood-04", True),
        ("offline", "cam-gate-01", True),
        ("ghost_booking", "room-01", True),
        ("unbooked_use", "room-01", False),
    ]
    assert episodes[5].end is None


def test_precision_recall_and_delays_per_rule_type() -> None:
    scores = {s.rule_type: s for s in score_alerts(episodes_of(TRUTH), ALERTS, until=at("17:00"))}
    assert set(scores) == {
        "officer_absence", "threshold", "offline", "ghost_booking", "unbooked_use",
        "stream_down",
    }  # fmt: skip
    absence = scores["officer_absence"]
    assert (absence.required, absence.detected, absence.alerts, absence.true_alerts) == (2, 1, 4, 3)
    assert absence.precision == 0.75
    assert absence.recall == 0.5
    assert absence.delays == (630.0,)
    threshold = scores["threshold"]
    assert (threshold.precision, threshold.recall, threshold.delays) == (1.0, 1.0, (0.0,))
    assert scores["offline"].delays == (-60.0,)
    assert scores["offline"].precision == 1.0
    ghost = scores["ghost_booking"]
    assert (ghost.recall, ghost.precision) == (0.0, None)
    unbooked = scores["unbooked_use"]
    assert (unbooked.required, unbooked.recall, unbooked.precision) == (0, None, None)
    assert scores["stream_down"].precision == 0.0


def test_an_alert_beyond_the_matching_window_is_false() -> None:
    episode = Episode("threshold", "thaibinh.flood:flood-04", at("09:30"), at("10:00"))
    inside = RaisedAlert("threshold", episode.device, at("10:02"))
    outside = RaisedAlert("threshold", episode.device, at("10:02:01"))
    other_device = RaisedAlert("threshold", "thaibinh.flood:flood-05", at("09:31"))
    [score] = score_alerts([episode], [inside, outside, other_device])
    assert (score.alerts, score.true_alerts, score.detected) == (3, 1, 1)
    assert score.delays == (1920.0,)  # 32 minutes after the crossing


def test_alerts_are_read_from_their_influx_points() -> None:
    rows = [
        {"time": 1_000_000, "alert_id": "a", "rule_type": "threshold", "device": "s:d",
         "state": "open", "opened_at": 1000.0},
        {"time": 1_600_000, "alert_id": "a", "rule_type": "threshold", "device": "s:d",
         "state": "acknowledged", "opened_at": 1000.0},
        {"time": 1_900_000, "alert_id": "a", "rule_type": "threshold", "device": "s:d",
         "state": "resolved", "opened_at": 1000.0},
        {"time": 500_000, "alert_id": "b", "rule_type": "offline", "device": "s:e",
         "state": "open", "opened_at": 500.0},
    ]  # fmt: skip
    assert alerts_of(rows) == [
        RaisedAlert("offline", "s:e", 500.0, None),
        RaisedAlert("threshold", "s:d", 1000.0, 1900.0),
    ]


def test_the_alert_table_shows_delays_by_nearest_rank() -> None:
    assert nearest_rank((1.0, 2.0, 3.0, 4.0), 0.5) == 2.0
    assert nearest_rank((1.0, 2.0, 3.0, 4.0), 0.95) == 4.0
    with pytest.raises(ValueError, match="no values"):
        nearest_rank((), 0.5)
    table = alert_table(score_alerts(episodes_of(TRUTH), ALERTS, until=at("17:00")))
    assert "| `officer_absence` | 2 | 1 | 0.5 | 4 | 3 | 0.75 | 630 / 630 / 630 |" in table
    assert "| `ghost_booking` | 1 | 0 | 0 | 0 | 0 | – | – |" in table


def test_kpis_are_compared_within_one_percent_and_a_missing_value_is_a_miss() -> None:
    day = at("00:00")
    truth = {
        ("tickets_served", "province", "day", day): 100.0,
        ("waiting_time_mean", "province", "day", day): 52.0,
        ("tickets_no_show", "province", "day", day): 0.0,  # nothing to write: left out
        ("tickets_unserved", "province", "day", day): 3.0,
        ("tickets_served", "site:thaibinh.hcc", "day", day): 0.0,
    }
    measured = {
        ("tickets_served", "province", "day", day): 100.5,
        ("waiting_time_mean", "province", "day", day): 50.0,
        ("tickets_served", "site:thaibinh.hcc", "day", day): 0.0,
    }
    rows = {(r.kpi, r.scope): r for r in compare_kpis(measured, truth)}
    assert set(rows) == {
        ("tickets_served", "province"), ("waiting_time_mean", "province"),
        ("tickets_unserved", "province"), ("tickets_served", "site:thaibinh.hcc"),
    }  # fmt: skip
    served = rows[("tickets_served", "province")]
    assert served.relative_error == pytest.approx(0.5 / 100.5)
    assert served.within
    waiting = rows[("waiting_time_mean", "province")]
    assert waiting.relative_error == pytest.approx(2.0 / 52.0)
    assert not waiting.within
    assert math.isinf(rows[("tickets_unserved", "province")].relative_error)
    assert rows[("tickets_served", "site:thaibinh.hcc")].within
    table = kpi_table(rows.values())
    assert "| `tickets_served` | 2 | 2 | 0.50 % | 100.5 | 100 |" in table
    assert "| `waiting_time_mean` | 1 | 0 | 3.85 % | 50 | 52 |" in table
    assert "| `tickets_unserved` | 1 | 0 | missing | – | 3 |" in table
