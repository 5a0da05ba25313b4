"""Effects of decommissioning: discover both sides, back up and remove in order (journaled, resumable).

``apply_teardown`` refuses while an unwaived blocker stands, records each waiver in the journal, writes and
verifies the backup of every object it is about to remove, then removes them one cmdlet at a time in the plan's
order through ``hybridkit.runner.run_in_order``. The journal run belongs to the pair of endpoints: after an
interruption the next apply resumes it, marks removals the live state already shows as ``verified`` and sends only
the rest, so nothing is removed twice.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from hybridkit.decommission._backup import backup_columns, read_backup, verify_backup, write_backup
from hybridkit.decommission._model import (
    DecommissionPlan,
    Discovery,
    HybridObject,
    Kind,
    MailboxInfo,
    MoveInfo,
    RemovalStep,
)
from hybridkit.errors import CommandFailed, InputError, PlanError
from hybridkit.journal import Journal, PlannedStep, StepState
from hybridkit.ps import Command, Pipeline, PSObject, PSSession
from hybridkit.runner import Step, StepResult, planned, run_in_order

__all__ = ["JOURNAL_KIND", "TeardownOutcome", "apply_teardown", "discover", "discovery_columns", "read",
           "step_command"]

JOURNAL_KIND = "decommission"
_MAILBOX_TYPES = ("UserMailbox", "SharedMailbox", "RoomMailbox", "EquipmentMailbox", "LinkedMailbox",
                  "DiscoveryMailbox")
Resolver = Callable[[str], list[tuple[str, str]]]  # domain -> [("MX"|"Autodiscover", target)]

# (side, kind, Get cmdlet, first on-prem version that has it)
_GETTERS: list[tuple[str, Kind, str, int]] = [
    ("online", Kind.INBOUND_CONNECTOR, "Get-InboundConnector", 0),
    ("online", Kind.OUTBOUND_CONNECTOR, "Get-OutboundConnector", 0),
    ("online", Kind.ORGANIZATION_RELATIONSHIP, "Get-OrganizationRelationship", 0),
    ("onprem", Kind.ORGANIZATION_RELATIONSHIP, "Get-OrganizationRelationship", 2010),
    ("online", Kind.INTRA_ORGANIZATION_CONNECTOR, "Get-IntraOrganizationConnector", 0),
    ("onprem", Kind.INTRA_ORGANIZATION_CONNECTOR, "Get-IntraOrganizationConnector", 2013),
    ("onprem", Kind.SEND_CONNECTOR, "Get-SendConnector", 2010),
    ("onprem", Kind.RECEIVE_CONNECTOR, "Get-ReceiveConnector", 2010),
    ("onprem", Kind.HYBRID_CONFIGURATION, "Get-HybridConfiguration", 2010),
]


# What the planner reads of each kind besides the backup's columns (is_hybrid_object, the checklist, DNS).
_PLAN_COLUMNS: dict[Kind, list[str]] = {
    Kind.INBOUND_CONNECTOR: ["ConnectorSource"],
    Kind.OUTBOUND_CONNECTOR: ["ConnectorSource"],
    Kind.SEND_CONNECTOR: ["SourceTransportServers"],
    Kind.RECEIVE_CONNECTOR: ["Identity", "TlsDomainCapabilities"],
    Kind.HYBRID_CONFIGURATION: ["Domains"],
}
_MAILBOX_COLUMNS = ["Guid", "Name", "RecipientTypeDetails", "PrimarySmtpAddress"]


def read(command: Command, properties: Sequence[str]) -> Pipeline:
    """``command | Select-Object -Property properties``: a read that brings back only the columns it uses."""
    return Pipeline.of(command, Command.of("Select-Object", Property=list(properties)))


def discovery_columns(kind: Kind) -> list[str]:
    """What discovery selects of ``kind``: the backup's columns (everything restore sets) and the planner's."""
    return list(dict.fromkeys([*backup_columns(kind), *_PLAN_COLUMNS.get(kind, [])]))


def _version_number(version: str) -> int:
    return 2025 if version.upper() == "SE" else int(version) if version.isdigit() else 2019


def _objects(result_output: list[Any]) -> list[PSObject]:
    return [o for o in result_output if isinstance(o, PSObject)]


def _run(session: PSSession, command: Pipeline, notes: list[str]) -> list[PSObject] | None:
    cmdlet = command.commands[0].cmdlet
    try:
        result = session.run(command)
    except CommandFailed as exc:
        notes.append(f"{cmdlet} on {session.name}: {exc.message}")
        return None
    if result.errors:
        notes.append(f"{cmdlet} on {session.name}: {result.errors[0].message}")
    return _objects(result.output)


def discover(sessions: Mapping[str, PSSession], *, onprem_version: str = "2019",
             resolver: Resolver | None = None) -> Discovery:
    """Read what the hybrid left and what could block its removal, on both sides."""
    notes: list[str] = []
    version = _version_number(onprem_version)
    objects: list[HybridObject] = []
    for side, kind, cmdlet, since in _GETTERS:
        if side == "onprem" and version < since:
            continue
        for obj in _run(sessions[side], read(Command.of(cmdlet), discovery_columns(kind)), notes) or []:
            name = str(obj.get("Name") or obj)
            objects.append(HybridObject(side, kind, name, tuple(obj.properties.items())))
    onprem, online = sessions["onprem"], sessions["online"]
    mailboxes: dict[str, MailboxInfo] = {}
    # Get-Recipient is the lighter read for the user-facing mailboxes; arbitration mailboxes need Get-Mailbox.
    for command in (Command.of("Get-Recipient", RecipientTypeDetails=list(_MAILBOX_TYPES), ResultSize="Unlimited"),
                    Command.of("Get-Mailbox", Arbitration=True, ResultSize="Unlimited")):
        for m in _run(onprem, read(command, _MAILBOX_COLUMNS), notes) or []:
            key = str(m.get("Guid") or m.get("Name"))
            mailboxes[key] = MailboxInfo(str(m.get("Name") or key),
                                         str(m.get("RecipientTypeDetails") or ""),
                                         str(m.get("PrimarySmtpAddress") or ""))
    moves = [MoveInfo(str(m.get("Identity") or m.get("DisplayName")), str(m.get("Status") or ""),
                      str(m.get("BatchName") or ""))
             for m in _run(online, read(Command.of("Get-MoveRequest", ResultSize="Unlimited"),
                                        ["Identity", "DisplayName", "Status", "BatchName"]), notes) or []]
    folders = 0
    try:
        result = onprem.run(read(Command.of("Get-PublicFolder", Recurse=True, ResultSize="Unlimited"), ["Identity"]))
        folders = sum(1 for f in _objects(result.output) if str(f.get("Identity") or "\\") != "\\")
    except CommandFailed as exc:
        notes.append(f"Get-PublicFolder on {onprem.name}: {exc.message}")
    enabled = {}
    for side in ("onprem", "online"):
        config = _run(sessions[side], read(Command.of("Get-OrganizationConfig"), ["PublicFoldersEnabled"]), notes) or []
        enabled[side] = str(config[0].get("PublicFoldersEnabled") or "") if config else ""
    dns = None
    if resolver is not None:
        domains = sorted({str(d) for o in objects if o.kind is Kind.HYBRID_CONFIGURATION
                          for d in (o.get("Domains") or [])})
        dns = tuple((d, kind, target) for d in domains for kind, target in resolver(d))
    return Discovery(tuple(objects), tuple(mailboxes.values()), tuple(moves), folders, enabled["onprem"],
                     enabled["online"], dns, onprem_version, tuple(notes))


def step_command(step: RemovalStep) -> Command:
    """The exact cmdlet a removal step sends."""
    return Command(step.cmdlet, tuple(step.parameters))


@dataclasses.dataclass
class TeardownOutcome:
    """What an apply did."""

    run_id: str | None
    results: list[StepResult]
    backup_entries: int = 0
    resumed: bool = False
    verified: list[str] = dataclasses.field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results)


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
    on_step: Callable[[RemovalStep, StepResult], None] | None = None,
) -> TeardownOutcome:
    """Refuse on blockers, back up (verified), then remove in order; see the module docstring."""
    standing = plan.unwaived(set(accepted))
    if standing:
        raise PlanError("refusing to tear the hybrid down while blockers stand: "
                        + "; ".join(f"{b.name}: {b.reason}" for b in standing)
                        + " (fix them, or waive one with --accept-blocker NAME)")
    waived = [b for b in plan.blockers if b.name in set(accepted)]
    outcome = TeardownOutcome(run_id=None, results=[])
    fingerprint = fingerprint_for(profiles)
    steps = [Step(key=s.key, target=s.target.key, command=step_command(s)) for s in plan.steps]
    waiver_steps = [PlannedStep(f"waiver:{b.name}", f"blocker:{b.name}",
                                f"# blocker waived: {b.name}: {b.reason}") for b in waived]
    wanted = {s.key for s in steps} | {w.key for w in waiver_steps}
    resumable = journal.find_resumable(JOURNAL_KIND, fingerprint)
    if resumable is not None:
        journal.resume_run(resumable.run_id)
        recorded = {s.key: s for s in journal.steps(resumable.run_id)}
        superseded = any(k not in recorded or recorded[k].state is StepState.DONE for k in wanted
                         if not k.startswith("waiver:"))
        for record in journal.pending_steps(resumable.run_id):
            if superseded:
                journal.mark_done(resumable.run_id, record.key, "superseded")
            elif record.key not in wanted:  # already gone live: an earlier attempt got through
                journal.mark_done(resumable.run_id, record.key, "verified")
                outcome.verified.append(record.target)
        if superseded or any(w.key not in recorded for w in waiver_steps):
            journal.finish_run(resumable.run_id)
        else:
            outcome.run_id, outcome.resumed = resumable.run_id, True
    if not steps:
        if outcome.run_id:
            journal.finish_run(outcome.run_id)
        return outcome
    try:
        write_backup(backup_dir, [(s.target, step_command(s).render()) for s in plan.steps])
    except OSError as exc:  # before any removal: nothing has been touched
        raise InputError(f"cannot write the backup to {backup_dir}: {exc.strerror or exc}; nothing was removed") \
            from None
    verify_backup(backup_dir, [s.target for s in plan.steps])
    outcome.backup_entries = len(read_backup(backup_dir))
    if outcome.run_id is None:
        outcome.run_id = journal.start_run(JOURNAL_KIND, fingerprint, waiver_steps + planned(steps), argv=argv,
                                           profile=",".join(profiles))
    try:
        for waiver in waiver_steps:
            if journal.step(outcome.run_id, waiver.key).state is not StepState.DONE:
                journal.mark_started(outcome.run_id, waiver.key)
                journal.mark_done(outcome.run_id, waiver.key, "waived")
        outcome.results.extend(run_in_order(
            journal, outcome.run_id,
            ((removal, step, sessions[removal.target.side]) for removal, step in zip(plan.steps, steps)),
            on_step=on_step,
        ))
    finally:
        journal.finish_run(outcome.run_id)
    return outcome
