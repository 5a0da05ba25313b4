"""Cutover effects through a ``PSSession`` on Exchange Online: create batches, complete mailboxes, follow them.

Every remote operation is a cmdlet with parameters, and per-mailbox work goes as pipeline input in chunks
(one pipeline per chunk, never one per mailbox). Pipeline input items are objects carrying ``Identity`` (dicts,
sent as PSCustomObjects), which real PowerShell binds to ``-Identity`` by property name and the catalogue's
"accepts pipeline input" allows either way. Reads are in ``_observe`` (each ends in ``Select-Object``).

Completion is journaled per mailbox (step key ``complete:<mailbox>``): ``started`` is committed before a
chunk's completion signal goes out and ``done``/``failed`` after; a mailbox left ``started`` by a killed run is
re-checked against its live move state (``_plan.plan_completion(in_doubt=...)``) before anything is resent,
and a mailbox the journal records as sent is sent again when its live state shows the completion was lost.
A run stopped by Ctrl-C is recorded ``interrupted``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Protocol

from hybridkit.cutover._model import (
    BatchAction,
    BatchOutcome,
    CompletionMethod,
    CompletionPlan,
    CompletionResult,
    CreatePlan,
    CreateResult,
    MailboxOutcome,
    MoveState,
    ObservedBatch,
    ObservedUser,
    Readiness,
)
from hybridkit.cutover._observe import FOLLOW_COLUMNS, as_text, read_batch_users, read_moves
from hybridkit.cutover._plan import csv_data, plan_completion
from hybridkit.errors import CommandFailed, PlanError
from hybridkit.journal import Journal, PlannedStep, RunStatus, StepState
from hybridkit.ps import Command, Pipeline, PSSession, Switch

__all__ = [
    "CompletionOutcome",
    "CreateOptions",
    "JOURNAL_KIND",
    "Reporter",
    "TERMINAL",
    "completion_pipelines",
    "completion_results",
    "create_batches",
    "create_commands",
    "fingerprint",
    "follow",
    "looks_like_address",
    "run_completion",
]

JOURNAL_KIND = "cutover-complete"
TERMINAL = ("Completed", "CompletedWithWarning", "CompletedWithSkippedItems", "Failed")
# Move statuses that mean a completion is under way or done (RequestStatus names).
UNDER_WAY = ("CompletionInProgress", "Completed", "CompletedWithWarning", "CompletedWithSkippedItems")


class Reporter(Protocol):
    """Where progress goes (the CLI draws it with Rich; tests use a no-op)."""

    def progress(self, label: str, done: int, total: int) -> None: ...

    def note(self, text: str) -> None: ...


class NullReporter:
    def progress(self, label: str, done: int, total: int) -> None:
        pass

    def note(self, text: str) -> None:
        pass


def looks_like_address(text: str) -> bool:
    """``local@domain.tld`` without spaces: what NotificationEmails and CSVData take."""
    local, _, domain = text.strip().rpartition("@")
    return bool(local) and "." in domain and not any(c.isspace() for c in text.strip())


# ---------------------------------------------------------------- create


@dataclasses.dataclass(frozen=True)
class CreateOptions:
    endpoint: str
    target_delivery_domain: str
    start: bool = False
    complete_after: dt.datetime | None = None
    notify: tuple[str, ...] = ()


def create_commands(plan: CreatePlan, options: CreateOptions) -> list[Command]:
    """The New-MigrationBatch commands for the batches to create (refuses a plan with conflicts)."""
    if plan.conflicts:
        raise PlanError("; ".join(f"{c.name}: {c.reason}" for c in plan.conflicts))
    commands = []
    for change in plan.to_create:
        commands.append(
            Command.of(
                "New-MigrationBatch",
                Name=change.name,
                SourceEndpoint=options.endpoint,
                TargetDeliveryDomain=options.target_delivery_domain,
                CSVData=csv_data(change.mailboxes),
                AutoStart=Switch() if options.start else None,
                CompleteAfter=options.complete_after,
                NotificationEmails=list(options.notify) or None,
            )
        )
    for change in plan.to_start:
        commands.append(Command.of("Start-MigrationBatch", Identity=change.name))
    return commands


def _mailbox_outcomes(name: str, planned: Sequence[str], users: Sequence[ObservedUser],
                      fine: str) -> list[MailboxOutcome]:
    """Each planned mailbox as Exchange lists it in batch ``name``: failed (with its ErrorSummary) or ``fine``."""
    by_mailbox: dict[str, ObservedUser] = {}
    for user in users:
        if user.batch.lower() == name.lower():
            by_mailbox.setdefault(user.mailbox, user)
    out = []
    for mailbox in planned:
        user = by_mailbox.get(mailbox)
        if user is None:
            out.append(MailboxOutcome(name, mailbox, "failed", "", "Exchange does not list this mailbox in the "
                                      "batch (Get-MigrationUser -BatchId)"))
        elif user.failed:
            out.append(MailboxOutcome(name, mailbox, "failed", user.status, user.error or user.status))
        else:
            out.append(MailboxOutcome(name, mailbox, fine, user.status, ""))
    return out


def create_batches(session: PSSession, plan: CreatePlan, options: CreateOptions,
                   observed: dict[str, ObservedBatch] | None = None) -> CreateResult:
    """Run the New-MigrationBatch (and Start-MigrationBatch) commands, then read each batch's users back.

    A batch Exchange refuses is a failed batch; a user Exchange fails inside a batch it created (already in
    another batch, no such recipient) is a failed mailbox, the batch itself created. Existing identical batches
    are reported from ``observed`` (their users' failures included), so a re-run says the same.
    """
    batches: list[BatchOutcome] = []
    mailboxes: list[MailboxOutcome] = []
    commands = {c.param("Name") or c.param("Identity"): c for c in create_commands(plan, options)}
    known = {k.lower(): v for k, v in (observed or {}).items()}
    for change in plan.changes:
        action = {BatchAction.CREATE: "create", BatchAction.START: "start"}.get(change.action, "none")
        if change.action is BatchAction.UNCHANGED:
            batches.append(BatchOutcome(change.name, action, "unchanged", change.reason))
            existing = known.get(change.name.lower())
            if existing is not None:
                mailboxes.extend(_mailbox_outcomes(change.name, change.mailboxes, existing.users, "unchanged"))
            continue
        try:
            result = session.run(commands[change.name])
        except CommandFailed as exc:  # New-MigrationBatch refused the batch as a whole (name, CSV, endpoint, limit)
            batches.append(BatchOutcome(change.name, action, "failed", str(exc)))
            continue
        if result.errors:
            batches.append(BatchOutcome(change.name, action, "failed", result.errors[0].message))
            continue
        users = read_batch_users(session, change.name)
        added = _mailbox_outcomes(change.name, change.mailboxes, users,
                                  "created" if change.action is BatchAction.CREATE else "unchanged")
        mailboxes.extend(added)
        failed = sum(1 for m in added if m.outcome == "failed")
        if change.action is BatchAction.START:
            batches.append(BatchOutcome(change.name, action, "started", change.reason))
        else:
            status = as_text(result.output[0].get("Status")) if result.output else ""
            detail = f"{len(change.mailboxes)} mailboxes, status {status}"
            batches.append(BatchOutcome(change.name, action, "created",
                                        detail + (f"; {failed} failed (see below)" if failed else "")))
    return CreateResult(tuple(batches), tuple(mailboxes))


# ---------------------------------------------------------------- complete


def completion_pipelines(method: CompletionMethod, at: dt.datetime) -> list[Pipeline]:
    """The pipelines that complete the mailboxes streamed into them (in this order)."""
    if method is CompletionMethod.MIGRATIONUSER:
        return [Pipeline.of(Command.of("Set-MigrationUser", CompleteAfter=at))]
    return [
        Pipeline.of(Command.of("Set-MoveRequest", SuspendWhenReadyToComplete=False, PreventCompletion=False,
                               CompleteAfter=at)),
        Pipeline.of(Command.of("Resume-MoveRequest")),
    ]


@dataclasses.dataclass
class CompletionOutcome:
    """What ``cutover complete`` did: the readiness plan, per-mailbox send failures, the journal run."""

    plan: CompletionPlan
    sent: list[str] = dataclasses.field(default_factory=list)
    send_failed: dict[str, str] = dataclasses.field(default_factory=dict)
    under_way: dict[str, str] = dataclasses.field(default_factory=dict)  # refused, but completing or completed
    run_id: str | None = None
    resumed: bool = False

    @property
    def followed(self) -> list[str]:
        """Mailboxes whose completion is under way (sent now or before)."""
        earlier = [i.mailbox for i in self.plan.with_readiness(Readiness.SIGNALLED)]
        return earlier + [m for m in self.sent if m not in self.send_failed]


def fingerprint(targets: Iterable[str], method: CompletionMethod) -> str:
    digest = hashlib.sha256(method.value.encode())
    for target in sorted({t.lower() for t in targets}):
        digest.update(b"\0" + target.encode())
    return digest.hexdigest()[:32]


def _history(journal: Journal, targets: set[str]) -> tuple[set[str], set[str]]:
    """(signalled, in doubt) per the journal's earlier completion runs."""
    done: set[str] = set()
    doubt: set[str] = set()
    for run in journal.list_runs(limit=200, kind=JOURNAL_KIND):
        for step in journal.steps(run.run_id):
            mailbox = step.target.lower()
            if mailbox not in targets:
                continue
            if step.state is StepState.DONE and step.outcome == "sent":
                done.add(mailbox)
            elif step.state is StepState.STARTED:
                doubt.add(mailbox)
    return done, doubt - done


def run_completion(
    session: PSSession,
    journal: Journal,
    targets: Sequence[str],
    moves: dict[str, MoveState],
    *,
    method: CompletionMethod,
    at: dt.datetime,
    chunk_size: int = 500,
    argv: Sequence[str] = (),
    profile: str | None = None,
    reporter: Reporter | None = None,
    after_chunk: Callable[[int], None] | None = None,
) -> CompletionOutcome:
    """Check readiness, then complete the ready mailboxes through pipeline input in chunks, journaled."""
    reporter = reporter or NullReporter()
    wanted = {t.lower() for t in targets}
    signalled, doubt = _history(journal, wanted)
    plan = plan_completion(targets, moves, method=method, at=at, signalled=signalled, in_doubt=doubt)
    outcome = CompletionOutcome(plan)
    ready = [i.mailbox for i in plan.with_readiness(Readiness.COMPLETE)]
    pipelines = completion_pipelines(method, at)
    fp = fingerprint(targets, method)
    previous = journal.find_resumable(JOURNAL_KIND, fp)
    steps = [PlannedStep(f"complete:{m}", m, " ; ".join(p.render([m]) for p in pipelines)) for m in ready]
    if previous is not None:
        run_id = journal.resume_run(previous.run_id).run_id
        known = {s.key for s in journal.steps(run_id)}
        outcome.resumed = True
        if any(s.key not in known for s in steps):  # same targets, so only when states moved; record them
            journal.finish_run(run_id)
            run_id = journal.start_run(JOURNAL_KIND, fp, steps, argv=argv, profile=profile)
            outcome.resumed = False
    else:
        run_id = journal.start_run(JOURNAL_KIND, fp, steps, argv=argv, profile=profile)
    outcome.run_id = run_id
    for item in plan.with_readiness(Readiness.SIGNALLED, Readiness.DONE):
        key = f"complete:{item.mailbox}"
        try:
            if journal.step(run_id, key).state is not StepState.DONE:
                journal.mark_done(run_id, key, "sent")
        except PlanError:
            pass
    try:
        _send(session, journal, run_id, outcome, ready, pipelines, chunk_size, reporter, after_chunk)
    except BaseException:  # Ctrl-C (KeyboardInterrupt), a transport failure: the run did not finish
        journal.finish_run(run_id, RunStatus.INTERRUPTED)
        raise
    journal.finish_run(run_id)
    return outcome


def _send(session: PSSession, journal: Journal, run_id: str, outcome: CompletionOutcome, ready: list[str],
          pipelines: list[Pipeline], chunk_size: int, reporter: Reporter,
          after_chunk: Callable[[int], None] | None) -> None:
    """Send the completion to the ready mailboxes, chunk by chunk, committing each step before and after."""
    for start in range(0, len(ready), chunk_size):
        chunk = ready[start : start + chunk_size]
        for mailbox in chunk:
            journal.mark_started(run_id, f"complete:{mailbox}")
        remaining = list(chunk)
        for pipeline in pipelines:
            if not remaining:
                break
            results = session.run_items(pipeline, [{"Identity": m} for m in remaining], chunk_size=chunk_size)
            for result in results:
                if not result.ok:
                    mailbox = as_text(result.item.get("Identity"))
                    outcome.send_failed[mailbox] = result.message
                    journal.mark_failed(run_id, f"complete:{mailbox}", "CommandFailed", result.message)
            remaining = [m for m in remaining if m not in outcome.send_failed]
        # A move can start completing between Set-MoveRequest and Resume-MoveRequest (its scheduled incremental
        # sync found nothing holding it): Exchange then refuses the Resume ("... can't be resumed because it's
        # CompletionInProgress"). The completion is under way: a success, checked against live state.
        refused = [m for m in chunk if m in outcome.send_failed]
        if refused:
            live = read_moves(session, mailboxes=refused, columns=("Identity", "Status"), chunk_size=chunk_size)
            for mailbox in refused:
                state = live.get(mailbox)
                if state is not None and state.status in UNDER_WAY:
                    del outcome.send_failed[mailbox]
                    outcome.under_way[mailbox] = state.status
                    remaining.append(mailbox)
        for mailbox in remaining:
            journal.mark_done(run_id, f"complete:{mailbox}", "sent")
        outcome.sent.extend(chunk)
        reporter.progress("completion sent", min(start + chunk_size, len(ready)), len(ready))
        if after_chunk is not None:
            after_chunk(start // chunk_size)


def completion_results(outcome: CompletionOutcome, final: dict[str, MoveState], waited: bool
                       ) -> list[CompletionResult]:
    """Each mailbox's action and outcome: the plan, what the send did, and (with --wait) where the move ended."""
    rows = []
    for item in outcome.plan.items:
        action = {Readiness.COMPLETE: "complete", Readiness.SIGNALLED: "follow"}.get(item.readiness, "none")
        status, detail = item.status, item.reason
        result = {Readiness.NOT_FOUND: "not-found", Readiness.FAILED: "failed", Readiness.NOT_READY: "skipped",
                  Readiness.DONE: "completed", Readiness.SIGNALLED: "completing"}.get(item.readiness, "sent")
        if item.readiness is Readiness.COMPLETE:
            if item.mailbox in outcome.send_failed:
                result, detail = "failed", outcome.send_failed[item.mailbox]
            elif item.mailbox in outcome.under_way:
                result, status = "completing", outcome.under_way[item.mailbox]
                detail = f"completion already under way ({status}); Exchange refused the repeated signal"
            else:
                detail = "completion sent"
        state = final.get(item.mailbox)
        if state is not None:
            status = state.status
            if state.status in TERMINAL:
                result = "failed" if state.status == "Failed" else "completed"
                detail = state.message or (state.status_detail if state.status_detail != state.status else "")
            elif waited:
                result, detail = "timed-out", f"still {state.status} at --timeout"
        elif waited and item.mailbox in outcome.followed:
            result, detail = "timed-out", "no move statistics before --timeout"
        rows.append(CompletionResult(item.mailbox, action, result, status, detail))
    return rows


# ---------------------------------------------------------------- follow


def follow(
    session: PSSession,
    mailboxes: Sequence[str],
    *,
    poll_interval: float,
    timeout: float,
    reporter: Reporter | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, MoveState]:
    """Poll until every mailbox is Completed or Failed, or ``timeout`` seconds pass (bounded, never endless).

    Each poll streams only the unfinished mailboxes into Get-MoveRequestStatistics (chunked pipelines).
    """
    reporter = reporter or NullReporter()
    final: dict[str, MoveState] = {}
    pending = [m.lower() for m in mailboxes]
    deadline = clock() + timeout
    while pending:
        states = read_moves(session, mailboxes=pending, columns=FOLLOW_COLUMNS)
        for mailbox in list(pending):
            state = states.get(mailbox)
            if state is not None:
                final[mailbox] = state
                if state.status in TERMINAL:
                    pending.remove(mailbox)
        reporter.progress("completed or failed", len(mailboxes) - len(pending), len(mailboxes))
        if not pending or clock() >= deadline:
            break
        sleep(min(poll_interval, max(0.0, deadline - clock())))
    for mailbox in pending:
        reporter.note(f"{mailbox}: still {final.get(mailbox, MoveState(mailbox, 'unknown')).status} at the timeout")
    return final


