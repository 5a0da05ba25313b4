"""Putting mailboxes on hold through the runner: read, plan, send each side's Set-Mailbox in chunks, read back.

Per side, the mailboxes to change go through ONE pipeline shape (``set_pipeline``), fed their identities as
pipeline input::

    <identities> | Get-Mailbox | Set-Mailbox -LitigationHoldEnabled:$true [-LitigationHoldDuration N] ...

The work is cut into journal steps of a few chunks each (``_plan.plan_steps``) and run by
``hybridkit.runner.open_run`` with ``Run.apply_items``: both sides at once, each side's steps in order, each
step's chunks spread over the side's pools, Ctrl-C stopping every pipeline at its next Receive. A step's payload,
kept in the journal with it, is what it covers (side, identities, planned actions); once it ends, the runner
keeps Exchange's message per failed mailbox beside that. Set-Mailbox is idempotent: sent twice, it sets the same.

Resuming: a run belongs to its request (``request_fingerprint``: selection, settings, sides). When the journal
holds an unfinished run of the same request whose steps cover everything the fresh plan still sends, that run
carries on: its finished steps are skipped (their recorded failures kept), its unfinished ones are narrowed to
the mailboxes the fresh read of live state still shows off hold (one with none left is recorded ``verified``),
and the mailboxes it had put on hold are reported as enabled by this run. Otherwise a new run starts (the old one
is recorded ``superseded``).

Afterwards the verification pass (``_discover.verify``) reads every sent hold back, mailbox by mailbox: a hold
counts only when its own object came back showing it. Any selected mailbox left off hold (or not proven on hold)
makes the run end ``failed`` in the journal, as the command exits 1.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from hybridkit.errors import HybridkitError
from hybridkit.hold._discover import read_selection, verify
from hybridkit.hold._model import UNLIMITED, EnableResult, HoldPlan, HoldSettings, HoldStep, Selection
from hybridkit.hold._plan import (
    comment_warnings,
    credit_earlier,
    kept_longer_warnings,
    outcomes_after_apply,
    plan_hold,
    plan_steps,
    request_fingerprint,
)
from hybridkit.journal import Journal, StepRecord, StepState
from hybridkit.ps import Command, ItemOutcome, Pipeline, PSSession, quote
from hybridkit.runner import PriorRun, Reporter, Run, Step, StepStatus, find_prior, open_run
from hybridkit.sides import Side

__all__ = [
    "JOURNAL_KIND", "ApplyResult", "apply_steps", "chunk_step", "preview_enable", "run_enable", "set_pipeline",
    "what_if_lines",
]

JOURNAL_KIND = "hold"


@dataclasses.dataclass
class ApplyResult:
    """What sending the steps produced: Exchange's message per failed identity, per side.

    Attributes:
        errors: by side, Exchange's message per identity whose Set-Mailbox failed (sent now, or recorded by the
            finished steps of the run this one resumed).
        steps_sent: steps sent in this attempt.
        warnings: sentences for the person.
        stopped_by: the error that stopped the run (a transport failure past the retries, refused credentials).
    """

    errors: dict[Side, dict[str, str]] = dataclasses.field(default_factory=dict)
    steps_sent: int = 0
    warnings: list[str] = dataclasses.field(default_factory=list)
    stopped_by: HybridkitError | None = None

    def all_errors(self) -> dict[str, str]:
        """Exchange's message per failed identity, every side together."""
        return {ident: message for side in self.errors.values() for ident, message in side.items()}


