"""Recipients of the built-in orgs (see ``hybridkit.lab.exchange.orgs`` for the stored shapes).

``build_synthetic_people`` makes N mailboxes fast (``orgs_demo.populate_demo`` builds the realistic demo org from
the helpers here). Both fill both sides: on-prem mailboxes, and online the synced mail users (or, for migrated mailboxes, the cloud mailbox
plus an on-prem RemoteMailbox).
"""

from __future__ import annotations

import datetime as dt
import random
import unicodedata
import uuid
from typing import Any

from hybridkit.lab.exchange.org import Org, Side, to_iso

__all__ = ["build_synthetic_people", "make_mailbox", "migrate_mailbox", "sync_mail_user"]

FIRST = ["Ann", "Ben", "Chloe", "Dan", "Eve", "Frank", "Grace", "Heidi", "Ivan", "Judy", "Karl", "Laura", "Mallory",
         "Niaj", "Olivia", "Peggy", "Quentin", "Rupert", "Sybil", "Trent", "Ursula", "Victor", "Walter", "Yolanda",
         "Zoë", "Søren", "José", "Chen", "Aisha", "Björn", "Noémie", "Priya"]
LAST = ["Lee", "Smith", "Nguyen", "Jones", "Taylor", "Brown", "Garcia", "Martin", "Davies", "Evans", "Thomas",
        "Hall", "Kowalski", "Müller", "O'Brien", "Rossi", "Dubois", "Schmidt", "Okafor", "Tanaka", "Silva", "Novak"]
DEPARTMENTS = [("Sales", 42), ("Marketing", 28), ("Engineering", 48), ("Finance", 26), ("HR", 18), ("IT", 26),
               ("Operations", 32), ("Legal", 14), ("Facilities", 16), ("Support", 52), ("Executive", 6)]
OFFICES = [("London", "Calendar"), ("Seattle", "Calendar"), ("Berlin", "Kalender"), ("Paris", "Calendrier")]
ORPHAN_SID = "S-1-5-21-3623811015-3361044348-30300820-1013"
_SID_BASE = "S-1-5-21-3623811015-3361044348-30300820-"
_LEGACY = "/o=Contoso/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/cn="
_ONLINE_DN = ",OU=contoso.onmicrosoft.com,OU=Microsoft Exchange Hosted Organizations,DC=EURPR04A001,DC=PROD,DC=OUTLOOK,DC=COM"


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text.replace("ø", "o").replace("Ø", "O"))
    return "".join(c for c in folded if c.isascii() and (c.isalnum() or c in ".-")).lower()


