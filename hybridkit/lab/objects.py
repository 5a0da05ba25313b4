"""Exchange-shaped output objects built from the lab's stored records.

Every builder returns a ``LabObject`` with the real type's full property set (``hybridkit.lab.shapes``: type names
most derived first, every property in Exchange's order, each of its real CLIXML kind) whose values are computed
only when a property is first read. Values follow Exchange's shapes: sizes as ByteQuantifiedSize strings
(``hybridkit.lab.sizes.format_size``), aware datetimes, GUIDs as ``uuid.UUID``, multi-valued properties as lists,
object references as the referenced object's Identity (canonical name on-premises, Name in Exchange Online).
Stored records are described in ``hybridkit.lab.orgs``; a record's keys that are properties of the type show up
as stored (e.g. ``Set-Mailbox -CustomAttribute1``), everything else takes Exchange's defaults.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from hybridkit.lab._types import LabObject
from hybridkit.lab.org import Side, from_iso
from hybridkit.lab.shapes import shape, shaped_object
from hybridkit.lab.sizes import format_size

__all__ = [
    "MAILBOX_DETAILS",
    "accepted_domain_object",
    "exchange_server_object",
    "format_size",
    "mail_user_object",
    "mailbox_database_object",
    "mailbox_object",
    "mailbox_server_object",
    "organization_config_object",
    "recipient_object",
    "record_object",
    "reference_names",
    "remote_mailbox_object",
    "user_object",
]

# RecipientTypeDetails values Get-Mailbox returns.
MAILBOX_DETAILS = frozenset({
    "UserMailbox", "SharedMailbox", "RoomMailbox", "EquipmentMailbox", "LinkedMailbox", "LinkedRoomMailbox",
    "LegacyMailbox", "DiscoveryMailbox", "TeamMailbox", "SchedulingMailbox", "ArbitrationMailbox",
    "MonitoringMailbox", "AuditLogMailbox", "AuxAuditLogMailbox", "PublicFolderMailbox", "GroupMailbox",
    "SupervisoryReviewPolicyMailbox",
})
_ZERO_GUID = "00000000-0000-0000-0000-000000000000"
_ONLINE_FOREST = "EURPR04A001.PROD.OUTLOOK.COM"


def _date(value: Any) -> dt.datetime | None:
    if value is None or isinstance(value, dt.datetime):
        return value
    return from_iso(str(value))


def reference_names(side: Side, refs: Any) -> list[str]:
    """Stored references (recipient GUIDs, or literal names) as Exchange shows them: the target's Identity."""
    out = []
    for ref in refs or ():
        rec = side.recipients.get(str(ref))
        out.append(str(rec.get("Identity") or rec.get("Name")) if rec else str(ref))
    return out


def _duration(value: Any) -> str:
    """An Unlimited<EnhancedTimeSpan> as Exchange shows it: ``Unlimited`` or ``365.00:00:00``."""
    if value is None or (isinstance(value, str) and value.lower() == "unlimited"):
        return "Unlimited"
    if isinstance(value, int):
        return f"{value}.00:00:00"
    return str(value)


def _quota(rec: dict[str, Any], key: str, default: str | int) -> str:
    value = rec.get(key, default)
    if isinstance(value, int) and not isinstance(value, bool):
        return format_size(value)
    return str(value)


def _stored(rec: dict[str, Any]) -> dict[str, Any]:
    """A record's own keys (lab bookkeeping, ``_``-prefixed, left out); the shape keeps only real properties."""
    return {key: value for key, value in rec.items() if not key.startswith("_")}


def _directory(side: Side, rec: dict[str, Any], online: bool) -> dict[str, Any]:
    """The directory properties every recipient object carries (ADObject / ADPresentationObject)."""
    created = _date(rec.get("WhenCreated"))
    changed = _date(rec.get("WhenChanged")) or created
    identity = rec.get("Identity") or rec.get("Name")
    domain = str(side.settings.get("domain") or "contoso.com")
    return {
        "Identity": identity,
        "Id": identity,
        "Name": rec.get("Name"),
        "DistinguishedName": rec.get("DistinguishedName"),
        "Guid": rec.get("Guid"),
        "IsValid": True,
        "ExchangeVersion": "0.20 (15.0.0.0)" if online else rec.get(
            "ExchangeVersion", side.settings.get("exchange_version", "0.20 (15.0.0.0)")),
        "ObjectCategory": f"{_ONLINE_FOREST}/Configuration/Schema/Person" if online
        else f"{domain}/Configuration/Schema/Person",
        "WhenCreated": created,
        "WhenChanged": changed,
        "WhenCreatedUTC": created.astimezone(dt.timezone.utc) if created else None,
        "WhenChangedUTC": changed.astimezone(dt.timezone.utc) if changed else None,
        "OrganizationId": (f"{_ONLINE_FOREST}/Microsoft Exchange Hosted Organizations/"
                           f"{side.settings.get('tenant', 'contoso.onmicrosoft.com')}") if online else "",
        "OriginatingServer": str(side.settings.get("directory_server") or side.settings.get("domain_controller")
                                 or "DC01.contoso.local"),
        "ObjectState": "Unchanged",
    }


