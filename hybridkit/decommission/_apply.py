"""Decommissioning applied through the runner: the teardown (back up, verify, remove in order) and the restore.

Both are plans made from live state (``open_run(..., from_live_state=True)``) sent one cmdlet at a time in order,
stopping at the first failure, so after an interruption the next run resumes its journal run, records the steps
live state already shows done as ``verified`` and sends only the rest: nothing is removed, or created, twice.

* ``apply_teardown`` refuses while an unwaived blocker stands, records each waiver with the run (a ``Note``),
  writes and verifies the backup of every object it is about to remove, then removes them in the plan's order.
  Its run belongs to the pair of endpoints.
* ``restore_backup`` reads the (checksummed) backup, asks each side which backed-up objects exist live, and turns
  every absent restorable one into ``New-<Kind>`` (then ``Set-<Kind>`` for what only Set- takes), in restore
  order: the reverse of the teardown. Its run belongs to the backup (its manifest), the profiles and ``--only``;
  an object an interrupted restore had created whose Set- step never finished gets that step only.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Mapping, Sequence
from pathlib import Path

from hybridkit.decommission._backup import read_backup, restore_parameters, restore_set_parameters, verify_backup, \
    write_backup
from hybridkit.decommission._discover import exists
from hybridkit.decommission._model import (
    DecommissionPlan,
    HybridObject,
    Kind,
    RemovalOutcome,
    RemovalStep,
    RestoreAction,
    RestoreResult,
)
from hybridkit.errors import InputError, PlanError
from hybridkit.journal import Journal
from hybridkit.outcomes import Outcome
from hybridkit.ps import Command, PSSession
from hybridkit.runner import Note, Reporter, Step, StepResult, StepStatus, find_prior, open_run

__all__ = ["JOURNAL_KIND", "RESTORE_KIND", "RestoreOutcome", "TeardownOutcome", "apply_teardown", "restore_backup",
           "select_entries", "step_command"]

JOURNAL_KIND = "decommission"
RESTORE_KIND = "decommission-restore"
_RESTORE_ORDER = [Kind.INTRA_ORGANIZATION_CONNECTOR, Kind.ORGANIZATION_RELATIONSHIP, Kind.SEND_CONNECTOR,
                  Kind.OUTBOUND_CONNECTOR, Kind.INBOUND_CONNECTOR, Kind.HYBRID_CONFIGURATION, Kind.RECEIVE_CONNECTOR]
# What happened to a removal step -> the README's outcome, and the words for it.
_REMOVAL = {
    StepStatus.DONE: (Outcome.REMOVED, ""),
    StepStatus.VERIFIED: (Outcome.REMOVED, "an earlier attempt had already removed it (checked live)"),
    StepStatus.SKIPPED: (Outcome.REMOVED, "removed by an earlier run of this teardown"),
    StepStatus.FAILED: (Outcome.FAILED, ""),
    StepStatus.NOT_RUN: (Outcome.NOT_RUN, "not sent: an earlier step failed"),
}


def step_command(step: RemovalStep) -> Command:
    """The exact cmdlet a removal step sends."""
    return Command(step.cmdlet, tuple(step.parameters))


# ---------------------------------------------------------------------------------------------------- teardown


@dataclasses.dataclass(frozen=True)
class TeardownOutcome:
    """What a teardown did.

    Attributes:
        run_id: the journal run (None when nothing was left to remove and no interrupted run to close).
        results: the runner's result per removal tried, in order.
        items: each removal of the plan with its outcome.
        backup_entries: objects the backup holds (this run's and earlier runs' of the same backup).
        resumed: an interrupted teardown was carried on.
        verified: that teardown's removals live state already showed (``side:Kind:name``).
    """

    run_id: str | None
    results: list[StepResult]
    items: tuple[RemovalOutcome, ...] = ()
    backup_entries: int = 0
    resumed: bool = False
    verified: list[str] = dataclasses.field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(i.failed for i in self.items)


def fingerprint_for(profiles: Sequence[str]) -> str:
    """One teardown per pair of endpoints: the journal run a resumed apply continues."""
    return hashlib.sha256(("decommission\0" + "\0".join(profiles)).encode()).hexdigest()[:32]


def apply_teardown(
    plan: DecommissionPlan,
    sessions: Mapping[str, PSSession],
    journal: Journal,
    backup_dir: Path,
    *,
    profiles: Sequence[str],
    accepted: Sequence[str] = (),
    argv: Sequence[str] = (),
    reporter: Reporter | None = None,
) -> TeardownOutcome:
    """Refuse on blockers, back up (verified), then remove in order; see the module docstring.

    Remote effect: the Remove-* cmdlets of ``plan.steps``, each on its side. Idempotent: a re-run discovers again
    and removes only what is still there.

    Raises:
        PlanError: a blocker stands that ``accepted`` does not waive.
        InputError: the backup cannot be written (nothing removed).
    """
    standing = plan.unwaived(set(accepted))
    if standing:
        raise PlanError("refusing to tear the hybrid down while blockers stand: "
                        + "; ".join(f"{b.name}: {b.reason}" for b in standing)
                        + " (fix them, or waive one with --accept-blocker NAME)")
    waivers = [Note(f"waiver:{b.name}", f"blocker:{b.name}", f"# blocker waived: {b.name}: {b.reason}", "waived")
               for b in plan.blockers if b.name in set(accepted)]
    backup_entries = 0
    if plan.steps:
        try:
            write_backup(backup_dir, [(s.target, step_command(s).render()) for s in plan.steps])
        except OSError as exc:  # before any removal: nothing has been touched
            raise InputError(f"cannot write the backup to {backup_dir}: {exc.strerror or exc}; nothing was "
                             "removed") from None
        verify_backup(backup_dir, [s.target for s in plan.steps])
        backup_entries = len(read_backup(backup_dir))
    steps = [Step(key=s.key, target=s.target.key, command=step_command(s), side=s.target.side) for s in plan.steps]
    with open_run(journal, JOURNAL_KIND, fingerprint_for(profiles), steps, notes=waivers, from_live_state=True,
                  argv=argv, profile=",".join(profiles), reporter=reporter) as run:
        report = run.apply(sessions, stop_at_failure=True)
    by_key = {r.step.key: r for r in report.results}
    items = []
    for removal in plan.steps:
        result = by_key.get(removal.key)
        outcome, detail = _REMOVAL[result.status if result else StepStatus.NOT_RUN]
        items.append(RemovalOutcome(removal, outcome, (result.error if result and result.error else detail)
                                    or removal.why))
    return TeardownOutcome(run.run_id, [r for r in report.results if r.status is not StepStatus.NOT_RUN],
                           tuple(items), backup_entries, run.resumed, list(run.verified))


# ----------------------------------------------------------------------------------------------------- restore


@dataclasses.dataclass(frozen=True)
class RestoreOutcome:
    """What a restore did: the journal run (None when nothing was sent, or under what-if) and each object."""

    run_id: str | None
    results: list[RestoreResult]
    resumed: bool = False
    what_if: bool = False

    @property
    def ok(self) -> bool:
        return not any(r.failed for r in self.results)


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
    return sorted(entries, key=lambda e: (_RESTORE_ORDER.index(e.kind), e.side, e.name.lower()))


def _restore_steps(entry: HybridObject, onprem_version: str) -> list[Step]:
    """``New-<Kind>`` with the parameters that recreate it, then ``Set-<Kind>`` for what New- does not take."""
    commands = [Command(f"New-{entry.kind.value}", restore_parameters(entry, onprem_version))]
    set_only = restore_set_parameters(entry)
    if set_only:
        commands.append(Command(f"Set-{entry.kind.value}", (("Identity", entry.name), *set_only)))
    return [Step(key=f"{prefix}:{entry.key}".lower(), target=entry.key, command=command, side=entry.side)
            for prefix, command in zip(("restore", "restore-set"), commands)]


def restore_fingerprint(backup_dir: Path, profiles: Sequence[str], only: Sequence[str]) -> str:
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
    reporter: Reporter | None = None,
) -> RestoreOutcome:
    """Recreate the backed-up objects live state lacks; without a journal, only say what would be sent (what-if).

    Remote effect: New-*/Set-* of the absent restorable objects, each on its side (none without a journal).
    """
    entries = select_entries(read_backup(backup_dir), only)
    fingerprint = restore_fingerprint(backup_dir, profiles, only)
    prior = find_prior(journal, RESTORE_KIND, fingerprint) if journal is not None else None
    unfinished = {s.key for s in prior.unfinished()} if prior is not None else set()
    planned: dict[str, tuple[list[Step], bool]] = {}
    todo: list[Step] = []
    for entry in entries:
        if not entry.kind.restorable:
            continue
        steps = _restore_steps(entry, onprem_version)
        live = exists(sessions[entry.side], entry)
        planned[entry.key] = (steps, live)
        # live: created by an earlier run whose Set- step never finished - only that is left
        todo.extend(steps if not live else [s for s in steps[1:] if s.key in unfinished])
    if journal is None:
        return RestoreOutcome(None, [_result(e, planned.get(e.key), {}, set(), True) for e in entries], what_if=True)
    with open_run(journal, RESTORE_KIND, fingerprint, todo, from_live_state=True, prior=prior, argv=argv,
                  profile=",".join(profiles), reporter=reporter) as run:
        report = run.apply(sessions, stop_at_failure=True)
    results = {r.step.key: r for r in report.results if r.status is not StepStatus.NOT_RUN}
    return RestoreOutcome(run.run_id, [_result(e, planned.get(e.key), results, set(run.verified), False)
                                       for e in entries], resumed=run.resumed)


def _result(entry: HybridObject, planned: tuple[list[Step], bool] | None, results: Mapping[str, StepResult],
            verified: set[str], what_if: bool) -> RestoreResult:
    if planned is None:
        return RestoreResult(entry, RestoreAction.NONE, Outcome.SKIPPED,
                             detail="not restorable from a backup: re-run the Hybrid Configuration Wizard")
    steps, live = planned
    rendered = tuple(s.command.render() for s in steps)
    sent = [results[s.key] for s in steps if s.key in results]
    if live and not sent:
        if entry.key in verified:
            return RestoreResult(entry, RestoreAction.CREATE, Outcome.CREATED, rendered,
                                 "an interrupted restore had already created it (checked live)")
        return RestoreResult(entry, RestoreAction.NONE, None if what_if else Outcome.UNCHANGED, (),
                             "exists live; left alone")
    if what_if:
        return RestoreResult(entry, RestoreAction.CREATE, None, rendered)
    failed = next((r for r in sent if r.status is StepStatus.FAILED), None)
    if failed is not None:
        partly = " (it was created; setting the rest failed)" if failed.step.key != steps[0].key else ""
        return RestoreResult(entry, RestoreAction.CREATE, Outcome.FAILED, rendered, (failed.error or "failed") + partly)
    if len(sent) < len(steps if not live else steps[1:]):
        return RestoreResult(entry, RestoreAction.CREATE, Outcome.NOT_RUN, rendered, "not sent: an earlier step failed")
    return RestoreResult(entry, RestoreAction.CREATE, Outcome.CREATED, rendered)
