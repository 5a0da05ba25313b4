"""``hybridkit hold``: put mailboxes on litigation hold on both sides of a hybrid, and account for every one.

    hybridkit hold enable (--all | --mailbox ADDR... | --from-file F | --recipient-type T...)
                          [--duration DAYS|unlimited [--allow-shorter]] [--owner TEXT] [--comment TEXT]
                          [--what-if] [--report PATH]
    hybridkit hold status  (same selectors) [--report PATH]

``--onprem P --online P`` name one profile per side; otherwise the global ``--profile`` is used (a lab profile
reaches both of the lab's endpoints).
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

from hybridkit._context import AppContext
from hybridkit.cli_support import app_context, emit_json, side_profiles
from hybridkit.errors import InputError
from hybridkit.hold._files import read_mailbox_file, write_report
from hybridkit.hold._model import HoldSettings, Outcome, OutcomeStatus, Selection, parse_duration
from hybridkit.hold._render import json_document, render_tables
from hybridkit.hold._run import EnableResult, run_enable, run_status
from hybridkit.outfiles import check_writable, write_script_line
from hybridkit.sides import Side, onprem_release, open_sides

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


def _selection(all_: bool, mailboxes: list[str] | None, from_file: Path | None, types: list[str] | None) -> Selection:
    given = [bool(all_), mailboxes is not None and len(mailboxes) > 0, from_file is not None, bool(types)]
    if sum(given) != 1:
        raise InputError("choose exactly one of --all, --mailbox, --from-file, --recipient-type")
    if from_file is not None:
        return Selection(mailboxes=tuple(read_mailbox_file(from_file)))
    if mailboxes:
        if any(not m.strip() for m in mailboxes):
            raise InputError("--mailbox: an empty address; give each mailbox's address (or use --from-file)")
        return Selection(mailboxes=tuple(dict.fromkeys(m.strip() for m in mailboxes)))
    if types:
        return Selection(recipient_types=tuple(types))
    return Selection(all=True)


@contextlib.contextmanager
def _progress(console: Console) -> Iterator[Any]:
    bars = Progress(
        TextColumn("{task.description:<18}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=console, disable=not console.is_terminal, transient=False,
    )
    tasks: dict[str, Any] = {}

    def report(stage: str, done: int, total: int) -> None:
        if stage not in tasks:
            tasks[stage] = bars.add_task(stage, total=total or None)
        bars.update(tasks[stage], completed=done, total=total or done or None)

    with bars:
        yield report


def _check_report(report: Path | None) -> None:
    """A report that cannot be written is refused before Exchange is read or changed (exit 2)."""
    if report is None:
        return
    if report.suffix.lower() not in (".csv", ".xlsx"):
        raise InputError("the report must end in .csv or .xlsx", file=str(report))
    check_writable(report)


def _save_report(app_ctx: AppContext, report: Path | None, rows: list[Outcome]) -> bool:
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
    "and why. Changes nothing."
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
    selection = _selection(all_, mailbox, from_file, recipient_type)
    try:
        days = parse_duration(duration) if duration is not None else None
    except ValueError as exc:
        raise InputError(f"--duration: {exc}") from None
    settings = HoldSettings(duration=days, owner=owner, comment=comment, duration_given=duration is not None,
                            allow_shorter=allow_shorter)
    _check_report(report)
    from hybridkit.journal import DEFAULT_JOURNAL, Journal

    profiles = side_profiles(app_ctx, onprem, online)
    with open_sides(profiles) as sessions, _progress(app_ctx.err_console) as progress:
        version = onprem_release(sessions.get(Side.ONPREM), profiles.get(Side.ONPREM))
        journal = None if what_if else Journal(journal_path or DEFAULT_JOURNAL)
        try:
            result: EnableResult = run_enable(
                sessions, selection, settings, onprem_version=version, what_if=what_if, journal=journal,
                argv=sys.argv, profile=",".join(f"{k}={s.name}" for k, s in sessions.items()), chunk_size=chunk_size,
                step_size=chunk_size * 4, progress=progress,
            )
        finally:
            if journal is not None:
                journal.close()
    err = app_ctx.err_console
    for warning in result.warnings:
        err.print(f"[yellow]warning:[/] {escape(warning)}", highlight=False, soft_wrap=True)
    if result.resumed:
        err.print(f"Resumed run {result.run_id}: {result.steps_skipped} of {result.steps_total} step(s) were done.")
    if what_if:
        for side in dict.fromkeys(side for side, _ in result.commands):
            where = "on-premises Exchange" if side == "onprem" else "Exchange Online"
            err.print(f"# what if: {where} would run", highlight=False, markup=False)
            for line in (ln for s, ln in result.commands if s == side):
                write_script_line(err, line)  # byte for byte: the exact command
    saved = _save_report(app_ctx, report, result.outcomes)
    if app_ctx.json:
        emit_json(app_ctx, json_document(
            result.outcomes, warnings=result.warnings, commands=[line for _, line in result.commands],
            enable={"what_if": what_if, "run_id": result.run_id, "resumed": result.resumed},
            report=str(report) if report else None))
    else:
        render_tables(app_ctx.console, result.outcomes,
                      "Litigation hold (what if)" if what_if else "Litigation hold")
    if result.not_held:
        off = {k: v for k, v in result.not_held.items() if k != OutcomeStatus.UNVERIFIED.value}
        unverified = result.not_held.get(OutcomeStatus.UNVERIFIED.value, 0)
        if off:
            reasons = ", ".join(f"{count} {reason}" for reason, count in sorted(off.items()))
            verb = "would not be" if what_if else "are not"
            err.print(f"[bold red]{sum(off.values())} selected mailbox(es) {verb} on hold:[/] {reasons} "
                      "(see the report for each one and Exchange's message)", highlight=False, soft_wrap=True)
        if unverified:
            err.print(f"[bold red]{unverified} mailbox(es) could not be verified:[/] the hold was sent but the read "
                      "back failed (run hybridkit hold status on them)", highlight=False, soft_wrap=True)
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
    selection = _selection(all_, mailbox, from_file, recipient_type)
    _check_report(report)
    with open_sides(side_profiles(app_ctx, onprem, online)) as sessions, _progress(app_ctx.err_console) as progress:
        rows = run_status(sessions, selection, chunk_size=chunk_size, progress=progress)
    saved = _save_report(app_ctx, report, rows)
    if app_ctx.json:
        emit_json(app_ctx, json_document(rows, report=str(report) if report else None))
    else:
        render_tables(app_ctx.console, rows, "Litigation hold status")
    if not saved:
        raise typer.Exit(1)
