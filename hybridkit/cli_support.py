"""Small helpers every command uses: the AppContext, the active profile, a session, JSON output."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import json
import sys
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import typer

from hybridkit._context import AppContext
from hybridkit._time import utc_iso
from hybridkit.config import Config, Profile, load_config
from hybridkit.errors import PlanError
from hybridkit.ps import PSObject, PSSession, Secret
from hybridkit.sides import Side, connect, pick_sides

__all__ = [
    "app_context",
    "confirm_changes",
    "emit_json",
    "jsonable",
    "load_app_config",
    "open_app_session",
    "profile_for",
    "side_profiles",
]


def app_context(ctx: typer.Context) -> AppContext:
    """The AppContext the root callback put on ``ctx.obj`` (a default one when a command runs stand-alone)."""
    obj = ctx.find_root().obj if ctx.obj is None else ctx.obj
    if isinstance(obj, AppContext):
        return obj
    from rich.console import Console

    return AppContext(profile=None, config=None, output="table", verbose=False, console=Console(),
                      err_console=Console(stderr=True))


def load_app_config(app: AppContext) -> Config:
    """hybridkit.toml as found from ``--config``/``$HYBRIDKIT_CONFIG``/cwd/user dir."""
    return load_config(app.config)


def profile_for(app: AppContext, name: str | None = None) -> Profile:
    """The profile named by the command, else ``--profile``, else the config's default (ConfigError if none)."""
    return load_app_config(app).profile(name or app.profile)


def open_app_session(app: AppContext, name: str | None = None, **options: Any) -> PSSession:
    """Open a session for the active profile (close it, or use it as a context manager)."""
    return connect(profile_for(app, name), **options)


def side_profiles(app: AppContext, onprem: str | None = None, online: str | None = None,
                  lab_sides: Sequence[Side] = (Side.ONPREM, Side.ONLINE)) -> dict[Side, Profile]:
    """The profiles of the sides a command reaches from ``--onprem``/``--online`` or ``--profile``
    (``sides.pick_sides``)."""
    return pick_sides(load_app_config(app), onprem=onprem, online=online, default=app.profile, lab_sides=lab_sides)


def jsonable(value: Any) -> Any:
    """Plain JSON data for ``--output json``; secrets are masked, never serialized."""
    if isinstance(value, Secret):
        return "****"
    if isinstance(value, PSObject):
        return {k: jsonable(v) for k, v in value.properties.items()}
    if isinstance(value, enum.Enum):
        return value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in value]
    if isinstance(value, dt.datetime):
        return utc_iso(value)  # the README's form: ISO 8601 in UTC, "2026-12-05T22:00:00Z"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, (uuid.UUID, Path)):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    return value


def emit_json(app: AppContext, data: Any) -> None:
    """Write ``data`` as JSON to stdout (raw: no markup, no wrapping).

    Straight to the console's file: Rich's ``out`` splits the text into lines first, which for a document of
    100,000 mailboxes (``cutover status``) took longer than reading them from Exchange. A reader that went away
    raises BrokenPipeError, which the root command turns into exit 141 as for any other output.
    """
    console = app.console
    if console.quiet:
        return
    console.file.write(json.dumps(jsonable(data), indent=2, ensure_ascii=False, default=str) + "\n")
    console.file.flush()


def confirm_changes(yes: bool, question: str, *, refusal: str) -> None:
    """The gate before a command changes Exchange: ``--yes`` passes; in a terminal, ``question`` is asked (no:
    exit 1); anywhere else the command fails closed with ``refusal`` (exit 2), having changed nothing."""
    if yes:
        return
    if not sys.stdin.isatty():
        raise PlanError(refusal)
    if not typer.confirm(question, default=False):
        raise typer.Exit(1)