def set_pipeline(settings: HoldSettings, side: Side) -> Pipeline:
    """``Get-Mailbox | Set-Mailbox -LitigationHoldEnabled:$true ...`` for ``side``, fed the identities as input.

    Set-Mailbox binds ``-Identity`` only by property name, so plain strings are first turned into mailbox objects
    by Get-Mailbox in the same pipeline. ``-RetentionComment`` is sent to Exchange Online only: on-premises
    Exchange accepts it only with RetentionHoldEnabled $true, which would suspend retention policies - not ours to
    switch on.
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


def _target(step: HoldStep) -> str:
    """What ``hybridkit journal show`` lists for a step: the side and the mailboxes it covers."""
    ids = step.identities
    span = ids[0] if len(ids) == 1 else f"{ids[0]} ... {ids[-1]}"
    return f"{step.side}: {len(ids)} mailbox(es), {span}"


def chunk_step(step: HoldStep, settings: HoldSettings, planned: HoldStep | None = None) -> Step:
    """The runner's step for ``step``: its side's Set-Mailbox pipeline fed its identities.

    ``planned`` is what the step covered when its run was planned (a resumed step may send fewer mailboxes): the
    journal keeps that as the step's payload, ``{"side", "identities", "actions"}``.
    """
    whole = planned or step
    payload = {"side": str(whole.side), "identities": list(whole.identities), "actions": list(whole.actions)}
    return Step(key=step.key, target=_target(whole), command=set_pipeline(settings, step.side),
                input_items=step.identities, side=step.side, payload=payload)


def _planned(record: StepRecord) -> HoldStep | None:
    """What a journaled step covered (its payload as planned, or kept under ``planned`` once done), if readable."""
    data: Any = record.payload
    if isinstance(data, dict) and isinstance(data.get("planned"), dict):
        data = data["planned"]
    if not isinstance(data, dict) or not {"side", "identities", "actions"} <= data.keys():
        return None  # a run journaled before payloads: it cannot be resumed
    return HoldStep(record.key, Side(data["side"]), tuple(map(str, data["identities"])),
                    tuple(map(str, data["actions"])))


def _recorded_failures(payload: Any) -> dict[str, str]:
    """Exchange's message per failed identity, as a finished step's payload keeps it."""
    failed = payload.get("failed") if isinstance(payload, dict) else None
    return {str(k): str(v) for k, v in failed.items()} if isinstance(failed, dict) else {}


@dataclasses.dataclass(frozen=True)
class _Resume:
    """An interrupted run of the same request that can carry on (see the module docstring)."""

    steps: list[Step]
    earlier: dict[tuple[str, str], str]  # (side, identity) -> the HoldAction value it planned


def _resumable(prior: PriorRun | None, send_now: set[tuple[str, str]], settings: HoldSettings) -> _Resume | None:
    """The prior run's steps to give the runner, when it covers every mailbox the fresh plan sends."""
    if prior is None:
        return None
    saved: dict[str, HoldStep] = {}
    for key, record in prior.steps.items():
        planned = _planned(record)
        if planned is None:
            return None
        saved[key] = planned
    covered = {(step.side, ident) for step in saved.values() for ident in step.identities}
    if not send_now <= covered:
        return None
    steps: list[Step] = []
    earlier: dict[tuple[str, str], str] = {}
    for key, whole in saved.items():
        earlier.update({(whole.side, i): a for i, a in zip(whole.identities, whole.actions)})
        if prior.steps[key].state is StepState.DONE:
            steps.append(chunk_step(whole, settings))  # skipped by the runner, its payload read back
            continue
        keep = [(i, a) for i, a in zip(whole.identities, whole.actions) if (whole.side, i) in send_now]
        if keep:  # none left: live state shows the step took effect; the runner records it verified
            narrowed = HoldStep(key, whole.side, tuple(i for i, _ in keep), tuple(a for _, a in keep))
            steps.append(chunk_step(narrowed, settings, planned=whole))
    return _Resume(steps, earlier)


def _failures(outcomes: Sequence[ItemOutcome]) -> dict[str, str]:
    return {str(o.item): o.message or "failed" for o in outcomes if not o.ok}


def apply_steps(run: Run, settings: HoldSettings, sessions: Mapping[Side, PSSession], *,
                chunk_size: int = 500) -> ApplyResult:
    """Send the run's steps, each through its side's Set-Mailbox pipeline (``Run.apply_items``).

    Remote effect: sets LitigationHoldEnabled (and duration/owner/comment as asked) on the steps' mailboxes only.
    A step refused as a whole charges its error to each of its mailboxes. The reporter's task is ``set hold``.
    """
    result = ApplyResult(warnings=comment_warnings(settings, (s.side for s in run.steps)))
    report = run.apply_items(sessions, chunk_size=chunk_size, task="set hold")
    for done in report.results:
        errors = result.errors.setdefault(done.step.side, {})
        if done.status is StepStatus.DONE:
            errors.update(_failures(done.items or []))
            result.steps_sent += 1
        elif done.status is StepStatus.FAILED:
            errors.update({str(i): done.error or "failed" for i in done.step.input_items})
            result.steps_sent += 1
        elif done.status in (StepStatus.SKIPPED, StepStatus.VERIFIED):
            errors.update(_recorded_failures(done.payload))
    result.stopped_by = report.stopped_by
    return result


