"""Shared helpers for the lab's configuration-object cmdlets (connectors, relationships, hybrid objects).

Objects live in ``side.collection(kind)`` keyed by Name, each a dict of Exchange property names to JSON-able
values (datetimes as ISO strings). These helpers find them by Name or Guid, build Exchange-shaped error records
and turn a stored dict into a ``LabObject`` with the .NET type names Exchange emits.

Owned by the mail-flow/decommission capability (connectors.py, hybrid.py).
"""

from __future__ import annotations

import ipaddress
import re
import uuid
from collections.abc import Iterable
from typing import Any

from hybridkit.lab._types import LabError, LabObject
from hybridkit.lab.exchange import exchange_errors
from hybridkit.lab.exchange.cmdlets._registry import CmdletContext
from hybridkit.lab.exchange.objects import record_object
from hybridkit.lab.exchange.org import from_iso, to_iso

__all__ = [
    "already_exists",
    "as_bool",
    "as_list",
    "canonical_enum",
    "find_object",
    "identity_text",
    "invalid",
    "new_record",
    "not_found",
    "server_fqdn",
    "to_lab_object",
    "touch",
    "valid_domain",
    "valid_ip_or_cidr",
    "valid_smart_host",
]

_BASE_TYPES = [
    "Microsoft.Exchange.Data.Directory.SystemConfiguration.ADConfigurationObject",
    "Microsoft.Exchange.Data.Directory.ADObject",
    "Microsoft.Exchange.Data.Directory.ADRawEntry",
    "Microsoft.Exchange.Data.ConfigurableObject",
    "System.Object",
]
_DATE_PROPS = ("WhenCreated", "WhenChanged", "WhenCreatedUTC", "WhenChangedUTC", "LastValidationTimestamp")
_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")


def server_fqdn(ctx: CmdletContext) -> str:
    """The domain controller / directory server Exchange names in its messages."""
    if ctx.is_online:
        return str(ctx.side.settings.get("domain_controller", "NAMPR01A001DC01.NAMPR01A001.prod.outlook.com"))
    return str(ctx.side.settings.get("domain_controller", "DC01.contoso.local"))


def identity_text(value: Any) -> str:
    """An -Identity value as text: strings as given, piped objects by their Identity/Name."""
    if isinstance(value, LabObject):
        for prop in ("Identity", "Name", "Guid"):
            found = value.get(prop)
            if found:
                return str(found)
        return value.to_string or ""
    if isinstance(value, dict):
        return str(value.get("Identity") or value.get("Name") or "")
    return str(value)


def find_object(ctx: CmdletContext, kind: str, identity: Any) -> tuple[str, dict[str, Any]] | None:
    """The stored object whose Name, Identity or Guid matches ``identity`` (case-insensitive)."""
    wanted = identity_text(identity).strip().lower()
    for key, obj in ctx.side.collection(kind).items():
        names = {key.lower(), str(obj.get("Name", "")).lower(), str(obj.get("Identity", "")).lower()}
        if wanted in names or wanted == str(obj.get("Guid", "")).lower():
            return key, obj
    return None


def not_found(ctx: CmdletContext, identity: Any, cmdlet_class: str = "") -> LabError:
    """Exchange's ManagementObjectNotFoundException record for ``identity``."""
    return exchange_errors.not_found(ctx, identity_text(identity))


def already_exists(ctx: CmdletContext, name: str, container: str) -> LabError:
    """Exchange's ADObjectAlreadyExistsException record for a duplicate name."""
    return exchange_errors.task_error(
        ctx,
        f"Active Directory operation failed on {server_fqdn(ctx)}. The object 'CN={name},{container}' already exists.",
        exception="Microsoft.Exchange.Data.Directory.ADObjectAlreadyExistsException",
        category="NotSpecified",
        target=name,
    )


def invalid(
    ctx: CmdletContext, message: str, target: Any, exception: str = "Microsoft.Exchange.Data.DataValidationException"
) -> LabError:
    """A validation failure record (Exchange writes these as errors and does not save the object)."""
    return exchange_errors.task_error(
        ctx, message, exception=exception, category="InvalidArgument", target=identity_text(target)
    )


def as_list(value: Any) -> list[Any]:
    """A MultiValuedProperty value as a list (a single value becomes a one-item list, $null an empty list)."""
    if value is None:
        return []
    if isinstance(value, (list, tuple, set, frozenset)):
        return [v for v in value if v is not None and v != ""]
    if isinstance(value, str) and value == "":
        return []
    return [value]


