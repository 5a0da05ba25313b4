"""``hybridkit cutover``: create migration batches from a plan, watch them, complete batches or mailboxes.

Thin: parse options, call ``_apply``, render with the shared consoles (``ctx.obj``). Batches live in Exchange
Online, so every command needs an online profile (``kind = "online"``, or a lab profile with
``endpoint = "online"``).
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
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from hybridkit._context import AppContext
from hybridkit.cli_support import app_context, emit_json
from hybridkit.cutover import _apply
from hybridkit.cutover._model import CompletionMethod, MoveState, Readiness
from hybridkit.cutover._plan import plan_create, select_batches
from hybridkit.cutover._read import read_mailbox_list, read_plan
from hybridkit.cutover._when import parse_when, show_time
from hybridkit.errors import ConfigError, InputError, PlanError
from hybridkit.journal import DEFAULT_JOURNAL, Journal
from hybridkit.ps import PSSession, quote

__all__ = ["app"]

app = typer.Typer(help="Create migration batches from a plan, watch them, and complete batches or single mailboxes.",
                  no_args_is_help=True)


def _app(ctx: typer.Context) -> AppContext:
    return app_context(ctx)


@contextmanager
def _session(app_ctx: AppContext) -> Iterator[PSSession]:
    from hybridkit.config import load_config
    from hybridkit.ps import open_session

    profile = load_config(app_ctx.config).profile(app_ctx.profile)
    if profile.kind == "onprem" or (profile.kind == "lab" and profile.endpoint != "online"):
        raise ConfigError(f"profile {profile.name!r} reaches on-premises Exchange; migration batches are created in "
                          "Exchange Online: use an online profile (or a lab profile with endpoint = \"online\")")
    session = open_session(profile)
    try:
        yield session
    finally:
        session.close()


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _emit_json(app_ctx: AppContext, data: Any) -> None:
    emit_json(app_ctx, data)


# ---------------------------------------------------------------- create


@app.command()
def create(
    ctx: typer.Context,
    plan_dir: Annotated[Path, typer.Argument(help="Directory with plan.json (from `hybridkit batches plan`).")],
    endpoint: Annotated[str, typer.Option("--endpoint", help="Migration endpoint (Get-MigrationEndpoint).")],
    target_delivery_domain: Annotated[str, typer.Option("--target-delivery-domain", help="e.g. contoso.mail.onmicrosoft.com")],
    batch: Annotated[Optional[list[str]], typer.Option("--batch", help="Only these planned batches.")] = None,
    start: Annotated[bool, typer.Option("--start", help="Start the batches (AutoStart).")] = False,
    complete_after: Annotated[Optional[str], typer.Option("--complete-after", help="WHEN: ISO 8601 with a zone, now, +2h.")] = None,
    notify: Annotated[Optional[list[str]], typer.Option("--notify", help="NotificationEmails address.")] = None,
    what_if: Annotated[bool, typer.Option("--what-if", help="Print the PowerShell and change nothing.")] = False,
) -> None:
    """One migration batch per planned batch; batches that already exist with the same members are left alone."""
    app_ctx = _app(ctx)
    planned = select_batches(read_plan(plan_dir), batch or [])
    when = parse_when(complete_after, _utcnow(), option="--complete-after") if complete_after else None
    for address in notify or ():
        if not _apply.looks_like_address(address):
            raise InputError(f"--notify {address!r} is not an email address (NotificationEmails takes addresses)")
    options = _apply.CreateOptions(endpoint, target_delivery_domain, start, when, tuple(notify or ()))
    with _session(app_ctx) as session:
        observed, _ = _apply.observe_batches(session)
        plan = plan_create(planned, observed, start=start)
        if plan.conflicts:
            raise PlanError("; ".join(f"batch {c.name}: {c.reason}" for c in plan.conflicts))
        if plan.to_create:  # a mistyped endpoint: one clear error before anything, not one failure per batch
            endpoints = _apply.migration_endpoints(session)
            if endpoints is not None and endpoint.lower() not in {e.lower() for e in endpoints}:
                known = ", ".join(repr(e) for e in endpoints) or "none"
                raise InputError(f"--endpoint {endpoint!r}: no such migration endpoint (Get-MigrationEndpoint lists "
                                 f"{known}); nothing was created")
        if what_if:
            _print_what_if(app_ctx, plan_dir, _apply.create_commands(plan, options), plan)
            return
        results = _apply.create_batches(session, plan, options)
    if app_ctx.json:
        _emit_json(app_ctx, {"batches": [{"name": n, "outcome": o, "detail": d} for n, o, d in results]})
    else:
        table = Table(title="Migration batches")
        for col in ("Batch", "Outcome", "Detail"):
            table.add_column(col)
        for name, outcome, detail in results:
            style = {"created": "green", "started": "green", "unchanged": "dim", "failed": "red"}.get(outcome, "")
            table.add_row(escape(name), f"[{style}]{outcome}[/]", escape(detail))
        app_ctx.console.print(table)
        if when:
            app_ctx.console.print(f"CompleteAfter: {show_time(when)}")
    if any(o == "failed" for _, o, _ in results):
        raise typer.Exit(1)


def _print_what_if(app_ctx: AppContext, plan_dir: Path, commands: list[Any], plan: Any) -> None:
    base = plan_dir if plan_dir.is_dir() else plan_dir.parent
    members = {c.name: c.mailboxes for c in plan.changes}
    lines = []
    for command in commands:
        if command.cmdlet != "New-MigrationBatch":
            lines.append(command.render())
            continue
        name = command.param("Name")
        line = type(command)(command.cmdlet, tuple((k, "\x00CSV\x00" if k == "CSVData" else v)
                                                   for k, v in command.parameters)).render()
        lines.append(line.replace("'\x00CSV\x00'", _csv_expression(base / "batches" / f"{name}.csv", members[name])))
    if app_ctx.json:  # one JSON document: the commands and what each planned batch would get
        _emit_json(app_ctx, {"what_if": True, "commands": lines, "batches": [
            {"name": c.name, "action": c.action.value, "reason": c.reason} for c in plan.changes]})
        return
    for change in plan.changes:
        if change.action.value == "unchanged":
            app_ctx.err_console.print(f"# {change.name}: {change.reason}; left alone", highlight=False, markup=False)
    for line in lines:
        app_ctx.console.print(line, highlight=False, markup=False, soft_wrap=True)


def _csv_expression(path: Path, mailboxes: tuple[str, ...]) -> str:
    """PowerShell for the CSVData bytes: the planner's CSV file when it holds exactly these mailboxes, else inline."""
    try:
        on_disk = read_mailbox_list(path)
    except InputError:
        on_disk = []
    if sorted(on_disk) == sorted(mailboxes):
        return f"([System.IO.File]::ReadAllBytes({quote(str(path.resolve()))}))"
    rows = ",".join(quote(r) for r in ("EmailAddress", *mailboxes))
    return f'([System.Text.Encoding]::UTF8.GetBytes((@({rows}) -join "`r`n") + "`r`n"))'


