"""Benchmark of the embedded twin service with 10,000 twins.

    .venv/bin/python benchmarks/twins_bench.py [--twins 10000] [--seconds 8]

The service runs in its own process (uvicorn + uvloop, one worker, as `citytwin up` runs
it); clients run here over real HTTP with pooled connections. Each figure is printed with
a baseline measured in the same run, because the machine is shared and noisy:

* ``GET /api/2/whoami`` on the same server (authentication + routing + an empty answer)
  for latencies, and the same endpoint with 8 clients for throughput;
* a primary-key read straight from SQLite for the cost of storage alone.
"""

from __future__ import annotations

import argparse
import multiprocessing
import random
import socket
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import orjson
import requests

PASSWORD = "bench-password"
SITES = [f"bench.site{index:02d}" for index in range(50)]
SEARCH = 'and(eq(attributes/site,"{site}"),gt(features/queue/properties/waiting,5))'


def _serve(path: str, port: int) -> None:
    import uvicorn

    from twins.service.api import create_twin_app
    from twins.service.store import TwinStore
    from twins.settings import TwinSettings

    store = TwinStore.open(Path(path))
    app = create_twin_app(store, TwinSettings(), PASSWORD)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", loop="uvloop")


def _populate(path: Path, count: int) -> list[str]:
    from twins.definitions import default_policy, thing_for_device
    from twins.kinds import DeviceKind, Sector
    from twins.service.store import TwinStore

    store = TwinStore.open(path)
    ids = []
    rng = random.Random(7)
    with store.transaction() as tx:
        for site in SITES:
            tx.put_policy(default_policy(f"{site}:policy", "nginx:citytwin"), None)
        for index in range(count):
            site = SITES[index % len(SITES)]
            thing_id = f"{site}:counter-{index:05d}"
            thing = thing_for_device(
                thing_id,
                DeviceKind.COUNTER,
                site,
                Sector.PUBLIC_ADMINISTRATION,
                {"name": f"Quầy {index}", "floor": index % 4},
                policy_id=f"{site}:policy",
            )
            thing["features"]["queue"]["properties"]["waiting"] = rng.randint(0, 12)
            tx.put_thing(thing, None)
            ids.append(thing_id)
    store.close()
    return ids


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _session() -> requests.Session:
    session = requests.Session()
    session.auth = ("citytwin", PASSWORD)
    return session


def _latencies(action: Callable[[int], None], count: int) -> list[float]:
    timings = []
    for index in range(count):
        start = time.perf_counter()
        action(index)
        timings.append(time.perf_counter() - start)
    return timings


def _p(values: list[float], quantile: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(quantile * len(ordered)))]


