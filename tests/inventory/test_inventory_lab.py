"""Engine-level tests of the lab's permission and statistics cmdlets (handlers driven directly)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from hybridkit.lab._types import CollectingSink, EndpointKind, LabSession
from hybridkit.lab.exchange.cmdlets import permissions  # noqa: F401  (registers the cmdlets)
from hybridkit.lab.exchange.cmdlets._registry import HANDLERS, CmdletContext
from hybridkit.lab.exchange.org import Org, Side, VirtualClock

T0 = dt.datetime(2026, 11, 28, 6, 0, tzinfo=dt.timezone.utc)


Sink = CollectingSink


def _rec(name: str, kind: str = "UserMailbox", **extra: Any) -> dict[str, Any]:
    alias = name.lower().replace(" ", ".")
    return {"Guid": str(uuid.uuid5(uuid.NAMESPACE_DNS, alias)), "ExchangeGuid": str(uuid.uuid5(uuid.NAMESPACE_URL, alias)),
            "Name": name, "DisplayName": name, "Alias": alias, "SamAccountName": alias.replace(".", ""),
            "PrimarySmtpAddress": f"{alias}@contoso.com", "UserPrincipalName": f"{alias}@corp.contoso.com",
            "Identity": f"contoso.com/Corp/Users/{name}", "RecipientTypeDetails": kind, **extra}


def make_org() -> tuple[Org, dict[str, dict[str, Any]]]:
    onprem = Side("onprem", settings={"netbios": "CONTOSO"})
    online = Side("online", settings={"netbios": "CONTOSO"})
    ann = _rec("Ann Lee", TotalItemSizeBytes=4_555_456_537, ItemCount=1234, CalendarFolder="Kalender")
    bob = _rec("Bob Ray")
    team = _rec("Sales Team", "SharedMailbox",
                MailboxPermissions=[{"User": "CONTOSO\\annlee", "Trustee": ann["Guid"], "AccessRights": ["FullAccess"],
                                     "IsInherited": False, "Deny": False}],
                SendAs=[{"User": "CONTOSO\\bobray", "Trustee": bob["Guid"], "Deny": False, "IsInherited": False}])
    ann["CalendarPermissions"] = [{"User": "Bob Ray", "Trustee": bob["Guid"], "AccessRights": ["Editor"],
                                   "SharingPermissionFlags": "Delegate"}]
    for r in (ann, bob, team):
        onprem.recipients[r["Guid"]] = r
    cloud = _rec("Cat Kim", SendAs=[{"User": "CONTOSO\\annlee", "Trustee": ann["Guid"], "Deny": False,
                                     "IsInherited": False}])
    cloud["Identity"] = "Cat Kim"
    online.recipients[cloud["Guid"]] = cloud
    return Org(onprem, online, VirtualClock(T0, scale=0.0)), {"ann": ann, "bob": bob, "team": team, "cat": cloud}


def run(org: Org, side: str, name: str, **params: Any) -> Sink:
    sink = Sink()
    online = side == "online"
    session = LabSession(EndpointKind.ONLINE if online else EndpointKind.ONPREM, "admin")
    ctx = CmdletContext(name, params, None, org, org.side(side), session,
                        "Exchange Online" if online else "Exchange Server 2019", sink)
    HANDLERS[name.lower()](ctx)
    return sink


def test_statistics_sizes_are_exchange_strings() -> None:
    org, r = make_org()
    out = run(org, "onprem", "Get-MailboxStatistics", Identity="ann.lee@contoso.com").out[0]
    assert out.get("TotalItemSize") == "4.243 GB (4,555,456,537 bytes)"
    assert out.get("ItemCount") == 1234 and str(out.get("MailboxGuid")) == r["ann"]["ExchangeGuid"]
    assert "couldn't be found" in run(org, "onprem", "Get-MailboxStatistics", Identity="ghost").errors[0].message


def test_mailbox_permission_has_defaults_and_grants() -> None:
    org, _ = make_org()
    rows = [(o.get("User"), o.get("AccessRights"), o.get("IsInherited"), o.get("Deny"))
            for o in run(org, "onprem", "Get-MailboxPermission", Identity="Sales Team").out]
    assert ("NT AUTHORITY\\SELF", ["FullAccess", "ReadPermission"], False, False) in rows
    assert ("CONTOSO\\Domain Admins", ["FullAccess"], True, True) in rows
    assert ("CONTOSO\\annlee", ["FullAccess"], False, False) in rows
    first = run(org, "onprem", "Get-MailboxPermission", Identity="Sales Team").out[0]
    assert first.get("Identity") == "contoso.com/Corp/Users/Sales Team"
    only = run(org, "onprem", "Get-MailboxPermission", Identity="Sales Team", User="ann.lee@contoso.com").out
    assert [o.get("User") for o in only] == ["CONTOSO\\annlee"]


def test_send_as_on_premises_and_online() -> None:
    org, _ = make_org()
    ad = run(org, "onprem", "Get-ADPermission", Identity="Sales Team").out
    send_as = [(o.get("User"), o.get("IsInherited")) for o in ad if "Send-As" in (o.get("ExtendedRights") or [])]
    assert send_as == [("NT AUTHORITY\\SELF", False), ("CONTOSO\\bobray", False)]
    assert any(o.get("IsInherited") for o in ad)
    rp = run(org, "online", "Get-RecipientPermission", Identity="Cat Kim").out
    assert [(o.get("Trustee"), o.get("AccessControlType")) for o in rp] == [
        ("NT AUTHORITY\\SELF", "Allow"), ("ann.lee@corp.contoso.com", "Allow")]


def test_calendar_folder_is_localised_and_permissions_use_display_names() -> None:
    org, _ = make_org()
    folders = run(org, "onprem", "Get-MailboxFolderStatistics", Identity="ann.lee", FolderScope="Calendar").out
    assert [(f.get("Name"), f.get("FolderPath"), f.get("FolderType")) for f in folders] == [
        ("Kalender", "/Kalender", "Calendar")]
    perms = run(org, "onprem", "Get-MailboxFolderPermission", Identity="ann.lee@contoso.com:\\Kalender").out
    assert [(p.get("User"), p.get("AccessRights"), p.get("FolderName")) for p in perms] == [
        ("Default", ["AvailabilityOnly"], "Kalender"), ("Anonymous", ["None"], "Kalender"),
        ("Bob Ray", ["Editor"], "Kalender")]
    wrong = run(org, "onprem", "Get-MailboxFolderPermission", Identity="ann.lee@contoso.com:\\Calendar")
    assert not wrong.out and "couldn't be found" in wrong.errors[0].message
    english = run(org, "onprem", "Get-MailboxFolderStatistics", Identity="bob.ray", FolderScope="Calendar").out
    assert english[0].get("Name") == "Calendar"
    assert len(run(org, "onprem", "Get-MailboxFolderStatistics", Identity="bob.ray").out) > 5
