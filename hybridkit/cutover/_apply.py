"""Cutover's changes to Exchange Online, through the one runner: create batches, send completions, follow them.

Every remote operation is a cmdlet with parameters, and per-mailbox work goes as pipeline input in chunks (one
pipeline per chunk, never one per mailbox). Pipeline input items are objects carrying ``Identity`` (dicts, sent as
PSCustomObjects), which real PowerShell binds to ``-Identity`` by property name. Reads are in ``_discover``.

* ``create_batches``: each New-MigrationBatch / ``Set-MigrationBatch -AddUsers`` / Start-MigrationBatch is a step
  of the ordered step loop (``Run.apply``), journaled (kind ``cutover-create``) and planned from live state, so a
  re-run after a failure sends only what Exchange does not have yet (a grown batch is not grown again); each
  batch's users are then read back.
* ``run_completion``: the ready mailboxes go in chunks through the chunked-items runner (``Run.apply_items``,
  kind ``cutover-complete``): ``started`` is committed before a chunk's completion goes out, and ``done`` with
  what came of each mailbox (its payload) after. A resumed run keeps the unfinished chunks of the interrupted one.
  What earlier runs did is read back from the journal (``_history``): a mailbox whose completion was delivered is
  followed, never sent again, unless live state shows Exchange lost it (Synced with no CompleteAfter) or holds
  it for later than ``--at`` (brought forward); a mailbox of a chunk left in doubt is re-checked against its live
  move (``_plan.plan_completion(in_doubt=...)``) before anything is resent.
* ``follow``: polls the followed mailboxes' moves until Completed or Failed, or a timeout.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import hashlib
import json
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, cast

from hybridkit.cutover._discover import FOLLOW_COLUMNS, as_text, read_batch_users, read_moves
from hybridkit.cutover._model import (
    Action,
    BatchAction,
    BatchChange,
    BatchOutcome,
    CompletionChunk,
    CompletionMethod,
    CompletionOutcome,
    CreateOptions,
    CreatePlan,
    CreateResult,
    MailboxOutcome,
    MoveState,
    ObservedBatch,
    ObservedUser,
    Readiness,
    TERMINAL_MOVE_STATUSES,
    UNDER_WAY_MOVE_STATUSES,
)
from hybridkit.cutover._plan import completion_chunks, csv_data, plan_completion
from hybridkit.journal import Journal, StepState
from hybridkit.outcomes import Outcome
from hybridkit.errors import PlanError
from hybridkit.ps import Command, ItemOutcome, ItemStatus, Pipeline, PSSession, Switch
from hybridkit.runner import PriorRun, Reporter, Step, StepStatus, counts_reporter, find_prior, open_run

__all__ = [
    "CREATE_KIND",
    "JOURNAL_KIND",
    "completion_pipelines",
    "create_batches",
    "create_commands",
    "fingerprint",
    "follow",
    "run_completion",
]

JOURNAL_KIND = "cutover-complete"
CREATE_KIND = "cutover-create"


@contextlib.contextmanager
def _journal(journal: Journal | None) -> Iterator[Journal]:
    """The caller's journal (left open), or a throwaway in-memory one (nothing to resume from later)."""
    if journal is not None:
        yield journal
        return
    with Journal(":memory:") as scratch:
        yield scratch


# ---------------------------------------------------------------- create


def _create_steps(plan: CreatePlan, options: CreateOptions) -> list[tuple[str, BatchChange, Command]]:
    """(step key, change, command) in the order they go out: New-MigrationBatch for the batches to create, then
    ``Set-MigrationBatch -AddUsers -CSVData`` for the batches to grow, then Start-MigrationBatch for the idle ones
    (refuses a plan with conflicts).

    ``-AddUsers`` takes a CSV in the format the batch was created with, and Exchange processes only its new
    entries (Set-MigrationBatch reference page, Exchange Online); the CSV lists only the mailboxes to add.
    """
    if plan.conflicts:
        raise PlanError("; ".join(f"{c.name}: {c.reason}" for c in plan.conflicts))
    steps = []
    for change in plan.to_create:
        steps.append((f"create:{change.name.lower()}", change, Command.of(
            "New-MigrationBatch",
            Name=change.name,
            SourceEndpoint=options.endpoint,
            TargetDeliveryDomain=options.target_delivery_domain,
            CSVData=csv_data(change.mailboxes),
            AutoStart=Switch() if options.start else None,
            CompleteAfter=options.complete_after,
            NotificationEmails=list(options.notify) or None,
        )))
    for change in plan.to_grow:
        steps.append((f"grow:{change.name.lower()}", change, Command.of(
            "Set-MigrationBatch", Identity=change.name, AddUsers=Switch(), CSVData=csv_data(change.missing))))
    for change in (*plan.to_start, *(c for c in plan.to_grow if c.start)):
        steps.append((f"start:{change.name.lower()}", change, Command.of("Start-MigrationBatch", Identity=change.name)))
    return steps


