"""The values a run is made of: ``Step`` (one remote change, or one chunk of items), ``Note`` (a decision
recorded with the run, nothing sent), and what came of each step (``StepResult``, ``RunReport``)."""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any, Union

from hybridkit.errors import HybridkitError
from hybridkit.journal import PlannedStep
from hybridkit.ps import Command, ItemOutcome, Pipeline, PSResult, PSSession

__all__ = [
    "Collect", "Note", "RunReport", "Sessions", "Step", "StepResult", "StepStatus", "Verify", "VerifyItems",
    "planned", "session_for",
]

Sessions = Union[PSSession, Mapping[Hashable, PSSession]]
"""One session for every step, or sessions by ``Step.side`` (``{Side.ONPREM: ..., Side.ONLINE: ...}``)."""


@dataclasses.dataclass(frozen=True)
class Step:
    """One journaled unit of work of a plan.

    Attributes:
        key: stable across runs of the same plan (the same change planned twice has the same key): the journal
            finds the step again by it when a run resumes.
        target: what ``hybridkit journal show`` lists for the step (an object, or "onprem: 500 mailbox(es) ...").
        command: the cmdlet or pipeline that makes the change.
        input_items: pipeline input: the items ``command`` is run for (a chunk's identities). In the ordered
            step loop they go in one pipeline; in the chunked-items runner through ``session.run_items``.
        side: which session runs it (a key of the ``sessions`` mapping given to ``apply``); None when the run
            has one session.
        payload: JSON-able data kept with the step in the journal (never a secret), e.g. the actions planned for
            a chunk's items; a chunk's payload is replaced by its items' outcomes once it is done.
    """

    key: str
    target: str
    command: Command | Pipeline
    input_items: tuple[Any, ...] = ()
    side: Hashable | None = None
    payload: Any = None

    def rendered(self) -> str:
        """The command as one PowerShell line, secrets redacted (what the journal stores)."""
        command = self.command.redacted()
        if isinstance(command, Pipeline):
            return command.render(list(self.input_items) or None)
        return Pipeline.of(command).render(list(self.input_items) or None)


@dataclasses.dataclass(frozen=True)
class Note:
    """A decision recorded with the run before its steps, nothing sent (an operator's waiver of a blocker).

    ``text`` is what the journal shows in place of a command; the note is committed done with ``outcome``.
    """

    key: str
    target: str
    text: str
    outcome: str = "noted"


def planned(steps: Sequence[Step]) -> list[PlannedStep]:
    """The journal's view of ``steps`` (key, target, redacted command line, payload)."""
    return [PlannedStep(key=s.key, target=s.target, rendered=s.rendered(), payload=s.payload) for s in steps]


class StepStatus(enum.Enum):
    """What happened to a step in this run."""

    DONE = "done"  # sent now and succeeded (a chunk: sent, whatever each item's outcome)
    VERIFIED = "verified"  # an earlier attempt had already made the change (checked live); not sent again
    SKIPPED = "skipped"  # done in an earlier attempt of this run; not sent again
    FAILED = "failed"
    NOT_RUN = "not_run"  # the run stopped before this step


@dataclasses.dataclass
class StepResult:
    """One step's result.

    Attributes:
        step: the step (for a chunk whose in-doubt items were re-checked, narrowed to the items still sent).
        status: what happened.
        error_class: the error's class (Exchange's exception type, or hybridkit's error) when it failed.
        error: the error's message(s) when it failed.
        result: the pipeline's result (ordered step loop, sent now).
        items: each item's outcome (chunked-items runner, sent now).
        payload: the step's payload as the journal now holds it: for a chunk, its items' outcomes (also for a
            chunk done in an earlier attempt, read back from the journal).
    """

    step: Step
    status: StepStatus
    error_class: str | None = None
    error: str | None = None
    result: PSResult | None = None
    items: list[ItemOutcome] | None = None
    payload: Any = None

    @property
    def ok(self) -> bool:
        return self.status in (StepStatus.DONE, StepStatus.VERIFIED, StepStatus.SKIPPED)


@dataclasses.dataclass
class RunReport:
    """What ``Run.apply``/``Run.apply_items`` did: one result per step given, in plan order.

    ``stopped_by`` is the error that stopped the run early (a transport failure that outlived the session's
    retries, or refused credentials): the steps after it are ``NOT_RUN`` and the run is recorded ``aborted``.
    """

    run_id: str | None
    results: list[StepResult]
    stopped_by: HybridkitError | None = None

    @property
    def failed(self) -> list[StepResult]:
        return [r for r in self.results if r.status is StepStatus.FAILED]

    @property
    def ok(self) -> bool:
        return self.stopped_by is None and all(r.ok for r in self.results)


Verify = Callable[[PSSession, Step], bool]
"""``verify(session, step)``: True when live state already shows the step's change (an earlier attempt got
through). Asked only for a step left in doubt by an earlier attempt, before it is sent again."""

VerifyItems = Callable[[PSSession, Step], Sequence[Any]]
"""``verify(session, chunk)``: the chunk's items live state does NOT show done yet (only those are sent again;
none: the chunk is recorded verified). Asked only for a chunk left in doubt by an earlier attempt."""

Collect = Callable[[Step, list[ItemOutcome]], Any]
"""``collect(chunk, outcomes)``: the JSON-able payload the journal keeps for a chunk once it is done (what a
resumed run needs of its items' outcomes). Default: ``{"planned": chunk.payload, "failed": {item: message}}``."""


def session_for(sessions: Sessions, step: Step) -> PSSession:
    """The session that runs ``step``: the one session, or the one for its side."""
    if isinstance(sessions, Mapping):
        return sessions[step.side]
    return sessions
