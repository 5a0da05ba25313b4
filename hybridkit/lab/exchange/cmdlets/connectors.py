"""Lab cmdlets for mail flow: Exchange Online inbound/outbound connectors, on-prem send connectors and accepted domains.

The catalogue has already checked cmdlet availability per product (connectors: Exchange Online only; send
connectors and New/Remove-AcceptedDomain: on-premises only; CloudServicesMailEnabled: 2013+; ConnectorType on a
send connector: 2016+), parameter names and enum values. The handlers add the rules that exist only in the
reference pages' prose (facts.md sections 5-7), checked on the object as it would be after the change, and write
them as non-terminating errors without saving, as Exchange does.

Where servers accept more than the page says, the lab follows the servers (field-notes.md, "Mail flow"):

* ``New-SendConnector -SmartHosts ...`` without ``-DNSRoutingEnabled $false`` is accepted and turns DNS routing
  off (the page says DNSRoutingEnabled "must be $false"); only an explicit ``-DNSRoutingEnabled $true`` together
  with smart hosts is refused.
* ``TlsDomain`` is required only for ``TlsAuthLevel DomainValidation`` (the page also asks for it on every
  smart-host connector, but a 2016 server accepted the seed's connector without it).

The demo org gets the objects the Hybrid Configuration Wizard leaves (``seed_hybrid_mail_flow``).
"""

from __future__ import annotations

import uuid
from typing import Any

from hybridkit.lab.exchange.cmdlets._objects import (
    invalid,
    not_found,
    to_lab_object,
    valid_domain,
    valid_ip_or_cidr,
    valid_smart_host,
)
from hybridkit.lab.exchange.cmdlets._registry import CmdletContext, cmdlet
from hybridkit.lab.exchange.cmdlets._store import (
    Kind,
    create,
    list_objects,
    lookup,
    normalise_address_space,
    remove,
    update,
)
from hybridkit.lab.exchange.org import Org, register_demo_seeder

_NS = "Microsoft.Exchange.Data.Directory.SystemConfiguration."

__all__ = ["KINDS", "hcw_guid", "normalise_address_space", "seed_hybrid_mail_flow"]


# --- the rules from the reference pages' prose (facts.md 5-7), checked on the object after the change ---------


def _inbound_rules(obj: dict[str, Any], given: dict[str, Any]) -> list[str]:
    problems = []
    for ip in obj.get("SenderIPAddresses", []):
        if not valid_ip_or_cidr(ip):
            problems.append(
                f"The value '{ip}' of SenderIPAddresses isn't valid. Use an IPv4 address or a CIDR range "
                "from /24 to /32; IPv6 addresses aren't supported."
            )
    for dom in obj.get("SenderDomains", []):
        # AddressSpace values: "contoso.com", "*" or Exchange's own spelling "smtp:*;1" (what Get- shows).
        body = dom[5:] if dom.lower().startswith("smtp:") else dom
        if not valid_domain(body.split(";")[0], allow_star=True):
            problems.append(f"'{dom}' isn't a valid SMTP domain for SenderDomains.")
    if obj.get("TreatMessagesAsInternal"):
        if obj.get("ConnectorType") != "OnPremises":
            problems.append("TreatMessagesAsInternal can be $true only when ConnectorType is OnPremises.")
        if obj.get("CloudServicesMailEnabled"):
            problems.append("TreatMessagesAsInternal can't be $true when CloudServicesMailEnabled is $true.")
    if obj.get("RestrictDomainsToCertificate") and not obj.get("TlsSenderCertificateName"):
        problems.append("RestrictDomainsToCertificate is $true, so TlsSenderCertificateName must be specified.")
    if obj.get("RestrictDomainsToIPAddresses") and not obj.get("SenderIPAddresses"):
        problems.append("RestrictDomainsToIPAddresses is $true, so SenderIPAddresses must be specified.")
    if obj.get("ConnectorType") not in ("Partner", "OnPremises"):
        problems.append(f"'{obj.get('ConnectorType')}' isn't a valid ConnectorType. Valid values: Partner, OnPremises.")
    return problems


def _smart_host_problems(obj: dict[str, Any]) -> list[str]:
    return [f"The value '{host}' of SmartHosts isn't valid. Use a fully qualified domain name, an IP address, or "
            "an IP address in brackets." for host in obj.get("SmartHosts", []) if not valid_smart_host(str(host))]


