"""Migration endpoints and the organisation's migration limits (Exchange Online side of onboarding).

``Get-MigrationEndpoint`` / ``New-MigrationEndpoint`` (the ExchangeRemoteMove type, as the Hybrid Configuration
Wizard creates it and as hybrid onboarding uses it) and ``Get-MigrationConfig`` (MaxNumberOfBatches 100,
MaxConcurrentMigrations 300: Exchange Team blog, 19 April 2019, "The 100 migration batches limit").
"""

from __future__ import annotations

import uuid

from hybridkit.lab._types import LabError, LabTerminatingError
from hybridkit.lab.exchange.cmdlets._migration_base import as_text, audit, dated, lab_error, not_found
from hybridkit.lab.exchange.shapes import shaped_object
from hybridkit.lab.exchange.cmdlets._registry import CmdletContext, cmdlet

__all__ = ["MAX_CONCURRENT_MIGRATIONS"]

MAX_CONCURRENT_MIGRATIONS = 300  # Get-MigrationConfig in Exchange Online (shown; the lab does not throttle)
_ENDPOINT_TYPES = ("ExchangeOutlookAnywhere", "IMAP", "Gmail", "PSTImport", "PublicFolder",
                   "PublicFolderToUnifiedGroup", "Compliance")


@cmdlet("Get-MigrationEndpoint")
def get_migration_endpoint(ctx: CmdletContext) -> None:
    endpoints = ctx.side.collection("MigrationEndpoint")
    if ctx.has("Identity"):
        wanted = as_text(ctx.params["Identity"]).lower()
        found = [e for k, e in endpoints.items() if k.lower() == wanted]
        if not found:
            ctx.error(not_found(ctx, ctx.params["Identity"]))
    else:
        found = list(endpoints.values())
        if ctx.has("Type"):
            found = [e for e in found if str(e.get("EndpointType")).lower() == str(ctx.params["Type"]).lower()]
    for endpoint in found:
        ctx.output(shaped_object("MigrationEndpoint", dated(endpoint), endpoint["Identity"]))


def _count(value: object, default: int) -> int:
    """An ``Unlimited`` parameter value as the endpoint stores it (the lab keeps plain numbers)."""
    if value is None:
        return default
    text = str(value).strip()
    return default if text.lower() == "unlimited" else int(text)


@cmdlet("New-MigrationEndpoint")
def new_migration_endpoint(ctx: CmdletContext) -> None:
    """The ExchangeRemoteMove endpoint (by -RemoteServer, or -Autodiscover from -EmailAddress); others not emulated."""
    other = next((t for t in _ENDPOINT_TYPES if ctx.params.get(t)), None)
    if other is not None or not ctx.params.get("ExchangeRemoteMove"):
        kind = other or "Exchange Outlook Anywhere"
        raise LabTerminatingError(LabError(
            message=f"The hybridkit lab emulates only ExchangeRemoteMove migration endpoints, not {kind}.",
            exception_type="System.NotImplementedException",
            fully_qualified_error_id="LabParameterNotEmulated,New-MigrationEndpoint",
            category="NotImplemented", reason="NotImplementedException", target=kind))
    name = str(ctx.params["Name"])
    endpoints = ctx.side.collection("MigrationEndpoint")
    if any(k.lower() == name.lower() for k in endpoints):
        raise ctx.terminate(lab_error(ctx, f"A migration endpoint with the name '{name}' already exists.",
                                      "Microsoft.Exchange.Migration.MigrationEndpointDuplicateException", name))
    if ctx.has("RemoteServer"):
        remote = str(ctx.params["RemoteServer"])
    else:  # -Autodiscover: the MRS proxy host of the admin's mail domain
        remote = "mail." + str(ctx.params.get("EmailAddress", "")).rpartition("@")[2]
    endpoint = {
        "Identity": name,
        "Name": name,
        "EndpointType": "ExchangeRemoteMove",
        "RemoteServer": remote,
        "MaxConcurrentMigrations": _count(ctx.params.get("MaxConcurrentMigrations"), 20),
        "MaxConcurrentIncrementalSyncs": _count(ctx.params.get("MaxConcurrentIncrementalSyncs"), 10),
        "IsRemote": True,
        "Guid": str(uuid.uuid4()),
    }
    endpoints[name] = endpoint
    audit(ctx, "New-MigrationEndpoint", name, remote_server=remote)
    ctx.output(shaped_object("MigrationEndpoint", dated(endpoint), name))


@cmdlet("Get-MigrationConfig")
def get_migration_config(ctx: CmdletContext) -> None:
    from hybridkit.lab.exchange.cmdlets.migration import MAX_BATCHES

    tenant = str(ctx.side.settings.get("tenant") or "contoso.onmicrosoft.com")
    props = {
        "Identity": tenant,
        "MaxNumberOfBatches": int(ctx.side.settings.get("migration_max_batches", MAX_BATCHES)),
        "MaxConcurrentMigrations": MAX_CONCURRENT_MIGRATIONS,
        "IsValid": True,
    }
    ctx.output(shaped_object("MigrationConfig", props, tenant))