def _throughput(action: Callable[[requests.Session, int], None], seconds: float) -> float:
    done = [0] * 8
    stop = time.perf_counter() + seconds

    def worker(slot: int) -> None:
        with _session() as session:
            index = 0
            while time.perf_counter() < stop:
                action(session, slot * 1_000_000 + index)
                index += 1
            done[slot] = index

    threads = [threading.Thread(target=worker, args=(slot,)) for slot in range(8)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(done) / (time.perf_counter() - started)


def _check(response: requests.Response) -> None:
    if response.status_code >= 300:
        raise SystemExit(f"{response.request.method} {response.url}: {response.status_code}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--twins", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=8.0)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="twins-bench-") as tmp:
        path = Path(tmp) / "twins.sqlite"
        started = time.perf_counter()
        ids = _populate(path, args.twins)
        print(f"populated {len(ids)} twins in {time.perf_counter() - started:.1f} s")

        import sqlite3

        raw = sqlite3.connect(path)
        sqlite_read = _latencies(
            lambda i: raw.execute(
                "SELECT doc FROM things WHERE thing_id = ?", (ids[i % len(ids)],)
            ).fetchone(),
            5000,
        )
        raw.close()

        port = _free_port()
        server = multiprocessing.get_context("spawn").Process(
            target=_serve, args=(str(path), port), daemon=True
        )
        server.start()
        base = f"http://127.0.0.1:{port}"
        session = _session()
        while True:
            try:
                session.get(f"{base}/api/2/whoami", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        rng = random.Random(11)
        try:
            whoami = _latencies(lambda i: _check(session.get(f"{base}/api/2/whoami")), 2000)
            get_thing = _latencies(
                lambda i: _check(session.get(f"{base}/api/2/things/{rng.choice(ids)}")), 3000
            )
            search = _latencies(
                lambda i: _check(
                    session.get(
                        f"{base}/api/2/search/things",
                        params={"filter": SEARCH.format(site=rng.choice(SITES))},
                    )
                ),
                300,
            )
            whoami_rate = _throughput(
                lambda s, i: _check(s.get(f"{base}/api/2/whoami")), args.seconds
            )
            read_rate = _throughput(
                lambda s, i: _check(s.get(f"{base}/api/2/things/{ids[i % len(ids)]}")),
                args.seconds,
            )
            patch_rate = _throughput(
                lambda s, i: _check(
                    s.patch(
                        f"{base}/api/2/things/{ids[i % len(ids)]}/features/queue/properties",
                        data=orjson.dumps({"waiting": i % 13}),
                        headers={"Content-Type": "application/merge-patch+json"},
                    )
                ),
                args.seconds,
            )
            sse = _sse_latencies(base, ids[0], 300)
        finally:
            session.close()
            server.terminate()
            server.join(timeout=10)

    ms = 1000.0
    base_p50 = statistics.median(whoami)
    print()
    print(f"{'figure':44} {'value':>12} {'baseline':>12} {'ratio':>7}")

    def row(name: str, value: float, baseline: float, unit: str) -> None:
        ratio = value / baseline if baseline else float("nan")
        print(f"{name:44} {value:>9.2f} {unit:2} {baseline:>9.2f} {unit:2} {ratio:>7.2f}")

    row("GET thing p50 (vs whoami p50)", statistics.median(get_thing) * ms, base_p50 * ms, "ms")
    row("GET thing p99 (vs whoami p99)", _p(get_thing, 0.99) * ms, _p(whoami, 0.99) * ms, "ms")
    row(
        "GET thing p50 (vs raw SQLite read p50)",
        statistics.median(get_thing) * ms * ms,
        statistics.median(sqlite_read) * ms * ms,
        "us",
    )
    row(
        "search site+waiting p50 (vs whoami p50)",
        statistics.median(search) * ms,
        base_p50 * ms,
        "ms",
    )
    row(
        "search site+waiting p99 (vs whoami p99)",
        _p(search, 0.99) * ms,
        _p(whoami, 0.99) * ms,
        "ms",
    )
    row(
        "SSE update->event p50 (vs GET thing p50)",
        statistics.median(sse) * ms,
        statistics.median(get_thing) * ms,
        "ms",
    )
    row(
        "SSE update->event p99 (vs GET thing p99)",
        _p(sse, 0.99) * ms,
        _p(get_thing, 0.99) * ms,
        "ms",
    )
    row("reads/s, 8 clients (vs whoami/s)", read_rate, whoami_rate, "/s")
    row("merge patches/s, 8 clients (vs whoami/s)", patch_rate, whoami_rate, "/s")
    print()
    print(
        f"Ditto's published single instance: ~2800 reads/s, ~800 modifies/s;"
        f" here {read_rate:.0f} reads/s ({read_rate / 2800:.2f}x),"
        f" {patch_rate:.0f} merge patches/s ({patch_rate / 800:.2f}x)"
    )


def _sse_latencies(base: str, thing_id: str, count: int) -> list[float]:
    sent: dict[int, float] = {}
    received: dict[int, float] = {}
    ready = threading.Event()

    def listen() -> None:
        with (
            _session() as session,
            session.get(
                f"{base}/api/2/things",
                params={"ids": thing_id, "fields": "attributes/seq"},
                headers={"Accept": "text/event-stream"},
                stream=True,
                timeout=(5, 30),
            ) as response,
        ):
            ready.set()
            for line in response.iter_lines(chunk_size=None):
                if line.startswith(b"data:"):
                    seq = orjson.loads(line[5:])["attributes"]["seq"]
                    received[seq] = time.perf_counter()
                    if seq == count - 1:
                        return

    listener = threading.Thread(target=listen)
    listener.start()
    ready.wait(10)
    with _session() as session:
        for seq in range(count):
            sent[seq] = time.perf_counter()
            _check(session.put(f"{base}/api/2/things/{thing_id}/attributes/seq", json=seq))
            time.sleep(0.002)
    listener.join(30)
    return [received[seq] - sent[seq] for seq in sent if seq in received]


if __name__ == "__main__":
    main()
