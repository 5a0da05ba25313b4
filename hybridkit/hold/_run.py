"""The hold services the CLI calls: ``enable`` (read, plan, journal, apply, verify) and ``status`` (read).

Resuming: a run is identified by its request (selection, settings, sides). If the journal holds an unfinished run
of the same request, ``enable`` resumes it: it reads live state again, sends only what its unfinished steps
still need (a step left "started" is re-checked against live state, not blindly re-sent), never repeats finished
steps, and reports mailboxes the interrupted run already put on hold as enabled by this run.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from collections.abc import Callable, Sequence

from hybridkit.hold._apply import ApplyResult, apply_steps, set_pipeline, verify, what_if_lines
from hybridkit.hold._model import (
    HoldAction,
    HoldPlan,
    HoldSettings,
    HoldStep,
    MailboxHold,
    Outcome,
    OutcomeStatus,
    Selection,
)
from hybridkit.hold._plan import outcomes_after_apply, outcomes_for_status, plan_hold, plan_steps, request_fingerprint
from hybridkit.hold._read import read_selection
from hybridkit.journal import Journal, PlannedStep, RunStatus, StepRecord, StepState
from hybridkit.ps import PSSession
from hybridkit.sides import Side

__all__ = ["EnableResult", "HoldJournal", "JOURNAL_KIND", "run_enable", "run_status"]

JOURNAL_KIND = "hold"
Progress = Callable[[str, int, int], None]


@dataclasses.dataclass
class EnableResult:
    """Everything ``hold enable`` did, for rendering."""

    plan: HoldPlan
    outcomes: list[Outcome]
    run_id: str | None = None
    resumed: bool = False
    steps_total: int = 0
    steps_skipped: int = 0
    apply: ApplyResult | None = None
    commands: list[tuple[Side, str]] = dataclasses.field(default_factory=list)  # (side, line) under what-if
    warnings: list[str] = dataclasses.field(default_factory=list)

    @property
    def failed(self) -> int:
        return sum(1 for o in self.outcomes if o.status is OutcomeStatus.FAILED)

    @property
    def not_held(self) -> dict[str, int]:
        """Mailboxes the run could not (or, with --what-if, would not) put on hold, counted by reason."""
        counts: dict[str, int] = {}
        for outcome in self.outcomes:
            if outcome.status in NOT_HELD:
                counts[outcome.status.value] = counts.get(outcome.status.value, 0) + 1
        return counts


# Outcomes that leave a selected mailbox off hold, or not proven on hold: each one makes the command exit 1 (legal
# asked for all of them).
NOT_HELD = frozenset({OutcomeStatus.FAILED, OutcomeStatus.UNVERIFIED, OutcomeStatus.NOT_FOUND,
                      OutcomeStatus.UNLICENSED, OutcomeStatus.REFUSED})


class HoldJournal:
    """Commits hold steps to ``hybridkit.journal`` (a step's target holds its side, identities and actions)."""

    def __init__(self, journal: Journal, run_id: str) -> None:
        self.journal = journal
        self.run_id = run_id

    def started(self, step: HoldStep) -> None:
        self.journal.mark_started(self.run_id, step.key)

    def finished(self, step: HoldStep, errors: dict[str, str]) -> None:
        self.journal.mark_done(self.run_id, step.key, json.dumps({"errors": errors}, separators=(",", ":")))


def _target(step: HoldStep) -> str:
    """What ``hybridkit journal show`` lists for a step: the side and the mailboxes it covers."""
    ids = step.identities
    span = ids[0] if len(ids) == 1 else f"{ids[0]} ... {ids[-1]}"
    return f"{step.side}: {len(ids)} mailbox(es), {span}"


def _steps_file(journal: Journal, run_id: str) -> Path:
    """Where a run's steps (identities and planned actions) are kept beside the journal, for resuming."""
    return Path(journal.path).parent / "hold-runs" / f"{run_id}.json"


def _save_steps(journal: Journal, run_id: str, steps: Sequence[HoldStep]) -> None:
    path = _steps_file(journal, run_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {s.key: {"side": s.side, "identities": s.identities, "actions": s.actions} for s in steps}
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
    tmp.replace(path)


def _load_steps(journal: Journal, run_id: str) -> dict[str, HoldStep] | None:
    path = _steps_file(journal, run_id)
    if not path.exists():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    return {k: HoldStep(k, v["side"], tuple(v["identities"]), tuple(v["actions"])) for k, v in data.items()}


def _recorded_errors(record: StepRecord) -> dict[str, str]:
    if record.outcome and record.outcome.startswith("{"):
        return dict(json.loads(record.outcome).get("errors", {}))
    return {}


def run_status(
    sessions: dict[Side, PSSession],
    selection: Selection,
    *,
    chunk_size: int = 500,
    progress: Progress | None = None,
) -> list[Outcome]:
    """Read-only: the hold state of every selected mailbox."""
    return outcomes_for_status(read_selection(sessions, selection, chunk_size=chunk_size, progress=progress))


def run_enable(
    sessions: dict[Side, PSSession],
    selection: Selection,
    settings: HoldSettings,
    *,
    onprem_version: str = "2019",
    what_if: bool = False,
    journal: Journal | None = None,
    argv: Sequence[str] = (),
    profile: str | None = None,
    chunk_size: int = 500,
    step_size: int = 2000,
    progress: Progress | None = None,
) -> EnableResult:
    """Put the selected mailboxes on litigation hold and account for every one of them.

    Remote effect: Set-Mailbox on the mailboxes the plan says to enable or change (none with ``what_if``).
    Idempotent: a re-run finds them on hold and sends nothing.
    """
    observed: list[MailboxHold] = read_selection(sessions, selection, chunk_size=chunk_size, progress=progress)
    plan = plan_hold(observed, settings, onprem_version=onprem_version)
    result = EnableResult(plan=plan, outcomes=[])
    if what_if:
        result.commands = [(side, line) for side in sessions for line in what_if_lines(plan, side, chunk_size)]
        result.outcomes = outcomes_after_apply(plan, {}, None, what_if=True)
        _warn_kept_longer(result)
        return result
    steps = plan_steps(plan, list(sessions), step_size)
    send_now = {(s.side, ident) for s in steps for ident in s.identities}
    recorded: dict[str, str] = {}
    earlier: dict[tuple[str, str], str] = {}  # (side, identity) -> action planned by the interrupted run
    if journal is None:
        apply = apply_steps(steps, settings, sessions, chunk_size=chunk_size, progress=progress)
        result.apply, result.steps_total = apply, len(steps)
    else:
        fingerprint = request_fingerprint(JOURNAL_KIND, selection, settings, list(sessions))
        prior = journal.find_resumable(JOURNAL_KIND, fingerprint)
        old: list[StepRecord] = journal.steps(prior.run_id) if prior else []
        saved = _load_steps(journal, prior.run_id) if prior else None
        if saved is not None and set(saved) != {r.key for r in old}:
            saved = None
        covered = {(s.side, ident) for s in (saved or {}).values() for ident in s.identities}
        if prior is not None and saved is not None and send_now <= covered:
            run_id = journal.resume_run(prior.run_id).run_id
            steps = _resume(journal, run_id, old, saved, send_now, result, recorded, earlier)
        elif not steps:
            run_id = None
        else:
            planned = [PlannedStep(s.key, _target(s), set_pipeline(settings, s.side).render()) for s in steps]
            run_id = journal.start_run(JOURNAL_KIND, fingerprint, planned, argv=argv, profile=profile)
            _save_steps(journal, run_id, steps)
            result.steps_total = len(steps)
        result.run_id = run_id
        result.apply = ApplyResult()
        if run_id is not None:
            try:
                result.apply = apply_steps(
                    steps, settings, sessions, journal=HoldJournal(journal, run_id), chunk_size=chunk_size,
                    progress=progress,
                )
            except BaseException:
                journal.finish_run(run_id, RunStatus.INTERRUPTED)
                raise
    assert result.apply is not None
    errors = dict(recorded)
    for side_errors in result.apply.errors.values():
        errors.update(side_errors)
    result.warnings.extend(result.apply.warnings)
    check = verify(plan, sessions, chunk_size=chunk_size, progress=progress)
    outcomes = outcomes_after_apply(plan, errors, check.read, read_errors=check.errors)
    result.outcomes = _credit_earlier(plan, outcomes, earlier, errors)
    _warn_kept_longer(result)
    if journal is not None and result.run_id is not None:
        # Recorded as the command ends: any mailbox left off hold (or not proven on hold) makes it exit 1.
        journal.finish_run(result.run_id, RunStatus.FAILED if result.not_held else RunStatus.COMPLETED)
    return result


def _warn_kept_longer(result: EnableResult) -> None:
    """Say which mailboxes kept a hold longer than --duration asks (never shortened without --allow-shorter)."""
    kept = [o.key for o in result.outcomes if o.status is OutcomeStatus.KEPT_LONGER]
    if kept:
        shown = ", ".join(kept[:10]) + (f" and {len(kept) - 10} more" if len(kept) > 10 else "")
        result.warnings.append(
            f"{len(kept)} mailbox(es) kept a longer hold than --duration "
            f"{result.plan.settings.duration if result.plan.settings.duration is not None else 'unlimited'} asks: "
            f"{shown} (give --allow-shorter to shorten them)"
        )


def _resume(
    journal: Journal,
    run_id: str,
    old: list[StepRecord],
    saved: dict[str, HoldStep],
    send_now: set[tuple[str, str]],
    result: EnableResult,
    recorded: dict[str, str],
    earlier: dict[tuple[str, str], str],
) -> list[HoldStep]:
    """The steps of an interrupted run still to send, narrowed to what live state says is still needed.

    Finished steps are skipped (their recorded errors kept); a step left "started" (in doubt) or pending sends
    only the mailboxes the fresh plan still wants; one whose mailboxes are all on hold now is marked done.
    Fills ``recorded`` (errors of finished steps) and ``earlier`` (what the interrupted run planned per mailbox).
    """
    result.resumed = True
    result.steps_total = len(old)
    todo: list[HoldStep] = []
    for record in old:
        step = saved[record.key]
        earlier.update({(step.side, i): a for i, a in zip(step.identities, step.actions)})
        if record.state is StepState.DONE:
            recorded.update(_recorded_errors(record))
            result.steps_skipped += 1
            continue
        keep = [(i, a) for i, a in zip(step.identities, step.actions) if (step.side, i) in send_now]
        if not keep:  # live state shows this step took effect before the interruption
            journal.mark_done(run_id, record.key, json.dumps({"errors": {}, "verified_on_resume": True}))
            result.steps_skipped += 1
            continue
        todo.append(HoldStep(record.key, step.side, tuple(i for i, _ in keep), tuple(a for _, a in keep)))
    return todo


def _credit_earlier(
    plan: HoldPlan, outcomes: list[Outcome], earlier: dict[tuple[str, str], str], errors: dict[str, str]
) -> list[Outcome]:
    """Report mailboxes the interrupted run put on hold as enabled/changed, not "already on hold"."""
    if not earlier:
        return outcomes
    out = []
    for item, row in zip(plan.items, outcomes):
        action = earlier.get((item.side or "", item.identity))
        if row.status is OutcomeStatus.ALREADY and action is not None:
            status = OutcomeStatus.ENABLED if action == HoldAction.ENABLE.value else OutcomeStatus.CHANGED
            row = dataclasses.replace(row, status=status, message="done before the interruption", verified=True)
        elif item.action.sends and item.identity in errors and row.status is OutcomeStatus.FAILED and not row.message:
            row = dataclasses.replace(row, message=errors[item.identity])
        out.append(row)
    return out
