"""Applying a hold plan: each side gets its own Set-Mailbox, streamed through pipelines in chunks.

Per side, the mailboxes to change go through ONE pipeline shape, fed with their identities as pipeline input::

    <identities> | Get-Mailbox | Set-Mailbox -LitigationHoldEnabled:$true [-LitigationHoldDuration N]
                                            [-LitigationHoldOwner 'x'] [-RetentionComment 'y' (Exchange Online)]

Set-Mailbox binds ``-Identity`` only by property name, so plain strings are first turned into mailbox objects by
Get-Mailbox in the same pipeline. The bridge runs one pipeline per chunk, a bounded number at once. Work is
cut into journal steps (a few chunks each); a step's outcome is committed when it finishes, so an interrupted run
resumes without sending those mailboxes again. Afterwards a verification pass streams the same identities into
``Get-Mailbox | Select-Object -Property Identity,LitigationHold...`` and reads back what was set, mailbox by
mailbox: a hold counts as verified only when its own object came back showing it. Set-Mailbox is idempotent:
sending it twice to the same mailbox sets the same values.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

from hybridkit.hold._model import HoldPlan, HoldSettings, HoldStep, MailboxHold, UNLIMITED
from hybridkit.hold._read import mailbox_hold, read_back
from hybridkit.ps import Command, ItemOutcome, Pipeline, PSSession, quote
from hybridkit.sides import Side

__all__ = ["ApplyResult", "StepJournal", "Verification", "apply_steps", "set_pipeline", "verify", "what_if_lines"]

Progress = Callable[[str, int, int], None]


class StepJournal(Protocol):
    """Where step progress is committed (``HoldJournal`` over ``hybridkit.journal``)."""

    def started(self, step: HoldStep) -> None:
        """Commit that a step is about to be sent."""

    def finished(self, step: HoldStep, errors: dict[str, str]) -> None:
        """Commit a finished step with Exchange's message per failed identity."""


@dataclasses.dataclass
class ApplyResult:
    """What applying produced: Exchange's message per failed identity, per side."""

    errors: dict[Side, dict[str, str]] = dataclasses.field(default_factory=dict)
    steps_sent: int = 0
    warnings: list[str] = dataclasses.field(default_factory=list)

    def errors_by_identity(self, side: Side) -> dict[str, str]:
        return self.errors.get(side, {})


def set_pipeline(settings: HoldSettings, side: Side) -> Pipeline:
    """``Get-Mailbox | Set-Mailbox -LitigationHoldEnabled:$true ...`` for ``side``.

    ``-RetentionComment`` is sent to Exchange Online only: on-premises Exchange accepts it only with
    RetentionHoldEnabled $true, which would suspend retention policies - not ours to switch on.
    """
    params: dict[str, Any] = {"LitigationHoldEnabled": True}
    if settings.duration_given:
        params["LitigationHoldDuration"] = UNLIMITED if settings.duration is None else settings.duration
    if settings.owner:
        params["LitigationHoldOwner"] = settings.owner
    if settings.comment and side == "online":
        params["RetentionComment"] = settings.comment
    return Pipeline.of(Command.of("Get-Mailbox"), Command.of("Set-Mailbox", params))


def what_if_lines(plan: HoldPlan, side: Side, chunk_size: int) -> list[str]:
    """The exact pipelines ``side`` would get, one per chunk, with the identities as PowerShell string literals:
    ``'a','b' | Get-Mailbox | Set-Mailbox ...`` (runnable when pasted into an Exchange session)."""
    identities = list(dict.fromkeys(i.identity for i in plan.to_send(side)))
    line = set_pipeline(plan.settings, side).render()
    size = max(1, chunk_size)
    return [",".join(quote(i) for i in identities[at : at + size]) + " | " + line
            for at in range(0, len(identities), size)]


def _errors_of(outcomes: Sequence[ItemOutcome]) -> dict[str, str]:
    return {str(o.item): o.message or "failed" for o in outcomes if not o.ok}