# ---------------------------------------------------------------- status


def _status_data(session: PSSession, names: list[str]) -> dict[str, Any]:
    observed, objects = _apply.observe_batches(session)
    wanted = [n.lower() for n in names]
    if wanted:
        unknown = [n for n in names if n.lower() not in {o.lower() for o in observed}]
        if unknown:
            raise InputError(f"no migration batch named {', '.join(unknown)}")
    chosen = [o for o in objects if not wanted or str(o.get("Identity")).lower() in wanted]
    moves = _apply.read_moves(session, batches=[str(o.get("Identity")) for o in chosen])
    batches = []
    for obj in chosen:
        name = str(obj.get("Identity"))
        members = observed[name].mailboxes
        rows = []
        for mailbox in members:
            move = moves.get(mailbox) or MoveState(mailbox, "NotStarted")
            rows.append({"mailbox": mailbox, "status": move.status, "status_detail": move.status_detail,
                         "percent": move.percent, "bytes_transferred": move.bytes_transferred,
                         "total_size": move.total_size, "transferred_bytes": _bytes(move.bytes_transferred),
                         "total_bytes": _bytes(move.total_size), "message": move.message})
        batches.append({
            "name": name, "status": str(obj.get("Status")), "total": obj.get("TotalCount"),
            "synced": obj.get("SyncedCount"), "completed": obj.get("FinalizedCount"), "failed": obj.get("FailedCount"),
            "complete_after": show_time(obj.get("CompleteAfter")) if obj.get("CompleteAfter") else None,
            "mailboxes": rows,
        })
    return {"observed_at": show_time(_utcnow()), "batches": batches}


