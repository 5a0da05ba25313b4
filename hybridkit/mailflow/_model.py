"""Values of the mail-flow capability: declared objects, observed objects, and the plan between them.

Pure data (frozen dataclasses); no I/O, no bridge types. A ``Change`` carries the cmdlet and its parameters as
plain tuples; ``_apply`` turns them into ``hybridkit.ps.Command`` values.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import json
from collections.abc import Mapping
from typing import Any

from hybridkit.outcomes import Outcome
from hybridkit.sides import Side

__all__ = [
    "Action",
    "Change",
    "ChangeOutcome",
    "DesiredObject",
    "Gate",
    "Kind",
    "MailflowSpec",
    "ObservedObject",
    "Plan",
    "PropertyChange",
    "Side",
]


class Kind(str, enum.Enum):
    """The kinds of object a mailflow.toml declares, in dependency (apply) order.

    On-prem accepted domains come first (InternalRelay must exist before mail for those domains is relayed), then
    the Exchange Online inbound connector (EXO must trust the on-prem server before it sends), then the on-prem
    send connector that starts sending, then the optional Exchange Online outbound connector.
    """

    ACCEPTED_DOMAIN = "AcceptedDomain"
    INBOUND_CONNECTOR = "InboundConnector"
    SEND_CONNECTOR = "SendConnector"
    OUTBOUND_CONNECTOR = "OutboundConnector"

    @property
    def side(self) -> Side:
        return Side.ONPREM if self in (Kind.ACCEPTED_DOMAIN, Kind.SEND_CONNECTOR) else Side.ONLINE

    @property
    def table(self) -> str:
        """The TOML array-of-tables that declares this kind (``online.inbound_connector``)."""
        return {
            Kind.ACCEPTED_DOMAIN: "onprem.accepted_domain",
            Kind.INBOUND_CONNECTOR: "online.inbound_connector",
            Kind.SEND_CONNECTOR: "onprem.send_connector",
            Kind.OUTBOUND_CONNECTOR: "online.outbound_connector",
        }[self]

    @property
    def order(self) -> int:
        return list(Kind).index(self)


@dataclasses.dataclass(frozen=True)
class DesiredObject:
    """One object as declared: Exchange parameter names to values, and the file line that declared it."""

    kind: Kind
    name: str
    properties: tuple[tuple[str, Any], ...]
    line: int = 0

    @property
    def match_key(self) -> str:
        """What identifies the object live: the DomainName for accepted domains, the Name otherwise."""
        if self.kind is Kind.ACCEPTED_DOMAIN:
            return str(self.get("DomainName", self.name)).lower()
        return self.name.lower()

    def get(self, prop: str, default: Any = None) -> Any:
        for key, value in self.properties:
            if key == prop:
                return value
        return default

    def as_dict(self) -> dict[str, Any]:
        return dict(self.properties)


@dataclasses.dataclass(frozen=True)
class Gate:
    """A declared parameter that on-prem Exchange has only from release ``since`` on, at ``line`` of the file."""

    line: int
    kind: Kind
    key: str
    since: str


@dataclasses.dataclass(frozen=True)
class MailflowSpec:
    """Everything a mailflow.toml declares, validated.

    ``onprem_version`` is the release it was checked against; ``declared_version`` the file's own
    ``exchange_version`` (None when it names none); ``gates`` the declarations that depend on the release.
    """

    objects: tuple[DesiredObject, ...]
    source: str = ""
    onprem_version: str | None = None
    declared_version: str | None = None
    gates: tuple[Gate, ...] = ()

    def of_kind(self, kind: Kind) -> list[DesiredObject]:
        return [o for o in self.objects if o.kind is kind]


@dataclasses.dataclass(frozen=True)
class ObservedObject:
    """One object as read from Exchange (properties by Exchange name)."""

    kind: Kind
    name: str
    properties: tuple[tuple[str, Any], ...]

    @classmethod
    def of(cls, kind: Kind, props: Mapping[str, Any]) -> ObservedObject:
        return cls(kind, str(props.get("Name", "")), tuple(props.items()))

    @property
    def match_key(self) -> str:
        if self.kind is Kind.ACCEPTED_DOMAIN:
            return str(self.get("DomainName", self.name)).lower()
        return self.name.lower()

    def get(self, prop: str, default: Any = None) -> Any:
        lowered = prop.lower()
        for key, value in self.properties:
            if key.lower() == lowered:
                return value
        return default


class Action(str, enum.Enum):
    CREATE = "create"
    UPDATE = "update"
    UNCHANGED = "unchanged"
    UNDECLARED = "present, not declared"


@dataclasses.dataclass(frozen=True)
class PropertyChange:
    """One property that differs: its live value and the wanted one."""

    name: str
    live: Any
    wanted: Any


@dataclasses.dataclass(frozen=True)
class Change:
    """What the plan proposes for one object; ``cmdlet``/``parameters`` are empty for unchanged/undeclared."""

    action: Action
    kind: Kind
    name: str
    properties: tuple[PropertyChange, ...] = ()
    cmdlet: str = ""
    parameters: tuple[tuple[str, Any], ...] = ()
    line: int = 0

    @property
    def side(self) -> Side:
        return self.kind.side

    @property
    def actionable(self) -> bool:
        return self.action in (Action.CREATE, Action.UPDATE)

    @property
    def key(self) -> str:
        """A stable key for the journal: the same change planned twice has the same key."""
        payload = json.dumps([self.action.value, self.kind.value, self.name.lower(), self.cmdlet,
                              [[k, v] for k, v in self.parameters]], default=str, sort_keys=True)
        return f"{self.kind.value}:{self.name}:{hashlib.sha256(payload.encode()).hexdigest()[:16]}"

    def to_json(self) -> dict[str, Any]:
        return {
            "action": self.action.value,
            "side": self.side.value,
            "kind": self.kind.value,
            "name": self.name,
            "line": self.line,
            "changes": [{"property": p.name, "live": p.live, "wanted": p.wanted} for p in self.properties],
        }


@dataclasses.dataclass(frozen=True)
class Plan:
    """The ordered changes, plus a fingerprint of the observed state they were planned against."""

    changes: tuple[Change, ...]
    fingerprint: str

    @property
    def has_changes(self) -> bool:
        return any(c.actionable for c in self.changes)

    @property
    def actionable(self) -> list[Change]:
        return [c for c in self.changes if c.actionable]

    def counts(self) -> dict[str, int]:
        out = {a.value: 0 for a in Action}
        for change in self.changes:
            out[change.action.value] += 1
        return out


@dataclasses.dataclass(frozen=True)
class ChangeOutcome:
    """What ``apply`` did with one object of the plan.

    ``outcome`` is ``created``/``updated`` (sent now, or found done by an interrupted run's attempt),
    ``unchanged``, ``failed`` (Exchange's message in ``detail``) or ``not-run`` (an earlier step failed: later
    ones depend on it). ``detail`` is None when the plan's own reason says it (absent live, what differs).
    """

    change: Change
    outcome: Outcome
    detail: str | None = None

    @property
    def failed(self) -> bool:
        """Whether the object did not end as declared (the command exits 1)."""
        return self.outcome in (Outcome.FAILED, Outcome.NOT_RUN)