def _recipient(side: Side, rec: dict[str, Any], online: bool) -> dict[str, Any]:
    """Stored values plus what every mail-enabled recipient shows (names, addresses, types, directory)."""
    values = _stored(rec)
    values.update(_directory(side, rec, online))
    values.update({
        "Alias": rec.get("Alias"),
        "DisplayName": rec.get("DisplayName"),
        "PrimarySmtpAddress": rec.get("PrimarySmtpAddress"),
        "EmailAddresses": list(rec.get("EmailAddresses") or []),
        "RecipientType": rec.get("RecipientType", "UserMailbox"),
        "RecipientTypeDetails": rec.get("RecipientTypeDetails", "UserMailbox"),
        "HiddenFromAddressListsEnabled": bool(rec.get("HiddenFromAddressListsEnabled", False)),
        "OrganizationalUnit": rec.get("OrganizationalUnit"),
        "WindowsEmailAddress": rec.get("WindowsEmailAddress") or rec.get("PrimarySmtpAddress"),
        "EmailAddressPolicyEnabled": bool(rec.get("EmailAddressPolicyEnabled", not online)),
        "GrantSendOnBehalfTo": reference_names(side, rec.get("GrantSendOnBehalfTo")),
        "AcceptMessagesOnlyFrom": reference_names(side, rec.get("AcceptMessagesOnlyFrom")),
        "RejectMessagesFrom": reference_names(side, rec.get("RejectMessagesFrom")),
        "ExternalDirectoryObjectId": rec.get("ExternalDirectoryObjectId") if online else rec.get(
            "ExternalDirectoryObjectId", ""),
        "IsDirSynced": bool(rec.get("IsDirSynced", False)),
        "MaxSendSize": rec.get("MaxSendSize", "35 MB (36,700,160 bytes)" if online else "Unlimited"),
        "MaxReceiveSize": rec.get("MaxReceiveSize", "36 MB (37,748,736 bytes)" if online else "Unlimited"),
        **{f"CustomAttribute{n}": rec.get(f"CustomAttribute{n}", "") for n in range(1, 16)},
    })
    return values


def _lazy(key: str, rec: dict[str, Any], values: Callable[[], dict[str, Any]]) -> LabObject:
    text = str(rec.get("Identity") or rec.get("Name") or "")
    return shaped_object(key, values, to_string=text)