def _outbound_rules(obj: dict[str, Any], given: dict[str, Any]) -> list[str]:
    problems = _smart_host_problems(obj)
    if not obj.get("UseMXRecord") and not obj.get("SmartHosts"):
        problems.append("UseMXRecord is $false, so SmartHosts must be specified.")
    if obj.get("UseMXRecord") and obj.get("SmartHosts"):
        problems.append("SmartHosts can't be specified when UseMXRecord is $true.")
    for flag in ("RouteAllMessagesViaOnPremises", "AllAcceptedDomains"):
        if obj.get(flag) and obj.get("ConnectorType") != "OnPremises":
            problems.append(f"{flag} can be $true only when ConnectorType is OnPremises.")
    if obj.get("ConnectorType") not in ("Partner", "OnPremises"):
        problems.append(f"'{obj.get('ConnectorType')}' isn't a valid ConnectorType. Valid values: Partner, OnPremises.")
    return problems


def _send_rules(obj: dict[str, Any], given: dict[str, Any]) -> list[str]:
    problems = _smart_host_problems(obj)
    if "SmartHosts" in given and obj.get("SmartHosts") and "DNSRoutingEnabled" not in given:
        obj["DNSRoutingEnabled"] = False  # what servers do (field notes); the page says it "must be $false"
    obj["SmartHostsString"] = ",".join(obj.get("SmartHosts", []))
    if obj.get("SmartHosts") and obj.get("DNSRoutingEnabled"):
        problems.append("If you specify a SmartHosts parameter, the DNSRoutingEnabled parameter must be $false.")
    if not obj.get("DNSRoutingEnabled") and not obj.get("SmartHosts"):
        problems.append("The SmartHosts parameter is required when DNSRoutingEnabled is $false.")
    if obj.get("TlsAuthLevel") and (not obj.get("RequireTLS") or obj.get("IgnoreSTARTTLS")):
        problems.append(
            "You can't specify a value for TlsAuthLevel if the IgnoreSTARTTLS parameter is set to $true, or if "
            "the RequireTLS parameter is set to $false."
        )
    if obj.get("TlsAuthLevel") == "DomainValidation" and not obj.get("TlsDomain"):
        problems.append("TlsDomain is required when TlsAuthLevel is DomainValidation.")
    if obj.get("ConnectorType") not in ("Default", "XPremises"):
        problems.append(f"'{obj.get('ConnectorType')}' isn't a valid ConnectorType. Valid values: Default, XPremises.")
    if not obj.get("AddressSpaces"):
        problems.append("The AddressSpaces parameter can't be empty.")
    return problems


def _domain_rules(obj: dict[str, Any], given: dict[str, Any]) -> list[str]:
    name = str(obj.get("DomainName", ""))
    if not valid_domain(name):
        return [f"'{name}' isn't a valid SMTP domain. Wildcards are allowed only as '*.domain'."]
    return []

def _inbound_defaults(ctx: CmdletContext) -> dict[str, Any]:
    return {
        "Enabled": True, "ConnectorType": "Partner", "ConnectorSource": "Default", "Comment": None,
        "SenderIPAddresses": [], "SenderDomains": [], "TrustedOrganizations": [], "AssociatedAcceptedDomains": [],
        "RequireTls": True, "RestrictDomainsToIPAddresses": False, "RestrictDomainsToCertificate": False,
        "CloudServicesMailEnabled": False, "TreatMessagesAsInternal": False, "TlsSenderCertificateName": None,
        "EFTestMode": False, "EFSkipLastIP": False, "EFSkipIPs": [], "EFSkipMailGateway": [], "EFUsers": [],
        "ScanAndDropRecipients": [], "ClientHostNames": [],
    }


def _outbound_defaults(ctx: CmdletContext) -> dict[str, Any]:
    return {
        "Enabled": True, "UseMXRecord": True, "Comment": None, "ConnectorType": "Partner",
        "ConnectorSource": "Default", "RecipientDomains": [], "SmartHosts": [], "TlsDomain": None,
        "TlsSettings": None, "IsTransportRuleScoped": False, "RouteAllMessagesViaOnPremises": False,
        "CloudServicesMailEnabled": False, "AllAcceptedDomains": False, "SenderRewritingEnabled": False,
        "TestMode": False, "LinkForModifiedConnector": None, "ValidationRecipients": [], "IsValidated": False,
        "LastValidationTimestamp": None,
    }