def as_bool(value: Any) -> bool:
    """A Boolean parameter value (PowerShell coerces 'true'/'false' strings and 0/1)."""
    if isinstance(value, str):
        return value.strip().lower() in ("true", "$true", "1")
    return bool(value)


def canonical_enum(value: Any, allowed: Iterable[str]) -> str | None:
    """``value`` spelled as the enum member (case-insensitive match), or None for $null."""
    if value is None:
        return None
    text = str(value)
    for member in allowed:
        if member.lower() == text.lower():
            return member
    return text


def valid_domain(text: str, *, allow_wildcard: bool = True, allow_star: bool = False) -> bool:
    """SmtpDomain(WithSubdomains) syntax: labels, an optional leading ``*.``; ``*`` alone when ``allow_star``."""
    if allow_star and text == "*":
        return True
    if len(text) > 256 or not text:
        return False
    if text.startswith("*."):
        if not allow_wildcard:
            return False
        text = text[2:]
    labels = text.split(".")
    return all(_LABEL.match(label) for label in labels)


def valid_smart_host(text: str) -> bool:
    """A SmartHost value: a host name (FQDN or single label), an IP address, or an IP address in brackets."""
    body = text[1:-1] if text.startswith("[") and text.endswith("]") else text
    try:
        ipaddress.ip_address(body)
        return True
    except ValueError:
        pass
    return body == text and valid_domain(text, allow_wildcard=False)


def valid_ip_or_cidr(text: str, *, min_prefix: int = 24) -> bool:
    """An IPv4 address or IPv4 CIDR with a prefix from ``min_prefix`` to 32 (inbound connector rules)."""
    try:
        if "/" in text:
            net = ipaddress.ip_network(text, strict=False)
            return net.version == 4 and min_prefix <= net.prefixlen <= 32
        return ipaddress.ip_address(text).version == 4
    except ValueError:
        return False


def new_record(ctx: CmdletContext, name: str, dn_container: str, props: dict[str, Any]) -> dict[str, Any]:
    """A stored object with the directory properties every Exchange config object carries."""
    now = to_iso(ctx.now())
    record: dict[str, Any] = {
        "Name": name,
        "Identity": name,
        "Guid": str(uuid.uuid4()),
        "DistinguishedName": f"CN={name},{dn_container}",
        "WhenCreated": now,
        "WhenChanged": now,
        "WhenCreatedUTC": now,
        "WhenChangedUTC": now,
        "IsValid": True,
        "ObjectState": "Unchanged",
    }
    record.update(props)
    return record


def touch(ctx: CmdletContext, record: dict[str, Any]) -> None:
    """Mark ``record`` as changed now."""
    now = to_iso(ctx.now())
    record["WhenChanged"] = now
    record["WhenChangedUTC"] = now


# The short .NET type name of a stored kind -> its shape in ``hybridkit.lab.exchange.shapes`` (full property set).
_SHAPE_BY_TYPE = {
    "TenantInboundConnector": "InboundConnector", "TenantOutboundConnector": "OutboundConnector",
    "SmtpSendConnectorConfig": "SendConnector", "ReceiveConnector": "ReceiveConnector",
    "AcceptedDomain": "AcceptedDomain", "OrganizationRelationship": "OrganizationRelationship",
    "IntraOrganizationConnector": "IntraOrganizationConnector", "HybridConfiguration": "HybridConfiguration",
    "PublicFolder": "PublicFolder",
}


def to_lab_object(record: dict[str, Any], type_name: str, extra_types: Iterable[str] = ()) -> LabObject:
    """A stored record as Exchange emits it: the type's full property set where the lab knows it (dates as
    datetimes, GUIDs as GUIDs, lists copied), else the record's keys as they are."""
    key = _SHAPE_BY_TYPE.get(type_name.rsplit(".", 1)[-1])
    if key is not None:
        return record_object(key, record)
    props: dict[str, Any] = {}
    for name, value in record.items():
        if name.startswith("_"):
            continue
        if name in _DATE_PROPS and isinstance(value, str):
            props[name] = from_iso(value)
        elif name == "Guid" and isinstance(value, str):
            props[name] = uuid.UUID(value)
        elif isinstance(value, list):
            props[name] = list(value)
        else:
            props[name] = value
    return LabObject(
        type_names=[type_name, *extra_types, *_BASE_TYPES],
        properties=props,
        to_string=str(record.get("Identity") or record.get("Name")),
    )
