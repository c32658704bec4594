"""Read a YAML file into a pydantic model, with problems located by line and field.

A person editing a site file or a scenario needs ``sites.yaml:14: sites[2].sector: Input
should be 'health', …`` — not a stack trace — so validation errors are mapped back to the
line of the YAML node they came from.
"""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from twins.validation import dotted, problems

ModelT = TypeVar("ModelT", bound=BaseModel)


class YamlModelError(ValueError):
    """A YAML file that cannot be read or does not fit its model; ``problems`` are lines."""

    def __init__(self, path: Path, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.path = path
        self.problems = problems


def load_yaml_model(path: Path, model: type[ModelT]) -> ModelT:
    """Parse ``path`` and validate it as ``model``; raise ``YamlModelError`` naming lines."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise YamlModelError(path, [f"{path}: cannot read: {exc.strerror}"]) from exc
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise YamlModelError(path, [f"{path}{line}: not valid YAML: {problem}"]) from exc
    try:
        return model.model_validate(data if data is not None else {})
    except ValidationError as exc:
        raise YamlModelError(path, _locate(path, node, exc)) from exc


def _locate(path: Path, root: yaml.Node | None, exc: ValidationError) -> list[str]:
    return [
        f"{path}:{_line_of(root, list(problem.loc))}: {dotted(problem.loc) or '(top level)'}:"
        f" {problem.message}"
        for problem in problems(exc)
    ]


def _line_of(node: yaml.Node | None, loc: list[int | str]) -> int:
    """The 1-based line of the deepest YAML node along ``loc``."""
    if node is None:
        return 1
    line = node.start_mark.line + 1
    for part in loc:
        child = _child(node, part)
        if child is None:
            break
        node = child
        line = node.start_mark.line + 1
    return line


def _child(node: yaml.Node, part: int | str) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value == str(part):
                return value  # type: ignore[no-any-return]
    if isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
        return node.value[part]  # type: ignore[no-any-return]
    return None
