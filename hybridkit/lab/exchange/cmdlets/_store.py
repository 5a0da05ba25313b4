"""The generic store behind the lab's configuration-object cmdlets: New/Set/Remove/Get over a side's collection.

A ``Kind`` says how one kind of object is stored (collection name, .NET type, DN container), its defaults, and
the rules checked on the object as it would be after a change (``rules(obj, given) -> [problem, ...]``).
``create``/``update``/``remove``/``list_objects`` implement the four verbs with Exchange's errors: duplicates,
ManagementObjectNotFound, and each rule violation written as an error without saving (as Exchange does).
Used by ``connectors`` (mail flow) and ``hybrid`` (sharing objects).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from hybridkit.lab.exchange import sizes
from hybridkit.lab.exchange.cmdlets._objects import (
    already_exists,
    as_bool,
    as_list,
    canonical_enum,
    find_object,
    invalid,
    new_record,
    not_found,
    to_lab_object,
    touch,
)
from hybridkit.lab.exchange.cmdlets._registry import CmdletContext
from hybridkit.lab.exchange.org import to_iso

__all__ = ["Kind", "create", "list_objects", "lookup", "normalise_address_space", "remove", "update"]

_CONTROL = {"Identity", "Confirm", "WhatIf", "DomainController", "Force", "Custom", "Internal", "Internet", "Partner"}
_ENUMS: dict[str, tuple[str, ...]] = {
    "ConnectorType": ("Partner", "OnPremises", "Default", "XPremises"),
    "ConnectorSource": ("Default", "HybridWizard", "Migrated"),
    "TlsAuthLevel": ("EncryptionOnly", "CertificateValidation", "DomainValidation"),
    "TlsSettings": ("EncryptionOnly", "CertificateValidation", "DomainValidation"),
    "DomainType": ("Authoritative", "InternalRelay", "ExternalRelay"),
    "SmartHostAuthMechanism": ("None", "BasicAuth", "BasicAuthRequireTLS", "ExchangeServer", "ExternalAuthoritative"),
}
_LIST_PROPS = {
    "SenderDomains", "SenderIPAddresses", "AssociatedAcceptedDomains", "TrustedOrganizations", "EFSkipIPs",
    "EFUsers", "EFSkipMailGateway", "ScanAndDropRecipients", "ClientHostNames", "RecipientDomains", "SmartHosts",
    "AddressSpaces", "SourceTransportServers", "ValidationRecipients", "TlsDomainCapabilities", "Bindings",
    "RemoteIPRanges", "ConnectedDomains", "DomainNames", "TargetAddressDomains", "MailboxMovePublishedScopes",
    "Domains", "Features", "SendingTransportServers", "ReceivingTransportServers", "EdgeTransportServers",
    "ClientAccessServers", "ExternalIPAddresses",
}
_BOOL_PROPS = {
    "Enabled", "RequireTls", "RequireTLS", "RestrictDomainsToCertificate", "RestrictDomainsToIPAddresses",
    "TreatMessagesAsInternal", "CloudServicesMailEnabled", "EFSkipLastIP", "EFTestMode", "UseMXRecord",
    "IsTransportRuleScoped", "RouteAllMessagesViaOnPremises", "AllAcceptedDomains", "SenderRewritingEnabled",
    "TestMode", "DNSRoutingEnabled", "DomainSecureEnabled", "ForceHELO", "IgnoreSTARTTLS", "IsScopedConnector",
    "RequireOorg", "UseExternalDNSServersEnabled", "FrontendProxyEnabled", "MatchSubDomains", "MakeDefault",
    "AddressBookEnabled", "OutboundOnly", "SendingFromDomainDisabled", "PendingRemoval", "PendingCompletion",
    "FreeBusyAccessEnabled", "MailboxMoveEnabled", "DeliveryReportEnabled", "MailTipsAccessEnabled", "PhotosEnabled",
    "ArchiveAccessEnabled",
}


def normalise_address_space(value: str) -> str:
    """An AddressSpaces entry as Get-SendConnector shows it: ``contoso.com`` -> ``SMTP:contoso.com;1``."""
    text = str(value).strip()
    kind, sep, rest = text.partition(":")
    if not sep or kind.upper() not in ("SMTP", "X400", "X500", "EX"):
        kind, rest = "SMTP", text
    address, _, cost = rest.partition(";")
    return f"{kind.upper()}:{address};{cost or '1'}"


def sender_domain(value: str) -> str:
    """A SenderDomains entry as Get-InboundConnector shows it: ``contoso.com`` -> ``smtp:contoso.com;1``."""
    text = str(value).strip()
    kind, sep, rest = text.partition(":")
    if not sep or kind.lower() != "smtp":
        rest = text
    address, _, cost = rest.partition(";")
    return f"smtp:{address};{cost or '1'}"


def byte_quantified(value: Any) -> Any:
    """A size as Exchange shows it: ``50MB`` -> ``50 MB (52,428,800 bytes)``; ``Unlimited`` and others unchanged."""
    return sizes.byte_quantified(value)


def _coerce(prop: str, value: Any) -> Any:
    if prop in _LIST_PROPS:
        items = [str(v) for v in as_list(value)]
        if prop == "SenderDomains":
            return [sender_domain(v) for v in items]
        return [normalise_address_space(v) for v in items] if prop == "AddressSpaces" else items
    if prop == "MaxMessageSize":
        return byte_quantified(value)
    if prop in _BOOL_PROPS:
        return as_bool(value)
    if prop in _ENUMS:
        return canonical_enum(value, _ENUMS[prop])
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, dt.datetime):  # stored as ISO text like WhenChanged; emitted as a DateTime again
        return to_iso(value)
    if isinstance(value, (list, tuple)):
        return [v if isinstance(v, (str, int, float, bool)) else str(v) for v in value]
    return str(value)


class Kind:
    """How one kind of object is stored, shown and checked."""

    def __init__(
        self,
        name: str,
        type_name: str,
        container: str,
        defaults: Callable[[CmdletContext], dict[str, Any]],
        rules: Callable[[dict[str, Any], dict[str, Any]], list[str]],
        cls: str,
    ) -> None:
        self.name = name
        self.type_name = type_name
        self.container = container
        self.defaults = defaults
        self.rules = rules
        self.cls = cls  # the task class Exchange names in error ids


def _given(ctx: CmdletContext) -> dict[str, Any]:
    return {k: _coerce(k, v) for k, v in ctx.params.items() if k not in _CONTROL}


def lookup(ctx: CmdletContext, kind: Kind) -> tuple[str, dict[str, Any]] | None:
    identity = ctx.params.get("Identity")
    found = find_object(ctx, kind.name, identity)
    if found is None and kind.name == "AcceptedDomain":  # Get/Set/Remove-AcceptedDomain also take the domain name
        for key, obj in ctx.side.collection(kind.name).items():
            if str(obj.get("DomainName", "")).lower() == str(identity).lower():
                return key, obj
    return found


def create(ctx: CmdletContext, kind: Kind, extra: dict[str, Any] | None = None) -> None:
    """New-<Kind>: check, store and output the object; duplicates and rule violations are errors."""
    given = _given(ctx)
    name = str(given.pop("Name"))
    if find_object(ctx, kind.name, name) is not None:
        ctx.error(already_exists(ctx, name, kind.container))
        return
    obj = kind.defaults(ctx)
    obj.update(extra or {})
    obj.update(given)
    problems = kind.rules(obj, given)
    if problems:
        for problem in problems:
            ctx.error(invalid(ctx, problem, name))
        return
    if ctx.params.get("WhatIf"):
        ctx.warning(f"What if: Creating {kind.name} '{name}'.")
        return
    record = new_record(ctx, name, kind.container, obj)
    ctx.side.collection(kind.name)[name] = record
    ctx.output(to_lab_object(record, kind.type_name))


def update(ctx: CmdletContext, kind: Kind) -> None:
    """Set-<Kind>: apply the given parameters if the object stays valid; renames move the key."""
    found = lookup(ctx, kind)
    if found is None:
        ctx.error(not_found(ctx, ctx.params.get("Identity"), kind.cls.replace(".New", ".Set")))
        return
    key, record = found
    given = _given(ctx)
    merged = dict(record)
    merged.update(given)
    problems = kind.rules(merged, given)
    new_name = str(given.get("Name", key))
    if new_name.lower() != key.lower() and find_object(ctx, kind.name, new_name) is not None:
        ctx.error(already_exists(ctx, new_name, kind.container))
        return
    if problems:
        for problem in problems:
            ctx.error(invalid(ctx, problem, key))
        return
    if ctx.params.get("WhatIf"):
        ctx.warning(f"What if: Setting {kind.name} '{key}'.")
        return
    merged["Identity"] = new_name
    merged["DistinguishedName"] = f"CN={new_name},{kind.container}"
    touch(ctx, merged)
    collection = ctx.side.collection(kind.name)
    del collection[key]
    collection[new_name] = merged


def remove(ctx: CmdletContext, kind: Kind) -> None:
    """Remove-<Kind>: delete by identity (a missing one is ManagementObjectNotFound)."""
    found = lookup(ctx, kind)
    if found is None:
        ctx.error(not_found(ctx, ctx.params.get("Identity"), kind.cls.replace(".New", ".Remove")))
        return
    if ctx.params.get("WhatIf"):
        ctx.warning(f"What if: Removing {kind.name} '{found[0]}'.")
        return
    del ctx.side.collection(kind.name)[found[0]]


def list_objects(ctx: CmdletContext, kind: Kind) -> None:
    """Get-<Kind>: one object by identity, or all of them."""
    if ctx.params.get("Identity") is not None:
        found = lookup(ctx, kind)
        if found is None:
            ctx.error(not_found(ctx, ctx.params.get("Identity"), kind.cls.replace(".New", ".Get")))
            return
        ctx.output(to_lab_object(found[1], kind.type_name))
        return
    for record in list(ctx.side.collection(kind.name).values()):
        ctx.output(to_lab_object(record, kind.type_name))


