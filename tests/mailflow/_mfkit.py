"""Drive the lab's mail-flow/hybrid handlers directly, with real catalogue binding but no protocol."""

from __future__ import annotations

import datetime as dt
from typing import Any

from hybridkit.lab.exchange import catalogue
from hybridkit.lab._types import CollectingSink, EndpointKind, LabSession, LabTerminatingError
from hybridkit.lab.exchange.cmdlets import connectors  # noqa: F401  (registers handlers)
from hybridkit.lab.exchange.cmdlets._registry import HANDLERS, CmdletContext
from hybridkit.lab.exchange.org import Org, Side, VirtualClock

T0 = dt.datetime(2026, 11, 28, 1, 0, tzinfo=dt.timezone.utc)


FakeSink = CollectingSink


def make_org(version: str = "2019") -> Org:
    onprem = Side("onprem", settings={"domain": "contoso.com", "server": "EX01"})
    online = Side("online", settings={"tenant": "contoso"})
    return Org(onprem, online, VirtualClock(T0, scale=0.0), version=version)


def run(org: Org, side: str, name: str, **params: Any) -> FakeSink:
    """Bind ``params`` against the catalogue for the side's product (BindingError propagates), run the handler."""
    online = side == "online"
    product = catalogue.product_for(online, org.version)
    spec = catalogue.lookup(name, product)
    if spec is None:
        raise LookupError(f"{name} does not exist on {product}")
    bound = catalogue.bind_command(spec, list(params.items()), expects_input=False)
    sink = FakeSink()
    session = LabSession(EndpointKind.ONLINE if online else EndpointKind.ONPREM, "admin")
    ctx = CmdletContext(spec.name, dict(bound.params), None, org, org.side(side), session, product, sink, {})
    try:
        HANDLERS[spec.name.lower()](ctx)
    except LabTerminatingError as exc:
        sink.errors.append(exc.error)
    return sink


class InProcessSession:
    """A ``PSSession`` that runs commands and pipelines (``Get-X | Select-Object ...``) through the lab's engine
    (catalogue binding, Select-Object, the handlers), in process.

    ``fail`` maps a lower-cased cmdlet name to an error message: that cmdlet then fails with a terminating error
    (a seeded failure), as a broken endpoint would. ``sent`` keeps every command or pipeline run.
    """

    def __init__(self, org: Org, side: str, name: str | None = None) -> None:
        from hybridkit.lab.exchange.engine import ExchangeEngine

        self.org = org
        self.side = side
        self._name = name or side
        self.sent: list[Any] = []
        self.fail: dict[str, str] = {}
        self._engine = ExchangeEngine(org)
        self._session = LabSession(EndpointKind.ONLINE if side == "online" else EndpointKind.ONPREM, "admin")
        self._session.data["exo_connected"] = True

    @property
    def name(self) -> str:
        return self._name

    @property
    def request_count(self) -> int:
        return len(self.sent)

    def run(self, command: Any, input_items: Any = None) -> Any:
        from hybridkit.errors import CommandFailed
        from hybridkit.lab._types import LabCommand
        from hybridkit.ps import Pipeline, PSError, PSObject, PSResult

        self.sent.append(command)
        commands = list(command.commands) if isinstance(command, Pipeline) else [command]
        for one in commands:
            if one.cmdlet.lower() in self.fail:
                raise CommandFailed(self.fail[one.cmdlet.lower()], command=one.cmdlet)
        lab_commands = [LabCommand(c.cmdlet, [(k, v.present if hasattr(v, "present") else v)
                                              for k, v in c.parameters]) for c in commands]
        sink = FakeSink()
        try:
            self._engine.invoke(self._session, lab_commands, list(input_items or []), sink)
        except LabTerminatingError as exc:
            raise CommandFailed(exc.error.message, command=commands[0].cmdlet) from None
        return PSResult(
            output=[PSObject(o.type_names, dict(o.properties), o.to_string) if hasattr(o, "properties") else o
                    for o in sink.out],
            errors=[PSError(e.message, e.fully_qualified_error_id, e.category, e.reason or "", e.target,
                            e.exception_type) for e in sink.errors],
            warnings=list(sink.warnings),
        )

    def run_items(self, command: Any, items: Any, **kwargs: Any) -> Any:
        raise NotImplementedError

    def close(self) -> None:
        pass
