"""``hybridkit inventory export``: collect what batch planning needs from both sides, in minutes (thin shell over
the service).

    hybridkit inventory export --out DIR [--format xlsx|csv] [--include fullaccess,sendas,sendonbehalf,calendar]
                               [--mailboxes FILE] [--onprem P --online P]
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from hybridkit._progress import RichReporter
from hybridkit.cli_support import app_context, emit_json, side_profiles
from hybridkit.errors import InputError
from hybridkit.inventory._model import parse_include
from hybridkit.inventory._read import read_mailboxes
from hybridkit.inventory._render import inventory_json, print_manifest
from hybridkit.inventory._service import export_from_profiles
from hybridkit.sides import Side

__all__ = ["app"]

app = typer.Typer(help="Inventory crawl: mailboxes, sizes and permissions, as the files batch planning reads.",
                  no_args_is_help=True)


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
    app_ctx = app_context(ctx)
    fmt = fmt.lower()
    if fmt not in ("csv", "xlsx"):
        raise InputError("--format must be csv or xlsx")
    try:
        includes = parse_include(include)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    names = read_mailboxes(mailboxes) if mailboxes is not None else None
    with RichReporter(app_ctx.err_console, notes=not app_ctx.json) as reporter:
        manifest = export_from_profiles(side_profiles(app_ctx, onprem, online, lab_sides=(Side.ONPREM,)), out,
                                        fmt=fmt, includes=includes, mailboxes=names, journal_path=journal_path,
                                        argv=sys.argv, chunk_size=chunk_size, reporter=reporter)
    if manifest.resumed:
        app_ctx.err_console.print(f"Resumed run {manifest.run_id}: the listing and the steps it had finished were "
                                  "not read again.", highlight=False)
    if app_ctx.json:
        emit_json(app_ctx, inventory_json(manifest, out))
    else:
        print_manifest(app_ctx.console, manifest, out)
    if manifest.failures:
        raise typer.Exit(1)