def create_commands(plan: CreatePlan, options: CreateOptions) -> list[Command]:
    """The commands of ``cutover create``, in order (see ``_create_steps``; refuses a plan with conflicts)."""
    return [command for _, _, command in _create_steps(plan, options)]


def _create_fingerprint(plan: CreatePlan, options: CreateOptions) -> str:
    """The request ``cutover create`` was given: the planned batches (names, members) and the options, but not
    the CompleteAfter time (``+30d`` is another time on every re-run of the same command)."""
    request = {
        "batches": sorted([c.name.lower(), sorted(c.mailboxes)] for c in plan.changes),
        "endpoint": options.endpoint.lower(), "domain": options.target_delivery_domain.lower(),
        "start": options.start, "notify": sorted(options.notify),
    }
    return hashlib.sha256(json.dumps(request, sort_keys=True).encode()).hexdigest()[:32]


def _mailbox_outcomes(name: str, planned: Sequence[str], users: Sequence[ObservedUser],
                      fine: Outcome) -> list[MailboxOutcome]:
    """Each planned mailbox as Exchange lists it in batch ``name``: failed (with its ErrorSummary) or ``fine``."""
    by_mailbox: dict[str, ObservedUser] = {}
    for user in users:
        if user.batch.lower() == name.lower():
            by_mailbox.setdefault(user.mailbox, user)
    out = []
    for mailbox in planned:
        user = by_mailbox.get(mailbox)
        if user is None:
            out.append(MailboxOutcome(name, mailbox, Outcome.FAILED, "", "Exchange does not list this mailbox in "
                                      "the batch (Get-MigrationUser -BatchId)"))
        elif user.failed:
            out.append(MailboxOutcome(name, mailbox, Outcome.FAILED, user.status, user.error or user.status))
        else:
            out.append(MailboxOutcome(name, mailbox, fine, user.status, ""))
    return out


