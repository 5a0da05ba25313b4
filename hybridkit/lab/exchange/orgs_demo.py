"""The demo org's people: departments, shared mailboxes with teams, rooms, assistants, system mailboxes, the
backup service account, deliberately broken entries, and the cloud side (synced mail users, a few migrated
mailboxes with licences). Deterministic for a given RNG. Shapes are described in ``hybridkit.lab.exchange.orgs``.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from hybridkit.lab.exchange.org import Org, Side
from hybridkit.lab.exchange.orgs_people import (
    DEPARTMENTS,
    FIRST,
    LAST,
    OFFICES,
    ORPHAN_SID,
    _ascii,
    _size,
    make_mailbox,
    migrate_mailbox,
    sync_mail_user,
)

__all__ = ["MIGRATED_LICENCES", "populate_demo"]

# Licences of the already-migrated cloud mailboxes, in order (Plan 2 is hold-eligible; Plan 1 alone is not).
MIGRATED_LICENCES = [["BPOS_S_Enterprise"]] * 5 + [["BPOS_S_Standard"], ["BPOS_S_Standard", "BPOS_S_ArchiveAddOn"]]
_TITLES = {"Sales": "Account Manager", "Marketing": "Marketing Specialist", "Engineering": "Software Engineer",
           "Finance": "Accountant", "HR": "HR Advisor", "IT": "Systems Engineer", "Operations": "Operations Analyst",
           "Legal": "Counsel", "Facilities": "Facilities Coordinator", "Support": "Support Engineer",
           "Executive": "Executive"}


def _entry(side: Side, trustee: dict[str, Any], rights: list[str] | None = None, deny: bool = False) -> dict[str, Any]:
    return {"User": f"{side.settings['netbios']}\\{trustee['SamAccountName']}", "Trustee": trustee["Guid"],
            "AccessRights": rights or ["FullAccess"], "IsInherited": False, "Deny": deny}


def _send_as(side: Side, trustee: dict[str, Any]) -> dict[str, Any]:
    return {"User": f"{side.settings['netbios']}\\{trustee['SamAccountName']}", "Trustee": trustee["Guid"],
            "Deny": False, "IsInherited": False}


def _people(onprem: Side, rng: random.Random) -> dict[str, list[dict[str, Any]]]:
    used: set[str] = set()
    by_dept: dict[str, list[dict[str, Any]]] = {}
    base = dt.datetime(2019, 3, 4, 9, 0, tzinfo=dt.timezone.utc)
    for dept, count in DEPARTMENTS:
        members = by_dept.setdefault(dept, [])
        for index in range(count):
            first, last = rng.choice(FIRST), rng.choice(LAST)
            initial = chr(ord("A") + rng.randrange(26))
            name = f"{first} {initial}. {last}"
            alias = f"{_ascii(first)}.{initial.lower()}.{_ascii(last)}"
            suffix = 2
            while alias in used:
                alias = f"{_ascii(first)}.{initial.lower()}.{_ascii(last)}{suffix}"
                name = f"{first} {initial}. {last}{suffix}"
                suffix += 1
            used.add(alias)
            office, folder = OFFICES[rng.randrange(len(OFFICES))]
            title = ("Head of " + dept) if index == 0 else ("Executive Assistant" if index == 1 else _TITLES[dept])
            rec = make_mailbox(
                onprem, rng, name=name, alias=alias, sam=alias.replace(".", "")[:20], ou=["Corp", dept, "Users"],
                first=first, last=last, database=f"DB0{rng.randrange(4) + 1}",
                created=base + dt.timedelta(days=rng.randrange(2400), minutes=rng.randrange(600)), size=_size(rng),
                extra={"Department": dept, "Title": title, "Office": office, "Company": "Contoso Ltd",
                       "City": office, "CalendarFolder": folder},
            )
            members.append(rec)
    for dept, members in by_dept.items():
        head = members[0]
        for rec in members[1:]:
            rec["Manager"] = head["Guid"]
        if dept != "Executive":
            head["Manager"] = by_dept["Executive"][0]["Guid"] if "Executive" in by_dept else None
    return by_dept


def _resource(onprem: Side, rng: random.Random, name: str, kind: str, ou: list[str], dept: str) -> dict[str, Any]:
    alias = _ascii(name.replace(" ", "."))
    return make_mailbox(onprem, rng, name=name, alias=alias, sam=alias.replace(".", "")[:20], ou=ou, kind=kind,
                        database=f"DB0{rng.randrange(4) + 1}", created=dt.datetime(2020, 5, 11, tzinfo=dt.timezone.utc),
                        size=_size(rng) // 4, extra={"Department": dept})


def _system(onprem: Side, rng: random.Random) -> None:
    created = dt.datetime(2019, 1, 14, 10, 0, tzinfo=dt.timezone.utc)
    for name, kind, ou in (
        ("SystemMailbox{1f05a927-3be2-4fb9-aa03-b59fe3b56f4c}", "ArbitrationMailbox", ["Users"]),
        ("SystemMailbox{bb558c35-97f1-4cb9-8ff7-d53741dc928c}", "ArbitrationMailbox", ["Users"]),
        ("SystemMailbox{e0dc1c29-89c3-4034-b678-e6c29d823ed9}", "ArbitrationMailbox", ["Users"]),
        ("Migration.8f3e7716-2011-43e4-96b1-aba62d229136", "ArbitrationMailbox", ["Users"]),
        ("FederatedEmail.4c1f4d8b-8179-4148-93bf-00a95fa1e042", "ArbitrationMailbox", ["Users"]),
        ("DiscoverySearchMailbox{D919BA05-46A6-415f-80AD-7E09334BB852}", "DiscoveryMailbox", ["Users"]),
        ("HealthMailbox0c3c1e6f8a2b4b1d9a7e5c3b2a1d0f9e", "MonitoringMailbox",
         ["Microsoft Exchange System Objects", "Monitoring Mailboxes"]),
        ("HealthMailbox5d7e9f1a3b5c4d6e8f0a2b4c6d8e0f1a", "MonitoringMailbox",
         ["Microsoft Exchange System Objects", "Monitoring Mailboxes"]),
    ):
        alias = name.replace("{", "").replace("}", "")[:64]
        rec = make_mailbox(onprem, rng, name=name, alias=alias, sam=("SM_" + alias)[:20], ou=ou, kind=kind,
                           database="DB01", created=created, size=50 * 1024**2 + rng.randrange(10**8))
        rec["HiddenFromAddressListsEnabled"] = True
        rec["DisplayName"] = {"DiscoveryMailbox": "Discovery Search Mailbox"}.get(kind, rec["DisplayName"])


def populate_demo(org: Org, rng: random.Random) -> None:
    """Fill ``org`` with the demo recipients and permissions."""
    onprem = org.onprem
    by_dept = _people(onprem, rng)
    everyone = [r for members in by_dept.values() for r in members]
    svc = make_mailbox(onprem, rng, name="svc-backup", alias="svc-backup", sam="svc-backup",
                       ou=["Corp", "IT", "Service Accounts"], kind="User",
                       created=dt.datetime(2019, 2, 1, tzinfo=dt.timezone.utc),
                       extra={"DisplayName": "Backup Service", "Department": "IT"})
    old_admin = make_mailbox(onprem, rng, name="Old Admin", alias="old.admin", sam="old.admin",
                             ou=["Corp", "IT", "Disabled"], kind="DisabledUser",
                             created=dt.datetime(2018, 6, 1, tzinfo=dt.timezone.utc), extra={"Department": "IT"})
    # A leaver: the account is disabled but the mailbox (and its rights elsewhere) remain.
    leaver = by_dept["Sales"][-1]
    leaver["AccountDisabled"] = True
    sales_managers = make_mailbox(onprem, rng, name="Sales Managers", alias="sales.managers", sam="Sales Managers",
                                  ou=["Corp", "Sales", "Groups"], kind="MailUniversalSecurityGroup",
                                  created=dt.datetime(2019, 4, 1, tzinfo=dt.timezone.utc),
                                  extra={"Members": [r["Guid"] for r in by_dept["Sales"][:4]]})
    shared: list[dict[str, Any]] = []
    for dept, members in by_dept.items():
        for number in (1, 2) if dept != "Executive" else (1,):
            box = _resource(onprem, rng, f"{dept} Team {number}", "SharedMailbox", ["Corp", dept, "Shared"], dept)
            team = rng.sample(members[2:], min(len(members) - 2, rng.randrange(3, 9)))
            box["MailboxPermissions"] = [_entry(onprem, m) for m in team]
            box["SendAs"] = [_send_as(onprem, m) for m in team[: max(1, len(team) // 2)]]
            shared.append(box)
    payables = _resource(onprem, rng, "Accounts Payable", "SharedMailbox", ["Corp", "Finance", "Shared"], "Finance")
    crossing = by_dept["Finance"][2:5] + by_dept["IT"][2:3] + by_dept["Operations"][2:4]
    payables["MailboxPermissions"] = [_entry(onprem, m) for m in crossing]
    payables["SendAs"] = [_send_as(onprem, m) for m in crossing[:3]]
    payables["GrantSendOnBehalfTo"] = [by_dept["Operations"][2]["Guid"]]
    shared.append(payables)
    sales1, sales2 = shared[0], shared[1]
    group_entry = {"User": f"{onprem.settings['netbios']}\\Sales Managers", "Trustee": sales_managers["Guid"],
                   "AccessRights": ["FullAccess"], "IsInherited": False, "Deny": False}
    sales1["MailboxPermissions"].append(group_entry)
    sales1["SendAs"].append({"User": group_entry["User"], "Trustee": sales_managers["Guid"], "Deny": False,
                             "IsInherited": False})
    sales2["MailboxPermissions"].append(_entry(onprem, leaver))
    sales2["MailboxPermissions"].append(_entry(onprem, by_dept["Sales"][5], deny=True))
    rooms = [_resource(onprem, rng, f"Room {city} {n}", "RoomMailbox", ["Corp", "Facilities", "Resources"], "Facilities")
             for city, _ in OFFICES for n in (1, 2)]
    rooms += [_resource(onprem, rng, name, "EquipmentMailbox", ["Corp", "Facilities", "Resources"], "Facilities")
              for name in ("Projector 1", "Projector 2", "Pool Van 1", "Pool Van 2")]
    for room in rooms:
        room["CalendarPermissions"] = [{"User": "Default", "Trustee": None, "AccessRights": ["LimitedDetails"],
                                        "SharingPermissionFlags": None}]
    # Assistants: calendar delegate (Editor + Delegate) and SendOnBehalf on their department head.
    for members in by_dept.values():
        head, assistant = members[0], members[1]
        head["GrantSendOnBehalfTo"] = [assistant["Guid"]]
        head.setdefault("CalendarPermissions", []).append(
            {"User": assistant["DisplayName"], "Trustee": assistant["Guid"], "AccessRights": ["Editor"],
             "SharingPermissionFlags": "Delegate"})
        head.setdefault("MailboxPermissions", []).append(_entry(onprem, assistant))
    for rec in rng.sample(everyone, 30):  # colleagues sharing calendars read-only
        peer = rng.choice(everyone)
        if peer is not rec:
            rec.setdefault("CalendarPermissions", []).append(
                {"User": peer["DisplayName"], "Trustee": peer["Guid"], "AccessRights": ["Reviewer"],
                 "SharingPermissionFlags": None})
    for rec in rng.sample(everyone, 5):  # a deleted account still on the ACL
        rec.setdefault("MailboxPermissions", []).append(
            {"User": ORPHAN_SID, "Trustee": None, "AccessRights": ["FullAccess"], "IsInherited": False, "Deny": False})
    shared[3].setdefault("SendAs", []).append({"User": ORPHAN_SID, "Trustee": None, "Deny": False, "IsInherited": False})
    everyone[7].setdefault("MailboxPermissions", []).append(_entry(onprem, old_admin))
    mailboxes = everyone + shared + rooms
    for rec in mailboxes:
        rec.setdefault("MailboxPermissions", []).append(_entry(onprem, svc))
    _system(onprem, rng)
    _cloud(org, rng, mailboxes, by_dept, sales_managers)


def _cloud(org: Org, rng: random.Random, mailboxes: list[dict[str, Any]], by_dept: dict[str, list[dict[str, Any]]],
           group: dict[str, Any]) -> None:
    online = org.online
    pairs = {rec["Guid"]: sync_mail_user(online, rng, rec) for rec in mailboxes}
    online_group = dict(group, Guid=f"{group['Guid'][:-4]}0001", Identity=group["Name"], Members=[])
    online.recipients[online_group["Guid"]] = online_group
    migrated = by_dept["IT"][3:8] + by_dept["Engineering"][3:5]
    for rec, licence in zip(migrated, MIGRATED_LICENCES, strict=True):
        migrate_mailbox(org, rec, pairs[rec["Guid"]], list(licence))
    it_shared = next(r for r in mailboxes if r["Name"] == "IT Team 1")
    migrate_mailbox(org, it_shared, pairs[it_shared["Guid"]], [])
    # Mailbox-level rights moved with the mailboxes; re-point trustees to the cloud objects.
    for rec in [*migrated, it_shared]:
        cloud = pairs[rec["Guid"]]
        for key in ("MailboxPermissions", "CalendarPermissions", "GrantSendOnBehalfTo"):
            if key in rec:
                cloud[key] = _repoint(rec.pop(key), pairs, online)
        cloud["CalendarFolder"] = rec.get("CalendarFolder")


def _repoint(value: list[Any], pairs: dict[str, dict[str, Any]], online: Side) -> list[Any]:
    out: list[Any] = []
    for item in value:
        if isinstance(item, dict):
            item = dict(item)
            target = pairs.get(str(item.get("Trustee")))
            item["Trustee"] = target["Guid"] if target else None
            if target and item.get("User", "").count("\\"):
                item["User"] = target.get("UserPrincipalName") or item["User"]
            out.append(item)
        else:
            target = pairs.get(str(item))
            out.append(target["Guid"] if target else item)
    return out