def _read_and_plan(sessions: Mapping[Side, PSSession], selection: Selection, settings: HoldSettings, *,
                   onprem_version: str, chunk_size: int, reporter: Reporter | None) -> HoldPlan:
    observed = read_selection(sessions, selection, chunk_size=chunk_size, reporter=reporter)
    return plan_hold(observed, settings, onprem_version=onprem_version)


def preview_enable(
    sessions: Mapping[Side, PSSession],
    selection: Selection,
    settings: HoldSettings,
    *,
    onprem_version: str = "2019",
    chunk_size: int = 500,
    reporter: Reporter | None = None,
) -> EnableResult:
    """``hold enable --what-if``: read and plan, change nothing; ``commands`` are the exact pipelines per chunk."""
    plan = _read_and_plan(sessions, selection, settings, onprem_version=onprem_version, chunk_size=chunk_size,
                          reporter=reporter)
    rows = outcomes_after_apply(plan, {}, None, what_if=True)
    commands = tuple((side, line) for side in sessions for line in what_if_lines(plan, side, chunk_size))
    return EnableResult(plan, tuple(rows), commands=commands, warnings=tuple(kept_longer_warnings(settings, rows)))


def run_enable(
    sessions: Mapping[Side, PSSession],
    selection: Selection,
    settings: HoldSettings,
    *,
    journal: Journal,
    onprem_version: str = "2019",
    argv: Sequence[str] = (),
    profile: str | None = None,
    chunk_size: int = 500,
    step_size: int = 2000,
    reporter: Reporter | None = None,
) -> EnableResult:
    """Put the selected mailboxes on litigation hold and account for every one of them (journaled, resumable).

    Remote effect: Set-Mailbox on the mailboxes the plan says to enable or change. Idempotent: a re-run finds
    them on hold and sends nothing (and records no run).

    Raises:
        TransportError, AuthError: the run stopped (recorded ``aborted``; the next run resumes it).
    """
    plan = _read_and_plan(sessions, selection, settings, onprem_version=onprem_version, chunk_size=chunk_size,
                          reporter=reporter)
    fresh = plan_steps(plan, list(sessions), step_size)
    fingerprint = request_fingerprint(JOURNAL_KIND, selection, settings, list(sessions))
    prior = find_prior(journal, JOURNAL_KIND, fingerprint)
    resume = _resumable(prior, {(s.side, i) for s in fresh for i in s.identities}, settings)
    steps = resume.steps if resume else [chunk_step(s, settings) for s in fresh]
    with open_run(journal, JOURNAL_KIND, fingerprint, steps, prior=prior, argv=argv, profile=profile,
                  reporter=reporter) as run:
        applied = apply_steps(run, settings, sessions, chunk_size=chunk_size)
        if applied.stopped_by is not None:
            raise applied.stopped_by
        check = verify(plan, sessions, chunk_size=chunk_size, reporter=reporter)
        errors = applied.all_errors()
        rows = outcomes_after_apply(plan, errors, check.read, read_errors=check.errors)
        rows = credit_earlier(plan, rows, resume.earlier if resume and run.resumed else {}, errors)
        run.count_failures(sum(1 for row in rows if row.failed))
    total = skipped = 0
    if run.resumed and prior is not None:
        total = len(prior.steps)
        skipped = sum(1 for r in prior.steps.values() if r.state is StepState.DONE) + len(run.verified)
    return EnableResult(plan, tuple(rows), run_id=run.run_id, resumed=run.resumed, steps_total=total,
                        steps_skipped=skipped, warnings=tuple(applied.warnings + kept_longer_warnings(settings, rows)))
