"""Errors of the rule engine.

::

    ValueError
     └── RuleFileError      a rule directory that cannot be loaded (every problem, with
                            file:line: field: message)
"""

from __future__ import annotations

from pathlib import Path


class RuleFileError(ValueError):
    """A rule directory with problems; ``problems`` are ``file:line: field: message`` lines."""

    def __init__(self, directory: Path, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.directory = directory
        self.problems = problems
