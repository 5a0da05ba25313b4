"""Drive the lab's mail-flow/hybrid handlers directly, with real catalogue binding but no protocol."""

from __future__ import annotations

import datetime as dt
from typing import Any

from hybridkit.lab._types import CollectingSink, EndpointKind, LabSession, LabTerminatingError
from hybridkit.lab.exchange import catalogue
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
