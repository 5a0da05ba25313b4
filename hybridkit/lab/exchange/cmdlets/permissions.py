"""Lab cmdlets the inventory crawl reads: mailbox sizes, FullAccess, Send-As, calendar folders and their rights.

Output shapes follow Exchange (see ``hybridkit.lab.exchange.orgs`` for the stored permission data):

* ``Get-MailboxStatistics``: ``TotalItemSize`` / ``TotalDeletedItemSize`` as ByteQuantifiedSize strings
  (``4.243 GB (4,555,456,537 bytes)``), ``MailboxGuid``, ``ItemCount``; one object per mailbox.
* ``Get-MailboxPermission``: ``MailboxAcePresentationObject`` rows with ``Identity`` as the mailbox's Identity
  (canonical name on-premises, Name online), ``User`` as ``DOMAIN\\sam`` (on-prem) or the UPN (online),
  ``AccessRights`` a list; Exchange's default entries (``NT AUTHORITY\\SELF``, inherited admin groups with Deny)
  are present, as in every real export.
* ``Get-ADPermission`` (on-prem only): ``ADAcePresentationObject`` rows; Send-As grants carry
  ``ExtendedRights = ['Send-As']``; SELF's own Send-As/Receive-As and inherited entries are present.
* ``Get-RecipientPermission`` (Exchange Online only): ``Trustee`` (UPN), ``AccessControlType``, ``AccessRights``.
* ``Get-MailboxFolderStatistics``: ``-Identity`` binds from the pipeline by property name only;
  ``-FolderScope Calendar`` returns the default calendar under its localised name (``Kalender``...).
* ``Get-MailboxFolderPermission 'mailbox:\\Folder'``: ``User`` as display names, ``Default`` and ``Anonymous``
  rows included; naming the English ``Calendar`` in a mailbox whose calendar is ``Kalender`` is not found.
"""

from __future__ import annotations

import uuid
from typing import Any

from hybridkit.lab.exchange import exchange_errors
from hybridkit.lab._types import LabObject
from hybridkit.lab.exchange.cmdlets._registry import CmdletContext, cmdlet
from hybridkit.lab.exchange.identity import identity_text, resolve_one
from hybridkit.lab.exchange.objects import format_size
from hybridkit.lab.exchange.shapes import shaped_object
from hybridkit.lab.exchange.default_permissions import calendar_permissions, mailbox_permissions

__all__ = ["FOLDER_TYPES", "permission_object", "split_folder_identity", "trustee_name"]

_MAILBOXES = frozenset({
    "UserMailbox", "SharedMailbox", "RoomMailbox", "EquipmentMailbox", "LinkedMailbox", "LinkedRoomMailbox",
    "DiscoveryMailbox", "SchedulingMailbox", "TeamMailbox", "LegacyMailbox",
})
# Default folders (FolderType -> English name); the calendar's name comes from the mailbox (localised).
FOLDER_TYPES = {
    "Root": "Top of Information Store", "Inbox": "Inbox", "Calendar": "Calendar", "Contacts": "Contacts",
    "SentItems": "Sent Items", "DeletedItems": "Deleted Items", "Drafts": "Drafts", "JunkEmail": "Junk Email",
    "Notes": "Notes", "Tasks": "Tasks", "Outbox": "Outbox", "Archive": "Archive",
}
_SCOPE_TYPE = {"calendar": "Calendar", "inbox": "Inbox", "contacts": "Contacts", "sentitems": "SentItems",
               "deleteditems": "DeletedItems", "drafts": "Drafts", "junkemail": "JunkEmail", "notes": "Notes",
               "tasks": "Tasks", "outbox": "Outbox", "archive": "Archive"}


def _mailbox(ctx: CmdletContext, identity: Any, *, any_recipient: bool = False) -> dict[str, Any] | None:
    """The mailbox ``identity`` names on this side, or None after writing Exchange's error."""
    accept = None if any_recipient else (lambda r: r.get("RecipientTypeDetails") in _MAILBOXES)
    rec, matches = resolve_one(ctx.side, identity, accept)
    if rec is None:
        make = exchange_errors.ambiguous if matches > 1 else exchange_errors.not_found
        ctx.error(make(ctx, identity_text(identity)))
    return rec


