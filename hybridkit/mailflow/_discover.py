"""State from Exchange for mail flow: the four managed kinds on both sides, and the on-prem servers' release.

Every read ends in ``Select-Object -Property`` with only what the planner compares (``_plan.columns``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hybridkit.errors import CommandFailed
from hybridkit.mailflow._model import Kind, MailflowSpec, ObservedObject, Side
from hybridkit.mailflow._plan import columns
from hybridkit.sides import live_release
from hybridkit.ps import Command, Pipeline, PSObject, PSSession

__all__ = ["live_onprem_version", "read_observed"]

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
    selecting only the properties the plan compares (``_plan.columns``).

    Raises:
        CommandFailed: a read failed (Exchange's message).
    """
    observed: list[ObservedObject] = []
    wanted = columns(spec)
    for kind in Kind:
        command = Pipeline.of(Command.of(_GETTERS[kind]), Command.of("Select-Object", Property=wanted[kind]))
        result = sessions[kind.side].run(command)
        if result.errors:
            raise CommandFailed(result.errors[0].message, command=_GETTERS[kind])
        observed.extend(ObservedObject.of(kind, _props(o)) for o in result.output)
    return observed


def live_onprem_version(session: PSSession) -> str | None:
    """The newest Exchange release among the on-prem servers, or None if unknown (the one rule: ``sides.live_release``)."""
    return live_release(session)
