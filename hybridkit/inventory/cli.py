"""``hybridkit inventory export``: collect what batch planning needs from both sides, in minutes.

    hybridkit inventory export --out DIR [--format xlsx|csv] [--include fullaccess,sendas,sendonbehalf,calendar]
                               [--mailboxes FILE] [--onprem P --online P]
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from hybridkit.cli_support import app_context, emit_json, side_profiles
from hybridkit.errors import InputError
from hybridkit.inventory._model import Manifest, parse_include
from hybridkit.inventory._run import export_inventory
from hybridkit.sides import Side, open_sides
from hybridkit.tables import read_addresses

__all__ = ["app", "inventory_json"]

app = typer.Typer(help="Inventory crawl: mailboxes, sizes and permissions, as the files batch planning reads.",
                  no_args_is_help=True)


@contextlib.contextmanager
def _progress(console: Console) -> Iterator[Any]:
    bars = Progress(TextColumn("{task.description:<14}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=console, disable=not console.is_terminal)
    tasks: dict[str, Any] = {}

    def report(stage: str, done: int, total: int) -> None:
        if stage not in tasks:
            tasks[stage] = bars.add_task(stage, total=total or None)
        bars.update(tasks[stage], completed=done, total=total or done or None)

    with bars:
        yield report


@app.command("export")
def export(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option("--out", help="Directory for the exports and manifest.json.")],
    fmt: Annotated[str, typer.Option("--format", help="csv or xlsx.")] = "csv",
    include: Annotated[Optional[str], typer.Option(
        "--include", help="What to crawl besides mailboxes and sizes: any of fullaccess, sendas, sendonbehalf and "
                          "calendar, comma-separated (default: all four).")] = None,
    mailboxes: Annotated[Optional[Path], typer.Option(
        "--mailboxes", help="CSV or XLSX listing the mailboxes' addresses (default: every mailbox).")] = None,
    onprem: Annotated[Optional[str], typer.Option("--onprem", help="Profile of the on-premises side.")] = None,
    online: Annotated[Optional[str], typer.Option("--online", help="Profile of the Exchange Online side.")] = None,
    chunk_size: Annotated[int, typer.Option("--chunk-size", min=1, max=5000, help="Mailboxes per pipeline.")] = 1000,
    journal_path: Annotated[Optional[Path], typer.Option("--journal", help="Run journal file.")] = None,
) -> None:
    """Crawl mailboxes, sizes, FullAccess, Send-As, SendOnBehalf and calendar rights; resume if interrupted.

    The on-premises side (the migration source) is crawled; add --online PROFILE to crawl Exchange Online too.
    Exit code 1 when some mailboxes could not be read (each is listed, with Exchange's message).
    """
    from hybridkit.journal import DEFAULT_JOURNAL, Journal

    app_ctx = app_context(ctx)
    fmt = fmt.lower()
    if fmt not in ("csv", "xlsx"):
        raise InputError("--format must be csv or xlsx")
    try:
        includes = parse_include(include)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    names = _read_addresses(mailboxes) if mailboxes is not None else None
    with Journal(journal_path or DEFAULT_JOURNAL) as journal, \
            open_sides(side_profiles(app_ctx, onprem, online, lab_sides=(Side.ONPREM,))) as sessions, \
            _progress(app_ctx.err_console) as progress:
        sources = {side: _source(s) for side, s in sessions.items()}
        manifest = export_inventory(sessions, out, fmt=fmt, includes=includes, mailboxes=names, sources=sources,
                                    journal=journal, argv=sys.argv, chunk_size=chunk_size, progress=progress)
    if manifest.resumed:
        app_ctx.err_console.print(f"Resumed run {manifest.run_id}: the listing and the steps it had finished were "
                                  "not read again.", highlight=False)
    if app_ctx.json:
        emit_json(app_ctx, inventory_json(manifest, out))
    else:
        _render(app_ctx, manifest, out)
    if manifest.failures:
        raise typer.Exit(1)


def _read_addresses(path: Path) -> list[str]:
    """The ``--mailboxes`` file's addresses (each must be one: a name or alias is refused with its row)."""
    return list(dict.fromkeys(read_addresses(path)))


def inventory_json(manifest: Manifest, out: Path) -> dict[str, Any]:
    """``--output json``: the README's vocabulary (items with outcome/detail, run_id, resumed, summary)."""
    items: list[dict[str, Any]] = [
        {"kind": "file", "name": f"{name}.{manifest.format}", "rows": count, "outcome": "written", "detail": None}
        for name, count in manifest.counts.items()
    ]
    items += [
        {"kind": "mailbox", "mailbox": f.mailbox, "side": f.side or None, "stage": f.stage, "outcome": "failed",
         "detail": f.message}
        for f in manifest.failures
    ]
    summary: dict[str, int] = {}
    for item in items:
        summary[item["outcome"]] = summary.get(item["outcome"], 0) + 1
    return {
        "run_id": manifest.run_id, "resumed": manifest.resumed, "out": str(out), "format": manifest.format,
        "started_at": manifest.started_at, "finished_at": manifest.finished_at, "sources": manifest.sources,
        "includes": list(manifest.includes), "mailboxes": manifest.mailboxes, "items": items, "summary": summary,
        "warnings": [], "wsman_requests": manifest.requests,
    }


def _render(app_ctx: Any, manifest: Manifest, out: Path) -> None:
    table = Table(title=f"Inventory in {escape(str(out))}" + (" (resumed)" if manifest.resumed else ""))
    table.add_column("Export", overflow="fold")
    table.add_column("Rows", justify="right")
    for name, count in manifest.counts.items():
        table.add_row(f"{name}.{manifest.format}", str(count))
    app_ctx.console.print(table)
    for f in manifest.failures:  # in full, under the table: Exchange's own words
        where = f"{f.side} {f.stage}" if f.side else f.stage
        app_ctx.console.print(f"[red]failed:[/] {escape(f.mailbox)} ({escape(where)}): {escape(f.message)}",
                              highlight=False)
    app_ctx.console.print(
        f"{sum(manifest.mailboxes.values())} mailboxes "
        f"({', '.join(f'{k}: {v}' for k, v in manifest.mailboxes.items())}),"
        f" {len(manifest.failures)} per-mailbox failure(s), {manifest.requests} WSMan requests; see manifest.json",
        highlight=False)


def _source(session: object) -> str:
    """``profile (url)`` for the manifest; never credentials."""
    name = str(getattr(session, "name", ""))
    connection = getattr(session, "connection", None)
    url = getattr(connection, "url", None)
    return f"{name} ({url})" if url else name
