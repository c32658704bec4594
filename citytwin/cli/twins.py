"""``citytwin twins get|search|watch|import|export`` — twins from the command line.

Works against the embedded twin service or a real Eclipse Ditto, whichever
``twins.url`` (or the HTTP app's address) points at. Import and export move JSON lines,
one thing per line: a backup, or a migration to a real Ditto.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer

from citytwin.paths import StatePaths
from citytwin.settings import CitytwinSettings
from citytwin.stack import twin_client as stack_twin_client
from citytwin.stack import twins_password
from twins.client import DittoClient
from twins.errors import DittoError, DittoNotFoundError

twins_app = typer.Typer(help="Read, search, watch, back up and restore digital twins.")


def twin_client(settings: CitytwinSettings) -> DittoClient:
    """A client for the twin API these settings point at, as ``twins.username``."""
    try:
        password = twins_password(settings, StatePaths(settings.state_dir), create=False)
    except FileNotFoundError as exc:
        raise typer.BadParameter(
            f"no twins password: set twins.password or run `citytwin up` (which writes"
            f" {exc.filename})"
        ) from None
    return stack_twin_client(settings, password)


def _settings(ctx: typer.Context) -> CitytwinSettings:
    settings = ctx.obj
    if not isinstance(settings, CitytwinSettings):
        raise typer.BadParameter("settings were not loaded")
    return settings


def _print(value: Any) -> None:
    typer.echo(orjson.dumps(value, option=orjson.OPT_INDENT_2).decode())


def _fail(error: DittoError) -> typer.Exit:
    typer.echo(f"error: {error}", err=True)
    return typer.Exit(code=1)


@twins_app.command()
def get(
    ctx: typer.Context,
    thing_id: Annotated[str, typer.Argument(help="namespace:name")],
    path: Annotated[str, typer.Argument(help="A part, e.g. features/queue/properties")] = "",
    fields: Annotated[
        str | None, typer.Option(help="Field selector, e.g. attributes(site)")
    ] = None,
) -> None:
    """Print a thing or one part of it."""
    with twin_client(_settings(ctx)) as ditto:
        try:
            _print(ditto.get(thing_id, path, fields=fields))
        except DittoError as exc:
            raise _fail(exc) from exc


@twins_app.command()
def search(
    ctx: typer.Context,
    rql: Annotated[str | None, typer.Argument(help='RQL, e.g. eq(attributes/site,"a")')] = None,
    namespaces: Annotated[str | None, typer.Option(help="Comma-separated namespaces")] = None,
    fields: Annotated[str | None, typer.Option(help="Field selector")] = None,
    sort: Annotated[
        str | None, typer.Option(help="e.g. -features/queue/properties/waiting")
    ] = None,
    count: Annotated[bool, typer.Option("--count", help="Print only how many match")] = False,
) -> None:
    """Print matching things, one JSON line each (all pages)."""
    spaces = [part for part in (namespaces or "").split(",") if part]
    with twin_client(_settings(ctx)) as ditto:
        try:
            if count:
                typer.echo(str(ditto.count(rql, namespaces=spaces)))
                return
            for thing in ditto.search(rql, namespaces=spaces, fields=fields, sort=sort):
                typer.echo(orjson.dumps(thing).decode())
        except DittoError as exc:
            raise _fail(exc) from exc


@twins_app.command()
def watch(
    ctx: typer.Context,
    ids: Annotated[str | None, typer.Option(help="Comma-separated thing ids")] = None,
    namespaces: Annotated[str | None, typer.Option(help="Comma-separated namespaces")] = None,
    rql: Annotated[str | None, typer.Option("--filter", help="RQL the thing must match")] = None,
    fields: Annotated[str | None, typer.Option(help="Field selector of each change")] = None,
    limit: Annotated[int, typer.Option(help="Stop after this many changes (0: never)")] = 0,
) -> None:
    """Follow changes as they happen, one JSON line each (Ctrl-C stops)."""
    with twin_client(_settings(ctx)) as ditto:
        try:
            with ditto.watch(
                ids=[part for part in (ids or "").split(",") if part],
                namespaces=[part for part in (namespaces or "").split(",") if part],
                filter=rql,
                fields=fields,
            ) as stream:
                for seen, change in enumerate(stream, start=1):
                    typer.echo(orjson.dumps(change).decode())
                    if limit and seen >= limit:
                        return
        except DittoError as exc:
            raise _fail(exc) from exc
        except KeyboardInterrupt:
            return


@twins_app.command("export")
def export_things(
    ctx: typer.Context,
    output: Annotated[Path | None, typer.Argument(help="File to write (default: stdout)")] = None,
    rql: Annotated[str | None, typer.Option("--filter", help="Only things matching")] = None,
    namespaces: Annotated[str | None, typer.Option(help="Comma-separated namespaces")] = None,
    policies: Annotated[
        bool, typer.Option(help="Put each thing's policy inline (as _policy)")
    ] = True,
) -> None:
    """Write things as JSON lines (with their policies), for backup or migration."""
    spaces = [part for part in (namespaces or "").split(",") if part]
    target = output.open("wb") if output else sys.stdout.buffer
    written = 0
    try:
        with twin_client(_settings(ctx)) as ditto:
            seen_policies: dict[str, dict[str, Any]] = {}
            for thing in ditto.search(rql, namespaces=spaces):
                if policies:
                    policy_id = thing["policyId"]
                    if policy_id not in seen_policies:
                        seen_policies[policy_id] = ditto.get_policy(policy_id)
                    thing["_policy"] = seen_policies[policy_id]
                target.write(orjson.dumps(thing) + b"\n")
                written += 1
    except DittoError as exc:
        raise _fail(exc) from exc
    finally:
        if output:
            target.close()
    typer.echo(f"exported {written} things", err=True)


@twins_app.command("import")
def import_things(
    ctx: typer.Context,
    source: Annotated[Path, typer.Argument(help="JSON-lines file of things ('-': stdin)")],
    replace: Annotated[
        bool, typer.Option(help="Replace things that exist (default: leave them)")
    ] = False,
) -> None:
    """Create (or with --replace, replace) things from JSON lines; policies come along."""
    stream = sys.stdin.buffer if str(source) == "-" else source.open("rb")
    created = replaced = skipped = 0
    problems: list[str] = []
    with twin_client(_settings(ctx)) as ditto, stream:
        for number, line in enumerate(stream, start=1):
            if not line.strip():
                continue
            where = f"{source}:{number}"
            try:
                thing = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                problems.append(f"{where}: not valid JSON: {exc}")
                continue
            if not isinstance(thing, dict) or not isinstance(thing.get("thingId"), str):
                problems.append(f"{where}: not a thing (an object with a thingId)")
                continue
            try:
                outcome = _import_one(ditto, thing, replace=replace)
            except DittoError as exc:
                problems.append(f"{where} ({thing['thingId']}): {exc}")
                continue
            if outcome == "created":
                created += 1
            elif outcome == "replaced":
                replaced += 1
            else:
                skipped += 1
    typer.echo(
        f"imported: {created} created, {replaced} replaced, {skipped} left as they were,"
        f" {len(problems)} refused",
        err=True,
    )
    for problem in problems:
        typer.echo(f"  {problem}", err=True)
    if problems:
        raise typer.Exit(code=1)


def _import_one(ditto: DittoClient, thing: dict[str, Any], *, replace: bool) -> str:
    policy = thing.pop("_policy", None)
    for key in ("_revision", "_created", "_modified", "_namespace", "_metadata"):
        thing.pop(key, None)
    if isinstance(policy, dict):
        policy_id = thing.get("policyId", thing["thingId"])
        policy = {key: value for key, value in policy.items() if not key.startswith("_")}
        if replace or not _policy_exists(ditto, policy_id):
            ditto.put_policy({**policy, "policyId": policy_id})
    if replace:
        return "created" if ditto.put_thing(thing) else "replaced"
    try:
        ditto.create_thing(thing)
    except DittoError as exc:
        if exc.status == 412:
            return "skipped"
        raise
    return "created"


def _policy_exists(ditto: DittoClient, policy_id: str) -> bool:
    try:
        ditto.get_policy(policy_id)
    except DittoNotFoundError:
        return False
    return True
