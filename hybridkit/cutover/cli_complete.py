"""``hybridkit cutover complete`` (registered on the cutover app by ``register``): complete synced mailboxes of
batches, listed ones, a file's, or the plan's completion waves (``--wave W``, wherever their sync batch is)."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Optional

import typer

from hybridkit._context import AppContext
from hybridkit._progress import RichReporter
from hybridkit.cli_support import app_context, emit_json, profile_for
from hybridkit.cutover import _render, _service
from hybridkit.cutover._model import CompletionInterrupted, CompletionMethod
from hybridkit.cutover._options import check_mailboxes, check_names, check_positive
from hybridkit.cutover._read import read_mailbox_list
from hybridkit.cutover._when import parse_when, show_time
from hybridkit.errors import InputError
from hybridkit.journal import DEFAULT_JOURNAL

__all__ = ["register"]

_WHEN = "WHEN: ISO 8601 with a zone (2026-12-05T22:00Z), now, or a delay (+2h)."
_COMPLETE_HELP = (
    "Complete synced mailboxes (a mailbox that is not synced is reported and skipped, never forced).\n\n"
    "Give one of --batch, --mailbox, --from-file or --wave (a completion wave of the plan, `batches plan`: its "
    "mailboxes wherever they sync, so a wave packed into a large sync batch completes on its own).\n\n"
    "Sends the completion for many mailboxes per pipeline, journaled: a re-run (or --resume) never repeats a "
    "mailbox whose completion Exchange has, and sends it again when Exchange's live state shows it was lost. "
    "Exit 1 if any mailbox failed, has no move request, was not ready, or (with --wait) did not finish before "
    "--timeout."
)


def _lines(app_ctx: AppContext, lines: Iterable[str], *, err: bool = False) -> None:
    """Plain lines (PowerShell, comments): never markup, one line each in logs and pipes."""
    console = app_ctx.err_console if err else app_ctx.console
    for line in lines:
        console.print(line, highlight=False, markup=False, soft_wrap=not err or not console.is_terminal)


def complete(
    ctx: typer.Context,
    batch: Annotated[Optional[list[str]], typer.Option("--batch", help="Complete every mailbox of these batches.")] = None,
    mailbox: Annotated[Optional[list[str]], typer.Option("--mailbox", "-m", help="Complete this mailbox.")] = None,
    from_file: Annotated[Optional[Path], typer.Option("--from-file", help="CSV/XLSX with an EmailAddress column.")] = None,
    wave: Annotated[Optional[list[str]], typer.Option("--wave", help="Complete this completion wave of the plan "
                                                      "(repeatable).")] = None,
    plan: Annotated[Optional[Path], typer.Option("--plan", metavar="DIR", help="The plan the waves come from "
                                                 "(`batches plan --out DIR`; default: this folder's plan.json).")] = None,
    at: Annotated[str, typer.Option("--at", help=_WHEN)] = "now",
    allow_past: Annotated[bool, typer.Option("--allow-past", help="Accept a time more than a few minutes in the "
                                             "past (refused otherwise, as a likely slip).")] = False,
    method: Annotated[CompletionMethod, typer.Option("--method", case_sensitive=False,
                                                     help="How to complete: Set-/Resume-MoveRequest, or "
                                                          "Set-MigrationUser -CompleteAfter.")] = CompletionMethod.MOVEREQUEST,
    wait: Annotated[bool, typer.Option("--wait", help="Follow every mailbox to Completed or Failed.")] = False,
    what_if: Annotated[bool, typer.Option("--what-if", help="Print the PowerShell and change nothing.")] = False,
    resume: Annotated[bool, typer.Option("--resume", help="Continue the interrupted run of this selection.")] = False,
    poll_interval: Annotated[float, typer.Option("--poll-interval", help="Seconds between polls with --wait.")] = 30.0,
    timeout: Annotated[float, typer.Option("--timeout", help="Give up waiting after this many seconds.")] = 6 * 3600.0,
    chunk_size: Annotated[int, typer.Option("--chunk-size", help="Mailboxes per pipeline.")] = 500,
    journal_path: Annotated[Path, typer.Option("--journal", help="Run journal (SQLite).")] = DEFAULT_JOURNAL,
) -> None:
    app_ctx = app_context(ctx)
    if len([s for s in (batch, mailbox, from_file, wave) if s]) != 1:
        raise InputError("give exactly one of --batch, --mailbox, --from-file or --wave")
    if plan is not None and not wave:
        raise InputError("--plan goes with --wave (the plan the waves come from)")
    names = check_names(batch, "--batch", "a batch's name")
    check_positive(poll_interval, "--poll-interval")
    check_positive(timeout, "--timeout")
    check_positive(chunk_size, "--chunk-size", "mailboxes")
    when = parse_when(at, _service.utcnow(), option="--at", allow_past=allow_past)
    listed = check_mailboxes(mailbox, "--mailbox") + (read_mailbox_list(from_file) if from_file else [])
    if wave:  # the plan is read before connecting: a wave it lacks is exit 2 naming the waves it has
        listed = _service.wave_targets(check_names(wave, "--wave", "a completion wave's name"), plan)
    with _service.online_session(profile_for(app_ctx)) as session:
        targets, moves = _service.read_targets(session, batches=names, mailboxes=listed, chunk_size=chunk_size)
        if what_if:
            preview = _service.preview_completion(targets, moves, method=method, at=when)
            lines = _render.completion_lines(preview.pipelines, preview.ready)
            if app_ctx.json:  # one JSON document: the commands and each mailbox's action
                emit_json(app_ctx, _render.complete_what_if_doc(preview.plan.items, lines, when, method.value))
                return
            noun = "mailbox" if len(preview.ready) == 1 else "mailboxes"
            _lines(app_ctx, [*_render.completion_skips(preview.plan.items),
                             f"# CompleteAfter {show_time(when)}; {len(preview.ready)} {noun} ready"], err=True)
            _lines(app_ctx, lines)
            return
        try:
            with RichReporter(app_ctx.err_console, notes=not app_ctx.json) as reporter:
                report = _service.complete(
                    session, targets, moves, method=method, at=when, chunk_size=chunk_size, resume=resume,
                    wait=wait, poll_interval=poll_interval, timeout=timeout, journal_path=journal_path,
                    argv=sys.argv, profile=app_ctx.profile, reporter=reporter)
        except CompletionInterrupted as stop:
            _lines(app_ctx, [stop.hint], err=True)
            raise
    if app_ctx.json:
        emit_json(app_ctx, _render.complete_doc(report.results, when, method.value, report.run_id, report.resumed))
    else:
        app_ctx.console.print(_render.complete_table(report.results, when, method.value, app_ctx.console.width))
        if report.run_id:
            _lines(app_ctx, [f"journal run {report.run_id}" + (" (resumed)" if report.resumed else "")], err=True)
    if report.failed:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add ``complete`` to the cutover app."""
    app.command("complete", help=_COMPLETE_HELP)(complete)
