"""Errors raised by the simulators package.

SimulatorError
├── ScenarioError        a scenario name or file that cannot be used (names line and field)
└── VideoError           the RTSP server or an encoder that cannot be started
"""

from __future__ import annotations


class SimulatorError(Exception):
    """Base of every error the simulators package raises."""


class ScenarioError(SimulatorError, ValueError):
    """A scenario that cannot be played; ``problems`` are ``file:line: field: message``."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class VideoError(SimulatorError):
    """The RTSP server or a camera stream could not be started."""
