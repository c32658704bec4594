"""The checkpoint the analytics process saves: never past committed signals, never back."""

from __future__ import annotations

from pathlib import Path

from analytics.checkpoint import FileCheckpoint
from analytics.service.pipeline import CommittedCheckpoint


def test_the_checkpoint_waits_for_committed_signals_and_never_moves_back(tmp_path: Path) -> None:
    path = tmp_path / "checkpoint.json"
    committed: list[int | None] = [None]
    checkpoint = CommittedCheckpoint(FileCheckpoint(path), lambda: committed[0])
    assert checkpoint.load() is None

    checkpoint.save(5_000)  # nothing committed yet: nothing saved
    assert FileCheckpoint(path).load() is None
    committed[0] = 3_000  # the engine's frontier: events up to 5 000 handed over, 3 000 judged
    checkpoint.save(5_000)
    assert FileCheckpoint(path).load() == 3_000
    committed[0] = 9_000
    checkpoint.save(7_000)
    assert FileCheckpoint(path).load() == 7_000

    restarted = CommittedCheckpoint(FileCheckpoint(path), lambda: committed[0])
    assert restarted.load() == 7_000
    committed[0] = 2_000  # replaying the lookback, behind where it started
    restarted.save(4_000)
    assert FileCheckpoint(path).load() == 7_000
