"""``hybridkit cutover``: create migration batches from a plan, watch them, complete batches or mailboxes.

Thin: parse and check options, call ``_observe``/``_plan``/``_apply``, hand the results to ``_render`` and the
shared consoles (``ctx.obj``). Batches live in Exchange Online, so every command needs an online profile
(``kind = "online"``, or a lab profile with ``endpoint = "online"``).
"""

from __future__ import annotations

import datetime as dt
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.live import Live
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from hybridkit._context import AppContext
from hybridkit.cli_support import app_context, emit_json
from hybridkit.cutover import _apply, _observe, _render
from hybridkit.cutover._model import CompletionMethod, MoveState, Readiness
from hybridkit.cutover._options import check_domain, check_names, check_positive, check_text
from hybridkit.cutover._plan import plan_completion, plan_create, select_batches
from hybridkit.cutover._read import read_mailbox_list, read_plan
from hybridkit.cutover._when import parse_when, show_time
from hybridkit.errors import ConfigError, InputError, PlanError
from hybridkit.journal import DEFAULT_JOURNAL, Journal
from hybridkit.ps import PSSession

__all__ = ["app"]

app = typer.Typer(help="Create migration batches from a plan, watch them, and complete batches or single mailboxes.",
                  no_args_is_help=True)

_WHEN = "WHEN: ISO 8601 with a zone (2026-12-05T22:00Z), now, or a delay (+2h)."
_ALLOW_PAST = "Accept a time more than a few minutes in the past (refused otherwise, as a likely slip)."
_CREATE_HELP = ("One migration batch per planned batch; batches that already exist with the same members are left "
                "alone. Each new batch's users are read back: a mailbox Exchange fails (already in another batch, "
                "no such recipient) is reported with Exchange's reason and the command exits 1.")
_STATUS_HELP = "Batches and per-mailbox move status: percent, bytes transferred, failures with Exchange's message."
_COMPLETE_HELP = (
    "Complete synced mailboxes (a mailbox that is not synced is reported and skipped, never forced).\n\n"
    "Sends the completion for many mailboxes per pipeline, journaled: a re-run (or --resume) never repeats a "
    "mailbox whose completion Exchange has, and sends it again when Exchange's live state shows it was lost. "
    "Exit 1 if any mailbox failed, has no move request, was not ready, or (with --wait) did not finish before "
    "--timeout."
)


def _app(ctx: typer.Context) -> AppContext:
    return app_context(ctx)


@contextmanager
def _session(app_ctx: AppContext) -> Iterator[PSSession]:
    from hybridkit.config import load_config
    from hybridkit.sides import Side, connect, side_of

    profile = load_config(app_ctx.config).profile(app_ctx.profile)
    if side_of(profile) is Side.ONPREM:
        raise ConfigError(f"profile {profile.name!r} reaches on-premises Exchange; migration batches are created in "
                          "Exchange Online: use an online profile (or a lab profile with endpoint = \"online\")")
    session = connect(profile)
    try:
        yield session
    finally:
        session.close()


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _print(app_ctx: AppContext, renderable: Any) -> None:
    app_ctx.console.print(renderable)


# ---------------------------------------------------------------- create


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
    what_if: Annotated[bool, typer.Option("--what-if", help="Print the PowerShell and change nothing.")] = False,
) -> None:
    app_ctx = _app(ctx)
    endpoint = check_text(endpoint, "--endpoint", "the migration endpoint's name")
    domain = check_domain(target_delivery_domain, "--target-delivery-domain")
    names = check_names(batch, "--batch", "a planned batch's name")
    planned = select_batches(read_plan(plan_dir), names)
    when = (parse_when(complete_after, _utcnow(), option="--complete-after", allow_past=allow_past)
            if complete_after else None)
    for address in notify or ():
        if not _apply.looks_like_address(address):
            raise InputError(f"--notify {address!r} is not an email address (NotificationEmails takes addresses)")
    options = _apply.CreateOptions(endpoint, domain, start, when, tuple(notify or ()))
    with _session(app_ctx) as session:
        observed = _observe.observe_batches(session)
        plan = plan_create(planned, observed, start=start)
        if plan.conflicts:
            raise PlanError("; ".join(f"batch {c.name}: {c.reason}" for c in plan.conflicts))
        if plan.to_create:  # a mistyped endpoint: one clear error before anything, not one failure per batch
            endpoints = _observe.migration_endpoints(session)
            if endpoints is not None and endpoint.lower() not in {e.lower() for e in endpoints}:
                known = ", ".join(repr(e) for e in endpoints) or "none"
                raise InputError(f"--endpoint {endpoint!r}: no such migration endpoint (Get-MigrationEndpoint lists "
                                 f"{known}); nothing was created")
        if what_if:
            _create_what_if(app_ctx, plan, options)
            return
        result = _apply.create_batches(session, plan, options, observed)
    if app_ctx.json:
        emit_json(app_ctx, _render.create_doc(result, plan.warnings, when))
    else:
        _warn(app_ctx, plan.warnings)
        _print(app_ctx, _render.create_table(result, app_ctx.console.width))
        if when:
            app_ctx.console.print(f"CompleteAfter: {show_time(when)}", highlight=False)
    if result.failed:
        raise typer.Exit(1)


