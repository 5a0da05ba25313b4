"""Built-in lab organisations: ``demo``, ``synthetic:N`` and ``empty``.

``build_org(spec, version, time_scale)`` returns an ``Org``. ``demo`` is deterministic (seeded RNG) and runs the
capabilities' ``DEMO_SEEDERS`` afterwards; ``synthetic:N`` makes N on-prem mailboxes with proportional permissions
quickly (no per-object heavy work); ``empty`` has the org skeleton (servers, databases, domains, org config) only.

Stored shapes (plain JSON data; Exchange property names as keys)
-----------------------------------------------------------------
``side.settings``: ``domain`` (contoso.com), ``netbios`` (CONTOSO), ``ad_domain`` (contoso.local),
``domain_controller``, ``server_name``, ``tenant`` (contoso.onmicrosoft.com), ``routing_domain``
(contoso.mail.onmicrosoft.com); online also ``directory_server`` and ``connect_app`` (the ``AppId`` /
``CertificateThumbprint`` / ``Organization`` that ``Connect-ExchangeOnline`` accepts).

``side.recipients[guid]`` (one dict per recipient, on each side):
  Guid, Name, DisplayName, Alias, FirstName, LastName, RecipientType, RecipientTypeDetails, PrimarySmtpAddress,
  EmailAddresses (``["SMTP:primary", "smtp:secondary", "X500:..."]``), Identity (on-prem canonical name
  ``contoso.com/Corp/Sales/Users/Ann Lee``; online the Name), DistinguishedName, OrganizationalUnit,
  SamAccountName, UserPrincipalName, LegacyExchangeDN, ExchangeGuid, Sid, Department, Title, Office, Company,
  Manager (GUID of the manager's recipient), AccountDisabled, WhenCreated/WhenChanged (ISO strings);
  mailboxes: Database, ServerName, TotalItemSizeBytes (int), ItemCount (int), LitigationHoldEnabled ...;
  on-prem remote mailboxes: RemoteRoutingAddress; mail users: ExternalEmailAddress;
  online mailboxes: PersistedCapabilities (``["BPOS_S_Enterprise"]`` = Exchange Online Plan 2, hold-eligible;
  ``["BPOS_S_Standard"]`` = Plan 1, not), ExternalDirectoryObjectId.
  Plain users (``RecipientTypeDetails`` ``User``/``DisabledUser``, e.g. ``svc-backup``) and mail-enabled
  security groups (``MailUniversalSecurityGroup``) are recipients too.

Permissions (only what differs from Exchange's defaults is stored; ``mailbox_permissions`` /
``calendar_permissions`` add the defaults every mailbox has):
  ``MailboxPermissions``: list of ``{"User": "CONTOSO\\sam" | "S-1-5-21-..." | "CONTOSO\\Sales Managers",
  "Trustee": <recipient GUID or None>, "AccessRights": ["FullAccess"], "IsInherited": bool, "Deny": bool}``
  (Get-MailboxPermission). Implicit on every mailbox: ``NT AUTHORITY\\SELF`` FullAccess+ReadPermission (not
  inherited), and inherited entries for Domain Admins / Enterprise Admins / Organization Management (FullAccess
  Deny), Exchange Servers, NT AUTHORITY\\SYSTEM and Exchange Trusted Subsystem.
  ``SendAs``: list of ``{"User", "Trustee", "Deny", "IsInherited"}`` (on-prem Get-ADPermission with
  ExtendedRights Send-As; online Get-RecipientPermission with the trustee's UPN).
  ``GrantSendOnBehalfTo``: list of recipient GUIDs (Get-Mailbox shows their Identity).
  ``CalendarFolder``: the localised folder name (``Calendar``, ``Kalender``, ``Calendrier``).
  ``CalendarPermissions``: list of ``{"User": display name | "Default" | "Anonymous", "Trustee": GUID or None,
  "AccessRights": ["Editor"], "SharingPermissionFlags": "Delegate" | None}``; implicit Default=AvailabilityOnly
  and Anonymous=None unless overridden.

Collections: ``ExchangeServer``, ``MailboxDatabase``, ``AcceptedDomain``, ``OrganizationConfig`` (one entry).
"""

