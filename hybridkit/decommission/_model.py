"""Values of hybrid decommissioning: what the hybrid left, what blocks removal, the ordered steps. Pure data."""

from __future__ import annotations

import dataclasses
import enum
from typing import Any

from hybridkit.outcomes import Outcome
from hybridkit.sides import Side

__all__ = [
    "Blocker",
    "DecommissionPlan",
    "Discovery",
    "HybridObject",
    "Kind",
    "MailboxInfo",
    "ManualStep",
    "MoveInfo",
    "Notice",
    "RemovalOutcome",
    "RemovalStep",
    "RestoreAction",
    "RestoreResult",
]


class Kind(str, enum.Enum):
    """The kinds of object the Hybrid Configuration Wizard leaves, with the cmdlet noun of each."""

    INBOUND_CONNECTOR = "InboundConnector"
    OUTBOUND_CONNECTOR = "OutboundConnector"
    ORGANIZATION_RELATIONSHIP = "OrganizationRelationship"
    INTRA_ORGANIZATION_CONNECTOR = "IntraOrganizationConnector"
    SEND_CONNECTOR = "SendConnector"
    RECEIVE_CONNECTOR = "ReceiveConnector"
    HYBRID_CONFIGURATION = "HybridConfiguration"

    @property
    def restorable(self) -> bool:
        """Whether ``restore`` can recreate it from a backup (the hybrid configuration needs the HCW)."""
        return self not in (Kind.RECEIVE_CONNECTOR, Kind.HYBRID_CONFIGURATION)


@dataclasses.dataclass(frozen=True)
class HybridObject:
    """One discovered object: side, kind, name and every property as read."""

    side: Side
    kind: Kind
    name: str
    properties: tuple[tuple[str, Any], ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.side, Side):  # from the backup's JSON or a caller's plain string
            object.__setattr__(self, "side", Side(self.side))

    @property
    def key(self) -> str:
        return f"{self.side}:{self.kind.value}:{self.name}"

    def get(self, prop: str, default: Any = None) -> Any:
        lowered = prop.lower()
        for key, value in self.properties:
            if key.lower() == lowered:
                return value
        return default

    def as_dict(self) -> dict[str, Any]:
        return dict(self.properties)


@dataclasses.dataclass(frozen=True)
class MailboxInfo:
    """An on-prem mailbox as far as blockers care."""

    name: str
    recipient_type: str
    address: str = ""


@dataclasses.dataclass(frozen=True)
class MoveInfo:
    """A move request and its status."""

    identity: str
    status: str
    batch: str = ""


@dataclasses.dataclass(frozen=True)
class Discovery:
    """Everything read from both sides that the planner needs."""

    objects: tuple[HybridObject, ...]
    mailboxes: tuple[MailboxInfo, ...] = ()
    moves: tuple[MoveInfo, ...] = ()
    onprem_public_folders: int = 0  # folders below the root, on-prem
    onprem_public_folders_enabled: str = ""  # Get-OrganizationConfig PublicFoldersEnabled, on-prem
    online_public_folders_enabled: str = ""  # ... in Exchange Online ("Remote" = served from on-prem)
    dns: tuple[tuple[str, str, str], ...] | None = None  # (domain, "MX"|"Autodiscover", target); None: not checked
    onprem_version: str = "2019"
    notes: tuple[str, ...] = ()  # what could not be read, and why


@dataclasses.dataclass(frozen=True)
class Blocker:
    """Something that makes tearing the hybrid down unsafe now; ``name`` is what ``--accept-blocker`` takes."""

    name: str
    reason: str
    details: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class Notice:
    """A warning with the reason for it."""

    code: str
    message: str
    reason: str


@dataclasses.dataclass(frozen=True)
class RemovalStep:
    """One removal, as the exact cmdlet and parameters, on one side."""

    order: int
    target: HybridObject
    cmdlet: str
    parameters: tuple[tuple[str, Any], ...]
    why: str

    @property
    def key(self) -> str:
        return f"remove:{self.target.key}".lower()


@dataclasses.dataclass(frozen=True)
class ManualStep:
    """A step left to a person (with the PowerShell for it where there is one)."""

    text: str
    command: str = ""
    side: Side = Side.ONPREM
    before: bool = False  # done before the removals (Microsoft's order: DNS and the SCPs first)


@dataclasses.dataclass(frozen=True)
class DecommissionPlan:
    """The whole teardown: discovered objects, blockers, warnings, ordered removals and the manual checklist."""

    objects: tuple[HybridObject, ...]
    blockers: tuple[Blocker, ...]
    notices: tuple[Notice, ...]
    steps: tuple[RemovalStep, ...]
    manual: tuple[ManualStep, ...]
    system_mailboxes: tuple[MailboxInfo, ...] = ()

    def unwaived(self, accepted: set[str] | frozenset[str]) -> list[Blocker]:
        return [b for b in self.blockers if b.name not in accepted]


@dataclasses.dataclass(frozen=True)
class RemovalOutcome:
    """What ``apply`` did with one removal: ``removed`` (now, by an earlier attempt, or by an earlier run of this
    teardown), ``failed`` (Exchange's message in ``detail``) or ``not-run`` (an earlier removal failed)."""

    step: RemovalStep
    outcome: Outcome
    detail: str

    @property
    def failed(self) -> bool:
        """Whether the object is still there when it should be gone (the command exits 1)."""
        return self.outcome in (Outcome.FAILED, Outcome.NOT_RUN)


class RestoreAction(str, enum.Enum):
    """What restore does with a backed-up object."""

    CREATE = "create"
    NONE = "none"


@dataclasses.dataclass(frozen=True)
class RestoreResult:
    """One backed-up object: what restore does with it (``action``) and what happened (``outcome``).

    ``outcome`` is ``created``, ``unchanged`` (it exists live), ``skipped`` (not restorable from a backup: not a
    failure, the detail says what to do), ``failed``, ``not-run`` (an earlier step failed), or None under
    ``--what-if``. ``commands`` are the New-/Set- lines that recreate it.
    """

    target: HybridObject
    action: RestoreAction
    outcome: Outcome | None
    commands: tuple[str, ...] = ()
    detail: str = ""

    @property
    def failed(self) -> bool:
        """Whether the object should be back and is not (the command exits 1)."""
        return self.outcome in (Outcome.FAILED, Outcome.NOT_RUN)
