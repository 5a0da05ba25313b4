"""The service behind ``cutover remove-completed``: read the batches, plan (``_cleanup``), remove through the one
runner, journaled as run kind ``cutover-remove`` and planned from live state.

A re-run sends only what Exchange still has: a batch removed by an earlier run is no longer listed, so it is not
planned again (named with ``--batch``, the journal says it was removed: ``unchanged``). A removal left in doubt
(killed mid-send) is checked first: a batch Exchange no longer lists was removed (``verified``), never re-sent.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from hybridkit.cutover._cleanup import (
    CLEANUP_KIND,
    CleanupAction,
    CleanupItem,
    cleanup_fingerprint,
    cleanup_steps,
    plan_cleanup,
)
from hybridkit.cutover._discover import BATCH_COLUMNS, as_text, observe_batches
from hybridkit.journal import Journal, StepState
from hybridkit.outcomes import Outcome
from hybridkit.ps import Command, Pipeline, PSObject, PSSession
from hybridkit.runner import NullReporter, Reporter, Step, StepStatus, open_run

__all__ = ["CleanupResult", "remove_completed"]


@dataclasses.dataclass(frozen=True)
class CleanupResult:
    """What ``remove_completed`` did (or, under ``what_if``, would do) for each batch."""

    items: tuple[CleanupItem, ...]
    what_if: bool
    commands: tuple[str, ...] = ()
    run_id: str | None = None
    resumed: bool = False

    @property
    def failed(self) -> bool:
        return any(i.failed for i in self.items)


def _removed_before(journal: Journal) -> dict[str, str]:
    """Lower-case batch name -> the run id of an earlier ``cutover remove-completed`` run that sent its removal
    (done, or sent and killed before its outcome was recorded: the caller only asks about batches Exchange no
    longer lists, so that removal got through)."""
    out: dict[str, str] = {}
    for run in journal.list_runs(limit=200, kind=CLEANUP_KIND):
        for step in journal.steps(run.run_id):
            if step.key.startswith("remove:") and (step.state is StepState.DONE or step.attempts > 0):
                out.setdefault(step.key.split(":", 1)[1], run.run_id)
    return out


def _gone(session: PSSession, step: Step) -> bool:
    """``verify`` for a removal in doubt: True when Exchange no longer lists the batch."""
    result = session.run(Pipeline.of(Command.of("Get-MigrationBatch"), Command.of("Select-Object",
                                                                                  Property=["Identity"])))
    names = {as_text(o.get("Identity")).lower() for o in result.output if isinstance(o, PSObject)}
    return step.target.lower() not in names


def remove_completed(
    session: PSSession,
    journal: Journal,
    *,
    batches: Sequence[str] = (),
    include_errors: bool = False,
    what_if: bool = False,
    argv: Sequence[str] = (),
    profile: str | None = None,
    reporter: Reporter | None = None,
) -> CleanupResult:
    """Remove the completed batches (all, or ``batches``) with ``Remove-MigrationBatch -Confirm:$false``."""
    observed = observe_batches(session, columns=BATCH_COLUMNS)
    plan = plan_cleanup(observed, batches, include_errors=include_errors, removed_before=_removed_before(journal))
    steps = cleanup_steps(plan)
    if what_if:
        return CleanupResult(plan.items, True, tuple(s.command.render() for s in steps))
    with open_run(journal, CLEANUP_KIND, cleanup_fingerprint(batches, include_errors), steps, from_live_state=True,
                  argv=argv, profile=profile, reporter=reporter or NullReporter()) as run:
        report = run.apply(session, verify=_gone, task="remove")
        results = {r.step.key: r for r in report.results}
        items = []
        for item in plan.items:
            if item.action is not CleanupAction.REMOVE:
                outcome = item.outcome or Outcome.SKIPPED
                items.append(dataclasses.replace(item, outcome=outcome, detail=item.reason))
                continue
            result = results.get(f"remove:{item.batch.lower()}")
            if result is None or result.status is StepStatus.NOT_RUN:
                items.append(dataclasses.replace(item, outcome=Outcome.NOT_RUN,
                                                 detail="not sent: the run stopped before this batch"))
            elif not result.ok:
                items.append(dataclasses.replace(item, outcome=Outcome.FAILED, detail=result.error or "failed"))
            else:
                how = "removed (an earlier attempt got through)" if result.status is StepStatus.VERIFIED else "removed"
                items.append(dataclasses.replace(item, outcome=Outcome.REMOVED, detail=f"{how}; {item.reason}"))
    if report.stopped_by is not None:
        raise report.stopped_by
    return CleanupResult(tuple(items), False, (), run.run_id, run.resumed)
