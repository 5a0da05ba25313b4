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

from hybridkit._context import AppContext
from hybridkit._progress import RichReporter
from hybridkit.cli_support import app_context, emit_json, profile_for
from hybridkit.cutover import _render, _service
from hybridkit.cutover._model import CreateOptions
from hybridkit.cutover._options import check_addresses, check_domain, check_names, check_text
from hybridkit.cutover._plan import select_batches
from hybridkit.cutover._read import read_plan
from hybridkit.cutover._when import parse_when, show_time
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


from hybridkit.cutover import cli_cleanup, cli_complete, cli_remedy, cli_status  # noqa: E402  (each its own module)

cli_status.register(app)
cli_complete.register(app)
cli_remedy.register(app)
cli_cleanup.register(app)
