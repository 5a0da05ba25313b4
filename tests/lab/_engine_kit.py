"""Drive ExchangeEngine directly (no protocol): a collecting sink and a one-call runner."""

from __future__ import annotations

import dataclasses
from typing import Any

from hybridkit.lab._types import CollectingSink, EndpointKind, LabCommand, LabError, LabSession, LabTerminatingError
from hybridkit.lab.exchange import catalogue
from hybridkit.lab.exchange.cmdlets._registry import HANDLERS
from hybridkit.lab.exchange.engine import ExchangeEngine


@dataclasses.dataclass
class Result(CollectingSink):
    """What one pipeline wrote: objects, non-terminating errors, warnings, and the terminating error if any."""

    failed: LabError | None = None

    def names(self, prop: str = "Name") -> list[Any]:
        return [o.get(prop) for o in self.out]


def cmd(name: str, *positional: Any, **params: Any) -> LabCommand:
    """A command: keyword params in order, positional arguments first."""
    return LabCommand(name, [(None, v) for v in positional] + list(params.items()))


def run(engine: ExchangeEngine, session: LabSession, *commands: LabCommand, inputs: list[Any] | None = None) -> Result:
    result = Result()
    try:
        engine.invoke(session, list(commands), list(inputs or []), result)
    except LabTerminatingError as exc:
        result.failed = exc.error
    return result


def onprem() -> LabSession:
    return LabSession(EndpointKind.ONPREM, "CONTOSO\\admin")


def online(engine: ExchangeEngine | None = None) -> LabSession:
    """An online session, already connected when ``engine`` is given."""
    session = LabSession(EndpointKind.ONLINE, "jump\\svc")
    if engine is not None:
        engine.open_session(session)
        app = engine.online_app
        res = run(engine, session, cmd("Connect-ExchangeOnline", AppId=app["app_id"],
                                       CertificateThumbprint=app["certificate_thumbprint"],
                                       Organization=app["organization"]))
        assert res.failed is None, res.failed
    return session


def unemulated_without_mandatory(product: str) -> str:
    """A catalogued cmdlet with no lab handler that binds with no parameters at all."""
    for name in sorted(catalogue.load_catalogue()["cmdlets"]):
        spec = catalogue.lookup(name, product)
        if spec is None or name.lower() in HANDLERS:
            continue
        try:
            catalogue.bind_command(spec, [], False)
        except catalogue.BindingError:
            continue
        return name
    raise AssertionError("every catalogued cmdlet is emulated or needs parameters")
