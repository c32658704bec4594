"""``citytwin contract schemas DIR``: the device contract as JSON Schema files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from twins.kinds import DeviceKind
from twins.payloads import envelope_schema
from twins.topics import Channel

contract_app = typer.Typer(help="The MQTT device contract.", no_args_is_help=True)


def schema_files() -> dict[str, str]:
    """File name → JSON Schema text, one per device kind and channel."""
    files = {}
    for kind in DeviceKind:
        for channel in Channel:
            name = f"{kind.value}.{channel.value.replace('/', '-')}.schema.json"
            schema = envelope_schema(kind, channel)
            schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
            schema["title"] = f"citytwin v1: {kind.value} on {channel.value}"
            files[name] = json.dumps(schema, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
    return files


@contract_app.command("schemas")
def write_schemas(
    directory: Annotated[Path, typer.Argument(help="Where to write the schema files.")] = Path(
        "docs/schemas"
    ),
) -> None:
    """Write one JSON Schema per device kind and channel."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, content in schema_files().items():
        (directory / name).write_text(content, encoding="utf-8")
    typer.echo(f"{len(schema_files())} schemas in {directory}")