def _send_defaults(ctx: CmdletContext) -> dict[str, Any]:
    server = str(ctx.side.settings.get("server_name") or ctx.side.settings.get("server") or "EX01")
    return {
        "AddressSpaces": [], "AuthenticationCredential": None, "CloudServicesMailEnabled": False, "Comment": None,
        "ConnectedDomains": [], "ConnectionInactivityTimeOut": "00:10:00", "ConnectorType": "Default",
        "DNSRoutingEnabled": True, "DomainSecureEnabled": False, "Enabled": True, "ErrorPolicies": "Default",
        "ForceHELO": False, "FrontendProxyEnabled": False, "Fqdn": None, "HomeMTA": "Microsoft MTA",
        "HomeMtaServerId": server, "IgnoreSTARTTLS": False, "IsScopedConnector": False, "IsSmtpConnector": True,
        "MaxMessageSize": "35 MB (36,700,160 bytes)", "Port": 25, "ProtocolLoggingLevel": "None",
        "RequireOorg": False, "RequireTLS": False, "SmartHostAuthMechanism": "None", "SmartHosts": [],
        "SmartHostsString": "", "SmtpMaxMessagesPerConnection": 20, "SourceIPAddress": "0.0.0.0",
        "SourceTransportServers": [server], "TlsAuthLevel": None, "TlsCertificateName": None, "TlsDomain": None,
        "UseExternalDNSServersEnabled": False,
    }


def _domain_defaults(ctx: CmdletContext) -> dict[str, Any]:
    return {
        "DomainName": None, "DomainType": "Authoritative", "Default": False, "AddressBookEnabled": True,
        "MatchSubDomains": False, "PendingRemoval": False, "PendingCompletion": False, "AuthenticationType": None,
        "IsCoexistenceDomain": False, "ExternallyManaged": False,
    }


_TRANSPORT = "CN=Transport Settings,CN=Contoso,CN=Microsoft Exchange,CN=Services,CN=Configuration,DC=contoso,DC=local"
KINDS: dict[str, Kind] = {
    "InboundConnector": Kind(
        "InboundConnector", _NS + "TenantInboundConnector", "CN=Transport Settings,CN=Configuration",
        _inbound_defaults, _inbound_rules, "Microsoft.Exchange.Management.SystemConfigurationTasks.NewInboundConnector",
    ),
    "OutboundConnector": Kind(
        "OutboundConnector", _NS + "TenantOutboundConnector", "CN=Transport Settings,CN=Configuration",
        _outbound_defaults, _outbound_rules, "Microsoft.Exchange.Management.SystemConfigurationTasks.NewOutboundConnector",
    ),
    "SendConnector": Kind(
        "SendConnector", _NS + "SmtpSendConnectorConfig", "CN=Connections,CN=Exchange Routing Group," + _TRANSPORT,
        _send_defaults, _send_rules, "Microsoft.Exchange.Management.SystemConfigurationTasks.NewSendConnector",
    ),
    "AcceptedDomain": Kind(
        "AcceptedDomain", _NS + "AcceptedDomain", "CN=Accepted Domains," + _TRANSPORT,
        _domain_defaults, _domain_rules, "Microsoft.Exchange.Management.SystemConfigurationTasks.NewAcceptedDomain",
    ),
}

# --- registration -----------------------------------------------------------------------------------------------

_IN, _OUT, _SEND, _DOM = (KINDS[k] for k in ("InboundConnector", "OutboundConnector", "SendConnector", "AcceptedDomain"))


@cmdlet("Get-InboundConnector")
def get_inbound_connector(ctx: CmdletContext) -> None:
    list_objects(ctx, _IN)


@cmdlet("New-InboundConnector")
def new_inbound_connector(ctx: CmdletContext) -> None:
    create(ctx, _IN)


@cmdlet("Set-InboundConnector")
def set_inbound_connector(ctx: CmdletContext) -> None:
    update(ctx, _IN)


@cmdlet("Remove-InboundConnector")
def remove_inbound_connector(ctx: CmdletContext) -> None:
    remove(ctx, _IN)


