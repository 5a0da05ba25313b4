"""Lab cmdlets for the hybrid's sharing objects: organization relationships, intra-organization connectors (OAuth),
the on-prem hybrid configuration, and Get-PublicFolder (for decommissioning blockers).

Availability comes from the catalogue: *-OrganizationRelationship on both sides; *-IntraOrganizationConnector on
2013+ and Exchange Online (Set- also on the EOP label); Get/Set-HybridConfiguration on-premises only;
Remove-HybridConfiguration on 2013+ and Exchange Online (it removes the object on-premises; on Exchange Online
there is no such object and the lab does nothing). The demo org gets what the Hybrid Configuration Wizard leaves:
"O365 to On-premises - <guid>" (online), "On-premises to O365 - <guid>" (on-prem), "HybridIOC - <guid>" on each
side and the hybrid configuration object.
"""

from __future__ import annotations

import uuid
from typing import Any

from hybridkit.lab.exchange.cmdlets._objects import to_lab_object, touch, valid_domain
from hybridkit.lab.exchange.cmdlets._registry import CmdletContext, cmdlet
from hybridkit.lab.exchange.cmdlets._store import Kind, create, list_objects, remove, update
from hybridkit.lab.exchange.cmdlets.connectors import hcw_guid
from hybridkit.lab.exchange.exchange_errors import task_error
from hybridkit.lab.exchange.org import Org, register_demo_seeder, to_iso

__all__ = ["HYBRID_KINDS", "seed_hybrid_sharing"]

_MGMT = "Microsoft.Exchange.Data.Directory.Management."
_SYS = "Microsoft.Exchange.Data.Directory.SystemConfiguration."
_FED = "CN=Federation,CN=Contoso,CN=Microsoft Exchange,CN=Services,CN=Configuration,DC=contoso,DC=local"


def _relationship_defaults(ctx: CmdletContext | None) -> dict[str, Any]:
    return {
        "DomainNames": [], "FreeBusyAccessEnabled": False, "FreeBusyAccessLevel": "None", "FreeBusyAccessScope": None,
        "MailboxMoveEnabled": False, "MailboxMoveCapability": "None", "MailboxMovePublishedScopes": [],
        "DeliveryReportEnabled": False, "MailTipsAccessEnabled": False, "MailTipsAccessLevel": "None",
        "MailTipsAccessScope": None, "PhotosEnabled": False, "TargetApplicationUri": None, "TargetSharingEpr": None,
        "TargetOwaURL": None, "TargetAutodiscoverEpr": None, "OrganizationContact": None, "Enabled": True,
        "ArchiveAccessEnabled": False, "OAuthApplicationId": None,
    }


def _relationship_rules(obj: dict[str, Any], given: dict[str, Any]) -> list[str]:
    domains = obj.get("DomainNames") or []
    if not domains:
        return ["The DomainNames parameter can't be empty."]
    return [f"'{d}' isn't a valid domain name." for d in domains if not valid_domain(str(d), allow_wildcard=False)]


def _ioc_defaults(ctx: CmdletContext | None) -> dict[str, Any]:
    return {"TargetAddressDomains": [], "DiscoveryEndpoint": None, "Enabled": True, "TargetSharingEpr": None}


def _ioc_rules(obj: dict[str, Any], given: dict[str, Any]) -> list[str]:
    problems = [f"'{d}' isn't a valid domain name." for d in obj.get("TargetAddressDomains") or []
                if not valid_domain(str(d), allow_wildcard=False)]
    endpoint = str(obj.get("DiscoveryEndpoint") or "")
    if not endpoint.lower().startswith(("https://", "http://")):
        problems.append(f"'{endpoint}' isn't a valid absolute URI for DiscoveryEndpoint.")
    return problems


HYBRID_KINDS: dict[str, Kind] = {
    "OrganizationRelationship": Kind(
        "OrganizationRelationship", _MGMT + "OrganizationRelationship", _FED, _relationship_defaults,
        _relationship_rules, "Microsoft.Exchange.Management.SystemConfigurationTasks.NewOrganizationRelationship",
    ),
    "IntraOrganizationConnector": Kind(
        "IntraOrganizationConnector", _SYS + "IntraOrganizationConnector", "CN=IntraOrganization Connectors," + _FED,
        _ioc_defaults, _ioc_rules, "Microsoft.Exchange.Management.SystemConfigurationTasks.NewIntraOrganizationConnector",
    ),
}
_REL, _IOC = HYBRID_KINDS["OrganizationRelationship"], HYBRID_KINDS["IntraOrganizationConnector"]


