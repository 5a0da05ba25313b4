"""The session protocol capabilities program against. ``_pypsrp.PypsrpSession`` implements it over pypsrp (WSMan),
``_outofproc.OutOfProcSession`` over a PowerShell process's stdin/stdout (``Connection.process``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from hybridkit.ps._command import Command, Pipeline
from hybridkit.ps._result import ItemOutcome, PSResult

__all__ = ["PSSession"]


class PSSession(Protocol):
    """A connection to one Exchange endpoint (on-prem, or Exchange Online through a jump host).

    Implementations own a bounded set of runspace pools (each driven by one thread at a time), retry transient
    faults on a fresh pool, and never raise for a non-terminating error: those come back in ``PSResult.errors``
    or as per-item outcomes.
    """

    @property
    def name(self) -> str:
        """The profile name this session was opened for (e.g. ``onprem``, ``online``)."""

    @property
    def request_count(self) -> int:
        """Requests sent so far on this session: WSMan requests, or out-of-process packets (each waits for its ack)."""

    def run(self, command: Command | Pipeline, input_items: Sequence[Any] | None = None) -> PSResult:
        """Run one pipeline (retrying transient faults). Raises ``CommandFailed`` on a terminating error."""

    def run_items(
        self,
        command: Command | Pipeline,
        items: Sequence[Any],
        *,
        chunk_size: int = 500,
        key: Callable[[Any], str] | None = None,
        on_progress: Callable[[int], None] | None = None,
    ) -> list[ItemOutcome]:
        """Stream ``items`` as pipeline input in chunks, a bounded number of chunks at once.

        Returns one outcome per item, in input order: failed when an error record names it (by TargetObject, or
        the identity quoted in Exchange's message), ok otherwise, with the output objects matched to it by ``key``
        (a function from an output object to the item's identity) or, without one, by the object's identity
        properties (Identity, Alias, PrimarySmtpAddress, UserPrincipalName, Name, Guid, ...). ``on_progress`` gets the number of
        items finished by each chunk.
        """

    def cancel(self) -> None:
        """Stop every running pipeline at its next Receive and refuse new ones (the user interrupted).

        Threads running this session's pipelines get ``KeyboardInterrupt``. Callers that may hold a session
        without it (test fakes) call it through ``getattr(session, "cancel", None)``.
        """

    def close(self) -> None:
        """Close every runspace pool."""