def mailbox_object(side: Side, rec: dict[str, Any], online: bool) -> LabObject:
    """``Get-Mailbox`` output (``Microsoft.Exchange.Data.Directory.Management.Mailbox``, 228 properties)."""

    def values() -> dict[str, Any]:
        details = rec.get("RecipientTypeDetails", "UserMailbox")
        props = _recipient(side, rec, online)
        props.update({
            "Database": rec.get("Database"),
            "ServerName": rec.get("ServerName"),
            "UseDatabaseQuotaDefaults": bool(rec.get("UseDatabaseQuotaDefaults", not online)),
            "ProhibitSendQuota": _quota(rec, "ProhibitSendQuota", "Unlimited" if not online else 106_300_440_576),
            "ProhibitSendReceiveQuota": _quota(rec, "ProhibitSendReceiveQuota",
                                               "Unlimited" if not online else 107_374_182_400),
            "IssueWarningQuota": _quota(rec, "IssueWarningQuota", "Unlimited" if not online else 105_226_698_752),
            "RecoverableItemsQuota": _quota(rec, "RecoverableItemsQuota", 32_212_254_720),
            "ArchiveQuota": _quota(rec, "ArchiveQuota", 107_374_182_400),
            "ArchiveWarningQuota": _quota(rec, "ArchiveWarningQuota", 96_636_764_160),
            "LitigationHoldEnabled": bool(rec.get("LitigationHoldEnabled", False)),
            "LitigationHoldDate": _date(rec.get("LitigationHoldDate")),
            "LitigationHoldOwner": rec.get("LitigationHoldOwner", ""),
            "LitigationHoldDuration": _duration(rec.get("LitigationHoldDuration", "Unlimited")),
            "RetentionComment": rec.get("RetentionComment", ""),
            "SingleItemRecoveryEnabled": bool(rec.get("SingleItemRecoveryEnabled", online)),
            "ArchiveGuid": rec.get("ArchiveGuid") or _ZERO_GUID,
            "ArchiveName": list(rec.get("ArchiveName") or []),
            "ArchiveStatus": rec.get("ArchiveStatus", "None"),
            "IsShared": details == "SharedMailbox",
            "IsResource": details in ("RoomMailbox", "EquipmentMailbox"),
            "ResourceType": rec.get("ResourceType") or {"RoomMailbox": "Room",
                                                        "EquipmentMailbox": "Equipment"}.get(details),
            "IsMailboxEnabled": True,
            "AccountDisabled": bool(rec.get("AccountDisabled", False)),
            "RemoteRecipientType": rec.get("RemoteRecipientType", "None"),
            "AuditEnabled": bool(rec.get("AuditEnabled", online)),
            "RecipientLimits": rec.get("RecipientLimits", "500" if online else "Unlimited"),
            "RetentionPolicy": rec.get("RetentionPolicy", "Default MRM Policy" if online else None),
            "SharingPolicy": rec.get("SharingPolicy", "Default Sharing Policy"),
            "RoleAssignmentPolicy": rec.get("RoleAssignmentPolicy", "Default Role Assignment Policy"),
            "InPlaceHolds": list(rec.get("InPlaceHolds") or []),
            "MailboxMoveStatus": rec.get("MailboxMoveStatus", "None"),
            "MailboxMoveBatchName": rec.get("MailboxMoveBatchName", ""),
            "PersistedCapabilities": list(rec.get("PersistedCapabilities") or []),
            "WhenMailboxCreated": _date(rec.get("WhenMailboxCreated") or rec.get("WhenCreated")),
            "AdminDisplayVersion": (side.settings.get("admin_display_version") or
                                    ("Version 15.20 (Build 7452.28)" if online else "Version 15.2 (Build 1544.4)")),
            "ObjectClass": ["top", "person", "organizationalPerson", "user"],
        })
        return props

    return _lazy("Mailbox", rec, values)


def recipient_object(side: Side, rec: dict[str, Any], online: bool) -> LabObject:
    """``Get-Recipient`` output (``ReducedRecipient``)."""

    def values() -> dict[str, Any]:
        props = _recipient(side, rec, online)
        props.update({
            "Manager": reference_names(side, [rec["Manager"]])[0] if rec.get("Manager") else None,
            "LitigationHoldEnabled": bool(rec.get("LitigationHoldEnabled", False)),
            "ArchiveStatus": rec.get("ArchiveStatus", "None"),
            "ArchiveGuid": rec.get("ArchiveGuid") or _ZERO_GUID,
            "ExchangeGuid": rec.get("ExchangeGuid") or _ZERO_GUID,
            "WindowsLiveID": rec.get("UserPrincipalName") if online else "",
            "DatabaseName": rec.get("Database"),
            "WhenMailboxCreated": _date(rec.get("WhenMailboxCreated") or rec.get("WhenCreated"))
            if rec.get("Database") else None,
            "ObjectClass": ["top", "person", "organizationalPerson", "user"],
        })
        return props

    return _lazy("Recipient", rec, values)


def user_object(side: Side, rec: dict[str, Any], online: bool) -> LabObject:
    """``Get-User`` output (``Microsoft.Exchange.Data.Directory.Management.User``)."""

    def values() -> dict[str, Any]:
        details = rec.get("RecipientTypeDetails", "User")
        props = _stored(rec)
        props.update(_directory(side, rec, online))
        props.update({
            "DisplayName": rec.get("DisplayName"),
            "OrganizationalUnit": rec.get("OrganizationalUnit"),
            "Manager": reference_names(side, [rec["Manager"]])[0] if rec.get("Manager") else None,
            "WindowsEmailAddress": rec.get("PrimarySmtpAddress"),
            "RecipientType": "User" if details in ("User", "DisabledUser") else rec.get("RecipientType"),
            "RecipientTypeDetails": details,
            "ExternalDirectoryObjectId": rec.get("ExternalDirectoryObjectId") if online else "",
            "UserAccountControl": "AccountDisabled, NormalAccount" if rec.get("AccountDisabled")
            else "NormalAccount",
            "IsSecurityPrincipal": details not in ("MailUniversalSecurityGroup",),
            "ObjectClass": ["top", "person", "organizationalPerson", "user"],
        })
        return props

    return _lazy("User", rec, values)


