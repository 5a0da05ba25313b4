"""``hybridkit hold``: put mailboxes on litigation hold on both sides of a hybrid, and account for every one.

    hybridkit hold enable (--all | --mailbox ADDR... | --from-file F | --recipient-type T...)
                          [--duration DAYS|unlimited [--allow-shorter]] [--owner TEXT] [--comment TEXT]
                          [--what-if] [--report PATH]
    hybridkit hold status  (same selectors) [--report PATH]

``--onprem P --online P`` name one profile per side; otherwise the global ``--profile`` is used (a lab profile
reaches both of the lab's endpoints).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Optional

import typer

from hybridkit._context import AppContext
from hybridkit._progress import RichReporter
from hybridkit.cli_support import app_context, emit_json, side_profiles
from hybridkit.errors import InputError
from hybridkit.hold._model import HoldOutcome
from hybridkit.hold._read import hold_settings, selection_from
from hybridkit.hold._render import (json_document, print_enable_notes, print_not_found, print_not_held,  # fmt: skip
                                    render_tables, write_report)
from hybridkit.hold._service import enable as enable_hold
from hybridkit.hold._service import status as hold_status
from hybridkit.outfiles import check_writable

__all__ = ["app"]

app = typer.Typer(
    help="Litigation hold at scale: enable it on every selected mailbox, wherever it lives, and report each one.",
    no_args_is_help=True,
)

AllOpt = Annotated[bool, typer.Option("--all", help="Every mailbox on every connected side.")]
MailboxOpt = Annotated[Optional[list[str]], typer.Option("--mailbox", "-m", help="A mailbox address (repeatable).")]
FileOpt = Annotated[Optional[Path], typer.Option("--from-file", help="CSV or XLSX listing mailboxes.")]
TypeOpt = Annotated[
    Optional[list[str]], typer.Option("--recipient-type", help="RecipientTypeDetails, e.g. UserMailbox (repeatable).")
]
ReportOpt = Annotated[Optional[Path], typer.Option("--report", help="Write every mailbox to this .csv or .xlsx.")]
OnpremOpt = Annotated[Optional[str], typer.Option("--onprem", help="Profile of the on-premises side.")]
OnlineOpt = Annotated[Optional[str], typer.Option("--online", help="Profile of the Exchange Online side.")]
ChunkOpt = Annotated[int, typer.Option("--chunk-size", help="Mailboxes per pipeline.", min=1, max=5000)]
JournalOpt = Annotated[
    Optional[Path], typer.Option("--journal", help="Run journal file (default: journal.sqlite in .hybridkit in the "
                                 "current folder).")
]


def _check_report(report: Path | None) -> None:
    """A report that cannot be written is refused before Exchange is read or changed (exit 2)."""
    if report is None:
        return
    if report.suffix.lower() not in (".csv", ".xlsx"):
        raise InputError("the report must end in .csv or .xlsx", file=str(report))
    check_writable(report)


def _save_report(app_ctx: AppContext, report: Path | None, rows: Sequence[HoldOutcome]) -> bool:
    """Write the report; a failure after the change (disk full...) is one line, and the summary still follows."""
    if report is None:
        return True
    try:
        write_report(report, rows)
    except OSError as exc:
        app_ctx.err_console.print(f"error: cannot write the report {report}: {exc.strerror or exc}", highlight=False,
                                  markup=False, soft_wrap=True)
        return False
    return True


# Help paragraphs are single lines (Typer keeps a docstring's line breaks) joined by a blank line.
ENABLE_HELP = (
    "Put mailboxes on litigation hold, on whichever side each one lives, and account for every one."
    "\n\n"
    "Mailboxes already on hold with these settings are left alone; a shorter hold is lengthened to --duration; a "
    "longer one is kept unless --allow-shorter. Each change is read back: a mailbox counts as on hold only when "
    "Exchange shows it. Exit 1 when any selected mailbox is not on hold (not found, unlicensed, failed or not "
    "verified). --what-if prints the exact pipelines and changes nothing; --report writes every mailbox to a .csv or "
    ".xlsx."
)
STATUS_HELP = (
    "Show the litigation hold state of mailboxes: on hold (duration, owner, since when), not on hold, or not found "
    "and why. Changes nothing. Exit 1 if a selected mailbox is found on no side."
)


@app.command("enable", help=ENABLE_HELP)
def enable(
    ctx: typer.Context,
    all_: AllOpt = False,
    mailbox: MailboxOpt = None,
    from_file: FileOpt = None,
    recipient_type: TypeOpt = None,
    duration: Annotated[Optional[str], typer.Option(
        "--duration", help="Days to keep items (1 to 10675199, the most Exchange can store), or unlimited. A longer "
        "hold already in place is kept unless --allow-shorter.")] = None,
    owner: Annotated[Optional[str], typer.Option("--owner", help="LitigationHoldOwner (default: who runs it).")] = None,
    comment: Annotated[Optional[str], typer.Option("--comment", help="RetentionComment (Exchange Online).")] = None,
    allow_shorter: Annotated[bool, typer.Option(
        "--allow-shorter", help="Let --duration shorten holds that are longer now (otherwise they are kept).")] = False,
    what_if: Annotated[bool, typer.Option("--what-if", help="Read and plan; change nothing.")] = False,
    report: ReportOpt = None,
    onprem: OnpremOpt = None,
    online: OnlineOpt = None,
    chunk_size: ChunkOpt = 500,
    journal_path: JournalOpt = None,
) -> None:
    """Put mailboxes on litigation hold and account for every one (help text: ``ENABLE_HELP``)."""
    app_ctx = app_context(ctx)
    selection = selection_from(all_, mailbox, from_file, recipient_type)
    settings = hold_settings(duration, owner, comment, allow_shorter)
    _check_report(report)
    with RichReporter(app_ctx.err_console, notes=not app_ctx.json) as reporter:
        result = enable_hold(side_profiles(app_ctx, onprem, online), selection, settings, what_if=what_if,
                             journal_path=journal_path, argv=sys.argv, chunk_size=chunk_size, reporter=reporter)
    print_enable_notes(app_ctx.err_console, result)
    saved = _save_report(app_ctx, report, result.outcomes)
    if app_ctx.json:
        emit_json(app_ctx, json_document(
            result.outcomes, warnings=result.warnings, commands=[line for _, line in result.commands],
            enable={"what_if": what_if, "run_id": result.run_id, "resumed": result.resumed},
            report=str(report) if report else None))
    else:
        render_tables(app_ctx.console, result.outcomes,
                      "Litigation hold (what if)" if what_if else "Litigation hold")
    if result.failed:
        print_not_held(app_ctx.err_console, result, what_if=what_if)
        raise typer.Exit(1)
    if not saved:
        raise typer.Exit(1)


@app.command("status", help=STATUS_HELP)
def status(
    ctx: typer.Context,
    all_: AllOpt = False,
    mailbox: MailboxOpt = None,
    from_file: FileOpt = None,
    recipient_type: TypeOpt = None,
    report: ReportOpt = None,
    onprem: OnpremOpt = None,
    online: OnlineOpt = None,
    chunk_size: ChunkOpt = 500,
) -> None:
    """Show the litigation hold state of mailboxes (help text: ``STATUS_HELP``)."""
    app_ctx = app_context(ctx)
    selection = selection_from(all_, mailbox, from_file, recipient_type)
    _check_report(report)
    with RichReporter(app_ctx.err_console, notes=not app_ctx.json) as reporter:
        rows = hold_status(side_profiles(app_ctx, onprem, online), selection, chunk_size=chunk_size,
                           reporter=reporter)
    saved = _save_report(app_ctx, report, rows)
    if app_ctx.json:
        emit_json(app_ctx, json_document(rows, report=str(report) if report else None))
    else:
        render_tables(app_ctx.console, rows, "Litigation hold status")
    if print_not_found(app_ctx.err_console, rows) or not saved:
        raise typer.Exit(1)