@cmdlet("Get-OutboundConnector")
def get_outbound_connector(ctx: CmdletContext) -> None:
    list_objects(ctx, _OUT)


@cmdlet("New-OutboundConnector")
def new_outbound_connector(ctx: CmdletContext) -> None:
    create(ctx, _OUT)


@cmdlet("Set-OutboundConnector")
def set_outbound_connector(ctx: CmdletContext) -> None:
    update(ctx, _OUT)


@cmdlet("Remove-OutboundConnector")
def remove_outbound_connector(ctx: CmdletContext) -> None:
    remove(ctx, _OUT)


@cmdlet("Get-SendConnector")
def get_send_connector(ctx: CmdletContext) -> None:
    list_objects(ctx, _SEND)


def _unknown_source_server(ctx: CmdletContext) -> bool:
    """SourceTransportServers must name existing Exchange servers (Exchange: ManagementObjectNotFoundException)."""
    known = {str(n).lower() for n in ctx.side.collection("ExchangeServer")}
    for server in ctx.params.get("SourceTransportServers") or []:
        if known and str(server).lower() not in known:
            ctx.error(not_found(ctx, server))
            return True
    return False


@cmdlet("New-SendConnector")
def new_send_connector(ctx: CmdletContext) -> None:
    if not _unknown_source_server(ctx):
        create(ctx, _SEND)


@cmdlet("Set-SendConnector")
def set_send_connector(ctx: CmdletContext) -> None:
    if not _unknown_source_server(ctx):
        update(ctx, _SEND)


@cmdlet("Remove-SendConnector")
def remove_send_connector(ctx: CmdletContext) -> None:
    remove(ctx, _SEND)


@cmdlet("New-AcceptedDomain")
def new_accepted_domain(ctx: CmdletContext) -> None:
    domain = str(ctx.params.get("DomainName", ""))
    for obj in ctx.side.collection("AcceptedDomain").values():
        if str(obj.get("DomainName", "")).lower() == domain.lower():
            ctx.error(invalid(ctx, f"The accepted domain '{domain}' already exists.", domain,
                              "Microsoft.Exchange.Management.SystemConfigurationTasks.AcceptedDomainAlreadyExistsException"))
            return
    relay = str(ctx.params.get("DomainType", "Authoritative")).lower() != "authoritative"
    create(ctx, _DOM, {"AddressBookEnabled": not relay})


@cmdlet("Set-AcceptedDomain")
def set_accepted_domain(ctx: CmdletContext) -> None:
    if ctx.is_online and str(ctx.params.get("DomainType", "")).lower() == "externalrelay":
        ctx.error(invalid(ctx, "ExternalRelay is available only in on-premises Exchange organizations.",
                          ctx.params.get("Identity")))
        return
    update(ctx, _DOM)


@cmdlet("Remove-AcceptedDomain")
def remove_accepted_domain(ctx: CmdletContext) -> None:
    found = lookup(ctx, _DOM)
    if found is not None and found[1].get("Default"):
        ctx.error(invalid(ctx, f"The default accepted domain '{found[0]}' can't be removed. Make another domain the "
                          "default first.", found[0]))
        return
    remove(ctx, _DOM)


# --- the demo org: what the Hybrid Configuration Wizard leaves ----------------------------------------------------


def hcw_guid(org: Org) -> str:
    """The GUID HCW puts in its object names, stable for a given on-prem domain."""
    domain = str(org.onprem.settings.get("domain", "contoso.com"))
    return str(uuid.uuid5(uuid.NAMESPACE_DNS, "hcw." + domain))


def _seed(side_coll: dict[str, dict[str, Any]], name: str, container: str, props: dict[str, Any], now: str) -> None:
    side_coll[name] = {
        "Name": name, "Identity": name, "Guid": str(uuid.uuid5(uuid.NAMESPACE_OID, name)),
        "DistinguishedName": f"CN={name},{container}", "WhenCreated": now, "WhenChanged": now,
        "WhenCreatedUTC": now, "WhenChangedUTC": now, "IsValid": True, "ObjectState": "Unchanged", **props,
    }


