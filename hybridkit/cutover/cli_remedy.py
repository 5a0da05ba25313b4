"""``hybridkit cutover failures`` and ``hybridkit cutover remediate`` (registered on the cutover app by
``register``): parse and check options, call one service (``_remedy_run``), render (``_failures_render``)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from hybridkit._progress import RichReporter
from hybridkit.cli_support import app_context, confirm_changes, emit_json, profile_for
from hybridkit.cutover._failures_render import (
    failures_doc,
    failures_view,
    remedy_doc,
    remedy_view,
    write_failures_report,
)
from hybridkit.cutover._options import check_names, check_positive
from hybridkit.cutover._remedy import MinScore
from hybridkit.cutover._remedy_run import list_failures, remediate
from hybridkit.cutover._render import print_applied
from hybridkit.cutover._service import online_session
from hybridkit.errors import InputError
from hybridkit.journal import DEFAULT_JOURNAL, Journal
from hybridkit.outfiles import check_writable

__all__ = ["register"]

_WHY = "migration users live in"  # what the on-prem refusal says lives in Exchange Online
_FAILURES_HELP = (
    "Mailboxes that did not arrive: Failed, stalled (StatusDetail StalledDueTo*), DataConsistencyScore below Good, "
    "or with skipped items awaiting approval; per mailbox Exchange's status, failure type, score, skipped items by "
    "kind, the last failure message in full and the documented remedy. Two pipelines per batch, whatever its size."
)
_REMEDIATE_HELP = (
    "Apply only the safe, documented remedies: approve skipped items (Set-MigrationUser -ApproveSkippedItems) where "
    "the DataConsistencyScore is at least --min-score (Good; Investigate only when asked; Poor never), and restart "
    "failed users (Start-MigrationUser). Quota and licence failures are reported with what to change, never "
    "restarted. Journaled: a re-run carries on an interrupted run without approving or restarting anyone twice. "
    "Exit 1 when a mailbox failed or still needs a person."
)

def _addresses(values: list[str] | None) -> list[str]:
    out = []
    for value in values or []:
        text = value.strip().lower()
        local, _, domain = text.rpartition("@")
        if not local or "." not in domain or any(c.isspace() for c in text):
            raise InputError(f"--mailbox {value!r}: give the mailbox's primary SMTP address")
        out.append(text)
    return list(dict.fromkeys(out))


def failures(
    ctx: typer.Context,
    batch: Annotated[Optional[list[str]], typer.Option("--batch", help="Only these batches (default: all).")] = None,
    report: Annotated[Optional[Path], typer.Option("--report", help="Also write the list to this .xlsx or .csv "
                                                   "file (cells are text: nothing runs as a formula).")] = None,
    chunk_size: Annotated[int, typer.Option("--chunk-size", help="Mailboxes per pipeline.")] = 500,
) -> None:
    app_ctx = app_context(ctx)
    names = check_names(batch, "--batch", "a batch's name")
    check_positive(chunk_size, "--chunk-size", "mailboxes")
    if report is not None:
        if report.suffix.lower() not in (".csv", ".xlsx"):
            raise InputError(f"--report {report}: give a .csv or .xlsx file")
        check_writable(report)
    with online_session(profile_for(app_ctx), why=_WHY) as session:
        found = list_failures(session, batches=names, chunk_size=chunk_size)
    if report is not None:
        write_failures_report(report, found)
    if app_ctx.json:
        emit_json(app_ctx, failures_doc(found))
    else:
        app_ctx.console.print(failures_view(found), highlight=False)
        if report is not None:
            app_ctx.err_console.print(f"report written to {report}", highlight=False, markup=False)


def remediate_command(
    ctx: typer.Context,
    batch: Annotated[Optional[list[str]], typer.Option("--batch", help="Only these batches.")] = None,
    mailbox: Annotated[Optional[list[str]], typer.Option("--mailbox", "-m", help="Only this mailbox.")] = None,
    approve_skipped: Annotated[bool, typer.Option("--approve-skipped", help="Approve skipped items where the "
                                                  "score allows.")] = False,
    min_score: Annotated[MinScore, typer.Option("--min-score", case_sensitive=False, help="Lowest "
                                                "DataConsistencyScore approved.")] = MinScore.GOOD,
    restart_failed: Annotated[bool, typer.Option("--restart-failed", help="Restart failed users "
                                                 "(Start-MigrationUser).")] = False,
    what_if: Annotated[bool, typer.Option("--what-if", help="Print the PowerShell and change nothing.")] = False,
    yes: Annotated[bool, typer.Option("--yes", help="Apply without asking.")] = False,
    chunk_size: Annotated[int, typer.Option("--chunk-size", help="Mailboxes per pipeline.")] = 500,
    journal_path: Annotated[Path, typer.Option("--journal", help="Run journal (SQLite).")] = DEFAULT_JOURNAL,
) -> None:
    app_ctx = app_context(ctx)
    if batch and mailbox:
        raise InputError("give --batch or --mailbox, not both")
    if not (approve_skipped or restart_failed):
        raise InputError("nothing to do: give --approve-skipped, --restart-failed or both")
    names = check_names(batch, "--batch", "a batch's name")
    addresses = _addresses(mailbox)
    check_positive(chunk_size, "--chunk-size", "mailboxes")
    if not what_if:
        confirm_changes(yes, "Approve and restart the eligible mailboxes in Exchange Online?",
                        refusal="remediate changes Exchange Online: give --what-if to see the commands, or --yes")
    with online_session(profile_for(app_ctx), why=_WHY) as session, Journal(journal_path) as journal:
        with RichReporter(app_ctx.err_console, notes=not app_ctx.json) as reporter:
            result = remediate(session, journal, batches=names, mailboxes=addresses, approve=approve_skipped,
                               restart=restart_failed, min_score=min_score, what_if=what_if, chunk_size=chunk_size,
                               argv=sys.argv, profile=app_ctx.profile, reporter=reporter)
    if app_ctx.json:
        emit_json(app_ctx, remedy_doc(result))
    else:
        for warning in result.warnings:
            app_ctx.err_console.print(f"warning: {warning}", highlight=False, markup=False)
        print_applied(app_ctx.console, app_ctx.err_console, remedy_view(result), commands=result.commands,
                      what_if=what_if, run_id=result.run_id, resumed=result.resumed, nothing="# nothing to send")
    if not what_if and any(r.failed for r in result.items):
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add ``failures`` and ``remediate`` to the cutover app."""
    app.command("failures", help=_FAILURES_HELP)(failures)
    app.command("remediate", help=_REMEDIATE_HELP)(remediate_command)
