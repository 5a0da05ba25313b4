"""Pure cutover planning: which batches to create, which mailboxes may complete (in which chunks), and what
came of a completion.

No I/O, no sessions: the inputs are plain values (the parsed plan.json, observed batches and move states) and
the outputs are the frozen plans of ``_model``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from hybridkit.batches import Batch
from hybridkit.batches import parse_plan as batches_parse_plan
from hybridkit.cutover._model import (
    Action,
    BatchAction,
    BatchChange,
    CompletionChunk,
    CompletionItem,
    CompletionMethod,
    CompletionOutcome,
    CompletionPlan,
    CompletionResult,
    CreatePlan,
    MoveState,
    ObservedBatch,
    PlannedBatch,
    Readiness,
    TERMINAL_MOVE_STATUSES,
)
from hybridkit.errors import InputError, PlanError
from hybridkit.outcomes import Outcome

__all__ = [
    "completion_chunks",
    "completion_action",
    "completion_results",
    "csv_data",
    "parse_plan",
    "plan_completion",
    "plan_create",
    "planned_batches",
    "select_batches",
]

MAX_BATCH_NAME = 64
_DONE = ("Completed", "CompletedWithWarning", "CompletedWithSkippedItems")
_READY = ("Synced", "AutoSuspended")


def planned_batches(batches: Iterable[Batch], source: str = "plan.json") -> tuple[PlannedBatch, ...]:
    """The batches of a plan (``hybridkit.batches.read_plan``) as cutover creates them: names New-MigrationBatch
    takes (at most 64 characters), else ``InputError``."""
    out = []
    for index, batch in enumerate(batches):
        if len(batch.name) > MAX_BATCH_NAME:
            raise InputError(f"batches[{index}]: batch name {batch.name!r} is longer than {MAX_BATCH_NAME} characters "
                             "(New-MigrationBatch refuses it)", file=source)
        out.append(PlannedBatch(batch.name, batch.mailboxes, batch.size_bytes))
    return tuple(out)


def parse_plan(data: Any, source: str = "plan.json") -> tuple[PlannedBatch, ...]:
    """The batches of a plan.json document (schema of ``hybridkit batches plan``), checked."""
    return planned_batches(batches_parse_plan(data, source), source)


def select_batches(planned: Iterable[PlannedBatch], names: Iterable[str]) -> tuple[PlannedBatch, ...]:
    """Only the named batches (all when ``names`` is empty); an unknown name is an ``InputError``."""
    planned = tuple(planned)
    names = list(names)
    wanted = [n.lower() for n in names]
    if not wanted:
        return planned
    known = {b.name.lower() for b in planned}
    unknown = [n for n in names if n.lower() not in known]
    if unknown:
        listed = [b.name for b in planned]
        shown = ", ".join(listed[:8]) + (f", ... ({len(listed)} in all)" if len(listed) > 8 else "")
        raise InputError(f"--batch {', '.join(repr(n) for n in unknown)}: not in the plan, which has {shown}")
    return tuple(b for b in planned if b.name.lower() in wanted)


# Batch statuses Start-MigrationBatch takes a batch out of without retrying anything: created but never started,
# or stopped (Start-MigrationBatch reference page).
STARTABLE_STATUSES = frozenset({"created", "stopped"})


def plan_create(
    planned: Iterable[PlannedBatch], observed: Mapping[str, ObservedBatch], *, start: bool = False
) -> CreatePlan:
    """Create what is missing; leave identical batches alone; grow a batch that has some of the planned members
    and none other (the rest are added with ``Set-MigrationBatch -AddUsers``); a same-named batch with a member the
    plan no longer has conflicts (a member is never removed from a batch).

    With ``start``, an identical batch that was never started (or was stopped) is started, so re-running
    ``cutover create --start`` after a ``create`` without it converges instead of leaving the batch idle.
    A planned mailbox that is already in another batch does not stop its batch: Exchange creates the batch and
    fails only that user (UserDuplicateInOtherBatchException); the plan says so in ``warnings``.
    """
    by_name = {name.lower(): batch for name, batch in observed.items()}
    member_of: dict[str, str] = {}
    for existing_batch in observed.values():
        failed = {u.mailbox for u in existing_batch.users if u.failed}
        for mailbox in existing_batch.mailboxes:
            if mailbox not in failed:  # a user that failed there is not held by that batch
                member_of.setdefault(mailbox, existing_batch.name)
    changes: list[BatchChange] = []
    warnings: list[str] = []
    def warn_elsewhere(name: str, mailboxes: Iterable[str]) -> None:
        elsewhere = [f"{m} (in {member_of[m]})" for m in sorted(mailboxes)
                     if m in member_of and member_of[m].lower() != name.lower()]
        if elsewhere:
            warnings.append(f"{name}: {len(elsewhere)} mailbox{'es' if len(elsewhere) != 1 else ''} "
                            f"already in another migration batch: {', '.join(elsewhere)}; Exchange will fail "
                            "them in this batch (UserDuplicateInOtherBatchException) and migrate the rest")

    for batch in planned:
        existing = by_name.get(batch.name.lower())
        if existing is None:
            changes.append(BatchChange(BatchAction.CREATE, batch.name, batch.mailboxes,
                                       f"new batch of {len(batch.mailboxes)} mailboxes"))
            warn_elsewhere(batch.name, batch.mailboxes)
            continue
        planned_set, existing_set = set(batch.mailboxes), set(existing.mailboxes)
        if planned_set == existing_set and start and existing.status.lower() in STARTABLE_STATUSES:
            changes.append(BatchChange(BatchAction.START, batch.name, batch.mailboxes,
                                       f"exists with the same {len(planned_set)} mailboxes ({existing.status}); "
                                       "starting it"))
            continue
        if planned_set == existing_set:
            changes.append(BatchChange(BatchAction.UNCHANGED, batch.name, batch.mailboxes,
                                       f"exists with the same {len(planned_set)} mailboxes ({existing.status})"))
            continue
        missing = tuple(sorted(planned_set - existing_set))
        extra = tuple(sorted(existing_set - planned_set))
        if not extra:  # only new members: grow the batch (Set-MigrationBatch -AddUsers), never recreate it
            idle = start and existing.status.lower() in STARTABLE_STATUSES
            noun = "mailbox" if len(missing) == 1 else "mailboxes"
            changes.append(BatchChange(BatchAction.GROW, batch.name, batch.mailboxes,
                                       f"exists with {len(existing_set)} of the {len(planned_set)} planned mailboxes "
                                       f"({existing.status}); adding {len(missing)} {noun}"
                                       + ("; starting it" if idle else ""), missing, (), idle))
            warn_elsewhere(batch.name, missing)
            continue
        parts = []
        if missing:
            parts.append("planned but not in the existing batch: " + ", ".join(missing))
        if extra:
            parts.append("in the existing batch but not planned: " + ", ".join(extra))
        changes.append(BatchChange(BatchAction.CONFLICT, batch.name, batch.mailboxes,
                                   "exists in Exchange Online with members the plan no longer has; "
                                   + "; ".join(parts) + ". Members are added to a batch, never removed: keep the "
                                   "batch's members in the plan, plan under another --name-prefix, or remove the "
                                   "existing batch (Remove-MigrationBatch) first",
                                   missing, extra))
    return CreatePlan(tuple(changes), tuple(warnings))


def csv_data(mailboxes: Iterable[str]) -> bytes:
    """The CSVData bytes New-MigrationBatch takes for an onboarding remote move (header EmailAddress)."""
    lines = ["EmailAddress", *mailboxes]
    for line in lines[1:]:
        if any(ch in line for ch in ',"\r\n'):
            raise PlanError(f"{line!r} cannot be written to a migration CSV")
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


def completion_chunks(ready: Sequence[str], chunk_size: int,
                      earlier: Sequence[CompletionChunk] = ()) -> tuple[CompletionChunk, ...]:
    """Cut the ready mailboxes into chunks of at most ``chunk_size``, each a journaled step.

    ``earlier``: the unfinished chunks of the interrupted run of the same selection. Their ready mailboxes stay
    in them under the same keys (so that run is resumed, not replaced); a ready mailbox none of them holds (not
    ready then, or its completion lost since) goes into new chunks after them.
    """
    if chunk_size < 1:
        raise ValueError("chunk_size must be at least 1")
    wanted = {m: None for m in ready}
    chunks: list[CompletionChunk] = []
    for chunk in earlier:
        members = tuple(m for m in chunk.mailboxes if m in wanted)
        for mailbox in members:
            del wanted[mailbox]
        if members:
            chunks.append(CompletionChunk(chunk.key, members))
    used = {c.key for c in earlier}
    rest = list(wanted)
    index = 0
    for start in range(0, len(rest), chunk_size):
        while f"complete:{index:04d}" in used:
            index += 1
        used.add(f"complete:{index:04d}")
        chunks.append(CompletionChunk(f"complete:{index:04d}", tuple(rest[start:start + chunk_size])))
    return tuple(chunks)


def plan_completion(
    mailboxes: Iterable[str],
    moves: Mapping[str, MoveState],
    *,
    method: CompletionMethod,
    at: dt.datetime,
    signalled: Iterable[str] = (),
    in_doubt: Iterable[str] = (),
) -> CompletionPlan:
    """Readiness per mailbox: complete the synced ones, follow the signalled ones, report and skip the rest.

    ``signalled``: mailboxes the journal records as completion delivered (never resent). ``in_doubt``: a
    completion was being sent when the last run stopped; the live state decides whether it arrived.
    """
    if at.tzinfo is None:
        raise ValueError("completion time must be timezone-aware")
    signalled_set = {m.lower() for m in signalled}
    doubt = {m.lower() for m in in_doubt}
    items: list[CompletionItem] = []
    seen: set[str] = set()
    for raw in mailboxes:
        mailbox = raw.strip().lower()
        if not mailbox or mailbox in seen:
            continue
        seen.add(mailbox)
        move = moves.get(mailbox)
        if move is None:
            items.append(CompletionItem(mailbox, Readiness.NOT_FOUND, "no move request for this mailbox"))
            continue
        status = move.status
        if status in _DONE:
            items.append(CompletionItem(mailbox, Readiness.DONE, "already completed", status))
        elif status == "CompletionInProgress":
            items.append(CompletionItem(mailbox, Readiness.SIGNALLED, "completion in progress", status))
        elif mailbox in signalled_set and _brought_forward(move, at):
            items.append(CompletionItem(
                mailbox, Readiness.COMPLETE, f"{status}: completion was scheduled for "
                f"{move.complete_after:%Y-%m-%d %H:%M:%S} UTC; brought forward", status))  # type: ignore[union-attr]
        elif mailbox in signalled_set and status in _READY and move.complete_after is None:
            # The journal says it was sent, but Exchange lost it (e.g. restarted before persisting it): live wins.
            items.append(CompletionItem(mailbox, Readiness.COMPLETE, f"{status} with no CompleteAfter: the "
                                        "completion sent earlier is not in Exchange's live state; sending it again",
                                        status))
        elif mailbox in signalled_set:
            items.append(CompletionItem(mailbox, Readiness.SIGNALLED, "completion already sent (journal)", status))
        elif status == "Failed":
            items.append(CompletionItem(mailbox, Readiness.FAILED, move.message or "the move failed", status))
        elif mailbox in doubt and _arrived(move, method, at):
            items.append(CompletionItem(mailbox, Readiness.SIGNALLED, "completion arrived before the interruption",
                                        status))
        elif status in _READY:
            items.append(CompletionItem(mailbox, Readiness.COMPLETE, f"{status}: ready to complete", status))
        elif status == "InProgress" and move.status_detail == "IncrementalSync":
            # initial sync done, an incremental sync is running (e.g. after a plain Resume): it can complete
            items.append(CompletionItem(mailbox, Readiness.COMPLETE, "incremental sync: ready to complete", status))
        else:
            detail = f" ({move.status_detail})" if move.status_detail else ""
            items.append(CompletionItem(mailbox, Readiness.NOT_READY,
                                        f"not synced yet: {status}{detail}; skipped, not forced", status))
    return CompletionPlan(method, at, tuple(items))


def _brought_forward(move: MoveState, at: dt.datetime) -> bool:
    """A synced move still held by a CompleteAfter later than ``at``: a completion sent earlier for a later time.

    Re-sending brings it forward (``--at now`` after ``--at 22:00``). A later ``at`` than the one already sent
    (every re-run of ``--at +2h``) never postpones a completion that was asked for.
    """
    return (move.status in _READY and move.complete_after is not None
            and move.complete_after > at + dt.timedelta(seconds=1))


def _arrived(move: MoveState, method: CompletionMethod, at: dt.datetime) -> bool:
    """Whether a completion sent at ``at`` shows in the live state of the move."""
    if method is CompletionMethod.MOVEREQUEST:
        # Resume-MoveRequest starts an incremental sync; a synced move shows it as InProgress.
        return move.status == "InProgress" and move.status_detail == "IncrementalSync" and (
            move.complete_after is not None and move.complete_after <= at + dt.timedelta(seconds=1)
        )
    return move.complete_after is not None and abs((move.complete_after - at).total_seconds()) < 1


def completion_action(item: CompletionItem) -> Action:
    """What ``cutover complete`` does for a mailbox of its plan: complete it, follow it, or nothing."""
    return {Readiness.COMPLETE: Action.COMPLETE, Readiness.SIGNALLED: Action.FOLLOW}.get(item.readiness, Action.NONE)


_PLANNED_OUTCOME = {Readiness.NOT_FOUND: Outcome.NOT_FOUND, Readiness.FAILED: Outcome.FAILED,
                    Readiness.NOT_READY: Outcome.SKIPPED, Readiness.DONE: Outcome.COMPLETED,
                    Readiness.SIGNALLED: Outcome.COMPLETING}


def completion_results(outcome: CompletionOutcome, final: Mapping[str, MoveState], waited: bool
                       ) -> list[CompletionResult]:
    """Each mailbox's action and outcome: the plan, what the send did, and (with --wait) where the move ended."""
    rows = []
    for item in outcome.plan.items:
        status, detail = item.status, item.reason
        result = _PLANNED_OUTCOME.get(item.readiness, Outcome.SENT)
        if item.readiness is Readiness.COMPLETE:
            if item.mailbox in outcome.send_failed:
                result, detail = Outcome.FAILED, outcome.send_failed[item.mailbox]
            elif item.mailbox in outcome.under_way:
                result, status = Outcome.COMPLETING, outcome.under_way[item.mailbox]
                detail = f"completion already under way ({status}); Exchange refused the repeated signal"
            else:
                detail = "completion sent"
        state = final.get(item.mailbox)
        if state is not None:
            status = state.status
            if state.status in TERMINAL_MOVE_STATUSES:
                result = Outcome.FAILED if state.status == "Failed" else Outcome.COMPLETED
                detail = state.message or (state.status_detail if state.status_detail != state.status else "")
            elif waited:
                result, detail = Outcome.TIMED_OUT, f"still {state.status} at --timeout"
        elif waited and item.mailbox in outcome.followed:
            result, detail = Outcome.TIMED_OUT, "no move statistics before --timeout"
        rows.append(CompletionResult(item.mailbox, completion_action(item), result, status, detail))
    return rows
