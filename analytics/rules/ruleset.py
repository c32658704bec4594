"""A rule directory on disk, loaded whole and reloaded without a restart.

A directory holds ``calendars.yaml`` and any number of rule files (``*.yaml`` in it and
its subfolders, one per site or site pattern and device kind; see `analytics.rules.config`).
`RuleSet.reload` reads it again: when every file is valid the new rules replace the old
ones at once; when one is broken the previous rules stay in force and the problems are
returned (and logged) as ``file:line: field: message`` lines — an operator's typo never
silences the alerts that were working.
"""

from __future__ import annotations

import fnmatch
import hashlib
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel

from analytics.rules.calendar import Calendar
from analytics.rules.config import CalendarFile, LoadContext, Rule, RuleFile, load_context
from analytics.rules.errors import RuleFileError
from twins.kinds import DeviceKind
from twins.yaml_source import YamlModelError, load_yaml_model

logger = logging.getLogger(__name__)

ModelT = TypeVar("ModelT", bound=BaseModel)

CALENDARS_FILE = "calendars.yaml"

DEFAULTS = Path(__file__).parent / "defaults"
"""The bundled rule directories (``defaults/thaibinh`` for the province scenario)."""


@dataclass(slots=True, frozen=True)
class BoundRule:
    """A rule with the file it came from and the calendar it is judged by."""

    rule: Rule
    file: Path
    site_pattern: str
    kind: DeviceKind
    calendar: Calendar | None


@dataclass(slots=True, frozen=True)
class Rules:
    """One consistent version of a rule directory (immutable; a reload makes a new one)."""

    version: int
    rules: tuple[BoundRule, ...]
    calendars: dict[str, Calendar]
    fingerprint: str
    _by_site_kind: dict[tuple[str, DeviceKind], tuple[BoundRule, ...]] = field(
        default_factory=dict, compare=False, repr=False
    )

    def for_device(self, site: str, kind: DeviceKind) -> tuple[BoundRule, ...]:
        """The enabled rules whose file covers ``site`` and ``kind``."""
        key = (site, kind)
        found = self._by_site_kind.get(key)
        if found is None:
            found = tuple(
                bound
                for bound in self.rules
                if bound.kind is kind and _covers(bound.site_pattern, site) and bound.rule.enabled
            )
            self._by_site_kind[key] = found
        return found


def _covers(pattern: str, site: str) -> bool:
    return fnmatch.fnmatchcase(site, pattern)


@dataclass(slots=True, frozen=True)
class ReloadResult:
    """What a reload did: ``changed`` when new rules are in force; ``errors`` otherwise."""

    changed: bool
    errors: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.errors


class RuleSet:
    """The rules of a directory as last loaded successfully."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._current: Rules | None = None
        self.last_errors: tuple[str, ...] = ()

    @classmethod
    def load(cls, directory: Path) -> RuleSet:
        """Load ``directory``; `RuleFileError` listing every problem when it is not valid."""
        ruleset = cls(directory)
        result = ruleset.reload()
        if result.errors:
            raise RuleFileError(directory, list(result.errors))
        return ruleset

    @property
    def current(self) -> Rules:
        if self._current is None:
            raise RuleFileError(self.directory, [f"{self.directory}: no rules loaded yet"])
        return self._current

    def reload(self) -> ReloadResult:
        """Read the directory again; keep the previous rules when anything is wrong."""
        fingerprint = _fingerprint(self.directory)
        if self._current is not None and fingerprint == self._current.fingerprint:
            return ReloadResult(changed=False)
        try:
            rules = _read(self.directory, fingerprint, self._next_version())
        except RuleFileError as exc:
            self.last_errors = tuple(exc.problems)
            kept = "keeping the previous rules" if self._current is not None else "no rules"
            logger.error(
                "rules in %s not reloaded (%s):\n%s", self.directory, kept, "\n".join(exc.problems)
            )
            return ReloadResult(changed=False, errors=self.last_errors)
        self._current = rules
        self.last_errors = ()
        logger.info(
            "rules in %s: version %d, %d rules, %d calendars",
            self.directory,
            rules.version,
            len(rules.rules),
            len(rules.calendars),
        )
        return ReloadResult(changed=True)

    def _next_version(self) -> int:
        return 1 if self._current is None else self._current.version + 1


def _rule_files(directory: Path) -> list[Path]:
    return sorted(
        path
        for pattern in ("*.yaml", "*.yml")
        for path in directory.rglob(pattern)
        if path.name != CALENDARS_FILE and path.is_file()
    )


def _fingerprint(directory: Path) -> str:
    digest = hashlib.sha256()
    paths = _rule_files(directory) if directory.is_dir() else []
    calendars = directory / CALENDARS_FILE
    for path in [calendars, *paths]:
        digest.update(str(path).encode())
        try:
            digest.update(path.read_bytes())
        except OSError:
            digest.update(b"\0missing")
    return digest.hexdigest()


def _load(path: Path, model: type[ModelT]) -> ModelT:
    try:
        return load_yaml_model(path, model)
    except YamlModelError:
        raise
    except ValueError as exc:
        # PyYAML builds dates while parsing: an impossible one (2026-02-31) is a bare
        # ValueError, not a YAMLError
        raise YamlModelError(path, [f"{path}: not valid YAML: {exc}"]) from exc


def _read(directory: Path, fingerprint: str, version: int) -> Rules:
    if not directory.is_dir():
        raise RuleFileError(directory, [f"{directory}: not a directory of rule files"])
    problems: list[str] = []
    calendars: dict[str, Calendar] = {}
    calendar_path = directory / CALENDARS_FILE
    if calendar_path.exists():
        try:
            spec = _load(calendar_path, CalendarFile)
        except YamlModelError as exc:
            problems.extend(exc.problems)
        else:
            calendars = {name: Calendar(name, item) for name, item in spec.calendars.items()}
    context = LoadContext(calendars=frozenset(calendars))
    bound: list[BoundRule] = []
    with load_context(context):
        for path in _rule_files(directory):
            context.file = str(path)
            try:
                rule_file = _load(path, RuleFile)
            except YamlModelError as exc:
                problems.extend(exc.problems)
                continue
            for rule in rule_file.rules:
                context.rule_files.setdefault(rule.id, str(path))
                name = getattr(rule, "calendar", None) or rule_file.calendar
                bound.append(
                    BoundRule(rule, path, rule_file.site, rule_file.kind, calendars.get(name))
                )
    if problems:
        raise RuleFileError(directory, problems)
    return Rules(version, tuple(bound), calendars, fingerprint)