def _bytes(size: str) -> int | None:
    """Exchange's "4.243 GB (4,555,456,537 bytes)" as a number of bytes (None when there is none)."""
    from hybridkit.batches._sizes import parse_size

    return parse_size(size) if size else None


def _short_size(size: str) -> str:
    """The table's form of a size: "4.243 GB" (the exact bytes stay in --output json)."""
    return size.split(" (", 1)[0]


def _status_view(data: dict[str, Any]) -> Table:
    outer = Table.grid(padding=(0, 0))
    summary = Table(title=f"Migration batches at {data['observed_at']}")
    widest = max((len(b["status"]) for b in data["batches"]), default=6)
    scheduled = any(b["complete_after"] for b in data["batches"])  # the column only when a batch has one
    columns = ("Batch", "Status", "Total", "Synced", "Completed", "Failed") + (("CompleteAfter",) if scheduled else ())
    for col in columns:
        summary.add_column(col, min_width=widest if col == "Status" else None, overflow="fold")
    for b in data["batches"]:
        summary.add_row(escape(b["name"]), escape(b["status"]), str(b["total"]), str(b["synced"]), str(b["completed"]),
                        str(b["failed"]), *((b["complete_after"] or "-",) if scheduled else ()))
    outer.add_row(summary)
    for b in data["batches"]:
        detail = Table(title=f"{escape(b['name'])}: mailboxes")
        longest = max((len(r["mailbox"]) for r in b["mailboxes"]), default=7)
        for col in ("Mailbox", "Status", "Detail", "%", "Transferred"):
            detail.add_column(col, overflow="fold", min_width=min(longest, 40) if col == "Mailbox" else None)
        messages = []
        for row in b["mailboxes"]:
            style = "red" if row["status"] == "Failed" else "green" if row["status"].startswith("Completed") else ""
            shown = escape(row["status"])
            detail.add_row(escape(row["mailbox"]), f"[{style}]{shown}[/]" if style else shown,
                           escape(row["status_detail"]), str(row["percent"]),
                           escape(_short_size(row["bytes_transferred"])))
            if row["message"]:  # Exchange's message in full, under the table (a column would squeeze it to nothing)
                messages.append(Text.assemble((row["mailbox"], style or "bold"), ": ", row["message"]))
        outer.add_row(detail)
        for message in messages:
            outer.add_row(message)
    return outer


_SETTLED = ("Completed", "CompletedWithErrors", "Failed", "Synced", "SyncedWithErrors", "Stopped", "Created")


@app.command()
def status(
    ctx: typer.Context,
    batch: Annotated[Optional[list[str]], typer.Option("--batch", help="Only these batches.")] = None,
    watch: Annotated[bool, typer.Option("--watch", help="Refresh until every batch settles (or --timeout); with "
                                        "--output json, print the settled state once.")] = False,
    interval: Annotated[float, typer.Option("--interval", help="Seconds between refreshes with --watch.")] = 30.0,
    timeout: Annotated[float, typer.Option("--timeout", help="Stop watching after this many seconds.")] = 4 * 3600.0,
) -> None:
    """Batches and per-mailbox move status: percent, bytes transferred, failures with Exchange's message."""
    app_ctx = _app(ctx)
    with _session(app_ctx) as session:
        data = _status_data(session, batch or [])
        deadline = time.monotonic() + timeout

        def unsettled() -> bool:
            return time.monotonic() < deadline and not all(b["status"] in _SETTLED for b in data["batches"])

        def pause() -> None:  # never past the deadline
            time.sleep(max(0.05, min(interval, deadline - time.monotonic())))

        if watch and not app_ctx.json:
            with Live(_status_view(data), console=app_ctx.console, refresh_per_second=2) as live:
                while unsettled():
                    pause()
                    data = _status_data(session, batch or [])
                    live.update(_status_view(data))
        while watch and unsettled():  # --output json: one document, once every batch settled (or at --timeout)
            pause()
            data = _status_data(session, batch or [])
        moving = [f"{b['name']} ({b['status']})" for b in data["batches"] if b["status"] not in _SETTLED]
        if watch and moving:
            app_ctx.err_console.print(f"stopped watching after --timeout {timeout:g} s; still moving: "
                                      + ", ".join(moving), highlight=False, markup=False)
        if watch and not app_ctx.json:
            return
    if app_ctx.json:
        _emit_json(app_ctx, data)
    else:
        app_ctx.console.print(_status_view(data))


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
        self._progress.console.print(text, highlight=False)


