"""``hybridkit cutover status`` (registered on the cutover app by ``register``): the batches, their mailboxes'
moves and, with ``--plan DIR``, the plan's completion waves (each wave's sync batches and how many of its
mailboxes are synced, completing, completed or failed, and whether it is ready to complete)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import RenderableType
from rich.live import Live
from rich.text import Text

from hybridkit.cli_support import app_context, emit_json, profile_for
from hybridkit.cutover import _render, _service
from hybridkit.cutover._model import StatusSnapshot
from hybridkit.cutover._options import check_names, check_positive

__all__ = ["register"]

_STATUS_HELP = ("Batches and per-mailbox move status: percent, bytes transferred, failures with Exchange's message. "
                "With --plan DIR: per completion wave, its sync batch(es), how many mailboxes are synced, "
                "completing, completed and failed, and whether it is ready to complete (`cutover complete --wave`).")


def status(
    ctx: typer.Context,
    batch: Annotated[Optional[list[str]], typer.Option("--batch", help="Only these batches.")] = None,
    plan: Annotated[Optional[Path], typer.Option("--plan", metavar="DIR", help="The plan (`batches plan --out "
                                                 "DIR`): show its completion waves.")] = None,
    watch: Annotated[bool, typer.Option("--watch", help="Refresh until every batch settles (or --timeout); with "
                                        "--output json, print the settled state once.")] = False,
    interval: Annotated[float, typer.Option("--interval", help="Seconds between refreshes with --watch.")] = 30.0,
    timeout: Annotated[float, typer.Option("--timeout", help="Stop watching after this many seconds.")] = 4 * 3600.0,
) -> None:
    app_ctx = app_context(ctx)
    names = check_names(batch, "--batch", "a batch's name")
    check_positive(interval, "--interval")
    check_positive(timeout, "--timeout")
    layout = _service.read_waves(plan) if plan is not None else None  # a bad plan: exit 2 before connecting
    width = app_ctx.console.width

    def doc(now: StatusSnapshot) -> dict:
        return _render.snapshot_doc(now, _service.wave_status(layout, now, names) if layout is not None else None)

    def view(now: StatusSnapshot) -> RenderableType:
        return _render.status_view(doc(now), width)

    with _service.online_session(profile_for(app_ctx)) as session:
        if not watch:
            snapshot = _service.read_status(session, names)
        elif app_ctx.json:  # one document, once every batch settled (or at --timeout)
            snapshot = _service.watch_status(session, names, interval=interval, timeout=timeout)
        else:
            with Live(Text(""), console=app_ctx.console, refresh_per_second=2) as live:
                snapshot = _service.watch_status(session, names, interval=interval, timeout=timeout,
                                                 on_update=lambda now: live.update(view(now)))
    if watch and snapshot.moving:
        app_ctx.err_console.print(f"stopped watching after --timeout {timeout:g} s; still moving: "
                                  + ", ".join(f"{b.name} ({b.status})" for b in snapshot.moving),
                                  highlight=False, markup=False)
    if app_ctx.json:
        emit_json(app_ctx, doc(snapshot))
    elif not watch:
        app_ctx.console.print(view(snapshot))


def register(app: typer.Typer) -> None:
    """Add ``status`` to the cutover app."""
    app.command("status", help=_STATUS_HELP)(status)
