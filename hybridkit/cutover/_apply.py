"""Cutover effects through a ``PSSession`` on Exchange Online: observe, create batches, complete, follow.

Every remote operation is a cmdlet with parameters, and per-mailbox work goes as pipeline input in chunks
(one pipeline per chunk, never one per mailbox). Pipeline input items are objects carrying ``Identity`` (dicts,
sent as PSCustomObjects), which real PowerShell binds to ``-Identity`` by property name and the catalogue's
"accepts pipeline input" allows either way.

Completion is journaled per mailbox (step key ``complete:<mailbox>``): ``started`` is committed before a
chunk's completion signal goes out and ``done``/``failed`` after; a mailbox left ``started`` by a killed run is
re-checked against its live move state (``_plan.plan_completion(in_doubt=...)``) before anything is resent.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol

from hybridkit.cutover._model import (
    BatchAction,
    CompletionItem,
    CompletionMethod,
    CompletionPlan,
    CreatePlan,
    MoveState,
    ObservedBatch,
    Readiness,
)
from hybridkit.cutover._plan import csv_data, plan_completion
from hybridkit.errors import CommandFailed, PlanError
from hybridkit.journal import Journal, PlannedStep, StepState
from hybridkit.ps import Command, Pipeline, PSObject, PSSession, Switch

__all__ = [
    "CompletionOutcome",
    "Reporter",
    "completion_pipelines",
    "create_batches",
    "create_commands",
    "follow",
    "observe_batches",
    "read_moves",
    "run_completion",
]

JOURNAL_KIND = "cutover-complete"
TERMINAL = ("Completed", "CompletedWithWarning", "CompletedWithSkippedItems", "Failed")


class Reporter(Protocol):
    """Where progress goes (the CLI draws it with Rich; tests use a no-op)."""

    def progress(self, label: str, done: int, total: int) -> None: ...

    def note(self, text: str) -> None: ...


class NullReporter:
    def progress(self, label: str, done: int, total: int) -> None:
        pass

    def note(self, text: str) -> None:
        pass


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _when(value: Any) -> dt.datetime | None:
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)
    if isinstance(value, str) and value:
        try:
            parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)
    return None


# ---------------------------------------------------------------- observe


def looks_like_address(text: str) -> bool:
    """``local@domain.tld`` without spaces: what NotificationEmails and CSVData take."""
    local, _, domain = text.strip().rpartition("@")
    return bool(local) and "." in domain and not any(c.isspace() for c in text.strip())


def migration_endpoints(session: PSSession) -> list[str] | None:
    """The names of the organisation's migration endpoints, or None when Get-MigrationEndpoint cannot say."""
    try:
        result = session.run(Command.of("Get-MigrationEndpoint"))
    except CommandFailed:
        return None
    if result.errors:
        return None
    return [_text(e.get("Identity") or e.get("Name")) for e in result.output if isinstance(e, PSObject)]


def observe_batches(session: PSSession) -> tuple[dict[str, ObservedBatch], list[PSObject]]:
    """Every migration batch with its members (two pipelines, whatever the number of batches)."""
    batches = [b for b in session.run(Command.of("Get-MigrationBatch")).output if isinstance(b, PSObject)]
    users = session.run(Command.of("Get-MigrationUser", ResultSize="Unlimited")).output
    members: dict[str, list[str]] = {}
    for user in users:
        if isinstance(user, PSObject):
            members.setdefault(_text(user.get("BatchId")).lower(), []).append(_text(user.get("Identity")).lower())
    observed = {}
    for batch in batches:
        name = _text(batch.get("Identity") or batch.get("Name"))
        observed[name] = ObservedBatch(name, _text(batch.get("Status")), tuple(sorted(members.get(name.lower(), []))))
    return observed, batches


def _move_state(obj: PSObject) -> MoveState:
    percent = obj.get("PercentComplete")
    return MoveState(
        mailbox=_text(obj.get("Identity")).lower(),
        status=_text(obj.get("Status")),
        status_detail=_text(obj.get("StatusDetail")),
        batch=_text(obj.get("BatchName")).removeprefix("MigrationService:"),
        percent=int(percent) if isinstance(percent, (int, float)) else 0,
        bytes_transferred=_text(obj.get("BytesTransferred")),
        total_size=_text(obj.get("TotalMailboxSize")),
        message=_text(obj.get("Message")),
        complete_after=_when(obj.get("CompleteAfter")),
    )


