"""List, per object type the lab returns, which properties the lab lacks (or has too many, or sends another kind).

    python -m tests.lab.shape_gaps            # a table; exit 1 when any type has a gap

Every cmdlet the lab serves is run against the demo org (both endpoints; a migration batch is created and started
so move requests exist), each object is serialised the way the lab sends it, and its shape is compared with the
real one: the vendored CSS-Exchange capture where there is one, else the type's full property set in
``hybridkit/lab/data/object-shapes.json`` (sources in FIDELITY.md, "Object shapes"). The answer should be "none".
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Iterator

from hybridkit.lab._types import CollectingSink, EndpointKind, LabCommand, LabObject, LabSession
from hybridkit.lab.exchange.cmdlets._registry import HANDLERS
from hybridkit.lab.exchange.cmdlets.migration import DEFAULT_ENDPOINT
from hybridkit.lab.exchange.engine import ExchangeEngine
from hybridkit.lab.exchange.objects import mailbox_server_object
from hybridkit.lab.exchange.shapes import ShapedProperties, shape
from tests.lab._captures import WireShape, capture_shape, kind_problems, lab_wire_shape

# Shape key -> the vendored captures of its type.
CAPTURED = {
    "ExchangeServer": ("E19-GetExchangeServer.xml",),
    "AcceptedDomain": ("E19-GetAcceptedDomain.xml",),
    "OrganizationConfig": ("E19-GetOrganizationConfig.xml",),
    "HybridConfiguration": ("E19-GetHybridConfiguration.xml",),
    "MailboxServer": ("E19-GetMailboxServer.xml",),
    "ReceiveConnector": ("E19-GetReceiveConnector.xml",),
    "SendConnector": ("GetSendConnector.xml", "GetSendConnectorConfiguredToRelayToM365.xml"),
}


@dataclasses.dataclass
class Served:
    """One object the lab returned: which cmdlet on which endpoint, and the object."""

    cmdlet: str
    endpoint: EndpointKind
    obj: LabObject

    @property
    def key(self) -> str:
        props = self.obj.properties
        return props.shape.key if isinstance(props, ShapedProperties) else "(no shape)"


def _run(engine: ExchangeEngine, session: LabSession, name: str, **params: object) -> list[object]:
    sink = CollectingSink()
    engine.invoke(session, [LabCommand(name, list(params.items()))], [], sink)
    assert not sink.errors, (name, sink.errors[0].message)
    return sink.out


def _sessions(engine: ExchangeEngine) -> tuple[LabSession, LabSession]:
    onprem = LabSession(EndpointKind.ONPREM, "CONTOSO\\admin")
    online = LabSession(EndpointKind.ONLINE, "jump\\svc")
    engine.open_session(online)
    app = engine.online_app
    _run(engine, online, "Connect-ExchangeOnline", AppId=app["app_id"],
         CertificateThumbprint=app["certificate_thumbprint"], Organization=app["organization"])
    return onprem, online


def served_objects(engine: ExchangeEngine | None = None) -> Iterator[Served]:
    """One object per (cmdlet, endpoint, type) the lab serves, from the demo org."""
    engine = engine or ExchangeEngine.create("demo", time_scale=0.0, raise_internal_errors=True)
    onprem, online = _sessions(engine)
    mailbox = next(r for r in engine.org.onprem.recipients.values() if r["RecipientTypeDetails"] == "UserMailbox")
    address = str(mailbox["PrimarySmtpAddress"])
    cloud = next(r for r in engine.org.online.recipients.values() if r["RecipientTypeDetails"] == "UserMailbox")
    engine.org.onprem.collection("PublicFolder").setdefault("\\", {"Name": "IPM_SUBTREE"})
    users = sorted(str(r["PrimarySmtpAddress"]) for r in engine.org.onprem.recipients.values()
                   if r["RecipientTypeDetails"] == "UserMailbox")[:2]
    csv = ("EmailAddress\r\n" + "\r\n".join(users) + "\r\n").encode()
    _run(engine, online, "New-MigrationBatch", Name="ShapeCheck", SourceEndpoint=DEFAULT_ENDPOINT,
         TargetDeliveryDomain="contoso.mail.onmicrosoft.com", CSVData=csv, AutoStart=True)
    engine.org.clock.advance(600)
    reads: list[tuple[LabSession, str, dict[str, object]]] = [
        (onprem, "Get-Mailbox", {"Identity": address}),
        (online, "Get-Mailbox", {"Identity": str(cloud["PrimarySmtpAddress"])}),
        (onprem, "Get-Recipient", {"Identity": address}),
        (online, "Get-Recipient", {"Identity": str(cloud["PrimarySmtpAddress"])}),
        (onprem, "Get-User", {"Identity": address}),
        (online, "Get-MailUser", {"ResultSize": 1}),
        (onprem, "Get-RemoteMailbox", {"ResultSize": 1}),
        (onprem, "Get-ExchangeServer", {}),
        (onprem, "Get-MailboxDatabase", {"Status": True}),
        (onprem, "Get-AcceptedDomain", {}),
        (online, "Get-AcceptedDomain", {}),
        (onprem, "Get-OrganizationConfig", {}),
        (online, "Get-OrganizationConfig", {}),
        (onprem, "Get-SendConnector", {}),
        (onprem, "Get-ReceiveConnector", {}),
        (onprem, "Get-HybridConfiguration", {}),
        (online, "Get-InboundConnector", {}),
        (online, "Get-OutboundConnector", {}),
        (onprem, "Get-OrganizationRelationship", {}),
        (online, "Get-OrganizationRelationship", {}),
        (onprem, "Get-IntraOrganizationConnector", {}),
        (online, "Get-IntraOrganizationConnector", {}),
        (onprem, "Get-MailboxStatistics", {"Identity": address}),
        (onprem, "Get-MailboxPermission", {"Identity": address}),
        (onprem, "Get-ADPermission", {"Identity": address}),
        (online, "Get-RecipientPermission", {"Identity": str(cloud["PrimarySmtpAddress"])}),
        (onprem, "Get-MailboxFolderStatistics", {"Identity": address, "FolderScope": "Calendar"}),
        (onprem, "Get-MailboxFolderPermission", {"Identity": f"{address}:\\{mailbox.get('CalendarFolder') or 'Calendar'}"}),
        (onprem, "Get-PublicFolder", {}),
        (online, "Get-MigrationEndpoint", {}),
        (online, "Get-MigrationBatch", {"Identity": "ShapeCheck"}),
        (online, "Get-MigrationUser", {"Identity": users[0]}),
        (online, "Get-MoveRequest", {"Identity": users[0]}),
        (online, "Get-MoveRequestStatistics", {"Identity": users[0]}),
        (onprem, "Get-MailboxServer", {}),
        (online, "Get-MigrationUserStatistics", {"Identity": users[0]}),
        (online, "Get-MigrationConfig", {}),
    ]
    for session, name, params in reads:
        if name.lower() not in HANDLERS:
            if name == "Get-MailboxServer":  # the builder exists before the handler does
                record = next(iter(engine.org.onprem.collection("ExchangeServer").values()))
                yield Served(name + " (builder)", session.endpoint, mailbox_server_object(record))
            continue
        seen: set[str] = set()
        for obj in _run(engine, session, name, **params):
            if isinstance(obj, LabObject) and obj.type_names[0] not in seen:
                seen.add(obj.type_names[0])
                yield Served(name, session.endpoint, obj)


def real_shape(key: str) -> tuple[WireShape, str]:
    """The real shape of type ``key`` and where it comes from."""
    if key in CAPTURED:
        return capture_shape(*CAPTURED[key]), "capture " + ", ".join(CAPTURED[key])
    known = shape(key)
    return WireShape(list(known.type_names), list(known.names), dict(known.kinds)), known.source


def gaps(engine: ExchangeEngine | None = None) -> list[tuple[Served, WireShape, str, list[str]]]:
    """(served object, its wire shape, source, problems) for every type the lab serves."""
    out = []
    for served in served_objects(engine):
        lab = lab_wire_shape(served.obj)
        if served.key == "(no shape)":
            out.append((served, lab, "-", ["no full property set: the object is not built from a shape"]))
            continue
        real, source = real_shape(served.key)
        problems = kind_problems(lab, real, dict(shape(served.key).kinds))
        if [t for t in served.obj.type_names if t != "System.Object"] != [t for t in real.type_names
                                                                          if t != "System.Object"]:
            problems.append(f"type names {served.obj.type_names} differ from {real.type_names}")
        out.append((served, lab, source, problems))
    return out


def main() -> int:
    rows = gaps()
    width = max(len(s.cmdlet) for s, *_ in rows) + 2
    bad = 0
    for served, lab, source, problems in rows:
        side = "online" if served.endpoint is EndpointKind.ONLINE else "onprem"
        head = f"{served.cmdlet:<{width}}{side:<8}{served.key:<28}{len(lab.names):>4} props  {source}"
        sys.stdout.write(head + "\n")
        for problem in problems:
            sys.stdout.write(f"    LACKS/DIFFERS: {problem}\n")
        bad += bool(problems)
    sys.stdout.write(f"\n{len(rows)} objects checked, {bad} with gaps\n")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