def apply_steps(
    steps: Sequence[HoldStep],
    settings: HoldSettings,
    sessions: dict[Side, PSSession],
    *,
    journal: StepJournal | None = None,
    chunk_size: int = 500,
    progress: Progress | None = None,
) -> ApplyResult:
    """Send each step's identities through its side's Set-Mailbox pipeline.

    The two sides work at the same time (each on its own endpoint, its steps one after another, each step's
    chunks spread over the side's pools). Remote effect: sets LitigationHoldEnabled (and duration/owner/comment
    as asked) on those mailboxes only. Idempotent (the same values set again). Each step is committed to the
    journal as started, then finished; after a failure or an interruption no further step is started.
    """
    result = ApplyResult()
    if settings.comment and any(s.side == "onprem" for s in steps):
        result.warnings.append(
            "--comment is set in Exchange Online only: on-premises Exchange takes RetentionComment only with "
            "RetentionHoldEnabled $true, which hybridkit does not switch on"
        )
    total = sum(len(s.identities) for s in steps)
    finished = 0
    lock = threading.Lock()
    stop = threading.Event()

    def tick(n: int) -> None:
        nonlocal finished
        with lock:
            finished += n
            now = finished
        if progress:
            progress("set hold", now, total)

    def run_side(side: Side) -> None:
        for step in (s for s in steps if s.side == side):
            if stop.is_set():
                return
            if journal is not None:
                journal.started(step)
            outcomes = sessions[side].run_items(
                set_pipeline(settings, side), list(step.identities), chunk_size=chunk_size, on_progress=tick
            )
            errors = _errors_of(outcomes)
            with lock:
                result.errors.setdefault(side, {}).update(errors)
                result.steps_sent += 1
            if journal is not None:
                journal.finished(step, errors)

    def guarded(side: Side) -> None:
        try:
            run_side(side)
        except BaseException:
            stop.set()
            raise

    sides = list(dict.fromkeys(s.side for s in steps))
    if len(sides) <= 1:
        for side in sides:
            run_side(side)
        return result
    with ThreadPoolExecutor(max_workers=len(sides), thread_name_prefix="hk-hold") as pool:
        futures = [pool.submit(guarded, side) for side in sides]
        try:
            for future in futures:
                future.result()
        except BaseException:
            stop.set()
            raise
    return result


@dataclasses.dataclass(frozen=True)
class Verification:
    """What the verification read gave: each mailbox's hold as read back, or Exchange's message for the read.

    A mailbox in neither map was not returned by the read at all (it cannot be shown to be on hold).
    """

    read: dict[str, MailboxHold]
    errors: dict[str, str]


def verify(
    plan: HoldPlan,
    sessions: dict[Side, PSSession],
    *,
    chunk_size: int = 500,
    progress: Progress | None = None,
) -> Verification:
    """Read the hold back for every mailbox the plan sent, by identity, on its own side.

    The sent identities are streamed into ``Get-Mailbox | Select-Object -Property Identity,LitigationHoldEnabled,
    LitigationHoldDuration,LitigationHoldOwner,LitigationHoldDate`` (one pipeline per chunk). Nothing is inferred
    from a mailbox's absence: only an object read back proves a hold, and an error in the read leaves the mailboxes
    it concerns unverified.
    """
    read: dict[str, MailboxHold] = {}
    errors: dict[str, str] = {}
    total = sum(len(plan.to_send(side)) for side in sessions)
    done = 0

    def tick(n: int) -> None:
        nonlocal done
        done += n
        if progress:
            progress("verify", done, total)

    for side, session in sessions.items():
        items = {i.identity: i for i in reversed(plan.to_send(side))}
        if not items:
            continue
        identities = list(dict.fromkeys(i.identity for i in plan.to_send(side)))
        objects, failures = read_back(session, side, identities, chunk_size=chunk_size, on_progress=tick)
        errors.update(failures)
        for ident, obj in objects.items():
            back = mailbox_hold(obj, side, items[ident].key)
            read[ident] = dataclasses.replace(
                items[ident].mailbox, enabled=back.enabled, duration=back.duration, owner=back.owner, date=back.date
            )
    return Verification(read=read, errors=errors)