def read_moves(
    session: PSSession, *, batches: Sequence[str] = (), mailboxes: Sequence[str] = ()
) -> dict[str, MoveState]:
    """Move statistics by mailbox: one ``Get-MoveRequest -BatchName | Get-MoveRequestStatistics`` per batch,
    and the listed mailboxes streamed into ``Get-MoveRequestStatistics`` in chunks (missing ones are absent)."""
    states: dict[str, MoveState] = {}
    for name in batches:
        pipeline = Pipeline.of(
            Command.of("Get-MoveRequest", BatchName=f"MigrationService:{name}", ResultSize="Unlimited"),
            Command.of("Get-MoveRequestStatistics"),
        )
        for obj in session.run(pipeline).output:
            if isinstance(obj, PSObject):
                state = _move_state(obj)
                states[state.mailbox] = state
    wanted = [m for m in mailboxes if m.lower() not in states]
    if wanted:
        outcomes = session.run_items(
            Command.of("Get-MoveRequestStatistics"), [{"Identity": m} for m in wanted],
            key=lambda o: _text(o.get("Identity")),
        )
        for outcome in outcomes:
            for obj in outcome.output:
                if isinstance(obj, PSObject):
                    state = _move_state(obj)
                    states[state.mailbox] = state
    return states


def batch_members(session: PSSession, names: Sequence[str]) -> list[str]:
    """The mailboxes of the named batches (Get-MigrationUser -BatchId, one pipeline per batch)."""
    out: list[str] = []
    for name in names:
        result = session.run(Command.of("Get-MigrationUser", BatchId=name, ResultSize="Unlimited"))
        if result.errors:
            raise PlanError(f"batch {name!r}: {result.errors[0].message}")
        out.extend(_text(u.get("Identity")).lower() for u in result.output if isinstance(u, PSObject))
    return out


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


def create_batches(session: PSSession, plan: CreatePlan, options: CreateOptions) -> list[tuple[str, str, str]]:
    """Run the New-MigrationBatch commands; (batch, outcome, detail) per planned batch."""
    results: list[tuple[str, str, str]] = []
    commands = {c.param("Name") or c.param("Identity"): c for c in create_commands(plan, options)}
    for change in plan.changes:
        if change.action is BatchAction.UNCHANGED:
            results.append((change.name, "unchanged", change.reason))
            continue
        try:
            result = session.run(commands[change.name])
        except CommandFailed as exc:  # New-MigrationBatch refused the batch as a whole (name, CSV, endpoint)
            results.append((change.name, "failed", str(exc)))
            continue
        if result.errors:
            results.append((change.name, "failed", result.errors[0].message))
        elif change.action is BatchAction.START:
            results.append((change.name, "started", change.reason))
        else:
            status = _text(result.output[0].get("Status")) if result.output else ""
            results.append((change.name, "created", f"{len(change.mailboxes)} mailboxes, status {status}"))
    return results


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
                    mailbox = _text(result.item.get("Identity"))
                    outcome.send_failed[mailbox] = result.message
                    journal.mark_failed(run_id, f"complete:{mailbox}", "CommandFailed", result.message)
            remaining = [m for m in remaining if m not in outcome.send_failed]
        for mailbox in remaining:
            journal.mark_done(run_id, f"complete:{mailbox}", "sent")
        outcome.sent.extend(chunk)
        reporter.progress("completion sent", min(start + chunk_size, len(ready)), len(ready))
        if after_chunk is not None:
            after_chunk(start // chunk_size)
    journal.finish_run(run_id)
    return outcome


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
        states = read_moves(session, mailboxes=pending)
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


def readiness_rows(items: Iterable[CompletionItem]) -> list[dict[str, str]]:
    return [{"mailbox": i.mailbox, "readiness": i.readiness.value, "status": i.status, "reason": i.reason}
            for i in items]
