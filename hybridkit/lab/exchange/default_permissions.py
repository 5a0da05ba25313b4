"""The permissions every mailbox has by default, added to the ones an org stores (see ``orgs``'s docstring).

Below both the org builders and the permission cmdlets, so neither imports the other.
"""

from __future__ import annotations

from typing import Any

from hybridkit.lab.exchange.org import Side

__all__ = ["calendar_permissions", "mailbox_permissions"]

_DEFAULT_FULL_ACCESS: list[dict[str, Any]] = [
    {"User": "NT AUTHORITY\\SELF", "AccessRights": ["FullAccess", "ReadPermission"], "IsInherited": False, "Deny": False},
    {"User": "CONTOSO\\Domain Admins", "AccessRights": ["FullAccess"], "IsInherited": True, "Deny": True},
    {"User": "CONTOSO\\Enterprise Admins", "AccessRights": ["FullAccess"], "IsInherited": True, "Deny": True},
    {"User": "CONTOSO\\Organization Management", "AccessRights": ["FullAccess"], "IsInherited": True, "Deny": True},
    {"User": "NT AUTHORITY\\SYSTEM", "AccessRights": ["FullAccess"], "IsInherited": True, "Deny": False},
    {"User": "CONTOSO\\Exchange Servers", "AccessRights": ["FullAccess"], "IsInherited": True, "Deny": False},
    {"User": "CONTOSO\\Exchange Trusted Subsystem", "AccessRights": ["FullAccess"], "IsInherited": True, "Deny": False},
]


def mailbox_permissions(side: Side, rec: dict[str, Any]) -> list[dict[str, Any]]:
    """Every Get-MailboxPermission entry of a mailbox: Exchange's defaults, then the stored ones."""
    netbios = side.settings.get("netbios", "CONTOSO")
    defaults = []
    for entry in _DEFAULT_FULL_ACCESS:
        if side.name == "online" and entry["IsInherited"]:
            continue  # Exchange Online shows SELF and its own service principals only
        item = dict(entry)
        item["User"] = item["User"].replace("CONTOSO\\", f"{netbios}\\")
        item["Trustee"] = None
        defaults.append(item)
    return defaults + [dict(e) for e in rec.get("MailboxPermissions") or []]


def calendar_permissions(rec: dict[str, Any]) -> list[dict[str, Any]]:
    """Every Get-MailboxFolderPermission entry of the mailbox's calendar (Default and Anonymous first)."""
    stored = [dict(e) for e in rec.get("CalendarPermissions") or []]
    named = {str(e.get("User")) for e in stored}
    out = []
    for user, rights in (("Default", "AvailabilityOnly"), ("Anonymous", "None")):
        if user not in named:
            out.append({"User": user, "Trustee": None, "AccessRights": [rights], "SharingPermissionFlags": None})
    return out + stored