def _progress(app_ctx: AppContext) -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=app_ctx.err_console, disable=not app_ctx.err_console.is_terminal)


@app.command()
def complete(
    ctx: typer.Context,
    batch: Annotated[Optional[list[str]], typer.Option("--batch", help="Complete every mailbox of these batches.")] = None,
    mailbox: Annotated[Optional[list[str]], typer.Option("--mailbox", help="Complete this mailbox.")] = None,
    from_file: Annotated[Optional[Path], typer.Option("--from-file", help="CSV/XLSX with an EmailAddress column.")] = None,
    at: Annotated[str, typer.Option("--at", help="WHEN: ISO 8601 with a zone, now, +2h.")] = "now",
    method: Annotated[CompletionMethod, typer.Option("--method", case_sensitive=False)] = CompletionMethod.MOVEREQUEST,
    wait: Annotated[bool, typer.Option("--wait", help="Follow every mailbox to Completed or Failed.")] = False,
    what_if: Annotated[bool, typer.Option("--what-if", help="Print the PowerShell and change nothing.")] = False,
    resume: Annotated[bool, typer.Option("--resume", help="Continue the interrupted run of this selection.")] = False,
    poll_interval: Annotated[float, typer.Option("--poll-interval", help="Seconds between polls with --wait.")] = 30.0,
    timeout: Annotated[float, typer.Option("--timeout", help="Give up waiting after this many seconds.")] = 6 * 3600.0,
    chunk_size: Annotated[int, typer.Option("--chunk-size", min=1, help="Mailboxes per pipeline.")] = 500,
    journal_path: Annotated[Path, typer.Option("--journal", help="Run journal (SQLite).")] = DEFAULT_JOURNAL,
) -> None:
    """Complete synced mailboxes (a mailbox that is not synced is reported and skipped, never forced).

    Sends the completion for many mailboxes per pipeline; journaled, so a re-run (or --resume) never repeats a
    mailbox whose completion was sent and never skips one that was not. Exit 1 if any mailbox failed, has no move
    request, was not ready, or (with --wait) did not finish before --timeout.
    """
    app_ctx = _app(ctx)
    sources = [s for s in (batch, mailbox, from_file) if s]
    if len(sources) != 1:
        raise InputError("give exactly one of --batch, --mailbox or --from-file")
    when = parse_when(at, _utcnow(), option="--at")
    for value in mailbox or []:
        if not _apply.looks_like_address(value):  # an alias or a name would match no move request's Identity
            raise InputError(f"--mailbox {value!r}: give the mailbox's primary SMTP address (as in plan.json)")
    listed = [m.strip().lower() for m in mailbox or []] + (read_mailbox_list(from_file) if from_file else [])
    with _session(app_ctx) as session:
        targets = _apply.batch_members(session, batch) if batch else listed
        moves = _apply.read_moves(session, batches=batch or [], mailboxes=[] if batch else listed)
        if what_if:
            _what_if_complete(app_ctx, targets, moves, method, when)
            return
        with Journal(journal_path) as journal:
            if resume and journal.find_resumable(_apply.JOURNAL_KIND, _apply.fingerprint(targets, method)) is None:
                raise PlanError("nothing to resume: no interrupted completion run for this selection")
            progress = _progress(app_ctx)
            outcome = None
            try:
                with progress:
                    reporter = _ProgressReporter(progress)
                    outcome = _apply.run_completion(
                        session, journal, targets, moves, method=method, at=when, chunk_size=chunk_size,
                        argv=sys.argv, profile=app_ctx.profile, reporter=reporter)
                    final: dict[str, MoveState] = {}
                    if wait and outcome.followed:
                        final = _apply.follow(session, outcome.followed, poll_interval=poll_interval,
                                              timeout=timeout, reporter=reporter)
            except KeyboardInterrupt:
                _interrupted_hint(app_ctx, journal, outcome, targets, method)
                raise
    failed = _report_completion(app_ctx, outcome, final, when, wait)
    if failed:
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
        app_ctx.err_console.print(f"interrupted: journal run {run.run_id} is unfinished; run the same command again "
                                  "(or add --resume) to carry on: mailboxes already sent are not sent again, and one "
                                  "in flight is checked against Exchange first", highlight=False)


