"""``hybridkit cutover``: create migration batches from a plan, watch them, complete batches or mailboxes.

Thin: parse and check options, call the service (``_service``), hand what it returns to ``_render`` and the
shared consoles. Batches live in Exchange Online, so every command needs an online profile (``kind = "online"``,
or a lab profile with ``endpoint = "online"``).
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.live import Live
from rich.text import Text

from hybridkit._context import AppContext
from hybridkit._progress import RichReporter
from hybridkit.cli_support import app_context, emit_json, profile_for
from hybridkit.cutover import _render, _service
from hybridkit.cutover._model import CompletionInterrupted, CompletionMethod, CreateOptions, StatusSnapshot
from hybridkit.cutover._options import (check_addresses, check_domain, check_mailboxes, check_names,  # fmt: skip
                                        check_positive, check_text)
from hybridkit.cutover._plan import select_batches
from hybridkit.cutover._read import read_mailbox_list, read_plan
from hybridkit.cutover._when import parse_when, show_time
from hybridkit.errors import InputError
from hybridkit.journal import DEFAULT_JOURNAL

__all__ = ["app"]

app = typer.Typer(help="Create migration batches from a plan, watch them, and complete batches or single mailboxes.",
                  no_args_is_help=True)

_WHEN = "WHEN: ISO 8601 with a zone (2026-12-05T22:00Z), now, or a delay (+2h)."
_ALLOW_PAST = "Accept a time more than a few minutes in the past (refused otherwise, as a likely slip)."
_CREATE_HELP = ("One migration batch per planned batch; batches that already exist with the same members are left "
                "alone, one that has only some of them grows (Set-MigrationBatch -AddUsers), one with a member the "
                "plan dropped is refused. Each new batch's users are read back: a mailbox Exchange fails (already in another batch, "
                "no such recipient) is reported with Exchange's reason and the command exits 1.")
_STATUS_HELP = "Batches and per-mailbox move status: percent, bytes transferred, failures with Exchange's message."
_COMPLETE_HELP = (
    "Complete synced mailboxes (a mailbox that is not synced is reported and skipped, never forced).\n\n"
    "Sends the completion for many mailboxes per pipeline, journaled: a re-run (or --resume) never repeats a "
    "mailbox whose completion Exchange has, and sends it again when Exchange's live state shows it was lost. "
    "Exit 1 if any mailbox failed, has no move request, was not ready, or (with --wait) did not finish before "
    "--timeout."
)
JournalOpt = Annotated[Path, typer.Option("--journal", help="Run journal (SQLite).")]
WhatIfOpt = Annotated[bool, typer.Option("--what-if", help="Print the PowerShell and change nothing.")]


def _lines(app_ctx: AppContext, lines: Iterable[str], *, err: bool = False) -> None:
    """Plain lines (PowerShell, comments, warnings): never markup, one line each in logs and pipes."""
    console = app_ctx.err_console if err else app_ctx.console
    for line in lines:
        console.print(line, highlight=False, markup=False, soft_wrap=not err or not console.is_terminal)


@app.command(help=_CREATE_HELP)
def create(
    ctx: typer.Context,
    plan_dir: Annotated[Path, typer.Argument(help="Directory with plan.json (from hybridkit batches plan).")],
    endpoint: Annotated[str, typer.Option("--endpoint", help="Migration endpoint (Get-MigrationEndpoint).")],
    target_delivery_domain: Annotated[str, typer.Option("--target-delivery-domain",
                                                        help="e.g. contoso.mail.onmicrosoft.com")],
    batch: Annotated[Optional[list[str]], typer.Option("--batch", help="Only these planned batches.")] = None,
    start: Annotated[bool, typer.Option("--start", help="Start the batches (AutoStart).")] = False,
    complete_after: Annotated[Optional[str], typer.Option("--complete-after", help=_WHEN)] = None,
    allow_past: Annotated[bool, typer.Option("--allow-past", help=_ALLOW_PAST)] = False,
    notify: Annotated[Optional[list[str]], typer.Option("--notify", help="NotificationEmails address.")] = None,
    what_if: WhatIfOpt = False,
    journal_path: JournalOpt = DEFAULT_JOURNAL,
) -> None:
    app_ctx = app_context(ctx)
    endpoint = check_text(endpoint, "--endpoint", "the migration endpoint's name")
    domain = check_domain(target_delivery_domain, "--target-delivery-domain")
    planned = select_batches(read_plan(plan_dir), check_names(batch, "--batch", "a planned batch's name"))
    when = (parse_when(complete_after, _service.utcnow(), option="--complete-after", allow_past=allow_past)
            if complete_after else None)
    options = CreateOptions(endpoint, domain, start, when, check_addresses(notify, "--notify"))
    with _service.online_session(profile_for(app_ctx)) as session:
        request = _service.prepare_create(session, planned, options)
        if what_if:
            lines = _render.create_what_if_lines(_service.create_commands(request))
            if app_ctx.json:  # one JSON document: the commands and what each planned batch would get
                emit_json(app_ctx, _render.create_what_if_doc(request.plan.changes, lines, request.plan.warnings))
                return
            _lines(app_ctx, (f"# {c.name}: {c.reason}; left alone" for c in request.plan.changes
                             if c.action.value == "unchanged"), err=True)
            _lines(app_ctx, (f"warning: {w}" for w in request.plan.warnings), err=True)
            _lines(app_ctx, lines)
            return
        with RichReporter(app_ctx.err_console, notes=not app_ctx.json) as reporter:
            result = _service.create(session, request, journal_path=journal_path, argv=sys.argv,
                                     profile=app_ctx.profile, reporter=reporter)
    if app_ctx.json:
        emit_json(app_ctx, _render.create_doc(result, request.plan.warnings, when))
    else:
        _lines(app_ctx, (f"warning: {w}" for w in request.plan.warnings), err=True)
        app_ctx.console.print(_render.create_table(result, app_ctx.console.width))
        if when:
            app_ctx.console.print(f"CompleteAfter: {show_time(when)}", highlight=False)
    if result.failed:
        raise typer.Exit(1)


@app.command(help=_STATUS_HELP)
def status(
    ctx: typer.Context,
    batch: Annotated[Optional[list[str]], typer.Option("--batch", help="Only these batches.")] = None,
    watch: Annotated[bool, typer.Option("--watch", help="Refresh until every batch settles (or --timeout); with "
                                        "--output json, print the settled state once.")] = False,
    interval: Annotated[float, typer.Option("--interval", help="Seconds between refreshes with --watch.")] = 30.0,
    timeout: Annotated[float, typer.Option("--timeout", help="Stop watching after this many seconds.")] = 4 * 3600.0,
) -> None:
    app_ctx = app_context(ctx)
    names = check_names(batch, "--batch", "a batch's name")
    check_positive(interval, "--interval")
    check_positive(timeout, "--timeout")
    width = app_ctx.console.width
    with _service.online_session(profile_for(app_ctx)) as session:
        if not watch:
            snapshot = _service.read_status(session, names)
        elif app_ctx.json:  # one document, once every batch settled (or at --timeout)
            snapshot = _service.watch_status(session, names, interval=interval, timeout=timeout)
        else:
            with Live(Text(""), console=app_ctx.console, refresh_per_second=2) as live:
                def show(now: StatusSnapshot) -> None:
                    live.update(_render.status_view(_render.snapshot_doc(now), width))

                snapshot = _service.watch_status(session, names, interval=interval, timeout=timeout, on_update=show)
    if watch and snapshot.moving:
        _lines(app_ctx, [f"stopped watching after --timeout {timeout:g} s; still moving: "
                         + ", ".join(f"{b.name} ({b.status})" for b in snapshot.moving)], err=True)
    if app_ctx.json:
        emit_json(app_ctx, _render.snapshot_doc(snapshot))
    elif not watch:
        app_ctx.console.print(_render.status_view(_render.snapshot_doc(snapshot), width))


@app.command(help=_COMPLETE_HELP)
def complete(
    ctx: typer.Context,
    batch: Annotated[Optional[list[str]], typer.Option("--batch", help="Complete every mailbox of these batches.")] = None,
    mailbox: Annotated[Optional[list[str]], typer.Option("--mailbox", "-m", help="Complete this mailbox.")] = None,
    from_file: Annotated[Optional[Path], typer.Option("--from-file", help="CSV/XLSX with an EmailAddress column.")] = None,
    at: Annotated[str, typer.Option("--at", help=_WHEN)] = "now",
    allow_past: Annotated[bool, typer.Option("--allow-past", help=_ALLOW_PAST)] = False,
    method: Annotated[CompletionMethod, typer.Option("--method", case_sensitive=False,
                                                     help="How to complete: Set-/Resume-MoveRequest, or "
                                                          "Set-MigrationUser -CompleteAfter.")] = CompletionMethod.MOVEREQUEST,
    wait: Annotated[bool, typer.Option("--wait", help="Follow every mailbox to Completed or Failed.")] = False,
    what_if: WhatIfOpt = False,
    resume: Annotated[bool, typer.Option("--resume", help="Continue the interrupted run of this selection.")] = False,
    poll_interval: Annotated[float, typer.Option("--poll-interval", help="Seconds between polls with --wait.")] = 30.0,
    timeout: Annotated[float, typer.Option("--timeout", help="Give up waiting after this many seconds.")] = 6 * 3600.0,
    chunk_size: Annotated[int, typer.Option("--chunk-size", help="Mailboxes per pipeline.")] = 500,
    journal_path: JournalOpt = DEFAULT_JOURNAL,
) -> None:
    app_ctx = app_context(ctx)
    if len([s for s in (batch, mailbox, from_file) if s]) != 1:
        raise InputError("give exactly one of --batch, --mailbox or --from-file")
    names = check_names(batch, "--batch", "a batch's name")
    check_positive(poll_interval, "--poll-interval")
    check_positive(timeout, "--timeout")
    check_positive(chunk_size, "--chunk-size", "mailboxes")
    when = parse_when(at, _service.utcnow(), option="--at", allow_past=allow_past)
    listed = check_mailboxes(mailbox, "--mailbox") + (read_mailbox_list(from_file) if from_file else [])
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


from hybridkit.cutover import cli_cleanup, cli_remedy  # noqa: E402  (failures, remediate, remove-completed)

cli_remedy.register(app)
cli_cleanup.register(app)
