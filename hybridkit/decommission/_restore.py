"""Restore from a decommission backup, journaled like the teardown: resumable, never the same step twice.

``restore_backup`` reads the (checksummed) backup, asks each side which backed-up objects exist live, and turns
every absent restorable one into one or two steps: ``New-<Kind>`` with the parameters that recreate it, then
``Set-<Kind>`` for the properties only Set- takes. Steps run in restore order (intra-organization connectors and
organization relationships first, the inbound connector last, the reverse of the teardown) through
``hybridkit.runner.run_in_order``, which commits each step's start and outcome and stops at the first failure.

The journal run belongs to the backup (its manifest), the pair of profiles and ``--only``: after an interruption
the next restore resumes it. A ``New-`` step left in doubt is checked against live state first; if the object
exists, the earlier attempt got through and the step is marked verified, not sent again.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from hybridkit.decommission._apply import read
from hybridkit.decommission._backup import read_backup, restore_parameters, restore_set_parameters
from hybridkit.decommission._model import HybridObject, Kind
from hybridkit.errors import PlanError
from hybridkit.journal import Journal, StepState
from hybridkit.ps import Command, PSSession
from hybridkit.runner import Step, StepResult, StepStatus, planned, run_in_order

__all__ = ["RESTORE_KIND", "RestoreOutcome", "RestoreResult", "restore_backup", "select_entries"]

RESTORE_KIND = "decommission-restore"
_ORDER = [Kind.INTRA_ORGANIZATION_CONNECTOR, Kind.ORGANIZATION_RELATIONSHIP, Kind.SEND_CONNECTOR,
          Kind.OUTBOUND_CONNECTOR, Kind.INBOUND_CONNECTOR, Kind.HYBRID_CONFIGURATION, Kind.RECEIVE_CONNECTOR]


@dataclasses.dataclass(frozen=True)
class RestoreResult:
    """One backed-up object: what restore does with it (``action``) and what happened (``outcome``).

    ``action`` is ``create`` or ``none``; ``outcome`` is ``created``, ``unchanged`` (it exists live), ``skipped``
    (not restorable), ``failed``, ``not-run`` (an earlier step failed), or None under ``--what-if``.
    """

    target: HybridObject
    action: str
    outcome: str | None
    commands: tuple[str, ...] = ()
    detail: str = ""


@dataclasses.dataclass
class RestoreOutcome:
    """What a restore did: the journal run (None when nothing was sent or under --what-if) and each object."""

    run_id: str | None
    results: list[RestoreResult]
    resumed: bool = False
    what_if: bool = False

    @property
    def ok(self) -> bool:
        return not any(r.outcome in ("failed", "not-run") for r in self.results)


def select_entries(entries: list[HybridObject], only: Sequence[str]) -> list[HybridObject]:
    """The entries ``--only`` names (NAME, or SIDE:NAME when both sides hold that name), in restore order."""
    if only:
        picks = [tuple(n.split(":", 1)) if n.split(":", 1)[0].lower() in ("onprem", "online") else (None, n)
                 for n in only]

        def picked(entry: HybridObject, side: str | None, name: str) -> bool:
            return entry.name.lower() == name.lower() and (side is None or entry.side == side.lower())

        unknown = [n for n, (side, name) in zip(only, picks) if not any(picked(e, side, name) for e in entries)]
        if unknown:
            raise PlanError(f"not in the backup: {', '.join(sorted(unknown))} (names as `decommission plan` shows "
                            "them; SIDE:NAME picks one side)")
        entries = [e for e in entries if any(picked(e, side, name) for side, name in picks)]
    return sorted(entries, key=lambda e: (_ORDER.index(e.kind), e.side, e.name.lower()))


def _exists(session: PSSession, entry: HybridObject) -> bool:
    """Whether the object is live (one read of its Name only)."""
    return bool(session.run(read(Command.of(f"Get-{entry.kind.value}", Identity=entry.name), ["Name"])).output)


def _commands(entry: HybridObject, onprem_version: str) -> list[Command]:
    commands = [Command(f"New-{entry.kind.value}", restore_parameters(entry, onprem_version))]
    set_only = restore_set_parameters(entry)
    if set_only:  # properties New- does not take: set them on the new object
        commands.append(Command(f"Set-{entry.kind.value}", (("Identity", entry.name), *set_only)))
    return commands


def _steps(entry: HybridObject, commands: list[Command]) -> list[Step]:
    prefixes = ("restore", "restore-set")
    return [Step(key=f"{prefix}:{entry.key}".lower(), target=entry.key, command=command)
            for prefix, command in zip(prefixes, commands)]


def fingerprint_for(backup_dir: Path, profiles: Sequence[str], only: Sequence[str]) -> str:
    """One restore run per backup (its manifest), pair of endpoints and selection."""
    try:
        manifest = (backup_dir / "manifest.json").read_bytes()
    except OSError:
        manifest = b""
    payload = b"\0".join([b"decommission-restore", manifest, *(p.encode() for p in profiles),
                          *(n.lower().encode() for n in sorted(only))])
    return hashlib.sha256(payload).hexdigest()[:32]


def restore_backup(
    backup_dir: Path,
    sessions: Mapping[str, PSSession],
    journal: Journal | None,
    *,
    profiles: Sequence[str] = (),
    only: Sequence[str] = (),
    onprem_version: str = "2019",
    argv: Sequence[str] = (),
    on_step: Callable[[HybridObject, StepResult], None] | None = None,
) -> RestoreOutcome:
    """Recreate the backed-up objects live state lacks; without a journal, only say what would be sent (what-if)."""
    entries = select_entries(read_backup(backup_dir), only)
    what_if = journal is None
    outcome = RestoreOutcome(run_id=None, results=[], what_if=what_if)
    fingerprint = fingerprint_for(backup_dir, profiles, only)
    resumable = None if journal is None else journal.find_resumable(RESTORE_KIND, fingerprint)
    recorded = {s.key: s for s in journal.steps(resumable.run_id)} if journal and resumable else {}

    plans: dict[str, tuple[HybridObject, list[Command], list[Step], bool]] = {}
    todo: list[tuple[HybridObject, Step]] = []
    for entry in entries:
        if not entry.kind.restorable:
            continue
        commands = _commands(entry, onprem_version)
        steps = _steps(entry, commands)
        live = _exists(sessions[entry.side], entry)
        plans[entry.key] = (entry, commands, steps, live)
        if not live:
            todo.extend((entry, s) for s in steps)
        else:  # created by an earlier run whose Set- step never finished: only that is left
            todo.extend((entry, s) for s in steps[1:] if s.key in recorded and
                        recorded[s.key].state is not StepState.DONE)
    wanted = {s.key for _, s in todo}
    verified: set[str] = set()
    if journal is not None and resumable is not None:
        journal.resume_run(resumable.run_id)
        superseded = any(k not in recorded or recorded[k].state is StepState.DONE for k in wanted)
        for record in journal.pending_steps(resumable.run_id):
            if superseded:
                journal.mark_done(resumable.run_id, record.key, "superseded")
            elif record.key not in wanted:  # live state shows it: the interrupted attempt got through
                journal.mark_done(resumable.run_id, record.key, "verified")
                verified.add(record.target)
        if superseded or not todo:
            journal.finish_run(resumable.run_id)
        else:
            outcome.run_id, outcome.resumed = resumable.run_id, True
    results: dict[str, StepResult] = {}
    if journal is not None and todo:
        if outcome.run_id is None:
            outcome.run_id = journal.start_run(RESTORE_KIND, fingerprint, planned([s for _, s in todo]), argv=argv,
                                               profile=",".join(profiles))
        try:
            for result in run_in_order(journal, outcome.run_id,
                                       ((entry, step, sessions[entry.side]) for entry, step in todo),
                                       on_step=on_step):
                results[result.step.key] = result
        finally:
            journal.finish_run(outcome.run_id)
    outcome.results = [_result(entry, plans.get(entry.key), results, verified, what_if) for entry in entries]
    return outcome


def _result(entry: HybridObject, plan: tuple[HybridObject, list[Command], list[Step], bool] | None,
            results: Mapping[str, StepResult], verified: set[str], what_if: bool) -> RestoreResult:
    if plan is None:
        return RestoreResult(entry, "none", "skipped",
                             detail="not restorable from a backup: re-run the Hybrid Configuration Wizard")
    _, commands, steps, live = plan
    rendered = tuple(c.render() for c in commands)
    sent = [results[s.key] for s in steps if s.key in results]
    if live and not sent:
        if entry.key in verified:
            return RestoreResult(entry, "create", "created", rendered,
                                 "an interrupted restore had already created it (checked live)")
        return RestoreResult(entry, "none", None if what_if else "unchanged", (), "exists live; left alone")
    if what_if:
        return RestoreResult(entry, "create", None, rendered)
    failed = next((r for r in sent if r.status is StepStatus.FAILED), None)
    if failed is not None:
        partly = " (it was created; setting the rest failed)" if failed.step.key != steps[0].key else ""
        return RestoreResult(entry, "create", "failed", rendered, (failed.error or "failed") + partly)
    needed = steps if not live else steps[1:]
    if len(sent) < len(needed) or any(r.status is StepStatus.NOT_RUN for r in sent):
        return RestoreResult(entry, "create", "not-run", rendered, "not sent: an earlier step failed")
    return RestoreResult(entry, "create", "created", rendered)