def _warn(app_ctx: AppContext, warnings: Any) -> None:
    for warning in warnings:
        app_ctx.err_console.print(f"warning: {warning}", highlight=False, markup=False,
                                  soft_wrap=not app_ctx.err_console.is_terminal)  # one line in logs and pipes


def _create_what_if(app_ctx: AppContext, plan: Any, options: _apply.CreateOptions) -> None:
    lines = _render.create_what_if_lines(_apply.create_commands(plan, options))
    if app_ctx.json:  # one JSON document: the commands and what each planned batch would get
        emit_json(app_ctx, _render.create_what_if_doc(plan.changes, lines, plan.warnings))
        return
    for change in plan.changes:
        if change.action.value == "unchanged":
            app_ctx.err_console.print(f"# {change.name}: {change.reason}; left alone", highlight=False, markup=False)
    _warn(app_ctx, plan.warnings)
    for line in lines:
        app_ctx.console.print(line, highlight=False, markup=False, soft_wrap=True)


# ---------------------------------------------------------------- status


_SETTLED = ("Completed", "CompletedWithErrors", "Failed", "Synced", "SyncedWithErrors", "Stopped", "Created")


def _status_doc(session: PSSession, names: list[str]) -> dict[str, Any]:
    observed = _observe.observe_batches(session, columns=_observe.BATCH_COLUMNS, names=names)
    unknown = [n for n in names if n.lower() not in {o.lower() for o in observed}]
    if unknown:
        raise InputError(f"no migration batch named {', '.join(unknown)}")
    moves = _observe.read_moves(session, batches=list(observed), columns=_observe.STATUS_MOVE_COLUMNS)
    return _render.status_doc(list(observed.values()), moves, _utcnow())


@app.command(help=_STATUS_HELP)
def status(
    ctx: typer.Context,
    batch: Annotated[Optional[list[str]], typer.Option("--batch", help="Only these batches.")] = None,
    watch: Annotated[bool, typer.Option("--watch", help="Refresh until every batch settles (or --timeout); with "
                                        "--output json, print the settled state once.")] = False,
    interval: Annotated[float, typer.Option("--interval", help="Seconds between refreshes with --watch.")] = 30.0,
    timeout: Annotated[float, typer.Option("--timeout", help="Stop watching after this many seconds.")] = 4 * 3600.0,
) -> None:
    app_ctx = _app(ctx)
    names = check_names(batch, "--batch", "a batch's name")
    check_positive(interval, "--interval")
    check_positive(timeout, "--timeout")
    with _session(app_ctx) as session:
        data = _status_doc(session, names)
        deadline = time.monotonic() + timeout

        def unsettled() -> bool:
            return time.monotonic() < deadline and not all(b["status"] in _SETTLED for b in data["items"])

        def pause() -> None:  # never past the deadline
            time.sleep(max(0.05, min(interval, deadline - time.monotonic())))

        if watch and not app_ctx.json:
            width = app_ctx.console.width
            with Live(_render.status_view(data, width), console=app_ctx.console, refresh_per_second=2) as live:
                while unsettled():
                    pause()
                    data = _status_doc(session, names)
                    live.update(_render.status_view(data, width))
        while watch and unsettled():  # --output json: one document, once every batch settled (or at --timeout)
            pause()
            data = _status_doc(session, names)
        moving = [f"{b['batch']} ({b['status']})" for b in data["items"] if b["status"] not in _SETTLED]
        if watch and moving:
            app_ctx.err_console.print(f"stopped watching after --timeout {timeout:g} s; still moving: "
                                      + ", ".join(moving), highlight=False, markup=False)
        if watch and not app_ctx.json:
            return
    if app_ctx.json:
        emit_json(app_ctx, data)
    else:
        _print(app_ctx, _render.status_view(data, app_ctx.console.width))


# ---------------------------------------------------------------- complete


class _ProgressReporter:
    def __init__(self, progress: Progress) -> None:
        self._progress = progress
        self._tasks: dict[str, Any] = {}

    def progress(self, label: str, done: int, total: int) -> None:
        if label not in self._tasks:
            self._tasks[label] = self._progress.add_task(label, total=total)
        self._progress.update(self._tasks[label], completed=done, total=total)

    def note(self, text: str) -> None:
        self._progress.console.print(text, highlight=False, markup=False)


