"""How the lab's cmdlet handlers are declared and what they receive.

A handler is a function decorated with ``@cmdlet("Verb-Noun")`` in a module of ``hybridkit.lab.exchange.cmdlets``. The
engine has already checked the cmdlet and its parameters against Microsoft's catalogue (existence on this
product, names and aliases, parameter sets, mandatory parameters, enum values, pipeline binding) before the
handler runs. PowerShell's process block is modelled directly: the handler is called once per pipeline input
item (``ctx.input`` holds it and the parameter it bound to is already in ``ctx.params``), or once with
``ctx.input is None`` when the command has no input.

A handler writes results through the context, never returns them:

    @cmdlet("Get-AcceptedDomain")
    def get_accepted_domain(ctx: CmdletContext) -> None:
        for domain in ctx.side.collection("AcceptedDomain").values():
            ctx.output(accepted_domain_object(domain))

Per-item failures are ``ctx.error(...)`` (non-terminating; the pipeline goes on); ``raise ctx.terminate(...)``
fails the whole pipeline.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from hybridkit.lab._types import LabError, LabObject, LabSession, LabTerminatingError, PipelineSink

if TYPE_CHECKING:
    from hybridkit.lab.exchange.org import Org, Side

__all__ = ["CmdletContext", "HANDLERS", "Handler", "cmdlet"]

Handler = Callable[["CmdletContext"], None]

# Lower-cased cmdlet name -> handler. Filled by importing the modules of hybridkit.lab.exchange.cmdlets.
HANDLERS: dict[str, Handler] = {}


def cmdlet(name: str) -> Callable[[Handler], Handler]:
    """Register ``func`` as the lab's implementation of cmdlet ``name``."""

    def register(func: Handler) -> Handler:
        key = name.lower()
        if key in HANDLERS and HANDLERS[key] is not func:
            raise RuntimeError(f"cmdlet {name} registered twice")
        HANDLERS[key] = func
        return func

    return register


@dataclasses.dataclass
class CmdletContext:
    """Everything a handler may use.

    Attributes:
        name: the cmdlet's canonical name (``Get-Mailbox``).
        params: bound parameters by canonical catalogue name (``Identity``, ``ResultSize``...), including the one
            bound from pipeline input; switches are True/False.
        input: the current pipeline input item, or None.
        org: the whole lab organisation (both sides), for cmdlets that reach across (e.g. move completion).
        side: the side this endpoint emulates (``org.onprem`` or ``org.online``).
        session: per-runspace state (``session.data`` is free for handlers, e.g. EXO connection state).
        product: the emulated product name as the catalogue spells it (``Exchange Server 2019``, ``Exchange Online``).
        server: the emulated server name used in messages (``EX01`` / domain controller ``DC01.contoso.local``).
    """

    name: str
    params: dict[str, Any]
    input: Any
    org: Org
    side: Side
    session: LabSession
    product: str
    sink: PipelineSink
    state: dict[str, Any] = dataclasses.field(default_factory=dict)  # lives for one command of one pipeline

    def output(self, obj: LabObject | Any) -> None:
        self.sink.output(obj)

    def error(self, err: LabError) -> None:
        self.sink.error(err)

    def warning(self, text: str) -> None:
        self.sink.warning(text)

    def now(self) -> dt.datetime:
        """The lab's virtual clock (aware, UTC)."""
        return self.org.clock.now()

    def at_end(self, block: Callable[[], None]) -> None:
        """Run ``block`` once after the last input item (PowerShell's end block), e.g. Select-Object -Last."""
        self.state["end"] = block

    def has(self, param: str) -> bool:
        """Whether ``param`` was given (bound explicitly or from the pipeline)."""
        return param in self.params

    def terminate(self, err: LabError) -> LabTerminatingError:
        """A terminating error to ``raise``: the whole pipeline fails with it."""
        return LabTerminatingError(err)

    @property
    def is_online(self) -> bool:
        return self.product == "Exchange Online"
