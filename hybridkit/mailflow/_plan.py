"""The mail-flow planner: declared objects versus observed ones, as ordered changes. Pure (no I/O, no bridge).

For each declared object: ``create`` (absent live: New-* with every declared parameter), ``update`` (present but
some declared property differs: Set-* with just those, each shown ``live -> wanted``) or ``unchanged``. Live objects
of a managed kind that the file does not declare are listed as ``present, not declared`` and left alone.
Changes come in dependency order (``Kind`` order: accepted domains, inbound connector, send connector, outbound
connector), so mail is accepted before anything starts sending it.

Values are compared the way Exchange stores them: lists as sets, case-insensitively; address spaces as
``SMTP:domain;cost``; sender domains without their ``smtp:``/``;1`` decoration; IP ranges by network.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
from collections.abc import Iterable, Sequence
from typing import Any

from hybridkit.mailflow._model import (
    Action,
    Change,
    DesiredObject,
    Kind,
    MailflowSpec,
    ObservedObject,
    Plan,
    PropertyChange,
)

__all__ = ["columns", "fingerprint", "normalise", "plan_mailflow", "spec_fingerprint"]

_CMDLET_NOUN = {
    Kind.ACCEPTED_DOMAIN: "AcceptedDomain",
    Kind.INBOUND_CONNECTOR: "InboundConnector",
    Kind.SEND_CONNECTOR: "SendConnector",
    Kind.OUTBOUND_CONNECTOR: "OutboundConnector",
}
# Declared keys that identify the object rather than being set on it.
_NOT_SETTABLE = {Kind.ACCEPTED_DOMAIN: {"DomainName"}}


def _address_space(text: str) -> str:
    kind, sep, rest = text.strip().partition(":")
    if not sep or kind.upper() not in ("SMTP", "X400", "X500", "EX"):
        kind, rest = "SMTP", text.strip()
    address, _, cost = rest.partition(";")
    return f"{kind.upper()}:{address.lower()};{cost or '1'}"


def _domain(text: str) -> str:
    body = text.strip()
    if body.lower().startswith("smtp:"):
        body = body[5:]
    return body.split(";")[0].lower()


def _network(text: str) -> str:
    try:
        if "/" in text:
            return str(ipaddress.ip_network(text.strip(), strict=False))
        return str(ipaddress.ip_address(text.strip()))
    except ValueError:
        return text.strip().lower()


def normalise(prop: str, value: Any) -> Any:
    """``value`` of ``prop`` in a form where equal settings compare equal."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [str(v) for v in value if v is not None and str(v) != ""]
        if prop == "AddressSpaces":
            return frozenset(_address_space(v) for v in items)
        if prop in ("SenderDomains", "RecipientDomains", "AssociatedAcceptedDomains", "TrustedOrganizations"):
            return frozenset(_domain(v) for v in items)
        if prop in ("SenderIPAddresses", "EFSkipIPs"):
            return frozenset(_network(v) for v in items)
        return frozenset(v.lower() for v in items)
    if isinstance(value, str) and value.lower() in ("true", "false") and prop not in ("Comment", "Name"):
        return value.lower() == "true"
    if isinstance(value, int):
        return value
    return str(value).lower() if prop != "Comment" else str(value)


def _same(prop: str, live: Any, wanted: Any) -> bool:
    left, right = normalise(prop, live), normalise(prop, wanted)
    if isinstance(right, frozenset) and left is None:
        left = frozenset()
    if isinstance(left, frozenset) and right is None:
        right = frozenset()
    if isinstance(right, frozenset) and not isinstance(left, frozenset) and left is not None:
        left = normalise(prop, [live])
    return bool(left == right)


def _plain(value: Any) -> Any:
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def fingerprint(observed: Iterable[ObservedObject]) -> str:
    """A hash of the observed state (kinds, names and properties), to detect a stale plan."""
    rows = sorted(
        [o.kind.value, o.name.lower(), sorted((k, json.dumps(_plain(v), default=str)) for k, v in o.properties)]
        for o in observed
    )
    return hashlib.sha256(json.dumps(rows, default=str).encode()).hexdigest()[:32]


def _create(obj: DesiredObject) -> Change:
    params = obj.properties
    if obj.get("Name") is None:
        params = (("Name", obj.name),) + params
    return Change(
        action=Action.CREATE,
        kind=obj.kind,
        name=obj.name,
        properties=tuple(PropertyChange(k, None, v) for k, v in params if k != "Name"),
        cmdlet=f"New-{_CMDLET_NOUN[obj.kind]}",
        parameters=params,
        line=obj.line,
    )


def _compare(obj: DesiredObject, live: ObservedObject) -> Change:
    skip = _NOT_SETTABLE.get(obj.kind, set())
    diffs = []
    for prop, wanted in obj.properties:
        if prop in skip:
            continue
        live_value = live.name if prop == "Name" else live.get(prop)
        if prop == "Name":
            if live_value != wanted:  # a rename is a change even in case only
                diffs.append(PropertyChange(prop, live_value, wanted))
            continue
        if not _same(prop, live_value, wanted):
            diffs.append(PropertyChange(prop, _plain(live_value), wanted))
    if not diffs:
        return Change(Action.UNCHANGED, obj.kind, obj.name, line=obj.line)
    params: tuple[tuple[str, Any], ...] = (("Identity", live.name),) + tuple((d.name, d.wanted) for d in diffs)
    return Change(
        action=Action.UPDATE,
        kind=obj.kind,
        name=obj.name,
        properties=tuple(diffs),
        cmdlet=f"Set-{_CMDLET_NOUN[obj.kind]}",
        parameters=params,
        line=obj.line,
    )


def columns(spec: MailflowSpec) -> dict[Kind, list[str]]:
    """The properties the planner reads of each kind: Name, what matches an object (DomainName for accepted
    domains) and every key the file declares for that kind, in the order first declared. Nothing else is read
    (the data diet: Select-Object -Property exactly these)."""
    out: dict[Kind, list[str]] = {}
    for kind in Kind:
        wanted = ["Name"] + (["DomainName"] if kind is Kind.ACCEPTED_DOMAIN else [])
        for obj in spec.of_kind(kind):
            wanted += [key for key, _ in obj.properties if key not in wanted]
        out[kind] = wanted
    return out


def plan_mailflow(spec: MailflowSpec, observed: Iterable[ObservedObject]) -> Plan:
    """Compare ``spec`` with ``observed`` (the live objects of the four kinds) and order the changes."""
    observed = list(observed)
    by_key: dict[tuple[Kind, str], ObservedObject] = {(o.kind, o.match_key): o for o in observed}
    changes: list[Change] = []
    for kind in Kind:
        declared = spec.of_kind(kind)
        declared_keys = {o.match_key for o in declared}
        for obj in declared:
            live = by_key.get((kind, obj.match_key))
            changes.append(_create(obj) if live is None else _compare(obj, live))
        for live in sorted((o for o in observed if o.kind is kind), key=lambda o: o.name.lower()):
            if live.match_key not in declared_keys:
                changes.append(Change(Action.UNDECLARED, kind, live.name))
    return Plan(tuple(changes), fingerprint(observed))


def spec_fingerprint(spec: MailflowSpec, profiles: Sequence[str]) -> str:
    """Identifies the declared state (not the live one) a journal run belongs to."""
    payload = json.dumps(
        [list(profiles), [[o.kind.value, o.name, [[k, v] for k, v in o.properties]] for o in spec.objects]],
        default=str,
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:32]
