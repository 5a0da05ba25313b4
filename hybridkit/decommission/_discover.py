"""State from Exchange for decommissioning: what the hybrid left on both sides, what could block its removal,
whether a backed-up object is live, and the on-prem servers' release.

Every read ends in ``Select-Object -Property`` with only the columns it uses: discovery selects the backup's
columns (everything restore sets) plus what the planner reads.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from hybridkit.decommission._backup import backup_columns
from hybridkit.decommission._model import Discovery, HybridObject, Kind, MailboxInfo, MoveInfo
from hybridkit.errors import CommandFailed
from hybridkit.ps import Command, Pipeline, PSObject, PSSession

__all__ = ["Resolver", "discover", "discovery_columns", "exists", "read"]

Resolver = Callable[[str], list[tuple[str, str]]]  # domain -> [("MX"|"Autodiscover", target)]

_MAILBOX_TYPES = ("UserMailbox", "SharedMailbox", "RoomMailbox", "EquipmentMailbox", "LinkedMailbox",
                  "DiscoveryMailbox")
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
    """Read what the hybrid left and what could block its removal, on both sides (a read that fails becomes a
    note, never an error: the plan says what could not be read)."""
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


def exists(session: PSSession, entry: HybridObject) -> bool:
    """Whether a backed-up object is live (one read of its Name only)."""
    return bool(session.run(read(Command.of(f"Get-{entry.kind.value}", Identity=entry.name), ["Name"])).output)


