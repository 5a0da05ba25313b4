"""Pure transforms of the inventory crawl: Exchange objects -> export rows.

Objects are anything with ``.get(name)`` (the bridge's ``PSObject``); rows are dicts keyed by the export's
columns with values written as Windows PowerShell's ``Export-Csv`` writes them on an en-US machine, whatever
kind the value arrived as: ``True``/``False``; multi-valued properties joined with ``", "`` (as the export
samples show ``FullAccess, ReadPermission``); a Guid in its lower-case ``D`` form; a DateTime as .NET's en-US
``ToString()`` (``12/5/2026 7:38:05 AM``, in UTC); an Exchange object (ADObjectId, ...) as its ``ToString()``.
No I/O here.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from hybridkit.inventory._model import COLUMNS, Export, MailboxRef
from hybridkit.sides import Side

__all__ = [
    "calendar_folder_identity",
    "calendar_rows",
    "folder_owner",
    "fullaccess_rows",
    "mailbox_ref",
    "mailbox_row",
    "sendas_rows",
    "sendonbehalf_row",
    "size_row",
    "text",
]


def text(value: Any) -> str:
    """A value as Export-Csv writes it (see the module docstring)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, (list, tuple)):
        return ", ".join(text(v) for v in value)
    if isinstance(value, dt.datetime):
        utc = value.astimezone(dt.timezone.utc) if value.tzinfo else value
        hour = utc.hour % 12 or 12
        return f"{utc.month}/{utc.day}/{utc.year} {hour}:{utc:%M:%S} {'AM' if utc.hour < 12 else 'PM'}"
    if isinstance(value, uuid.UUID):
        return str(value)  # .NET's Guid.ToString(): lower case, with hyphens
    return str(value)


def mailbox_ref(obj: Any, side: Side | str) -> MailboxRef:
    """The listing stage's view of one Get-Mailbox object."""
    identity = obj.get("Identity") or obj.get("DistinguishedName") or obj.get("PrimarySmtpAddress")
    return MailboxRef(
        side=side,
        identity=text(identity),
        primary_smtp=text(obj.get("PrimarySmtpAddress")),
        display_name=text(obj.get("DisplayName")),
        exchange_guid=text(obj.get("ExchangeGuid")).lower(),
    )


def mailbox_row(obj: Any) -> dict[str, str]:
    """``Get-Mailbox | Select DisplayName,Alias,PrimarySmtpAddress,...`` for one mailbox."""
    return {column: text(obj.get(column)) for column in COLUMNS[Export.MAILBOXES]}


def sendonbehalf_row(obj: Any) -> dict[str, str] | None:
    """PrimarySmtpAddress and GrantSendOnBehalfTo joined with ``;`` (None when nobody has the right)."""
    delegates = [text(d) for d in obj.get("GrantSendOnBehalfTo") or [] if text(d)]
    if not delegates:
        return None
    return {"PrimarySmtpAddress": text(obj.get("PrimarySmtpAddress")), "GrantSendOnBehalfTo": ";".join(delegates)}


def size_row(ref: MailboxRef, obj: Any) -> dict[str, str]:
    return {
        "DisplayName": text(obj.get("DisplayName")) or ref.display_name,
        "PrimarySmtpAddress": ref.primary_smtp,
        "TotalItemSize": text(obj.get("TotalItemSize")),
        "ItemCount": text(obj.get("ItemCount")),
    }


def fullaccess_rows(objs: Iterable[Any]) -> list[dict[str, str]]:
    """Every Get-MailboxPermission entry, as the real export keeps them (SELF, inherited and Deny included)."""
    return [{column: text(o.get(column)) for column in COLUMNS[Export.FULLACCESS]} for o in objs]


def sendas_rows(objs: Iterable[Any], side: str) -> list[dict[str, str]]:
    """Send-As grants in the sendas.csv shape.

    On-premises: Get-ADPermission entries whose ExtendedRights include Send-As. Exchange Online:
    Get-RecipientPermission entries (Trustee -> User, AccessControlType Deny -> Deny, ExtendedRights Send-As).
    """
    rows = []
    for o in objs:
        if side == "online":
            if "SendAs" not in [text(r) for r in (o.get("AccessRights") or [])]:
                continue
            rows.append({"Identity": text(o.get("Identity")), "User": text(o.get("Trustee")),
                         "ExtendedRights": "Send-As", "IsInherited": text(bool(o.get("IsInherited"))),
                         "Deny": text(text(o.get("AccessControlType")) == "Deny")})
        else:
            rights = [text(r) for r in (o.get("ExtendedRights") or [])]
            if not any(r.lower() == "send-as" for r in rights):
                continue
            rows.append({"Identity": text(o.get("Identity")), "User": text(o.get("User")),
                         "ExtendedRights": "Send-As", "IsInherited": text(bool(o.get("IsInherited"))),
                         "Deny": text(bool(o.get("Deny")))})
    return rows


def folder_owner(obj: Any) -> str:
    """The mailbox Identity a Get-MailboxFolderStatistics object belongs to (its Identity before ``\\Folder``)."""
    identity = text(obj.get("Identity"))
    return identity.rpartition("\\")[0] or identity


def calendar_folder_identity(ref: MailboxRef, folders: Sequence[Any]) -> tuple[str, str] | None:
    """(``mailbox:\\Folder``, folder name) of the default calendar among ``-FolderScope Calendar`` results.

    The default calendar is the one of FolderType ``Calendar``; its name is localised (Kalender, Calendrier...).
    """
    for folder in folders:
        if text(folder.get("FolderType")) == "Calendar":
            path = text(folder.get("FolderPath")).strip("/").replace("/", "\\") or text(folder.get("Name"))
            return f"{ref.primary_smtp or ref.identity}:\\{path}", text(folder.get("Name")) or path.rsplit("\\", 1)[-1]
    return None


def calendar_rows(ref: MailboxRef, folder_name: str, perms: Iterable[Any]) -> list[dict[str, str]]:
    return [
        {"Mailbox": ref.primary_smtp, "FolderName": text(p.get("FolderName")) or folder_name,
         "User": text(p.get("User")), "AccessRights": text(p.get("AccessRights"))}
        for p in perms
    ]