def create_batches(
    session: PSSession,
    plan: CreatePlan,
    options: CreateOptions,
    observed: dict[str, ObservedBatch] | None = None,
    *,
    journal: Journal | None = None,
    argv: Sequence[str] = (),
    profile: str | None = None,
    reporter: Reporter | None = None,
) -> CreateResult:
    """Run the New-MigrationBatch (and Start-MigrationBatch) commands through the runner, then read each batch's
    users back.

    A batch Exchange refuses is a failed batch; a user Exchange fails inside a batch it created (already in
    another batch, no such recipient) is a failed mailbox, the batch itself created. Existing identical batches
    are reported from ``observed`` (their users' failures included), so a re-run says the same. Without a
    ``journal`` the run is recorded in a throwaway one (nothing to resume later).

    Raises:
        PlanError: the plan has conflicts.
        TransportError, AuthError: the connection failed past its retries (the run is recorded aborted).
    """
    steps = [Step(key=key, target=change.name, command=command)
             for key, change, command in _create_steps(plan, options)]
    with _journal(journal) as book, open_run(book, CREATE_KIND, _create_fingerprint(plan, options), steps,
                                             from_live_state=True, argv=argv, profile=profile,
                                             reporter=reporter) as run:
        report = run.apply(session)
    if report.stopped_by is not None:
        raise report.stopped_by
    results = {r.step.key: r for r in report.results}
    known = {k.lower(): v for k, v in (observed or {}).items()}
    batches: list[BatchOutcome] = []
    mailboxes: list[MailboxOutcome] = []
    for change in plan.changes:
        if change.action is BatchAction.UNCHANGED:
            batches.append(BatchOutcome(change.name, Action.NONE, Outcome.UNCHANGED, change.reason))
            existing = known.get(change.name.lower())
            if existing is not None:
                mailboxes.extend(_mailbox_outcomes(change.name, change.mailboxes, existing.users, Outcome.UNCHANGED))
            continue
        if change.action is BatchAction.GROW:
            grown = _grown(session, change, results)
            batches.append(grown[0])
            mailboxes.extend(grown[1])
            continue
        action = Action.CREATE if change.action is BatchAction.CREATE else Action.START
        result = results[f"{change.action.value}:{change.name.lower()}"]
        if not result.ok:  # New-MigrationBatch refused the batch as a whole (name, CSV, endpoint, limit)
            batches.append(BatchOutcome(change.name, action, Outcome.FAILED, result.error or "failed"))
            continue
        users = read_batch_users(session, change.name)
        created = change.action is BatchAction.CREATE
        added = _mailbox_outcomes(change.name, change.mailboxes, users,
                                  Outcome.CREATED if created else Outcome.UNCHANGED)
        mailboxes.extend(added)
        if not created:
            batches.append(BatchOutcome(change.name, action, Outcome.STARTED, change.reason))
            continue
        output = result.result.output if result.result is not None else []
        detail = f"{len(change.mailboxes)} mailboxes, status {as_text(output[0].get('Status')) if output else ''}"
        failed = sum(1 for m in added if m.failed)
        batches.append(BatchOutcome(change.name, action, Outcome.CREATED,
                                    detail + (f"; {failed} failed (see below)" if failed else "")))
    return CreateResult(tuple(batches), tuple(mailboxes), run.run_id, run.resumed)


def _grown(session: PSSession, change: BatchChange, results: dict[str, Any]) -> tuple[BatchOutcome, list[MailboxOutcome]]:
    """A grown batch's outcome (``updated``, with the count added) and its mailboxes read back: the added ones
    ``created`` or failed with Exchange's ErrorSummary, the ones it had ``unchanged`` (their failures kept)."""
    grow = results[f"grow:{change.name.lower()}"]
    if not grow.ok:  # Set-MigrationBatch refused the whole request (CSV, batch gone)
        return BatchOutcome(change.name, Action.UPDATE, Outcome.FAILED, grow.error or "failed"), []
    users = read_batch_users(session, change.name)
    new = set(change.missing)
    added = _mailbox_outcomes(change.name, change.missing, users, Outcome.CREATED)
    kept = _mailbox_outcomes(change.name, [m for m in change.mailboxes if m not in new], users, Outcome.UNCHANGED)
    failed = sum(1 for m in added if m.failed)
    noun = "mailbox" if len(new) == 1 else "mailboxes"
    detail = (f"grown: added {len(new)} {noun} (Set-MigrationBatch -AddUsers), {len(change.mailboxes)} in all"
              + (f"; {failed} failed (see below)" if failed else ""))
    start = results.get(f"start:{change.name.lower()}")
    if start is not None and not start.ok:
        return BatchOutcome(change.name, Action.UPDATE, Outcome.FAILED,
                            f"{detail}; Start-MigrationBatch failed: {start.error or 'failed'}", len(new)), added + kept
    if start is not None:
        detail += "; started"
    return BatchOutcome(change.name, Action.UPDATE, Outcome.UPDATED, detail, len(new)), added + kept


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



def fingerprint(targets: Iterable[str], method: CompletionMethod) -> str:
    """The selection a completion run belongs to (its mailboxes and the method), whatever the time asked."""
    digest = hashlib.sha256(method.value.encode())
    for target in sorted({t.lower() for t in targets}):
        digest.update(b"\0" + target.encode())
    return digest.hexdigest()[:32]