def _mail_user_values(side: Side, rec: dict[str, Any], online: bool) -> dict[str, Any]:
    props = _recipient(side, rec, online)
    props.update({
        "ExternalEmailAddress": rec.get("ExternalEmailAddress"),
        "ExchangeGuid": rec.get("ExchangeGuid") or _ZERO_GUID,
        "ArchiveGuid": rec.get("ArchiveGuid") or _ZERO_GUID,
        "ArchiveStatus": rec.get("ArchiveStatus", "None"),
        "LitigationHoldEnabled": bool(rec.get("LitigationHoldEnabled", False)),
        "WindowsEmailAddress": rec.get("PrimarySmtpAddress"),
        "IsDirSynced": bool(rec.get("IsDirSynced", online)),
        "ObjectClass": ["top", "person", "organizationalPerson", "user"],
    })
    return props


def mail_user_object(side: Side, rec: dict[str, Any], online: bool) -> LabObject:
    """``Get-MailUser`` output."""
    return _lazy("MailUser", rec, lambda: _mail_user_values(side, rec, online))


def remote_mailbox_object(side: Side, rec: dict[str, Any], online: bool) -> LabObject:
    """``Get-RemoteMailbox`` output (on-premises only)."""

    def values() -> dict[str, Any]:
        props = _mail_user_values(side, rec, online)
        props.update({
            "RemoteRoutingAddress": rec.get("RemoteRoutingAddress"),
            "RemoteRecipientType": rec.get("RemoteRecipientType", "Migrated"),
            "OnPremisesOrganizationalUnit": rec.get("OrganizationalUnit"),
            "ArchiveState": rec.get("ArchiveState", "None"),
        })
        return props

    return _lazy("RemoteMailbox", rec, values)


def record_object(key: str, rec: dict[str, Any], extra: dict[str, Any] | None = None) -> LabObject:
    """A stored configuration record as an object of shape ``key``: its keys that are properties of the type as
    stored (ISO dates become datetimes, GUID strings GUIDs), ``Identity``/``Id`` defaulting to its Name."""
    props = _stored(rec)
    identity = rec.get("Identity") or rec.get("Name")
    props.setdefault("Identity", identity)
    props.setdefault("Id", identity)
    created = props.get("WhenCreated")
    changed = props.get("WhenChanged") or created
    props.setdefault("WhenCreatedUTC", created)
    props.setdefault("WhenChangedUTC", changed)
    props.setdefault("IsValid", True)
    if extra:
        props.update(extra)
    return shaped_object(key, props, to_string=str(identity or ""))


def exchange_server_object(rec: dict[str, Any]) -> LabObject:
    """``Get-ExchangeServer`` output."""
    return record_object("ExchangeServer", rec)


def mailbox_server_object(rec: dict[str, Any]) -> LabObject:
    """``Get-MailboxServer`` output, from the stored Exchange server record."""
    return record_object("MailboxServer", rec)


def mailbox_database_object(rec: dict[str, Any], status: bool = False) -> LabObject:
    """``Get-MailboxDatabase`` output; without ``-Status`` the live properties are $null, as in Exchange."""
    live: dict[str, Any] = {}
    for key in ("Mounted", "DatabaseSize", "AvailableNewMailboxSpace", "BackupInProgress", "LastFullBackup"):
        value = rec.get(key)
        if not status:
            live[key] = None
        elif key in ("DatabaseSize", "AvailableNewMailboxSpace") and isinstance(value, int):
            live[key] = format_size(value)
    return record_object("MailboxDatabase", rec, live)


def accepted_domain_object(rec: dict[str, Any]) -> LabObject:
    """``Get-AcceptedDomain`` output."""
    return record_object("AcceptedDomain", rec)


def organization_config_object(rec: dict[str, Any]) -> LabObject:
    """``Get-OrganizationConfig`` output (the Exchange 2019 property set on both sides: lab's choice)."""
    return record_object("OrganizationConfig", rec)


def shape_names(key: str) -> tuple[str, ...]:
    """The property names of shape ``key`` in Exchange's order (for filters that need the object's names)."""
    return shape(key).names