@cmdlet("Get-OrganizationRelationship")
def get_organization_relationship(ctx: CmdletContext) -> None:
    list_objects(ctx, _REL)


@cmdlet("New-OrganizationRelationship")
def new_organization_relationship(ctx: CmdletContext) -> None:
    create(ctx, _REL)


@cmdlet("Set-OrganizationRelationship")
def set_organization_relationship(ctx: CmdletContext) -> None:
    update(ctx, _REL)


@cmdlet("Remove-OrganizationRelationship")
def remove_organization_relationship(ctx: CmdletContext) -> None:
    remove(ctx, _REL)


@cmdlet("Get-IntraOrganizationConnector")
def get_intra_organization_connector(ctx: CmdletContext) -> None:
    list_objects(ctx, _IOC)


@cmdlet("New-IntraOrganizationConnector")
def new_intra_organization_connector(ctx: CmdletContext) -> None:
    create(ctx, _IOC)


@cmdlet("Set-IntraOrganizationConnector")
def set_intra_organization_connector(ctx: CmdletContext) -> None:
    update(ctx, _IOC)


@cmdlet("Remove-IntraOrganizationConnector")
def remove_intra_organization_connector(ctx: CmdletContext) -> None:
    remove(ctx, _IOC)


# --- the hybrid configuration (one object, on-premises; the cmdlets take no -Identity) ---------------------------

_HYBRID_TYPE = _SYS + "HybridConfiguration"


def _hybrid_record(ctx: CmdletContext) -> dict[str, Any] | None:
    records = ctx.side.collection("HybridConfiguration")
    return next(iter(records.values()), None)


@cmdlet("Get-HybridConfiguration")
def get_hybrid_configuration(ctx: CmdletContext) -> None:
    """Outputs the hybrid configuration object; nothing when the HCW never ran (as Exchange does)."""
    record = _hybrid_record(ctx)
    if record is not None:
        ctx.output(to_lab_object(record, _HYBRID_TYPE))


@cmdlet("Set-HybridConfiguration")
def set_hybrid_configuration(ctx: CmdletContext) -> None:
    record = _hybrid_record(ctx)
    if record is None:
        ctx.error(task_error(ctx, "The Hybrid Configuration object doesn't exist. Run the Hybrid Configuration "
                                  "Wizard first.", exception="ManagementObjectNotFoundException",
                             category="ObjectNotFound", target="Hybrid Configuration"))
        return
    if ctx.params.get("WhatIf"):
        return
    for key, value in ctx.params.items():
        if key not in ("Confirm", "WhatIf", "DomainController"):
            record[key] = list(value) if isinstance(value, (list, tuple)) else value
    touch(ctx, record)


@cmdlet("Remove-HybridConfiguration")
def remove_hybrid_configuration(ctx: CmdletContext) -> None:
    """Removes the on-prem object; on Exchange Online there is none and nothing happens."""
    if ctx.params.get("WhatIf"):
        return
    ctx.side.collection("HybridConfiguration").clear()


# --- public folders -------------------------------------------------------------------------------------------


@cmdlet("Get-PublicFolder")
def get_public_folder(ctx: CmdletContext) -> None:
    """The root folder (or ``-Identity``), its children with ``-GetChildren``, everything with ``-Recurse``.

    Folders live in ``side.collection("PublicFolder")`` keyed by path (``\\Sales``), each with ``Name``,
    ``ParentPath``, ``ContentMailboxName``, ``MailEnabled``. With no public folder mailboxes, Exchange fails.
    """
    folders = ctx.side.collection("PublicFolder")
    if not folders:
        ctx.error(task_error(
            ctx, "No active public folder mailboxes were found. This happens when no public folder mailboxes are "
                 "provisioned or they are provisioned in 'HoldForMigration' mode. If you're not currently "
                 "performing a migration, create a public folder mailbox.",
            exception="Microsoft.Exchange.Data.StoreObjects.NoActivePublicFolderMailboxFoundException",
            category="NotSpecified", target=ctx.params.get("Identity", "\\")))
        return
    root = str(ctx.params.get("Identity") or "\\").rstrip("\\") or "\\"

    def parent(path: str) -> str:
        return path.rsplit("\\", 1)[0] or "\\"

    if ctx.params.get("Recurse"):
        chosen = [p for p in sorted(folders) if root == "\\" or p == root or p.startswith(root + "\\")]
    elif ctx.params.get("GetChildren"):
        chosen = [p for p in sorted(folders) if p != "\\" and parent(p) == root]
    else:
        chosen = [p for p in sorted(folders) if p == root]
    for path in chosen:
        record = {"Identity": path, "Name": folders[path].get("Name", path.rsplit("\\", 1)[-1] or "IPM_SUBTREE"),
                  "ParentPath": parent(path) if path != "\\" else None, **folders[path]}
        ctx.output(to_lab_object(record, "Microsoft.Exchange.Data.Storage.Management.PublicFolder"))


