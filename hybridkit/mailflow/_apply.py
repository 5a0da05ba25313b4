"""Effects of the mail-flow capability: read live state on both sides, apply a plan journaled, write a runbook.

``read_observed`` runs four Get-* cmdlets (two per side), each selecting only the properties the plan compares.
``apply_plan`` sends each actionable change as one cmdlet on the side that owns it, in the plan's dependency order,
through ``hybridkit.runner.run_in_order`` so every step's start and outcome are committed to the journal. It stops at the first failed step (later steps depend on
earlier ones). The journal run belongs to the declared state (a fingerprint of the spec and profiles): after a
failure, the next apply of the same file resumes that run, marks steps the live state already shows as
``verified`` and sends only what is still missing, so nothing is created twice.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from hybridkit.errors import CommandFailed
from hybridkit.templates import load_template
from hybridkit.journal import Journal, StepState
from hybridkit.mailflow._model import Change, Kind, MailflowSpec, ObservedObject, Plan, Side
from hybridkit.mailflow._plan import columns
from hybridkit.ps import Command, Pipeline, PSObject, PSSession, comment_text
from hybridkit.runner import Step, StepResult, StepStatus, planned, run_in_order

__all__ = [
    "ApplyOutcome",
    "JOURNAL_KIND",
    "apply_plan",
    "change_command",
    "load_template",
    "read_observed",
    "render_runbook",
    "spec_fingerprint",
]

JOURNAL_KIND = "mailflow"
_GETTERS = {
    Kind.ACCEPTED_DOMAIN: "Get-AcceptedDomain",
    Kind.INBOUND_CONNECTOR: "Get-InboundConnector",
    Kind.SEND_CONNECTOR: "Get-SendConnector",
    Kind.OUTBOUND_CONNECTOR: "Get-OutboundConnector",
}


def _props(obj: Any) -> dict[str, Any]:
    if isinstance(obj, PSObject):
        return dict(obj.properties)
    if isinstance(obj, Mapping):
        return dict(obj)
    return {"Name": str(obj)}


def read_observed(sessions: Mapping[Side, PSSession], spec: MailflowSpec) -> list[ObservedObject]:
    """The live objects of the four managed kinds: one ``Get-* | Select-Object -Property`` per kind on its side,
    selecting only the properties the plan compares (``_plan.columns``)."""
    observed: list[ObservedObject] = []
    wanted = columns(spec)
    for kind in Kind:
        command = Pipeline.of(Command.of(_GETTERS[kind]), Command.of("Select-Object", Property=wanted[kind]))
        result = sessions[kind.side].run(command)
        if result.errors:
            raise CommandFailed(result.errors[0].message, command=_GETTERS[kind])
        observed.extend(ObservedObject.of(kind, _props(o)) for o in result.output)
    return observed


def change_command(change: Change) -> Command:
    """The exact cmdlet a change sends."""
    return Command(change.cmdlet, tuple(change.parameters))


def spec_fingerprint(spec: MailflowSpec, profiles: Sequence[str]) -> str:
    """Identifies the declared state (not the live one) a journal run belongs to."""
    payload = json.dumps(
        [list(profiles), [[o.kind.value, o.name, [[k, v] for k, v in o.properties]] for o in spec.objects]],
        default=str,
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:32]


def _step_key(change: Change) -> str:
    return f"{change.kind.value}:{change.name.lower()}"


def _step(change: Change) -> Step:
    return Step(key=_step_key(change), target=f"{change.side.value}:{change.kind.value}:{change.name}",
                command=change_command(change))


@dataclasses.dataclass
class ApplyOutcome:
    """What an apply did: the journal run, per-step results, and whether it resumed an earlier run."""

    run_id: str | None
    results: list[StepResult]
    resumed: bool = False
    verified: list[str] = dataclasses.field(default_factory=list)  # in-doubt steps live state already showed done

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results)

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
    on_step: Callable[[Change, StepResult], None] | None = None,
) -> ApplyOutcome:
    """Send ``plan``'s actionable changes in order, journaled under ``fingerprint``; stop at the first failure."""
    todo = plan.actionable
    wanted = {_step_key(c): c for c in todo}
    resumable = journal.find_resumable(JOURNAL_KIND, fingerprint)
    outcome = ApplyOutcome(run_id=None, results=[])
    if resumable is not None:
        journal.resume_run(resumable.run_id)
        recorded = {s.key: s for s in journal.steps(resumable.run_id)}
        # The run can carry on only if everything still to do is one of its unfinished steps.
        superseded = any(key not in recorded or recorded[key].state is StepState.DONE for key in wanted)
        for record in journal.pending_steps(resumable.run_id):
            if superseded:
                journal.mark_done(resumable.run_id, record.key, "superseded")
            elif record.key not in wanted:  # live state already shows it: an earlier attempt got through
                journal.mark_done(resumable.run_id, record.key, "verified")
                outcome.verified.append(record.target)
        if superseded:
            journal.finish_run(resumable.run_id)
        else:
            outcome.run_id = resumable.run_id
            outcome.resumed = True
    if not todo:
        if outcome.run_id:
            journal.finish_run(outcome.run_id)
        return outcome
    steps = [_step(c) for c in todo]
    if outcome.run_id is None:
        outcome.run_id = journal.start_run(JOURNAL_KIND, fingerprint, planned(steps), argv=argv, profile=profile)
    try:
        outcome.results.extend(run_in_order(
            journal, outcome.run_id, ((change, step, sessions[change.side]) for change, step in zip(todo, steps)),
            on_step=on_step,
        ))
    finally:
        journal.finish_run(outcome.run_id)
    return outcome


# --- runbook ------------------------------------------------------------------------------------------------------


def _describe(change: Change) -> str:
    if change.action.value == "create":
        return f"create {change.kind.value} '{change.name}'"
    diffs = ", ".join(f"{p.name}: {p.live!r} -> {p.wanted!r}" for p in change.properties)
    return f"update {change.kind.value} '{change.name}' ({diffs})"


def render_runbook(plan: Plan, *, source: str, onprem: str, online: str, now: dt.datetime | None = None) -> str:
    """The plan as a reviewable PowerShell runbook (``ps_templates/mailflow-runbook.ps1``).

    Commands are rendered with every value single-quoted; everything else that comes from data (names, live
    values, the file's path, profile names) goes into comments through ``comment_text``, so it stays one inert
    line whatever it holds.
    """
    lines: list[str] = []
    todo = plan.actionable
    for number, change in enumerate(todo, start=1):
        where = "on-premises Exchange Management Shell" if change.side is Side.ONPREM else "Exchange Online"
        lines.append(f"# Step {number} ({where}): {comment_text(_describe(change))}")
        lines.append(change_command(change).render())
        lines.append("")
    if not todo:
        lines.append("# Nothing to do: the live state already matches the declared state.")
    return load_template("mailflow-runbook.ps1").substitute(
        generated=(now or dt.datetime.now(dt.timezone.utc)).astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        source=comment_text(source),
        onprem_profile=comment_text(onprem),
        online_profile=comment_text(online),
        fingerprint=comment_text(plan.fingerprint),
        step_count=str(len(todo)),
        steps="\n".join(lines).rstrip() + "\n",
    )