def _guid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def make_mailbox(side: Side, rng: random.Random, *, name: str, alias: str, sam: str, ou: list[str],
                 kind: str = "UserMailbox", first: str | None = None, last: str | None = None,
                 database: str = "DB01", created: dt.datetime, size: int = 0, rid: int = 0,
                 extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """An on-prem mailbox (or plain user / group when ``kind`` says so) added to ``side``."""
    domain = side.settings.get("domain", "contoso.com")
    guid = _guid(rng)
    email = f"{alias}@{domain}"
    dn_ou = ",".join(f"OU={part}" for part in reversed(ou))
    canonical_ou = "/".join([domain, *ou])
    mailbox = kind.endswith("Mailbox")
    rec: dict[str, Any] = {
        "Guid": guid, "Name": name, "DisplayName": name, "Alias": alias if kind != "User" else None,
        "FirstName": first, "LastName": last,
        "RecipientType": "UserMailbox" if mailbox else ("User" if kind in ("User", "DisabledUser") else "MailUniversalSecurityGroup"),
        "RecipientTypeDetails": kind,
        "PrimarySmtpAddress": email if kind not in ("User", "DisabledUser") else None,
        "EmailAddresses": [f"SMTP:{email}", f"smtp:{alias}@{side.settings.get('routing_domain')}"] if mailbox else
        ([f"SMTP:{email}"] if kind not in ("User", "DisabledUser") else []),
        "Identity": f"{canonical_ou}/{name}", "OrganizationalUnit": canonical_ou,
        "DistinguishedName": f"CN={name},{dn_ou},DC=contoso,DC=com",
        "SamAccountName": sam, "UserPrincipalName": f"{alias}@{domain}" if kind != "MailUniversalSecurityGroup" else None,
        "Sid": f"{_SID_BASE}{rid or rng.randint(2000, 10**7)}",
        "WhenCreated": to_iso(created), "WhenChanged": to_iso(created),
        "AccountDisabled": kind in ("RoomMailbox", "EquipmentMailbox", "SharedMailbox", "DisabledUser"),
    }
    if mailbox:
        rec.update({
            "ExchangeGuid": _guid(rng), "LegacyExchangeDN": f"{_LEGACY}{guid.replace('-', '')}-{alias}",
            "Database": database, "ServerName": "ex01" if database in ("DB01", "DB03") else "ex02",
            "TotalItemSizeBytes": size, "ItemCount": size // 74_000,
        })
    if extra:
        rec.update(extra)
    side.recipients[guid] = rec
    return rec


def sync_mail_user(online: Side, rng: random.Random, rec: dict[str, Any]) -> dict[str, Any]:
    """The Exchange Online mail user that directory sync makes for an on-prem mailbox."""
    guid = _guid(rng)
    alias, email = rec["Alias"], rec["PrimarySmtpAddress"]
    mail_user = {
        "Guid": guid, "Name": rec["Name"], "DisplayName": rec["DisplayName"], "Alias": alias,
        "FirstName": rec.get("FirstName"), "LastName": rec.get("LastName"),
        "RecipientType": "MailUser", "RecipientTypeDetails": "MailUser", "PrimarySmtpAddress": email,
        "ExternalEmailAddress": f"SMTP:{email}",
        "EmailAddresses": [f"SMTP:{email}", f"smtp:{alias}@{online.settings['routing_domain']}",
                           f"smtp:{alias}@{online.settings['tenant']}", f"X500:{rec.get('LegacyExchangeDN')}"],
        "Identity": rec["Name"], "DistinguishedName": f"CN={rec['Name']}{_ONLINE_DN}",
        "OrganizationalUnit": "EURPR04A001.PROD.OUTLOOK.COM/Microsoft Exchange Hosted Organizations/contoso.onmicrosoft.com",
        "UserPrincipalName": rec.get("UserPrincipalName"), "ExchangeGuid": rec.get("ExchangeGuid"),
        "ExternalDirectoryObjectId": _guid(rng), "IsDirSynced": True, "Department": rec.get("Department"),
        "Title": rec.get("Title"), "Office": rec.get("Office"), "OnPremisesGuid": rec["Guid"],
        "WhenCreated": rec["WhenCreated"], "WhenChanged": rec["WhenChanged"],
    }
    online.recipients[guid] = mail_user
    return mail_user


def migrate_mailbox(org: Org, onprem_rec: dict[str, Any], online_rec: dict[str, Any],
                    capabilities: list[str]) -> None:
    """Turn a synced pair into a migrated one: cloud mailbox online, RemoteMailbox on-prem."""
    routing = org.onprem.settings["routing_domain"]
    shared = onprem_rec["RecipientTypeDetails"] == "SharedMailbox"
    online_rec.update({
        "RecipientType": "UserMailbox", "RecipientTypeDetails": "SharedMailbox" if shared else "UserMailbox",
        "ExternalEmailAddress": None, "Database": "EURPR04DG123-db045", "ServerName": "am6pr04mb4582",
        "PersistedCapabilities": capabilities, "TotalItemSizeBytes": onprem_rec.get("TotalItemSizeBytes", 0),
        "ItemCount": onprem_rec.get("ItemCount", 0), "CalendarFolder": onprem_rec.get("CalendarFolder"),
    })
    onprem_rec.update({
        "RecipientType": "MailUser", "RecipientTypeDetails": "RemoteSharedMailbox" if shared else "RemoteUserMailbox",
        "RemoteRoutingAddress": f"SMTP:{onprem_rec['Alias']}@{routing}",
        "RemoteRecipientType": "Migrated, SharedMailbox" if shared else "Migrated",
    })
    for key in ("Database", "ServerName", "TotalItemSizeBytes", "ItemCount"):
        onprem_rec.pop(key, None)


def _size(rng: random.Random) -> int:
    return int(min(rng.lognormvariate(21.6, 1.0), 48 * 1024**3))


def build_synthetic_people(org: Org, count: int, rng: random.Random) -> None:
    """``count`` on-prem mailboxes (90% user, 7% shared, 3% room) with proportional permissions, and a mail user
    online for each. Built with plain dict literals so 100,000 take a few seconds."""
    onprem, online = org.onprem, org.online
    domain, routing, tenant = onprem.settings["domain"], onprem.settings["routing_domain"], onprem.settings["tenant"]
    netbios = onprem.settings["netbios"]
    created = to_iso(dt.datetime(2024, 1, 8, 9, 0, tzinfo=dt.timezone.utc))
    depts = [d for d, _ in DEPARTMENTS]
    users: list[dict[str, Any]] = []
    svc = make_mailbox(onprem, rng, name="svc-backup", alias="svc-backup", sam="svc-backup",
                       ou=["Corp", "IT", "Service Accounts"], kind="User", created=dt.datetime(2020, 1, 6, tzinfo=dt.timezone.utc))
    getrandbits = rng.getrandbits
    nf, nl = len(FIRST), len(LAST)
    for i in range(count):
        first, last = FIRST[i % nf], LAST[(i // nf) % nl]
        serial = i // (nf * nl)
        dept = depts[i % len(depts)]
        kind = "SharedMailbox" if i % 100 < 7 else ("RoomMailbox" if i % 100 < 10 else "UserMailbox")
        if kind == "UserMailbox":
            name = f"{first} {last}{serial or ''}" if serial else f"{first} {last}"
            alias = f"{_ascii(first)}.{_ascii(last)}{serial or ''}"
            ou_leaf = "Users"
        else:
            name = f"{dept} {'Shared' if kind == 'SharedMailbox' else 'Room'} {i}"
            alias = f"{dept.lower()}.{'shared' if kind == 'SharedMailbox' else 'room'}{i}"
            ou_leaf = "Shared" if kind == "SharedMailbox" else "Resources"
        guid = str(uuid.UUID(int=getrandbits(128), version=4))
        xguid = str(uuid.UUID(int=getrandbits(128), version=4))
        email = f"{alias}@{domain}"
        size = (getrandbits(32) * 3) % (12 * 1024**3) + 20 * 1024**2
        rec = {
            "Guid": guid, "Name": name, "DisplayName": name, "Alias": alias, "FirstName": first, "LastName": last,
            "RecipientType": "UserMailbox", "RecipientTypeDetails": kind, "PrimarySmtpAddress": email,
            "EmailAddresses": [f"SMTP:{email}", f"smtp:{alias}@{routing}"],
            "Identity": f"{domain}/Corp/{dept}/{ou_leaf}/{name}", "OrganizationalUnit": f"{domain}/Corp/{dept}/{ou_leaf}",
            "DistinguishedName": f"CN={name},OU={ou_leaf},OU={dept},OU=Corp,DC=contoso,DC=com",
            "SamAccountName": alias.replace(".", "")[:20], "UserPrincipalName": email,
            "Sid": f"{_SID_BASE}{100000 + i}", "WhenCreated": created, "WhenChanged": created,
            "AccountDisabled": kind != "UserMailbox", "Department": dept,
            "ExchangeGuid": xguid, "LegacyExchangeDN": f"{_LEGACY}{guid.replace('-', '')}-{alias}",
            "Database": f"DB0{i % 4 + 1}", "ServerName": "ex01" if i % 2 == 0 else "ex02",
            "TotalItemSizeBytes": size, "ItemCount": size // 74_000,
            "MailboxPermissions": [{"User": f"{netbios}\\svc-backup", "Trustee": svc["Guid"],
                                    "AccessRights": ["FullAccess"], "IsInherited": False, "Deny": False}],
        }
        onprem.recipients[guid] = rec
        if kind == "UserMailbox":
            users.append(rec)
        oguid = str(uuid.UUID(int=getrandbits(128), version=4))
        online.recipients[oguid] = {
            "Guid": oguid, "Name": name, "DisplayName": name, "Alias": alias, "RecipientType": "MailUser",
            "RecipientTypeDetails": "MailUser", "PrimarySmtpAddress": email, "ExternalEmailAddress": f"SMTP:{email}",
            "EmailAddresses": [f"SMTP:{email}", f"smtp:{alias}@{routing}", f"smtp:{alias}@{tenant}"],
            "Identity": name, "UserPrincipalName": email, "ExchangeGuid": xguid, "IsDirSynced": True,
            "OnPremisesGuid": guid, "WhenCreated": created, "WhenChanged": created,
        }
    _synthetic_permissions(onprem, rng, users, netbios)


def _synthetic_permissions(side: Side, rng: random.Random, users: list[dict[str, Any]], netbios: str) -> None:
    if not users:
        return
    pick = rng.randrange
    for rec in side.recipients.values():
        kind = rec["RecipientTypeDetails"]
        if kind == "SharedMailbox":
            members = [users[pick(len(users))] for _ in range(4)]
            rec["MailboxPermissions"] += [
                {"User": f"{netbios}\\{m['SamAccountName']}", "Trustee": m["Guid"], "AccessRights": ["FullAccess"],
                 "IsInherited": False, "Deny": False} for m in members]
            rec["SendAs"] = [{"User": f"{netbios}\\{m['SamAccountName']}", "Trustee": m["Guid"], "Deny": False,
                              "IsInherited": False} for m in members[:2]]
    for index in range(0, len(users), 25):
        boss, helper = users[index], users[pick(len(users))]
        if boss is helper:
            continue
        boss["GrantSendOnBehalfTo"] = [helper["Guid"]]
        boss["CalendarPermissions"] = [{"User": helper["DisplayName"], "Trustee": helper["Guid"],
                                        "AccessRights": ["Editor"], "SharingPermissionFlags": "Delegate"}]