# --- the demo org ---------------------------------------------------------------------------------------------


def _seed(coll: dict[str, dict[str, Any]], name: str, container: str, props: dict[str, Any], now: str) -> None:
    coll[name] = {
        "Name": name, "Identity": name, "Guid": str(uuid.uuid5(uuid.NAMESPACE_OID, "hybrid:" + name)),
        "DistinguishedName": f"CN={name},{container}", "WhenCreated": now, "WhenChanged": now,
        "WhenCreatedUTC": now, "WhenChangedUTC": now, "IsValid": True, "ObjectState": "Unchanged", **props,
    }


@register_demo_seeder
def seed_hybrid_sharing(org: Org) -> None:
    """Organization relationships, intra-organization connectors and the hybrid configuration, as HCW leaves them."""
    guid = hcw_guid(org)
    now = to_iso(org.clock.now())
    domain = str(org.onprem.settings.get("domain", "contoso.com"))
    routing = str(org.onprem.settings.get("routing_domain") or f"{domain.split('.')[0]}.mail.onmicrosoft.com")
    server = str(org.onprem.settings.get("server_name") or "EX01")
    public = f"mail.{domain}"
    sharing = {"FreeBusyAccessEnabled": True, "FreeBusyAccessLevel": "LimitedDetails", "MailTipsAccessEnabled": True,
               "MailTipsAccessLevel": "All", "DeliveryReportEnabled": True, "PhotosEnabled": True,
               "ArchiveAccessEnabled": True}
    _seed(org.online.collection("OrganizationRelationship"), f"O365 to On-premises - {guid}", _FED, {
        **_relationship_defaults(None), **sharing, "DomainNames": [domain],
        "TargetApplicationUri": f"FYDIBOHF25SPDLT.{domain}",
        "TargetAutodiscoverEpr": f"https://autodiscover.{domain}/autodiscover/autodiscover.svc/WSSecurity",
        "MailboxMoveCapability": "RemoteOutbound, RemoteInbound"}, now)
    _seed(org.onprem.collection("OrganizationRelationship"), f"On-premises to O365 - {guid}", _FED, {
        **_relationship_defaults(None), **sharing, "DomainNames": [routing], "MailboxMoveEnabled": True,
        "TargetApplicationUri": "outlook.com", "TargetOwaURL": "https://outlook.office.com/mail",
        "TargetAutodiscoverEpr": "https://autodiscover-s.outlook.com/autodiscover/autodiscover.svc/WSSecurity"}, now)
    ioc = f"HybridIOC - {guid}"
    _seed(org.onprem.collection("IntraOrganizationConnector"), ioc, "CN=IntraOrganization Connectors," + _FED, {
        **_ioc_defaults(None), "TargetAddressDomains": [routing],
        "DiscoveryEndpoint": "https://autodiscover-s.outlook.com/autodiscover/autodiscover.svc"}, now)
    _seed(org.online.collection("IntraOrganizationConnector"), ioc, "CN=IntraOrganization Connectors", {
        **_ioc_defaults(None), "TargetAddressDomains": [domain],
        "DiscoveryEndpoint": f"https://{public}/autodiscover/autodiscover.svc"}, now)
    _seed(org.onprem.collection("HybridConfiguration"), "Hybrid Configuration", "CN=Hybrid Configuration," + _FED, {
        "Domains": [domain], "Features": ["FreeBusy", "MoveMailbox", "Mailtips", "MessageTracking", "OwaRedirection",
                                          "OnlineArchive", "SecureMail", "Photos"],
        "OnPremisesSmartHost": public, "SendingTransportServers": [server], "ReceivingTransportServers": [server],
        "EdgeTransportServers": [], "ClientAccessServers": [], "ExternalIPAddresses": [], "ServiceInstance": 0,
        "TlsCertificateName": f"<I>CN=Contoso Issuing CA<S>CN={public}"}, now)