from __future__ import annotations

import datetime as dt
import random
import uuid

from hybridkit.lab.exchange.default_permissions import calendar_permissions, mailbox_permissions
from hybridkit.lab.exchange.org import DEMO_SEEDERS, Org, Side, VirtualClock, to_iso
from hybridkit.lab.exchange.migration_endpoint import seed_migration_endpoint
from hybridkit.lab.exchange.orgs_demo import populate_demo
from hybridkit.lab.exchange.orgs_people import build_synthetic_people

__all__ = ["build_org", "calendar_permissions", "mailbox_permissions", "skeleton"]

EPOCH = dt.datetime(2026, 11, 2, 8, 0, tzinfo=dt.timezone.utc)
_VERSIONS = {
    "2010": ("Version 14.3 (Build 123.4)", "0.10 (14.0.100.0)"),
    "2013": ("Version 15.0 (Build 1497.2)", "0.20 (15.0.0.0)"),
    "2016": ("Version 15.1 (Build 2507.6)", "0.20 (15.0.0.0)"),
    "2019": ("Version 15.2 (Build 1544.4)", "0.20 (15.0.0.0)"),
    "SE": ("Version 15.2 (Build 2562.17)", "0.20 (15.0.0.0)"),
}


def _guid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def skeleton(version: str = "2019", time_scale: float = 1.0, seed: int = 2026) -> Org:
    """An org with servers, databases, accepted domains and org config on both sides, and no recipients."""
    rng = random.Random(seed)
    admin_version, exchange_version = _VERSIONS.get(version.upper() if version.upper() == "SE" else version,
                                                    _VERSIONS["2019"])
    onprem = Side("onprem", settings={
        "domain": "contoso.com", "netbios": "CONTOSO", "ad_domain": "contoso.local",
        "domain_controller": "DC01.contoso.local", "server_name": "EX01", "tenant": "contoso.onmicrosoft.com",
        "routing_domain": "contoso.mail.onmicrosoft.com", "exchange_version": exchange_version,
    })
    online = Side("online", settings={
        "domain": "contoso.com", "netbios": "CONTOSO", "tenant": "contoso.onmicrosoft.com",
        "routing_domain": "contoso.mail.onmicrosoft.com", "server_name": "AM6PR04MB4582",
        "directory_server": "AM6PR04MB4582.EURPRD04.PROD.OUTLOOK.COM",
        "connect_app": {
            "app_id": _guid(rng),
            "certificate_thumbprint": "%040X" % rng.getrandbits(160),
            "organization": "contoso.onmicrosoft.com",
        },
    })
    created = to_iso(EPOCH - dt.timedelta(days=2200))
    config_dn = "CN=Contoso,CN=Microsoft Exchange,CN=Services,CN=Configuration,DC=contoso,DC=local"
    for index, name in enumerate(("EX01", "EX02")):
        onprem.collection("ExchangeServer")[name] = {
            "Name": name, "Identity": name, "Fqdn": f"{name}.contoso.local", "Edition": "Standard",
            "AdminDisplayVersion": admin_version,
            "ServerRole": "Mailbox, ClientAccess, HubTransport" if version == "2010" else "Mailbox",
            "IsMailboxServer": True,
            "IsClientAccessServer": True, "IsHubTransportServer": True, "IsEdgeServer": False,
            "Site": "contoso.local/Configuration/Sites/Default-First-Site-Name", "Domain": "contoso.local",
            "OrganizationalUnit": "contoso.local/Microsoft Exchange Security Groups",
            "DistinguishedName": f"CN={name},CN=Servers,CN=Exchange Administrative Group (FYDIBOHF23SPDLT),"
                                 f"CN=Administrative Groups,{config_dn}",
            "ExchangeLegacyDN": f"/o=Contoso/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Configuration/"
                                f"cn=Servers/cn={name}",
            "Guid": _guid(rng), "WhenCreated": created, "WhenChanged": created, "ExchangeVersion": exchange_version,
            "_index": index,
        }
    for number in range(1, 5):
        name = f"DB0{number}"
        server = "EX01" if number % 2 else "EX02"
        onprem.collection("MailboxDatabase")[name] = {
            "Name": name, "Identity": name, "Server": server, "MasterServerOrAvailabilityGroup": "DAG01",
            "Servers": ["EX01", "EX02"], "EdbFilePath": f"D:\\Databases\\{name}\\{name}.edb",
            "LogFolderPath": f"E:\\Logs\\{name}", "IsMailboxDatabase": True, "Recovery": False,
            "ProhibitSendQuota": "49.5 GB (53,150,220,288 bytes)",
            "ProhibitSendReceiveQuota": "50 GB (53,687,091,200 bytes)",
            "IssueWarningQuota": "49 GB (52,613,349,376 bytes)", "CircularLoggingEnabled": False,
            "Mounted": True, "DatabaseSize": 0, "AvailableNewMailboxSpace": 512 * 1024**2,
            "BackupInProgress": False, "LastFullBackup": None, "Guid": _guid(rng),
            "WhenCreated": created, "WhenChanged": created, "ExchangeVersion": exchange_version,
        }
    for side, domains in ((onprem, [("contoso.com", True, "Authoritative"),
                                    ("contoso.mail.onmicrosoft.com", False, "Authoritative")]),
                          (online, [("contoso.com", True, "Authoritative"),
                                    ("contoso.onmicrosoft.com", False, "Authoritative"),
                                    ("contoso.mail.onmicrosoft.com", False, "Authoritative")])):
        for domain, default, kind in domains:
            side.collection("AcceptedDomain")[domain] = {
                "Name": domain, "Identity": domain, "DomainName": domain, "DomainType": kind, "Default": default,
                "MatchSubDomains": False, "AddressBookEnabled": True,
                "InitialDomain": side is online and domain == "contoso.onmicrosoft.com",
                "Guid": _guid(rng), "WhenCreated": created, "WhenChanged": created,
            }
    onprem.collection("OrganizationConfig")["Contoso"] = {
        "Name": "Contoso", "Identity": "Contoso", "DisplayName": "Contoso", "Guid": _guid(rng),
        "PublicFoldersEnabled": "Local", "PublicFoldersLockedForMigration": False,
        "MapiHttpEnabled": True, "OAuth2ClientProfileEnabled": True, "IsDehydrated": False,
        "AdminDisplayVersion": admin_version, "ExchangeVersion": exchange_version,
        "DistinguishedName": config_dn, "WhenCreated": created, "WhenChanged": created,
    }
    online.collection("OrganizationConfig")["contoso.onmicrosoft.com"] = {
        "Name": "contoso.onmicrosoft.com", "Identity": "contoso.onmicrosoft.com", "DisplayName": "Contoso",
        "Guid": _guid(rng), "PublicFoldersEnabled": "Local", "IsDehydrated": False, "MapiHttpEnabled": True,
        "OAuth2ClientProfileEnabled": True, "AuditDisabled": False, "HybridConfigurationStatus": "Completed",
        "WhenCreated": created, "WhenChanged": created,
    }
    clock = VirtualClock(EPOCH if time_scale == 0 else None, time_scale)
    return Org(onprem, online, clock, version)


def build_org(spec: str = "demo", version: str = "2019", time_scale: float = 1.0) -> Org:
    """Build ``demo``, ``synthetic:N`` or ``empty``; raises ValueError for anything else."""
    org = skeleton(version, time_scale)
    if spec == "empty":
        return org
    if spec == "demo":
        populate_demo(org, random.Random(20261128))
        import hybridkit.lab.exchange.cmdlets  # noqa: F401  (its handler modules register the demo seeders)

        for seeder in DEMO_SEEDERS:
            seeder(org)
        return org
    if spec.startswith("synthetic:"):
        try:
            count = int(spec.split(":", 1)[1])
        except ValueError:
            raise ValueError(f"bad org spec {spec!r}: synthetic:N needs a number") from None
        if count < 0:
            raise ValueError(f"bad org spec {spec!r}: N must be >= 0")
        build_synthetic_people(org, count, random.Random(count))
        seed_migration_endpoint(org)  # the Hybrid Configuration Wizard's endpoint, as the demo org has it
        return org
    raise ValueError(f"unknown org {spec!r}: use demo, synthetic:N or empty")
