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
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from hybridkit.cli_support import app_context, emit_json
from hybridkit.errors import InputError
from hybridkit.inventory._model import parse_include
from hybridkit.inventory._run import export_inventory

__all__ = ["app"]

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
    include: Annotated[Optional[str], typer.Option("--include", help="fullaccess,sendas,sendonbehalf,calendar")] = None,
    mailboxes: Annotated[
        Optional[Path], typer.Option("--mailboxes", help="CSV/XLSX of mailboxes (default: all).")
    ] = None,
    onprem: Annotated[Optional[str], typer.Option("--onprem", help="Profile of the on-premises side.")] = None,
    online: Annotated[Optional[str], typer.Option("--online", help="Profile of the Exchange Online side.")] = None,
    chunk_size: Annotated[int, typer.Option("--chunk-size", min=1, max=5000, help="Mailboxes per pipeline.")] = 1000,
    journal_path: Annotated[Optional[Path], typer.Option("--journal", help="Run journal path.")] = None,
) -> None:
    """Crawl mailboxes, sizes, FullAccess, Send-As, SendOnBehalf and calendar rights; resume if interrupted.

    The on-premises side (the migration source) is crawled; add ``--online P`` to crawl Exchange Online too.
    """
    from hybridkit.hold._files import read_mailbox_file
    from hybridkit.hold.cli import open_sides
    from hybridkit.journal import DEFAULT_JOURNAL, Journal

    app_ctx = app_context(ctx)
    fmt = fmt.lower()
    if fmt not in ("csv", "xlsx"):
        raise InputError("--format must be csv or xlsx")
    try:
        includes = parse_include(include)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    names = read_mailbox_file(mailboxes) if mailboxes is not None else None
    with open_sides(app_ctx, onprem, online, lab_sides=("onprem",)) as (sessions, _version), \
            _progress(app_ctx.err_console) as progress, Journal(journal_path or DEFAULT_JOURNAL) as journal:
        sources = {side: _source(s) for side, s in sessions.items()}
        manifest = export_inventory(sessions, out, fmt=fmt, includes=includes, mailboxes=names, sources=sources,
                                    journal=journal, argv=sys.argv, chunk_size=chunk_size, progress=progress)
    if app_ctx.json:
        emit_json(app_ctx, manifest)
        return
    table = Table(title=f"Inventory in {out}" + (" (resumed)" if manifest.resumed else ""))
    table.add_column("Export")
    table.add_column("Rows", justify="right")
    for name, count in manifest.counts.items():
        table.add_row(f"{name}.{fmt}", str(count))
    app_ctx.console.print(table)
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