def _history(journal: Journal, targets: set[str]) -> tuple[set[str], set[str]]:
    """(signalled, in doubt) among ``targets`` per the journal's earlier completion runs, whatever their selection.

    Signalled: a finished chunk's payload lists the mailbox as sent. In doubt: a chunk that was sent (or about to
    be) with no outcome recorded (killed, refused as a whole, or closed by a later run before it ended). Journals
    from before chunked steps (one ``complete:<mailbox>`` step per mailbox, no payload) read the same way.
    """
    done: set[str] = set()
    doubt: set[str] = set()
    for run in journal.list_runs(limit=200, kind=JOURNAL_KIND):
        for step in journal.steps(run.run_id):
            payload = step.payload
            if isinstance(payload, dict) and "mailboxes" in payload:
                if step.state is StepState.DONE and "sent" in payload:
                    done.update(m for m in payload["sent"] if m in targets)
                elif step.attempts > 0:
                    doubt.update(m for m in payload["mailboxes"] if m in targets)
                continue
            mailbox = step.target.lower()
            if mailbox not in targets:
                continue
            if step.state is StepState.DONE and step.outcome == "sent":
                done.add(mailbox)
            elif step.state is StepState.STARTED:
                doubt.add(mailbox)
    return done, doubt - done


def _unfinished_chunks(prior: PriorRun | None) -> list[CompletionChunk]:
    """The chunks the interrupted run of this selection had not finished (their keys are resumed)."""
    if prior is None:
        return []
    return [CompletionChunk(s.key, tuple(s.payload["mailboxes"])) for s in prior.unfinished()
            if isinstance(s.payload, dict) and "mailboxes" in s.payload]


@dataclasses.dataclass(frozen=True)
class _CompletionStep(Step):
    """A chunk's step: ``command`` is the first completion pipeline, ``then`` the ones after it."""

    then: tuple[Pipeline, ...] = ()

    def rendered(self) -> str:
        mailboxes = [item["Identity"] for item in self.input_items]
        return " ; ".join(p.render(mailboxes) for p in (cast(Pipeline, self.command), *self.then))