def _progress(app_ctx: AppContext) -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=app_ctx.err_console, disable=not app_ctx.err_console.is_terminal)


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
    what_if: Annotated[bool, typer.Option("--what-if", help="Print the PowerShell and change nothing.")] = False,
    resume: Annotated[bool, typer.Option("--resume", help="Continue the interrupted run of this selection.")] = False,
    poll_interval: Annotated[float, typer.Option("--poll-interval", help="Seconds between polls with --wait.")] = 30.0,
    timeout: Annotated[float, typer.Option("--timeout", help="Give up waiting after this many seconds.")] = 6 * 3600.0,
    chunk_size: Annotated[int, typer.Option("--chunk-size", help="Mailboxes per pipeline.")] = 500,
    journal_path: Annotated[Path, typer.Option("--journal", help="Run journal (SQLite).")] = DEFAULT_JOURNAL,
) -> None:
    app_ctx = _app(ctx)
    sources = [s for s in (batch, mailbox, from_file) if s]
    if len(sources) != 1:
        raise InputError("give exactly one of --batch, --mailbox or --from-file")
    names = check_names(batch, "--batch", "a batch's name")
    check_positive(poll_interval, "--poll-interval")
    check_positive(timeout, "--timeout")
    check_positive(chunk_size, "--chunk-size", "mailboxes")
    when = parse_when(at, _utcnow(), option="--at", allow_past=allow_past)
    for value in mailbox or []:
        if not _apply.looks_like_address(value):  # an alias or a name would match no move request's Identity
            raise InputError(f"--mailbox {value!r}: give the mailbox's primary SMTP address (as in plan.json)")
    listed = [m.strip().lower() for m in mailbox or []] + (read_mailbox_list(from_file) if from_file else [])
    with _session(app_ctx) as session:
        targets = _observe.batch_members(session, names) if names else listed
        moves = _observe.read_moves(session, batches=names, mailboxes=[] if names else listed,
                                    columns=_observe.READINESS_COLUMNS, chunk_size=chunk_size)
        if what_if:
            _complete_what_if(app_ctx, targets, moves, method, when)
            return
        with Journal(journal_path) as journal:
            if resume and journal.find_resumable(_apply.JOURNAL_KIND, _apply.fingerprint(targets, method)) is None:
                raise PlanError("nothing to resume: no interrupted completion run for this selection")
            outcome = None
            final: dict[str, MoveState] = {}
            try:
                with _progress(app_ctx) as progress:
                    reporter = _ProgressReporter(progress)
                    outcome = _apply.run_completion(
                        session, journal, targets, moves, method=method, at=when, chunk_size=chunk_size,
                        argv=sys.argv, profile=app_ctx.profile, reporter=reporter)
                    if wait and outcome.followed:
                        final = _apply.follow(session, outcome.followed, poll_interval=poll_interval,
                                              timeout=timeout, reporter=reporter)
            except KeyboardInterrupt:
                _interrupted_hint(app_ctx, journal, outcome, targets, method)
                raise
    results = _apply.completion_results(outcome, final, wait)
    if app_ctx.json:
        emit_json(app_ctx, _render.complete_doc(results, when, method.value, outcome.run_id, outcome.resumed))
    else:
        _print(app_ctx, _render.complete_table(results, when, method.value, app_ctx.console.width))
        app_ctx.err_console.print(f"journal run {outcome.run_id}" + (" (resumed)" if outcome.resumed else ""),
                                  highlight=False)
    if any(r.failed for r in results):
        raise typer.Exit(1)


def _interrupted_hint(app_ctx: AppContext, journal: Journal, outcome: _apply.CompletionOutcome | None,
                      targets: list[str], method: CompletionMethod) -> None:
    """What a Ctrl-C left behind, and the command that carries on from there."""
    if outcome is not None:  # every completion was sent; only the --wait was cut short
        app_ctx.err_console.print(f"interrupted while waiting: the completions were sent (journal run "
                                  f"{outcome.run_id}); follow them with `hybridkit cutover status`", highlight=False)
        return
    run = journal.find_resumable(_apply.JOURNAL_KIND, _apply.fingerprint(targets, method))
    if run is not None:
        app_ctx.err_console.print(f"interrupted: journal run {run.run_id} is recorded interrupted; run the same "
                                  "command again (or add --resume) to carry on: mailboxes already sent are not sent "
                                  "again, and one in flight is checked against Exchange first", highlight=False)


def _complete_what_if(app_ctx: AppContext, targets: list[str], moves: dict[str, MoveState],
                      method: CompletionMethod, when: dt.datetime) -> None:
    plan = plan_completion(targets, moves, method=method, at=when)
    ready = [i.mailbox for i in plan.with_readiness(Readiness.COMPLETE)]
    lines = _render.completion_lines(_apply.completion_pipelines(method, when), ready)
    if app_ctx.json:  # one JSON document: the commands and each mailbox's action
        emit_json(app_ctx, _render.complete_what_if_doc(plan.items, lines, when, method.value))
        return
    for item in plan.items:
        if item.readiness is not Readiness.COMPLETE:
            app_ctx.err_console.print(f"# {item.mailbox}: {item.readiness.value}: {item.reason}", highlight=False,
                                      markup=False)
    noun = "mailbox" if len(ready) == 1 else "mailboxes"
    app_ctx.err_console.print(f"# CompleteAfter {show_time(when)}; {len(ready)} {noun} ready", highlight=False)
    for line in lines:
        app_ctx.console.print(line, highlight=False, markup=False, soft_wrap=True)