def _identity(rec: dict[str, Any]) -> str:
    return str(rec.get("Identity") or rec.get("Name") or rec.get("Guid"))


def _obj(kind: str, props: dict[str, Any], text: str | None = None) -> LabObject:
    """An object of shape ``kind`` (the type's full property set, ``hybridkit.lab.exchange.shapes``)."""
    props.setdefault("IsValid", True)
    return shaped_object(kind, props, to_string=text if text is not None else str(props.get("Identity")))


def permission_object(kind: str, props: dict[str, Any], text: str | None = None) -> LabObject:
    """A permission row of ``kind`` (``MailboxAce``, ``ADAce``, ``RecipientPermission``...) with Exchange's type names."""
    return _obj(kind, props, text)


def _guid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None


@cmdlet("Get-MailboxStatistics")
def get_mailbox_statistics(ctx: CmdletContext) -> None:
    """Size and item count of one mailbox per identity."""
    rec = _mailbox(ctx, ctx.params.get("Identity"))
    if rec is None:
        return
    size = int(rec.get("TotalItemSizeBytes") or 0)
    deleted = int(rec.get("TotalDeletedItemSizeBytes") or size // 20)
    items = int(rec.get("ItemCount") or 0)
    guid = rec.get("ExchangeGuid") or rec.get("Guid")
    props = {
        "DisplayName": rec.get("DisplayName"),
        "MailboxGuid": _guid(guid),
        "Database": rec.get("Database"),
        "DatabaseName": rec.get("Database"),
        "ServerName": rec.get("ServerName"),
        "ItemCount": items,
        "DeletedItemCount": int(rec.get("DeletedItemCount") or items // 25),
        "AssociatedItemCount": int(rec.get("AssociatedItemCount") or 40),
        "TotalItemSize": format_size(size),
        "TotalDeletedItemSize": format_size(deleted),
        "MailboxType": "Mailbox",
        "StorageLimitStatus": "BelowLimit",
        "LegacyDN": rec.get("LegacyExchangeDN"),
        "IsArchiveMailbox": False,
        "IsDatabaseCopyActive": True,
        "LastLogonTime": None,
        "ObjectClass": "Mailbox",
        "Identity": str(guid),
        "MapiIdentity": str(guid),
        "OriginatingServer": rec.get("ServerName"),
    }
    ctx.output(_obj("MailboxStatistics", props, str(rec.get("DisplayName"))))


def _trustee_name(ctx: CmdletContext, entry: dict[str, Any]) -> str:
    """How a permission's user reads on this side: DOMAIN\\sam on-prem (as stored), the UPN online."""
    user = str(entry.get("User"))
    if not ctx.is_online or user.upper().startswith("NT AUTHORITY\\"):
        return user
    trustee = entry.get("Trustee")
    for side in (ctx.side, ctx.org.onprem):
        rec = side.recipients.get(str(trustee)) if trustee else None
        if rec is not None:
            return str(rec.get("UserPrincipalName") or rec.get("PrimarySmtpAddress") or user)
    return user


def trustee_name(ctx: CmdletContext, entry: dict[str, Any]) -> str:
    """How a stored permission's user reads on this side (DOMAIN\\sam on-prem, the UPN online)."""
    return _trustee_name(ctx, entry)


def _user_filter(ctx: CmdletContext, name: str) -> set[str] | None:
    if not ctx.has(name) or ctx.params.get(name) in (None, ""):
        return None
    wanted = identity_text(ctx.params[name])
    names = {wanted.lower()}
    rec, _ = resolve_one(ctx.side, wanted)
    if rec is not None:
        netbios = ctx.side.settings.get("netbios", "CONTOSO")
        for key in ("UserPrincipalName", "PrimarySmtpAddress", "DisplayName"):
            if rec.get(key):
                names.add(str(rec[key]).lower())
        if rec.get("SamAccountName"):
            names.add(f"{netbios}\\{rec['SamAccountName']}".lower())
    return names


@cmdlet("Get-MailboxPermission")
def get_mailbox_permission(ctx: CmdletContext) -> None:
    """Every ACE on one mailbox (defaults included), optionally only those of ``-User``."""
    rec = _mailbox(ctx, ctx.params.get("Identity"))
    if rec is None:
        return
    only = _user_filter(ctx, "User")
    for entry in mailbox_permissions(ctx.side, rec):
        user = _trustee_name(ctx, entry)
        if only is not None and user.lower() not in only:
            continue
        ctx.output(_obj("MailboxAce", {
            "AccessRights": list(entry.get("AccessRights") or ["FullAccess"]),
            "Deny": bool(entry.get("Deny", False)),
            "InheritanceType": "All",
            "User": user,
            "Identity": _identity(rec),
            "IsInherited": bool(entry.get("IsInherited", False)),
            "IsValid": True,
        }))


_AD_DEFAULTS = (
    ("NT AUTHORITY\\SELF", ["ExtendedRight"], ["Send-As"], False),
    ("NT AUTHORITY\\SELF", ["ExtendedRight"], ["Receive-As"], False),
    ("NT AUTHORITY\\SELF", ["ReadProperty", "WriteProperty"], [], False),
    ("{netbios}\\Exchange Servers", ["ReadProperty", "WriteProperty"], [], True),
    ("{netbios}\\Exchange Trusted Subsystem", ["GenericAll"], [], True),
    ("{netbios}\\Domain Admins", ["GenericAll"], [], True),
)


@cmdlet("Get-ADPermission")
def get_ad_permission(ctx: CmdletContext) -> None:
    """The AD ACEs of one object: Exchange's defaults and the stored Send-As grants."""
    rec = _mailbox(ctx, ctx.params.get("Identity"), any_recipient=True)
    if rec is None:
        return
    netbios = ctx.side.settings.get("netbios", "CONTOSO")
    only = _user_filter(ctx, "User")
    entries = [{"User": u.format(netbios=netbios), "AccessRights": a, "ExtendedRights": e, "IsInherited": i,
                "Deny": False} for u, a, e, i in _AD_DEFAULTS]
    entries += [{"User": e.get("User"), "AccessRights": ["ExtendedRight"], "ExtendedRights": ["Send-As"],
                 "IsInherited": bool(e.get("IsInherited", False)), "Deny": bool(e.get("Deny", False))}
                for e in rec.get("SendAs") or []]
    for entry in entries:
        if only is not None and str(entry["User"]).lower() not in only:
            continue
        ctx.output(_obj("ADAce", {
            "AccessRights": entry["AccessRights"],
            "ExtendedRights": entry["ExtendedRights"] or None,
            "ChildObjectTypes": None,
            "InheritedObjectType": None,
            "Properties": None,
            "Deny": entry["Deny"],
            "InheritanceType": "All",
            "User": entry["User"],
            "Identity": _identity(rec),
            "IsInherited": entry["IsInherited"],
            "IsValid": True,
        }))


@cmdlet("Get-RecipientPermission")
def get_recipient_permission(ctx: CmdletContext) -> None:
    """Exchange Online Send-As grants of one recipient (SELF included), optionally for one ``-Trustee``."""
    rec = _mailbox(ctx, ctx.params.get("Identity"), any_recipient=True)
    if rec is None:
        return
    only = _user_filter(ctx, "Trustee")
    rights = ctx.params.get("AccessRights")
    entries = [{"User": "NT AUTHORITY\\SELF", "Trustee": None, "Deny": False, "IsInherited": False}]
    entries += [dict(e) for e in rec.get("SendAs") or []]
    for entry in entries:
        trustee = _trustee_name(ctx, entry)
        if only is not None and trustee.lower() not in only:
            continue
        if rights and "SendAs" not in [str(r) for r in (rights if isinstance(rights, list) else [rights])]:
            continue
        ctx.output(_obj("RecipientPermission", {
            "Identity": _identity(rec),
            "Trustee": trustee,
            "AccessControlType": "Deny" if entry.get("Deny") else "Allow",
            "AccessRights": ["SendAs"],
            "IsInherited": bool(entry.get("IsInherited", False)),
            "InheritanceType": "None",
        }))


def _folders(rec: dict[str, Any]) -> list[tuple[str, str]]:
    calendar = str(rec.get("CalendarFolder") or "Calendar")
    return [(kind, calendar if kind == "Calendar" else name) for kind, name in FOLDER_TYPES.items()]


@cmdlet("Get-MailboxFolderStatistics")
def get_mailbox_folder_statistics(ctx: CmdletContext) -> None:
    """The folders of one mailbox (``-FolderScope`` narrows to one default folder type, localised name)."""
    rec = _mailbox(ctx, ctx.params.get("Identity"))
    if rec is None:
        return
    scope = str(ctx.params.get("FolderScope") or "All")
    wanted = _SCOPE_TYPE.get(scope.lower())
    items = int(rec.get("ItemCount") or 0)
    mailbox_guid = rec.get("ExchangeGuid") or rec.get("Guid")
    for number, (kind, name) in enumerate(_folders(rec)):
        if wanted is not None and kind != wanted:
            continue
        path = "/" if kind == "Root" else f"/{name}"
        count = items // 20 if kind == "Calendar" else (items // 2 if kind == "Inbox" else items // 50)
        folder_id = uuid.uuid5(uuid.NAMESPACE_OID, f"{mailbox_guid}/{kind}")
        ctx.output(_obj("FolderStatistics", {
            "Name": name,
            "FolderPath": path,
            "FolderType": "User Created" if kind == "Archive" else kind,
            "ItemsInFolder": count,
            "FolderSize": format_size(count * 48_000),
            "FolderId": folder_id.hex.upper(),
            "ContentMailboxGuid": _guid(mailbox_guid),
            "Identity": f"{_identity(rec)}\\{name}" if kind != "Root" else _identity(rec),
            "Date": None,
            "CreationTime": rec.get("WhenCreated"),
            "IsValid": True,
        }, text=f"{_identity(rec)}\\{name}"))
        if number > 40:
            break


def split_folder_identity(text: str) -> tuple[str, str]:
    """``'ann@contoso.com:\\Kalender'`` -> ``('ann@contoso.com', 'Kalender')``; no folder part -> root ('')."""
    mailbox, sep, folder = text.partition(":\\")
    if not sep:
        mailbox, sep, folder = text.partition(":/")
    return mailbox.strip(), folder.strip().strip("\\/") if sep else ""


@cmdlet("Get-MailboxFolderPermission")
def get_mailbox_folder_permission(ctx: CmdletContext) -> None:
    """The permissions of one folder, ``mailbox:\\Folder`` (Default and Anonymous first; users by display name)."""
    raw = identity_text(ctx.params.get("Identity"))
    mailbox_id, folder = split_folder_identity(raw)
    rec, matches = resolve_one(ctx.side, mailbox_id, lambda r: r.get("RecipientTypeDetails") in _MAILBOXES)
    names = {n.lower(): kind for kind, n in _folders(rec)} if rec is not None else {}
    if rec is None or (folder and folder.lower() not in names):
        if matches > 1:
            ctx.error(exchange_errors.ambiguous(ctx, raw))
            return
        ctx.error(exchange_errors.exchange_error(
            cmdlet=ctx.name,
            message=f"The operation couldn't be performed because '{raw}' couldn't be found.",
            exception="ManagementObjectNotFoundException", category="ObjectNotFound", target=raw,
            server=str(ctx.side.settings.get("server_name") or "EX01"), now=ctx.now(), online=ctx.is_online))
        return
    kind = names.get(folder.lower(), "Root") if folder else "Root"
    folder_name = folder if folder else "Top of Information Store"
    entries = calendar_permissions(rec) if kind == "Calendar" else [
        {"User": "Default", "AccessRights": ["None"], "SharingPermissionFlags": None},
        {"User": "Anonymous", "AccessRights": ["None"], "SharingPermissionFlags": None},
    ]
    only = _user_filter(ctx, "User")
    for entry in entries:
        user = str(entry.get("User"))
        if only is not None and user.lower() not in only:
            continue
        ctx.output(_obj("FolderPermission", {
            "FolderName": folder_name,
            "User": user,
            "AccessRights": list(entry.get("AccessRights") or ["None"]),
            "SharingPermissionFlags": entry.get("SharingPermissionFlags"),
            "Identity": f"{mailbox_id}:\\{folder}" if folder else mailbox_id,
            "IsValid": True,
        }, text=f"{mailbox_id}:\\{folder}"))