@register_demo_seeder
def seed_hybrid_mail_flow(org: Org) -> None:
    """Add the HCW's mail-flow objects to the demo org: EXO inbound/outbound, on-prem send and receive connectors."""
    from hybridkit.lab.exchange.org import to_iso

    guid = hcw_guid(org)
    now = to_iso(org.clock.now())
    domain = str(org.onprem.settings.get("domain", "contoso.com"))
    routing = str(org.onprem.settings.get("routing_domain") or f"{domain.split('.')[0]}.mail.onmicrosoft.com")
    server = str(org.onprem.settings.get("server_name") or org.onprem.settings.get("server") or "EX01")
    public = f"mail.{domain}"
    inbound = {
        **_inbound_defaults(None),  # type: ignore[arg-type]
        "ConnectorType": "OnPremises", "ConnectorSource": "HybridWizard", "SenderDomains": ["smtp:*;1"],
        "RequireTls": True, "RestrictDomainsToCertificate": True, "TlsSenderCertificateName": public,
        "CloudServicesMailEnabled": True,
    }
    _seed(org.online.collection("InboundConnector"), f"Inbound from {guid}", "CN=Transport Settings", inbound, now)
    outbound = {
        **_outbound_defaults(None),  # type: ignore[arg-type]
        "ConnectorType": "OnPremises", "ConnectorSource": "HybridWizard", "RecipientDomains": [domain],
        "SmartHosts": [public], "UseMXRecord": False, "TlsSettings": "DomainValidation", "TlsDomain": public,
        "CloudServicesMailEnabled": True,
    }
    _seed(org.online.collection("OutboundConnector"), f"Outbound to {guid}", "CN=Transport Settings", outbound, now)
    send = {
        **_send_defaults(_FakeCtx(org)),  # type: ignore[arg-type]
        "AddressSpaces": [f"SMTP:{routing};1"], "CloudServicesMailEnabled": True,
        "RequireTLS": True, "TlsAuthLevel": "DomainValidation", "TlsDomain": "mail.protection.outlook.com",
        "Fqdn": public, "SourceTransportServers": [server],
    }
    _seed(org.onprem.collection("SendConnector"), f"Outbound to Office 365 - {guid}",
          KINDS["SendConnector"].container, send, now)
    receive_name = f"Default Frontend {server}"
    receive = {
        "Server": server, "Bindings": ["[::]:25", "0.0.0.0:25"], "RemoteIPRanges": ["::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "0.0.0.0-255.255.255.255"],
        "TransportRole": "FrontendTransport", "AuthMechanism": "Tls, Integrated, BasicAuth, BasicAuthRequireTLS, ExchangeServer",
        "PermissionGroups": "AnonymousUsers, ExchangeServers, ExchangeLegacyServers", "Enabled": True,
        "TlsCertificateName": f"<I>CN=Contoso CA<S>CN={public}", "Fqdn": public,
        "TlsDomainCapabilities": ["mail.protection.outlook.com:AcceptCloudServicesMail"],
    }
    _seed(org.onprem.collection("ReceiveConnector"), receive_name, f"CN=SMTP Receive Connectors,CN={server}", receive, now)
    org.onprem.collection("ReceiveConnector")[receive_name]["Identity"] = f"{server}\\{receive_name}"


class _FakeCtx:
    """Just enough of a CmdletContext for the default factories while seeding."""

    def __init__(self, org: Org) -> None:
        self.side = org.onprem


@cmdlet("Get-ReceiveConnector")
def get_receive_connector(ctx: CmdletContext) -> None:
    """Get-ReceiveConnector [-Identity SERVER\\Name | Name] [-Server S]."""
    server = ctx.params.get("Server")
    identity = ctx.params.get("Identity")
    matched = False
    for record in ctx.side.collection("ReceiveConnector").values():
        if server is not None and str(record.get("Server", "")).lower() != str(server).lower():
            continue
        if identity is not None:
            wanted = str(identity).lower()
            if wanted not in (str(record.get("Identity")).lower(), str(record.get("Name")).lower(),
                              str(record.get("Guid")).lower()):
                continue
        matched = True
        ctx.output(to_lab_object(record, _NS + "ReceiveConnector"))
    if identity is not None and not matched:
        ctx.error(not_found(ctx, identity, "Microsoft.Exchange.Management.SystemConfigurationTasks.GetReceiveConnector"))
