"""Applying a hold plan: each side gets its own Set-Mailbox, streamed through pipelines in chunks.

Per side, the mailboxes to change go through ONE pipeline shape, fed with their identities as pipeline input::

    <identities> | Get-Mailbox | Set-Mailbox -LitigationHoldEnabled:$true [-LitigationHoldDuration N]
                                            [-LitigationHoldOwner 'x'] [-RetentionComment 'y' (Exchange Online)]

Set-Mailbox binds ``-Identity`` only by property name, so plain strings are first turned into mailbox objects by
Get-Mailbox in the same pipeline. The bridge runs one pipeline per chunk, a bounded number at once. Work is
cut into journal steps (a few chunks each); a step's outcome is committed when it finishes, so an interrupted run
resumes without sending those mailboxes again. Afterwards a verification pass reads LitigationHoldEnabled and
LitigationHoldDuration back. Set-Mailbox is idempotent: sending it twice to the same mailbox sets the same values.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

from hybridkit.hold._model import HoldPlan, HoldSettings, HoldStep, MailboxHold, SideName, UNLIMITED
from hybridkit.hold._read import mailbox_hold, read_by_identity
from hybridkit.ps import Command, ItemOutcome, Pipeline, PSSession

__all__ = ["ApplyResult", "StepJournal", "apply_steps", "set_pipeline", "verify"]

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

    errors: dict[SideName, dict[str, str]] = dataclasses.field(default_factory=dict)
    steps_sent: int = 0
    warnings: list[str] = dataclasses.field(default_factory=list)

    def errors_by_identity(self, side: SideName) -> dict[str, str]:
        return self.errors.get(side, {})


def set_pipeline(settings: HoldSettings, side: SideName) -> Pipeline:
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


def _errors_of(outcomes: Sequence[ItemOutcome]) -> dict[str, str]:
    return {str(o.item): o.message or "failed" for o in outcomes if not o.ok}


def apply_steps(
    steps: Sequence[HoldStep],
    settings: HoldSettings,
    sessions: dict[SideName, PSSession],
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

    def run_side(side: SideName) -> None:
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

    def guarded(side: SideName) -> None:
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


def verify(
    plan: HoldPlan,
    sessions: dict[SideName, PSSession],
    *,
    chunk_size: int = 500,
    progress: Progress | None = None,
    by_filter: tuple[str, ...] | None = None,
) -> dict[str, MailboxHold]:
    """Read the hold back for every mailbox the plan sent, by identity.

    By default the sent identities are streamed into Get-Mailbox and LitigationHoldEnabled/Duration are read
    back. With ``by_filter`` (the selection covered whole recipient types, ``()`` = all mailboxes, and no duration
    was asked) each side is asked once for its mailboxes NOT on hold
    (``Get-Mailbox -Filter "LitigationHoldEnabled -eq $false"``): every sent mailbox absent from that answer is on
    hold. Same verdict, a fraction of the objects on the wire.
    """
    out: dict[str, MailboxHold] = {}
    total = sum(len(plan.to_send(side)) for side in sessions)
    done = 0

    def tick(n: int) -> None:
        nonlocal done
        done += n
        if progress:
            progress("verify", done, total)

    for side, session in sessions.items():
        items = plan.to_send(side)
        identities = list(dict.fromkeys(i.identity for i in items))
        if not identities:
            continue
        if by_filter is None:
            out.update(read_by_identity(session, side, identities, chunk_size=chunk_size, on_progress=tick))
            continue
        params: dict[str, Any] = {"ResultSize": "Unlimited", "Filter": "LitigationHoldEnabled -eq $false"}
        if by_filter:
            params["RecipientTypeDetails"] = list(by_filter)
        not_held = {mailbox_hold(o, side).identity for o in session.run(Command.of("Get-Mailbox", params)).output}
        for item in items:
            out[item.identity] = dataclasses.replace(item.mailbox, enabled=item.identity not in not_held)
        tick(len(identities))
    return out
