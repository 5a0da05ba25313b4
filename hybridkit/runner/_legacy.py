"""The step loops of before ``open_run`` (kept only until mailflow and decommission run through it)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol, TypeVar

from hybridkit.errors import AuthError, HybridkitError, TransportError
from hybridkit.journal import Journal, StepState
from hybridkit.ps import PSSession
from hybridkit.runner._steps import RunReport, Step, StepResult, StepStatus, Verify

__all__ = ["run_in_order", "run_steps"]

T = TypeVar("T")
log = logging.getLogger("hybridkit.runner")


class Reporter(Protocol):
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
