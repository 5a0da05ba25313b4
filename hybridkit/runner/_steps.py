"""The journal-aware step executor capabilities use to apply a plan and to resume it.

A ``Step`` is one remote change: a stable key (e.g. a hash of the plan's ``Change``), the item it targets and the
``Command``/``Pipeline`` that makes it. ``run_steps`` walks the steps in order:

* a step the journal records as done is never sent again;
* a step left ``started`` or ``failed`` by an earlier attempt is first re-checked with the caller's ``verify``
  (``verify(session, step) -> True`` when live state already shows the change), then sent again if needed;
* ``started`` is committed before the command is sent and the outcome after, so a crash leaves an honest record;
* permanent errors fail the step and the run moves on; a transport failure that outlived the session's retries
  (or an authentication failure) stops the run, leaving the rest pending for a later resume; the run notes why,
  so ``Journal.finish_run`` records it ``aborted`` (an exception leaving the run does the same when the journal
  closes; Ctrl-C records it ``interrupted``).
"""

from __future__ import annotations

import dataclasses
import enum
import logging
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol, TypeVar

from hybridkit.errors import AuthError, HybridkitError, TransportError
from hybridkit.journal import Journal, PlannedStep, StepState
from hybridkit.ps._command import Command, Pipeline
from hybridkit.ps._result import PSResult
from hybridkit.ps._session import PSSession

__all__ = [
    "Reporter", "RunReport", "Step", "StepResult", "StepStatus", "Verify", "planned", "run_in_order", "run_steps",
]

T = TypeVar("T")

log = logging.getLogger("hybridkit.runner")


@dataclasses.dataclass(frozen=True)
class Step:
    """One remote change of a plan. ``input_items`` are piped into ``command`` when given."""

    key: str
    target: str
    command: Command | Pipeline
    input_items: tuple[Any, ...] = ()

    def rendered(self) -> str:
        """The command as one PowerShell line, secrets redacted (what the journal stores)."""
        command = self.command.redacted()
        if isinstance(command, Pipeline):
            return command.render(list(self.input_items) or None)
        return Pipeline.of(command).render(list(self.input_items) or None)


def planned(steps: Sequence[Step]) -> list[PlannedStep]:
    """The journal's view of ``steps`` (for ``Journal.start_run``)."""
    return [PlannedStep(key=s.key, target=s.target, rendered=s.rendered()) for s in steps]


class StepStatus(enum.Enum):
    DONE = "done"  # sent now and succeeded
    VERIFIED = "verified"  # an earlier attempt had already made the change (checked live)
    SKIPPED = "skipped"  # done in an earlier run; not sent again
    FAILED = "failed"
    NOT_RUN = "not_run"  # the run stopped before this step


@dataclasses.dataclass
class StepResult:
    step: Step
    status: StepStatus
    error_class: str | None = None
    error: str | None = None
    result: PSResult | None = None

    @property
    def ok(self) -> bool:
        return self.status in (StepStatus.DONE, StepStatus.VERIFIED, StepStatus.SKIPPED)


@dataclasses.dataclass
class RunReport:
    run_id: str
    results: list[StepResult]
    stopped_by: HybridkitError | None = None

    @property
    def failed(self) -> list[StepResult]:
        return [r for r in self.results if r.status is StepStatus.FAILED]

    @property
    def ok(self) -> bool:
        return self.stopped_by is None and not self.failed


Verify = Callable[[PSSession, Step], bool]


class Reporter(Protocol):
    """Progress callbacks (the CLI implements them with one Rich ``Progress``)."""

    def step_started(self, step: Step) -> None: ...

    def step_finished(self, result: StepResult) -> None: ...


def run_steps(
    journal: Journal,
    run_id: str,
    steps: Sequence[Step],
    session: PSSession,
    *,
    verify: Verify | None = None,
    reporter: Reporter | None = None,
) -> RunReport:
    """Apply ``steps`` (already recorded for ``run_id``) through ``session``; see the module docstring."""
    report = RunReport(run_id=run_id, results=[])
    for index, step in enumerate(steps):
        record = journal.step(run_id, step.key)
        if record.state is StepState.DONE:
            result = StepResult(step, StepStatus.SKIPPED)
            report.results.append(result)
            if reporter:
                reporter.step_finished(result)
            continue
        if reporter:
            reporter.step_started(step)
        try:
            result = _run_one(journal, run_id, step, session, verify, in_doubt=record.attempts > 0)
        except (TransportError, AuthError) as exc:
            journal.mark_failed(run_id, step.key, type(exc).__name__, str(exc))
            journal.note_error(run_id, f"{type(exc).__name__}: {exc}")  # finish_run then records it aborted
            report.results.append(StepResult(step, StepStatus.FAILED, type(exc).__name__, str(exc)))
            report.results.extend(StepResult(s, StepStatus.NOT_RUN) for s in steps[index + 1 :])
            report.stopped_by = exc
            log.error("run %s stopped at step %s: %s", run_id, step.key, exc)
            return report
        report.results.append(result)
        if reporter:
            reporter.step_finished(result)
    return report


def run_in_order(
    journal: Journal,
    run_id: str,
    work: Iterable[tuple[T, Step, PSSession]],
    *,
    on_step: Callable[[T, StepResult], None] | None = None,
) -> list[StepResult]:
    """Run each step through its own session (on-prem or Exchange Online), in order, journaled like ``run_steps``.

    Stops after the first step that does not succeed, so a later step never runs before an earlier one it depends
    on; ``on_step`` gets each item with its result as it finishes.
    """
    results: list[StepResult] = []
    for item, step, session in work:
        report = run_steps(journal, run_id, [step], session)
        results.extend(report.results)
        if on_step is not None:
            on_step(item, report.results[-1])
        if not report.ok:
            break
    return results


def _run_one(
    journal: Journal, run_id: str, step: Step, session: PSSession, verify: Verify | None, *, in_doubt: bool
) -> StepResult:
    if in_doubt and verify is not None and verify(session, step):
        journal.mark_done(run_id, step.key, "verified")
        return StepResult(step, StepStatus.VERIFIED)
    journal.mark_started(run_id, step.key)
    try:
        result = session.run(step.command, list(step.input_items) or None)
    except (TransportError, AuthError):
        raise
    except HybridkitError as exc:
        journal.mark_failed(run_id, step.key, type(exc).__name__, str(exc))
        return StepResult(step, StepStatus.FAILED, type(exc).__name__, str(exc))
    if result.errors:
        first = result.errors[0]
        error_class = first.exception_type.rsplit(".", 1)[-1] or first.category or "ErrorRecord"
        message = "; ".join(e.message for e in result.errors)
        journal.mark_failed(run_id, step.key, error_class, message)
        return StepResult(step, StepStatus.FAILED, error_class, message, result)
    journal.mark_done(run_id, step.key, "ok")
    return StepResult(step, StepStatus.DONE, result=result)
