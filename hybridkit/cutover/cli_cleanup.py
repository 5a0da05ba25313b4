"""``hybridkit cutover remove-completed`` (registered on the cutover app by ``register``): parse and check options,
call the service (``_cleanup_run``), render (``_cleanup_render``)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from hybridkit._progress import RichReporter
from hybridkit.cli_support import app_context, confirm_changes, emit_json, profile_for
from hybridkit.cutover._cleanup_render import cleanup_doc, cleanup_view
from hybridkit.cutover._cleanup_run import remove_completed
from hybridkit.cutover._options import check_names
from hybridkit.cutover._render import print_applied
from hybridkit.cutover._service import online_session
from hybridkit.journal import DEFAULT_JOURNAL, Journal

__all__ = ["register"]

_HELP = (
    "Remove completed migration batches (Remove-MigrationBatch -Confirm:$false) to make room under Exchange "
    "Online's limit of batches (Get-MigrationConfig MaxNumberOfBatches, 100). Only batches whose status is "
    "Completed; CompletedWithErrors only with --include-errors (removing one deletes its failed users' migration "
    "reports: list them with `cutover failures` first); a batch still syncing, synced, stopped or completing is "
    "never removed. Journaled: a re-run sends nothing already removed. Exit 1 when a removal failed."
)


def remove_completed_command(
    ctx: typer.Context,
    batch: Annotated[Optional[list[str]], typer.Option("--batch", help="Only these batches (default: every "
                                                       "completed one).")] = None,
    include_errors: Annotated[bool, typer.Option("--include-errors", help="Also remove CompletedWithErrors "
                                                 "batches (their failed users' reports are lost).")] = False,
    what_if: Annotated[bool, typer.Option("--what-if", help="Print the PowerShell and change nothing.")] = False,
    yes: Annotated[bool, typer.Option("--yes", help="Remove without asking.")] = False,
    journal_path: Annotated[Path, typer.Option("--journal", help="Run journal (SQLite).")] = DEFAULT_JOURNAL,
) -> None:
    app_ctx = app_context(ctx)
    names = check_names(batch, "--batch", "a batch's name")
    if not what_if:
        confirm_changes(yes, "Remove the completed migration batches from Exchange Online?",
                        refusal="remove-completed removes batches from Exchange Online: give --what-if to see the "
                                "commands, or --yes")
    with online_session(profile_for(app_ctx)) as session, Journal(journal_path) as journal:
        with RichReporter(app_ctx.err_console, notes=not app_ctx.json) as reporter:
            result = remove_completed(session, journal, batches=names, include_errors=include_errors,
                                      what_if=what_if, argv=sys.argv, profile=app_ctx.profile, reporter=reporter)
    if app_ctx.json:
        emit_json(app_ctx, cleanup_doc(result))
    else:
        print_applied(app_ctx.console, app_ctx.err_console, cleanup_view(result), commands=result.commands,
                      what_if=what_if, run_id=result.run_id, resumed=result.resumed, nothing="# nothing to remove")
    if not what_if and result.failed:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add ``remove-completed`` to the cutover app."""
    app.command("remove-completed", help=_HELP)(remove_completed_command)
