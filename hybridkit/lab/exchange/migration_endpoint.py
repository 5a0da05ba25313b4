"""The migration endpoint the Hybrid Configuration Wizard creates, seeded into built-in orgs.

Below the cmdlet handlers so org builders (``orgs``) can seed it without importing the handler registry.
"""

from __future__ import annotations

import uuid

from hybridkit.lab.exchange.org import Org

__all__ = ["DEFAULT_ENDPOINT", "seed_migration_endpoint"]

DEFAULT_ENDPOINT = "Hybrid Migration Endpoint - EWS (Default Web Site)"


def seed_migration_endpoint(org: Org) -> None:
    """The migration endpoint the Hybrid Configuration Wizard creates (every built-in org with mailboxes has it)."""
    domain = str(org.onprem.settings.get("domain") or org.onprem.settings.get("primary_domain") or "contoso.com")
    org.online.collection("MigrationEndpoint").setdefault(DEFAULT_ENDPOINT, {
        "Identity": DEFAULT_ENDPOINT,
        "Name": DEFAULT_ENDPOINT,
        "EndpointType": "ExchangeRemoteMove",
        "RemoteServer": f"mail.{domain}",
        "MaxConcurrentMigrations": 20,
        "MaxConcurrentIncrementalSyncs": 10,
        "IsRemote": True,
        "Guid": str(uuid.uuid5(uuid.NAMESPACE_DNS, "endpoint." + domain)),
    })
