"""``python -m ingest RUNTIME.json``: run one ingest worker from a runtime file.

The platform starts ingest with ``citytwin ingest`` (settings → `IngestRuntime`); this entry
point serves tests, benchmarks and deployments that write the runtime as JSON themselves.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path

from ingest.runtime import IngestRuntime
from ingest.service import run


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        sys.stderr.write("usage: python -m ingest RUNTIME.json\n")
        return 2
    runtime = IngestRuntime.model_validate_json(Path(argv[0]).read_text(encoding="utf-8"))
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        import uvloop
    except ImportError:
        asyncio.run(run(runtime))
    else:
        uvloop.run(run(runtime))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
