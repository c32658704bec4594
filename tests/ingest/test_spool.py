"""The disk spool in a real directory: failed appends, torn tails, corruption."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from ingest.errors import SpoolError
from ingest.spool import HEADER, DiskSpool

pytestmark = pytest.mark.timeout(60)


def spool_in(directory: Path, segment_bytes: int = 1 << 20) -> DiskSpool:
    return DiskSpool(directory, max_bytes=1 << 30, segment_bytes=segment_bytes)


def drain(spool: DiskSpool) -> list[bytes]:
    bodies = []
    while (record := spool.peek()) is not None:
        bodies.append(record.body)
        spool.pop(record)
    return bodies


def test_a_failed_append_is_cut_off_and_later_records_survive(tmp_path: Path) -> None:
    # a file size limit makes the second append fail half-way, as a full disk would
    script = textwrap.dedent(
        f"""
        import resource, signal
        from pathlib import Path
        from ingest.errors import SpoolError
        from ingest.spool import DiskSpool, HEADER

        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        spool = DiskSpool(Path({str(tmp_path)!r}), max_bytes=1 << 30, segment_bytes=1 << 20)
        spool.append(b"a" * 1000, 1)
        soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
        resource.setrlimit(resource.RLIMIT_FSIZE, (HEADER.size + 1000 + 500, hard))
        try:
            spool.append(b"b" * 1000, 1)
        except SpoolError as exc:
            print("failed:", exc)
        else:
            raise SystemExit("the append did not fail")
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        spool.append(b"c" * 1000, 1)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=Path(__file__).resolve().parents[2],
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "failed:" in done.stdout
    assert drain(spool_in(tmp_path)) == [b"a" * 1000, b"c" * 1000]


def test_a_torn_tail_of_the_newest_file_is_dropped_alone(tmp_path: Path) -> None:
    spool = spool_in(tmp_path)
    spool.append(b"first", 1)
    spool.append(b"second", 1)
    (segment,) = tmp_path.glob("*.spool")
    with segment.open("ab") as file:  # a power cut mid-append
        file.write(HEADER.pack(b"CTSP", 100, 1, 0) + b"torn")
    assert drain(spool_in(tmp_path)) == [b"first", b"second"]


def test_corruption_before_the_end_fails_loudly_and_keeps_the_data(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    spool = spool_in(tmp_path, segment_bytes=HEADER.size + 100)
    for body in (b"1" * 60, b"2" * 60, b"3" * 60):
        spool.append(body, 1)  # one record per file
    first, second, third = sorted(tmp_path.glob("*.spool"))
    data = bytearray(second.read_bytes())
    data[HEADER.size + 10] ^= 0xFF  # a flipped bit inside an fsynced record
    second.write_bytes(bytes(data))

    replay = spool_in(tmp_path, segment_bytes=HEADER.size + 100)
    record = replay.peek()
    assert record is not None
    assert record.body == b"1" * 60
    replay.pop(record)
    with pytest.raises(SpoolError, match=rf"{second.name} is corrupt at byte 0"):
        replay.peek()
    assert second.read_bytes() == bytes(data)
    assert third.exists()
    assert any(second.name in message for message in caplog.messages)
    with pytest.raises(SpoolError):
        replay.peek()  # still refused, still kept
    assert second.exists()
    assert not first.exists()


def test_a_cursor_the_disk_refuses_is_an_error_and_replay_goes_on(tmp_path: Path) -> None:
    """The position holds in memory; the next pop writes it; a reopen resumes there."""
    spool = spool_in(tmp_path)
    for body in (b"one", b"two", b"three"):
        spool.append(body, 1)
    first = spool.peek()
    assert first is not None
    (tmp_path / "cursor.tmp").mkdir()  # the cursor cannot be written, as on a full disk
    with pytest.raises(SpoolError, match="replay position"):
        spool.pop(first)
    second = spool.peek()
    assert second is not None
    assert second.body == b"two"
    (tmp_path / "cursor.tmp").rmdir()
    spool.pop(second)
    assert drain(spool_in(tmp_path)) == [b"three"]