def _what_if_complete(app_ctx: AppContext, targets: list[str], moves: dict[str, MoveState],
                      method: CompletionMethod, when: dt.datetime) -> None:
    from hybridkit.cutover._plan import plan_completion

    plan = plan_completion(targets, moves, method=method, at=when)
    ready = [i.mailbox for i in plan.with_readiness(Readiness.COMPLETE)]
    if app_ctx.json:  # one JSON document: the commands and each mailbox's readiness
        commands = [p.render(ready) for p in _apply.completion_pipelines(method, when)] if ready else []
        _emit_json(app_ctx, {"what_if": True, "complete_after": show_time(when), "method": method.value,
                             "commands": commands, "mailboxes": _apply.readiness_rows(plan.items)})
        return
    for item in plan.items:
        if item.readiness is not Readiness.COMPLETE:
            app_ctx.err_console.print(f"# {item.mailbox}: {item.readiness.value}: {item.reason}", highlight=False,
                                      markup=False)
    noun = "mailbox" if len(ready) == 1 else "mailboxes"
    app_ctx.err_console.print(f"# CompleteAfter {show_time(when)}; {len(ready)} {noun} ready", highlight=False)
    if ready:
        for pipeline in _apply.completion_pipelines(method, when):
            app_ctx.console.print(pipeline.render(ready), highlight=False, markup=False, soft_wrap=True)


def _report_completion(app_ctx: AppContext, outcome: _apply.CompletionOutcome, final: dict[str, MoveState],
                       when: dt.datetime, waited: bool) -> bool:
    rows = []
    failed = False
    for item in outcome.plan.items:
        state = final.get(item.mailbox)
        result = item.readiness.value
        detail = item.reason
        if item.mailbox in outcome.send_failed:
            result, detail = "failed", outcome.send_failed[item.mailbox]
        elif item.readiness is Readiness.COMPLETE:
            result, detail = "sent", "completion sent"
        if state is not None:
            result = state.status
            detail = state.message or state.status_detail
        if result in ("failed", "Failed", "not-found", "not-ready") or (waited and item.mailbox in outcome.followed
                                                                      and (state is None or state.status not in _apply.TERMINAL)):
            failed = True
        rows.append({"mailbox": item.mailbox, "readiness": item.readiness.value, "result": result, "detail": detail})
    if app_ctx.json:
        _emit_json(app_ctx, {"complete_after": show_time(when), "method": outcome.plan.method.value,
                             "run_id": outcome.run_id, "mailboxes": rows})
        return failed
    table = Table(title=f"Completion (CompleteAfter {show_time(when)}, method {outcome.plan.method.value})")
    longest = min(40, max((len(r["mailbox"]) for r in rows), default=7))
    for col in ("Mailbox", "Readiness", "Result", "Detail"):
        table.add_column(col, overflow="fold", min_width=longest if col == "Mailbox" else None)
    for row in rows:
        bad = row["result"] in ("failed", "Failed", "not-found", "not-ready")
        result = escape(row["result"])
        readiness = "ready" if row["readiness"] == Readiness.COMPLETE.value else row["readiness"]  # not "completed"
        table.add_row(escape(row["mailbox"]), readiness, f"[red]{result}[/]" if bad else result,
                      escape(row["detail"]))
    app_ctx.console.print(table)
    app_ctx.err_console.print(f"journal run {outcome.run_id}" + (" (resumed)" if outcome.resumed else ""),
                              highlight=False)
    return failed