class _CompletionSender:
    """One chunk's completion, as the runner's one ``run_items`` per chunk: the completion pipelines in order (a
    mailbox one of them refuses is not sent the next), then the refused ones re-checked against live state.

    A move can start completing between Set-MoveRequest and Resume-MoveRequest (its scheduled incremental sync
    found nothing holding it): Exchange then refuses the Resume ("... can't be resumed because it's
    CompletionInProgress"). The completion is under way: a success (kept in ``under_way``).
    """

    def __init__(self, session: PSSession, pipelines: Sequence[Pipeline]) -> None:
        self._session = session
        self._pipelines = list(pipelines)
        self._lock = threading.Lock()
        self.under_way: dict[str, str] = {}

    def cancel(self) -> None:
        cancel = getattr(self._session, "cancel", None)
        if callable(cancel):
            cancel()

    def run_items(self, command: Any, items: Sequence[Any], *, chunk_size: int = 500, key: Any = None,
                  on_progress: Callable[[int], None] | None = None) -> list[ItemOutcome]:
        """Send the completion to ``items`` (``{"Identity": mailbox}``); ``command`` is the first pipeline."""
        mailboxes = [as_text(item["Identity"]) for item in items]
        refused: dict[str, ItemOutcome] = {}
        remaining = list(mailboxes)
        for pipeline in self._pipelines:
            if not remaining:
                break
            outcomes = self._session.run_items(pipeline, [{"Identity": m} for m in remaining], chunk_size=chunk_size)
            for mailbox, outcome in zip(remaining, outcomes):
                if not outcome.ok:
                    refused[mailbox] = outcome
            remaining = [m for m in remaining if m not in refused]
        if refused:
            live = read_moves(self._session, mailboxes=list(refused), columns=("Identity", "Status"),
                              chunk_size=chunk_size)
            for mailbox in list(refused):
                state = live.get(mailbox.lower())
                if state is not None and state.status in UNDER_WAY_MOVE_STATUSES:
                    del refused[mailbox]
                    with self._lock:
                        self.under_way[mailbox] = state.status
        if on_progress is not None:
            on_progress(len(items))
        return [refused.get(m) or ItemOutcome(item, ItemStatus.OK) for m, item in zip(mailboxes, items)]


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
) -> CompletionOutcome:
    """Check readiness, then complete the ready mailboxes through pipeline input in chunks, journaled.

    Args:
        session: Exchange Online.
        journal: the run journal (earlier runs say what was sent; this run is recorded in it).
        targets: the mailboxes asked for.
        moves: their live move states (``_discover.read_moves`` with ``READINESS_COLUMNS``).
        method: Set-/Resume-MoveRequest, or Set-MigrationUser.
        at: CompleteAfter (aware, UTC when sent).
        chunk_size: mailboxes per pipeline (and per journaled step).

    Raises:
        TransportError, AuthError: the connection failed past its retries (the run is recorded aborted).
    """
    fp = fingerprint(targets, method)
    prior = find_prior(journal, JOURNAL_KIND, fp)
    signalled, doubt = _history(journal, {t.lower() for t in targets})
    plan = plan_completion(targets, moves, method=method, at=at, signalled=signalled, in_doubt=doubt)
    ready = [i.mailbox for i in plan.with_readiness(Readiness.COMPLETE)]
    pipelines = completion_pipelines(method, at)
    chunks = completion_chunks(ready, chunk_size, _unfinished_chunks(prior))
    steps = [_CompletionStep(key=c.key, target=_chunk_target(c), command=pipelines[0],
                             input_items=tuple({"Identity": m} for m in c.mailboxes),
                             payload={"mailboxes": list(c.mailboxes)}, then=tuple(pipelines[1:]))
             for c in chunks]
    sender = _CompletionSender(session, pipelines)

    def collect(step: Step, outcomes: list[ItemOutcome]) -> dict[str, Any]:
        mailboxes = [as_text(item["Identity"]) for item in step.input_items]
        failed = {m: o.message or "failed" for m, o in zip(mailboxes, outcomes) if not o.ok}
        return {"mailboxes": mailboxes, "sent": [m for m in mailboxes if m not in failed], "failed": failed,
                "under_way": {m: sender.under_way[m] for m in mailboxes if m in sender.under_way}}

    with open_run(journal, JOURNAL_KIND, fp, steps, from_live_state=True, prior=prior, argv=argv, profile=profile,
                  reporter=reporter) as run:
        report = run.apply_items(cast(Any, sender), chunk_size=chunk_size, collect=collect, task="completion sent")
    if report.stopped_by is not None:
        raise report.stopped_by
    sent: list[str] = []
    send_failed: dict[str, str] = {}
    for result in report.results:
        mailboxes = [as_text(item["Identity"]) for item in result.step.input_items]
        if result.status is StepStatus.DONE:
            sent.extend(mailboxes)
            send_failed.update(result.payload["failed"])
        elif result.status is StepStatus.FAILED:  # the pipeline was refused as a whole
            sent.extend(mailboxes)
            send_failed.update({m: result.error or "failed" for m in mailboxes})
    return CompletionOutcome(plan, sent, send_failed, dict(sender.under_way), run.run_id, run.resumed)


def _chunk_target(chunk: CompletionChunk) -> str:
    """How ``journal show`` names a chunk: its size and first and last mailbox."""
    first, last = chunk.mailboxes[0], chunk.mailboxes[-1]
    noun = "mailbox" if len(chunk.mailboxes) == 1 else "mailboxes"
    return f"{len(chunk.mailboxes)} {noun}: {first}" + (f" .. {last}" if last != first else "")


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
    progress = counts_reporter(reporter) if reporter is not None else None
    final: dict[str, MoveState] = {}
    pending = [m.lower() for m in mailboxes]
    deadline = clock() + timeout
    while pending:
        states = read_moves(session, mailboxes=pending, columns=FOLLOW_COLUMNS)
        for mailbox in list(pending):
            state = states.get(mailbox)
            if state is not None:
                final[mailbox] = state
                if state.status in TERMINAL_MOVE_STATUSES:
                    pending.remove(mailbox)
        if progress is not None:
            progress("completed or failed", len(mailboxes) - len(pending), len(mailboxes))
        if not pending or clock() >= deadline:
            break
        sleep(min(poll_interval, max(0.0, deadline - clock())))
    if reporter is not None:
        reporter.finish("completed or failed")
        for mailbox in pending:
            reporter.note(f"{mailbox}: still {final.get(mailbox, MoveState(mailbox, 'unknown')).status} at the "
                          "timeout")
    return final
