"""Mail flow applied through the runner: each actionable change is one step, sent on its side, in order.

The journal run belongs to the declared state (``spec_fingerprint``: the spec and the profiles), and its steps
are planned from live state (``open_run(..., from_live_state=True)``): after a failure, the next apply of the same
file resumes that run, records the steps live state already shows as ``verified`` and sends only what is still
missing, so nothing is created twice. The loop stops at the first failed step (later steps depend on earlier
ones: nothing sends before Exchange Online trusts it).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

from hybridkit.journal import Journal
from hybridkit.mailflow._model import Action, Change, ChangeOutcome, Plan, Side
from hybridkit.outcomes import Outcome
from hybridkit.ps import Command, PSSession
from hybridkit.runner import Reporter, Step, StepResult, StepStatus, open_run

__all__ = ["ApplyOutcome", "JOURNAL_KIND", "apply_plan", "change_command", "change_target"]

JOURNAL_KIND = "mailflow"
_DONE = {Action.CREATE: Outcome.CREATED, Action.UPDATE: Outcome.UPDATED}


def change_command(change: Change) -> Command:
    """The exact cmdlet a change sends."""
    return Command(change.cmdlet, tuple(change.parameters))


def change_target(change: Change) -> str:
    """How the journal names the object a change acts on (``onprem:SendConnector:Name``)."""
    return f"{change.side.value}:{change.kind.value}:{change.name}"


def _step(change: Change) -> Step:
    return Step(key=f"{change.kind.value}:{change.name.lower()}", target=change_target(change),
                command=change_command(change), side=change.side)


@dataclasses.dataclass(frozen=True)
class ApplyOutcome:
    """What an apply did.

    Attributes:
        run_id: the journal run (None when there was nothing to send and no unfinished run to close).
        results: the runner's result per step tried, in order (steps after a failure are not: see ``items``).
        resumed: an interrupted run of the same file was carried on.
        verified: objects of that run whose change live state already showed (an earlier attempt got through).
        items: every object of the plan with its outcome.
    """

    run_id: str | None
    results: list[StepResult]
    resumed: bool = False
    verified: list[str] = dataclasses.field(default_factory=list)
    items: tuple[ChangeOutcome, ...] = ()

    @property
    def ok(self) -> bool:
        return not any(i.failed for i in self.items)

    @property
    def sent(self) -> int:
        return sum(1 for r in self.results if r.status in (StepStatus.DONE, StepStatus.FAILED))


def apply_plan(
    plan: Plan,
    sessions: Mapping[Side, PSSession],
    journal: Journal,
    fingerprint: str,
    *,
    argv: Sequence[str] = (),
    profile: str | None = None,
    reporter: Reporter | None = None,
) -> ApplyOutcome:
    """Send ``plan``'s actionable changes in order, journaled under ``fingerprint``; stop at the first failure.

    Remote effect: the New-*/Set-* cmdlets the plan lists, each on its side. Idempotent: a re-run plans from live
    state again and sends only what is still missing.
    """
    with open_run(journal, JOURNAL_KIND, fingerprint, [_step(c) for c in plan.actionable], from_live_state=True,
                  argv=argv, profile=profile, reporter=reporter) as run:
        report = run.apply(sessions, stop_at_failure=True)
    tried = [r for r in report.results if r.status is not StepStatus.NOT_RUN]
    return ApplyOutcome(run.run_id, tried, run.resumed, list(run.verified),
                        _outcomes(plan, tried, set(run.verified)))


def _outcomes(plan: Plan, results: list[StepResult], verified: set[str]) -> tuple[ChangeOutcome, ...]:
    by_target = {r.step.target: r for r in results}
    out = []
    for change in plan.changes:
        target = change_target(change)
        result = by_target.get(target)
        if not change.actionable:
            detail = "the interrupted run's change had gone through (checked live)" if target in verified else None
            out.append(ChangeOutcome(change, Outcome.UNCHANGED, detail))
        elif result is None or result.status is StepStatus.NOT_RUN:
            out.append(ChangeOutcome(change, Outcome.NOT_RUN, "not sent: an earlier step failed"))
        elif result.status is StepStatus.FAILED:
            out.append(ChangeOutcome(change, Outcome.FAILED, result.error or "failed"))
        elif result.status is StepStatus.VERIFIED:
            out.append(ChangeOutcome(change, _DONE[change.action],
                                     "an earlier attempt had already made this change (checked live)"))
        else:
            out.append(ChangeOutcome(change, _DONE[change.action]))
    return tuple(out)
