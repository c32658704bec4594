from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.compose.support import resolved_config


@pytest.fixture(scope="session")
def config(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The compose file as docker-compose resolves it with every password set."""
    env_file: Path = tmp_path_factory.mktemp("compose") / ".env"
    return resolved_config(env_file)
