"""The seam between the lab's protocol side (``transport/``) and its Exchange emulation (``exchange/``).

Neither side imports the other; both import this module (``tests/lab/test_lab_layers.py`` checks it), and
``hybridkit.lab.server`` joins them. It holds the ``Engine`` protocol and the values that cross it.

The protocol side (``transport/``: ``_wsman``, ``_shells``, ``_psrp``) speaks WSMan/PSRP and knows nothing of
Exchange. It turns each PSRP pipeline into a list of ``LabCommand`` plus the pipeline's input items (converted to
plain Python: str, int, bool, float, None, datetime, uuid.UUID, bytes, list, dict for hashtables, ``LabObject``
for complex objects, ``LabSecureString`` for secure strings, ``LabScriptBlock`` for script blocks) and calls
``Engine.invoke`` with a ``PipelineSink``.

The emulation side (``exchange/``: ``engine``, ``catalogue``, ``org``, ``cmdlets/``) binds parameters against
Microsoft's cmdlet catalogue, runs the cmdlet handlers over the organisation state and writes results to the sink:
``LabObject`` for Exchange-shaped objects, ``LabError`` for non-terminating error records, ``warning`` text.
A terminating error is raised as ``LabTerminatingError``; the protocol side then fails the pipeline with it.

``LabObject`` lives here rather than in ``exchange/``: it is how a PowerShell object crosses the seam in both
directions (objects a client sends arrive as ``LabObject``; the protocol side serializes the ones the engine
writes), so the protocol side must know it without importing the emulation. What makes an object Exchange's
(type names, property sets, kinds) is ``exchange/shapes.py`` and ``exchange/objects.py``.

Nothing in this module does I/O.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import MutableMapping
from typing import Any, Protocol

__all__ = [
    "EXO_BUDGET_REFUSAL",
    "CollectingSink",
    "Engine",
    "EndpointKind",
    "LabCommand",
    "LabError",
    "LabObject",
    "LabScriptBlock",
    "LabSecureString",
    "LabSession",
    "LabTerminatingError",
    "PipelineSink",
]


# Set in ``LabSession.data`` by the protocol side when its throttle fault hits the creation of an Exchange Online
# jump-host runspace: Exchange Online's refusal text, which that runspace's first Connect-ExchangeOnline fails with.
EXO_BUDGET_REFUSAL = "exo_budget_refusal"


class EndpointKind(enum.Enum):
    """Which real-world endpoint a runspace pool was opened on."""

    ONPREM = "onprem"  # http(s)://server/PowerShell, configuration Microsoft.Exchange, NoLanguage
    ONLINE = "online"  # a Windows jump host: /wsman, configuration Microsoft.PowerShell, Connect-ExchangeOnline


@dataclasses.dataclass(frozen=True)
class LabSecureString:
    """A SecureString received from the client, already decrypted with the session key."""

    value: str

    def __repr__(self) -> str:
        return "LabSecureString(****)"


@dataclasses.dataclass(frozen=True)
class LabScriptBlock:
    """A ScriptBlock received from the client (its text). No-language endpoints refuse to use one."""

    text: str


@dataclasses.dataclass
class LabCommand:
    """One command of a received pipeline.

    ``parameters`` keeps the order the client sent; a ``None`` name is a positional argument. A switch sent by
    ``add_parameter("Name")`` arrives as ``("Name", True)``; ``-Name:$false`` as ``("Name", False)``.
    ``is_script`` is True when the client used ``add_script`` (the on-prem endpoint refuses it).
    """

    name: str
    parameters: list[tuple[str | None, Any]] = dataclasses.field(default_factory=list)
    is_script: bool = False


@dataclasses.dataclass
class LabObject:
    """An object as Exchange emits it: .NET type names (most derived first) and ordered properties.

    Property values are plain Python values as listed in the module docstring, lists for multi-valued
    properties, or nested ``LabObject``. ``properties`` is any mutable mapping: a dict, or for Exchange's full
    objects a ``hybridkit.lab.exchange.shapes.ShapedProperties`` that computes each value when it is first read.
    ``to_string`` is what ``ToString()`` gives (Exchange: usually the Identity or Name).
    """

    type_names: list[str]
    properties: MutableMapping[str, Any]
    to_string: str | None = None

    def get(self, name: str, default: Any = None) -> Any:
        """A property by case-insensitive name, as PowerShell resolves it (reads only that property)."""
        props = self.properties
        if name in props:
            return props[name]
        lowered = name.lower()
        for key in props:
            if key.lower() == lowered:
                return props[key]
        return default


@dataclasses.dataclass
class LabError:
    """A non-terminating (or, raised inside ``LabTerminatingError``, terminating) PowerShell ErrorRecord.

    Fields map to ErrorRecord: ``exception_type`` is the .NET exception type name (e.g.
    ``Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException``), ``fully_qualified_error_id`` is
    ``FullyQualifiedErrorId`` (Exchange writes e.g. ``[Server=EX01,RequestId=...,TimeStamp=...] [FailureCategory=
    Cmdlet-ManagementObjectNotFoundException] 6A8B4D2F,Microsoft.Exchange.Management.RecipientTasks.SetMailbox``),
    ``category`` an ``ErrorCategory`` name (ObjectNotFound, InvalidArgument, NotSpecified, ...), ``reason`` the
    CategoryInfo reason (usually the short exception type name), ``target`` the TargetObject (the identity the
    error is about, so a client can tell which input item failed).
    """

    message: str
    exception_type: str = "System.Management.Automation.RuntimeException"
    fully_qualified_error_id: str = "NotSpecified"
    category: str = "NotSpecified"
    reason: str | None = None
    target: Any = None
    activity: str | None = None


class LabTerminatingError(Exception):
    """Raised by the engine to fail the whole pipeline with ``error`` (PowerShell's terminating error)."""

    def __init__(self, error: LabError) -> None:
        super().__init__(error.message)
        self.error = error


class PipelineSink(Protocol):
    """Where a running pipeline writes its streams. Implemented by the protocol side."""

    def output(self, obj: Any) -> None:
        """Write one object to the output stream."""

    def error(self, err: LabError) -> None:
        """Write one non-terminating error record."""

    def warning(self, text: str) -> None:
        """Write one warning record."""


@dataclasses.dataclass
class CollectingSink:
    """A ``PipelineSink`` that keeps everything written to it (for running the engine in-process, and tests)."""

    out: list[Any] = dataclasses.field(default_factory=list)
    errors: list[LabError] = dataclasses.field(default_factory=list)
    warnings: list[str] = dataclasses.field(default_factory=list)

    def output(self, obj: Any) -> None:
        self.out.append(obj)

    def error(self, err: LabError) -> None:
        self.errors.append(err)

    def warning(self, text: str) -> None:
        self.warnings.append(text)


@dataclasses.dataclass
class LabSession:
    """Per-runspace-pool state the engine keeps (one per WSMan shell).

    ``endpoint`` and ``user`` come from the protocol side; ``data`` belongs to the engine (for example whether
    ``Connect-ExchangeOnline`` succeeded in this runspace), except the key ``EXO_BUDGET_REFUSAL``, which the
    protocol side sets before the pool opens.
    """

    endpoint: EndpointKind
    user: str
    shell_id: str = ""
    data: dict[str, Any] = dataclasses.field(default_factory=dict)


class Engine(Protocol):
    """The Exchange emulation as the protocol side sees it.

    Implemented by ``hybridkit.lab.exchange.engine.ExchangeEngine``.
    """

    def open_session(self, session: LabSession) -> None:
        """Called once when a runspace pool opens."""

    def close_session(self, session: LabSession) -> None:
        """Called once when the shell is deleted or dropped."""

    def invoke(self, session: LabSession, commands: list[LabCommand], input_items: list[Any], sink: PipelineSink) -> None:
        """Run one pipeline to completion; raise ``LabTerminatingError`` to fail it."""
