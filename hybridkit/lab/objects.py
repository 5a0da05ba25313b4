"""Exchange-shaped output objects built from the lab's stored records.

Each builder returns a ``LabObject`` with Exchange's .NET type names (most derived first) and properties in the
order Exchange lists them, with Exchange's value shapes: sizes as ByteQuantifiedSize strings (``format_size``),
aware datetimes, GUIDs as ``uuid.UUID``, multi-valued properties as lists, object references as the referenced
object's Identity (canonical name on-premises, Name in Exchange Online). Stored records are described in
``hybridkit.lab.orgs``; properties a record lacks get Exchange's defaults.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from hybridkit.lab._types import LabObject
from hybridkit.lab.org import Side, from_iso

__all__ = [
    "MAILBOX_DETAILS",
    "TYPES",
    "accepted_domain_object",
    "exchange_server_object",
    "format_size",
    "mail_user_object",
    "mailbox_database_object",
    "mailbox_object",
    "organization_config_object",
    "recipient_object",
    "reference_names",
    "remote_mailbox_object",
    "user_object",
]

_BASE = ["Microsoft.Exchange.Data.Directory.ADObject", "Microsoft.Exchange.Data.Directory.ADRawEntry",
         "Microsoft.Exchange.Data.ConfigurableObject", "System.Object"]
_MGMT = "Microsoft.Exchange.Data.Directory.Management."
_SYSCFG = "Microsoft.Exchange.Data.Directory.SystemConfiguration."
_MAIL_ENABLED = [_MGMT + "MailEnabledOrgPerson", _MGMT + "MailEnabledRecipient",
                 "Microsoft.Exchange.Data.Directory.ADPresentationObject", *_BASE]
TYPES: dict[str, list[str]] = {
    "Mailbox": [_MGMT + "Mailbox", *_MAIL_ENABLED],
    "MailUser": [_MGMT + "MailUser", *_MAIL_ENABLED],
    "RemoteMailbox": [_MGMT + "RemoteMailbox", _MGMT + "MailUser", *_MAIL_ENABLED],
    "Recipient": [_MGMT + "ReducedRecipient", "Microsoft.Exchange.Data.ConfigurableObject", "System.Object"],
    "User": [_MGMT + "User", _MGMT + "OrgPersonPresentationObject",
             "Microsoft.Exchange.Data.Directory.ADPresentationObject", *_BASE],
    "ExchangeServer": [_MGMT + "ExchangeServer", "Microsoft.Exchange.Data.Directory.ADPresentationObject", *_BASE],
    "MailboxDatabase": [_SYSCFG + "MailboxDatabase", _SYSCFG + "Database",
                        "Microsoft.Exchange.Data.Directory.ADLegacyVersionableObject",
                        "Microsoft.Exchange.Data.Directory.ADConfigurationObject", *_BASE],
    "AcceptedDomain": [_SYSCFG + "AcceptedDomain", "Microsoft.Exchange.Data.Directory.ADConfigurationObject", *_BASE],
    "OrganizationConfig": [_MGMT + "OrganizationConfig", "Microsoft.Exchange.Data.Directory.ADPresentationObject",
                           *_BASE],
}

# RecipientTypeDetails values Get-Mailbox returns.
MAILBOX_DETAILS = frozenset({
    "UserMailbox", "SharedMailbox", "RoomMailbox", "EquipmentMailbox", "LinkedMailbox", "LinkedRoomMailbox",
    "LegacyMailbox", "DiscoveryMailbox", "TeamMailbox", "SchedulingMailbox", "ArbitrationMailbox",
    "MonitoringMailbox", "AuditLogMailbox", "AuxAuditLogMailbox", "PublicFolderMailbox", "GroupMailbox",
    "SupervisoryReviewPolicyMailbox",
})
_UNITS = ("B", "KB", "MB", "GB", "TB", "PB", "EB")


def format_size(size: int | None) -> str:
    """Exchange's ByteQuantifiedSize text: ``4.243 GB (4,555,456,537 bytes)``, ``0 B (0 bytes)``.

    The number shows four significant digits in the largest unit (1,024-based) not above the size, with
    trailing zeros dropped (``35.1 GB``), exactly as Exchange's ``ToString()`` prints it.
    """
    size = int(size or 0)
    unit = 0
    value = float(size)
    while value >= 1024 and unit < len(_UNITS) - 1:
        value /= 1024
        unit += 1
    if unit == 0:
        shown = str(size)
    else:
        digits = 3 - (len(str(int(value))) - 1)
        rounded = round(value, max(digits, 0))
        shown = f"{rounded:.{max(digits, 0)}f}".rstrip("0").rstrip(".") if digits > 0 else str(int(rounded))
    return f"{shown} {_UNITS[unit]} ({size:,} bytes)"


def _date(value: Any) -> dt.datetime | None:
    if value is None or isinstance(value, dt.datetime):
        return value
    return from_iso(str(value))


def _guid(value: Any) -> uuid.UUID | None:
    if value is None or isinstance(value, uuid.UUID):
        return value
    return uuid.UUID(str(value))


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
    if isinstance(value, int):
        return format_size(value)
    return str(value)


def _common(side: Side, rec: dict[str, Any], online: bool) -> dict[str, Any]:
    """Identity-ish properties every recipient object carries."""
    created = _date(rec.get("WhenCreated"))
    changed = _date(rec.get("WhenChanged")) or created
    return {
        "Name": rec.get("Name"),
        "Alias": rec.get("Alias"),
        "DisplayName": rec.get("DisplayName"),
        "PrimarySmtpAddress": rec.get("PrimarySmtpAddress"),
        "EmailAddresses": list(rec.get("EmailAddresses") or []),
        "RecipientType": rec.get("RecipientType", "UserMailbox"),
        "RecipientTypeDetails": rec.get("RecipientTypeDetails", "UserMailbox"),
        "HiddenFromAddressListsEnabled": bool(rec.get("HiddenFromAddressListsEnabled", False)),
        "OrganizationalUnit": rec.get("OrganizationalUnit"),
        "DistinguishedName": rec.get("DistinguishedName"),
        "Identity": rec.get("Identity") or rec.get("Name"),
        "Guid": _guid(rec.get("Guid")),
        "WhenCreated": created,
        "WhenChanged": changed,
        "WhenCreatedUTC": created.astimezone(dt.timezone.utc) if created else None,
        "WhenChangedUTC": changed.astimezone(dt.timezone.utc) if changed else None,
        "ExchangeVersion": "0.20 (15.0.0.0)" if online else rec.get(
            "ExchangeVersion", side.settings.get("exchange_version", "0.20 (15.0.0.0)")),
    }


# Stored keys that are lab data, not properties of the object Exchange returns.
_STORAGE_ONLY = frozenset({
    "MailboxPermissions", "SendAs", "CalendarPermissions", "CalendarFolder", "TotalItemSizeBytes", "ItemCount",
    "Members", "OnPremisesGuid", "Sid", "FirstName", "LastName", "Department", "Title", "Company", "City", "Manager",
    "IsSoftDeleted", "IsInactiveMailbox",
})
_DATE_KEYS = frozenset({"WhenCreated", "WhenChanged", "LitigationHoldDate", "WhenSoftDeleted", "WhenMailboxCreated",
                        "StartDateForRetentionHold", "EndDateForRetentionHold"})


def _passthrough(props: dict[str, Any], rec: dict[str, Any], skip: frozenset[str] = frozenset()) -> None:
    """Properties a handler stored on the record (e.g. ``Set-Mailbox -CustomAttribute1``) show up as given."""
    for key, value in rec.items():
        if key in props or key in _STORAGE_ONLY or key in skip or key.startswith("_"):
            continue
        if key in _DATE_KEYS and isinstance(value, str):
            value = from_iso(value)
        props[key] = list(value) if isinstance(value, list) else value


def _obj(kind: str, props: dict[str, Any], rec: dict[str, Any]) -> LabObject:
    return LabObject(list(TYPES[kind]), props, to_string=str(props.get("Identity") or rec.get("Name") or ""))


def mailbox_object(side: Side, rec: dict[str, Any], online: bool) -> LabObject:
    """``Get-Mailbox`` output (``Microsoft.Exchange.Data.Directory.Management.Mailbox``)."""
    common = _common(side, rec, online)
    use_db = bool(rec.get("UseDatabaseQuotaDefaults", not online))
    details = rec.get("RecipientTypeDetails", "UserMailbox")
    props: dict[str, Any] = {
        "Database": rec.get("Database"),
        "ServerName": rec.get("ServerName"),
        "UseDatabaseQuotaDefaults": use_db,
        "ProhibitSendQuota": _quota(rec, "ProhibitSendQuota", "Unlimited" if not online else 106_300_440_576),
        "ProhibitSendReceiveQuota": _quota(rec, "ProhibitSendReceiveQuota", "Unlimited" if not online else 107_374_182_400),
        "IssueWarningQuota": _quota(rec, "IssueWarningQuota", "Unlimited" if not online else 105_226_698_752),
        "RecoverableItemsQuota": _quota(rec, "RecoverableItemsQuota", 32_212_254_720),
        "LitigationHoldEnabled": bool(rec.get("LitigationHoldEnabled", False)),
        "LitigationHoldDate": _date(rec.get("LitigationHoldDate")),
        "LitigationHoldOwner": rec.get("LitigationHoldOwner"),
        "LitigationHoldDuration": _duration(rec.get("LitigationHoldDuration", "Unlimited")),
        "RetentionHoldEnabled": bool(rec.get("RetentionHoldEnabled", False)),
        "RetentionComment": rec.get("RetentionComment"),
        "SingleItemRecoveryEnabled": bool(rec.get("SingleItemRecoveryEnabled", online)),
        "ArchiveGuid": _guid(rec.get("ArchiveGuid") or "00000000-0000-0000-0000-000000000000"),
        "ArchiveStatus": rec.get("ArchiveStatus", "None"),
        "ArchiveDatabase": rec.get("ArchiveDatabase"),
        "GrantSendOnBehalfTo": reference_names(side, rec.get("GrantSendOnBehalfTo")),
        "ForwardingAddress": rec.get("ForwardingAddress"),
        "ForwardingSmtpAddress": rec.get("ForwardingSmtpAddress"),
        "DeliverToMailboxAndForward": bool(rec.get("DeliverToMailboxAndForward", False)),
        "IsShared": details == "SharedMailbox",
        "IsResource": details in ("RoomMailbox", "EquipmentMailbox"),
        "ResourceType": rec.get("ResourceType") or ({"RoomMailbox": "Room", "EquipmentMailbox": "Equipment"}
                                                    .get(details)),
        "RoomMailboxAccountEnabled": rec.get("RoomMailboxAccountEnabled"),
        "IsMailboxEnabled": True,
        "AccountDisabled": bool(rec.get("AccountDisabled", False)),
        "ExchangeGuid": _guid(rec.get("ExchangeGuid")),
        "LegacyExchangeDN": rec.get("LegacyExchangeDN"),
        "SamAccountName": rec.get("SamAccountName"),
        "UserPrincipalName": rec.get("UserPrincipalName"),
        "WindowsEmailAddress": rec.get("WindowsEmailAddress") or rec.get("PrimarySmtpAddress"),
        "Office": rec.get("Office"),
        "RemoteRecipientType": rec.get("RemoteRecipientType", "None"),
        "AuditEnabled": bool(rec.get("AuditEnabled", online)),
        "MaxSendSize": rec.get("MaxSendSize", "35 MB (36,700,160 bytes)" if online else "Unlimited"),
        "MaxReceiveSize": rec.get("MaxReceiveSize", "36 MB (37,748,736 bytes)" if online else "Unlimited"),
        "ArchiveName": list(rec.get("ArchiveName") or []),
        "ArchiveQuota": _quota(rec, "ArchiveQuota", 107_374_182_400),
        "ArchiveWarningQuota": _quota(rec, "ArchiveWarningQuota", 96_636_764_160),
        "RetainDeletedItemsFor": rec.get("RetainDeletedItemsFor", "14.00:00:00"),
        "RetentionPolicy": rec.get("RetentionPolicy", "Default MRM Policy" if online else None),
        "SharingPolicy": rec.get("SharingPolicy", "Default Sharing Policy"),
        "AddressBookPolicy": rec.get("AddressBookPolicy"),
        "EmailAddressPolicyEnabled": bool(rec.get("EmailAddressPolicyEnabled", not online)),
        "InPlaceHolds": list(rec.get("InPlaceHolds") or []),
        "ComplianceTagHoldApplied": bool(rec.get("ComplianceTagHoldApplied", False)),
        "DelayHoldApplied": bool(rec.get("DelayHoldApplied", False)),
        "ModerationEnabled": bool(rec.get("ModerationEnabled", False)),
        "MessageCopyForSentAsEnabled": bool(rec.get("MessageCopyForSentAsEnabled", False)),
        "MessageCopyForSendOnBehalfEnabled": bool(rec.get("MessageCopyForSendOnBehalfEnabled", False)),
        "AcceptMessagesOnlyFrom": reference_names(side, rec.get("AcceptMessagesOnlyFrom")),
        "RejectMessagesFrom": reference_names(side, rec.get("RejectMessagesFrom")),
        "RecipientLimits": rec.get("RecipientLimits", "500" if online else "Unlimited"),
        "AuditLogAgeLimit": rec.get("AuditLogAgeLimit", "90.00:00:00"),
        "MailboxMoveStatus": rec.get("MailboxMoveStatus", "None"),
        "MailboxMoveBatchName": rec.get("MailboxMoveBatchName"),
        "IsDirSynced": bool(rec.get("IsDirSynced", False)),
        **{f"CustomAttribute{n}": rec.get(f"CustomAttribute{n}") for n in range(1, 16)},
    }
    if online:
        props["PersistedCapabilities"] = list(rec.get("PersistedCapabilities") or [])
        props["ExternalDirectoryObjectId"] = rec.get("ExternalDirectoryObjectId")
        props["MailboxPlan"] = rec.get("MailboxPlan")
    props.update(common)
    _passthrough(props, rec, frozenset({"ExternalEmailAddress", "RemoteRoutingAddress"}))
    return _obj("Mailbox", props, rec)


def recipient_object(side: Side, rec: dict[str, Any], online: bool) -> LabObject:
    """``Get-Recipient`` output (``ReducedRecipient``)."""
    props = _common(side, rec, online)
    props.update({
        "Database": rec.get("Database"),
        "ExchangeGuid": _guid(rec.get("ExchangeGuid")),
        "ExternalEmailAddress": rec.get("ExternalEmailAddress"),
        "Department": rec.get("Department"),
        "Title": rec.get("Title"),
        "Office": rec.get("Office"),
        "City": rec.get("City"),
        "Company": rec.get("Company"),
        "Manager": reference_names(side, [rec["Manager"]])[0] if rec.get("Manager") else None,
        "LitigationHoldEnabled": bool(rec.get("LitigationHoldEnabled", False)),
        "ArchiveStatus": rec.get("ArchiveStatus", "None"),
        "SamAccountName": rec.get("SamAccountName"),
        "WindowsLiveID": rec.get("UserPrincipalName") if online else None,
        "ExternalDirectoryObjectId": rec.get("ExternalDirectoryObjectId") if online else None,
    })
    return _obj("Recipient", props, rec)


def user_object(side: Side, rec: dict[str, Any], online: bool) -> LabObject:
    """``Get-User`` output (``Microsoft.Exchange.Data.Directory.Management.User``)."""
    details = rec.get("RecipientTypeDetails", "User")
    props = _common(side, rec, online)
    for key in ("Alias", "PrimarySmtpAddress", "EmailAddresses", "HiddenFromAddressListsEnabled"):
        props.pop(key, None)
    props.update({
        "FirstName": rec.get("FirstName"),
        "LastName": rec.get("LastName"),
        "Department": rec.get("Department"),
        "Title": rec.get("Title"),
        "Office": rec.get("Office"),
        "City": rec.get("City"),
        "Company": rec.get("Company"),
        "Manager": reference_names(side, [rec["Manager"]])[0] if rec.get("Manager") else None,
        "SamAccountName": rec.get("SamAccountName"),
        "Sid": rec.get("Sid"),
        "UserPrincipalName": rec.get("UserPrincipalName"),
        "AccountDisabled": bool(rec.get("AccountDisabled", False)),
        "WindowsEmailAddress": rec.get("PrimarySmtpAddress"),
        "RecipientType": "User" if details in ("User", "DisabledUser") else rec.get("RecipientType"),
        "RecipientTypeDetails": details,
        "ExternalDirectoryObjectId": rec.get("ExternalDirectoryObjectId") if online else None,
    })
    return _obj("User", props, rec)


def mail_user_object(side: Side, rec: dict[str, Any], online: bool) -> LabObject:
    """``Get-MailUser`` output."""
    props = _common(side, rec, online)
    props.update({
        "ExternalEmailAddress": rec.get("ExternalEmailAddress"),
        "ExchangeGuid": _guid(rec.get("ExchangeGuid")),
        "ArchiveGuid": _guid(rec.get("ArchiveGuid") or "00000000-0000-0000-0000-000000000000"),
        "LitigationHoldEnabled": bool(rec.get("LitigationHoldEnabled", False)),
        "UserPrincipalName": rec.get("UserPrincipalName"),
        "SamAccountName": rec.get("SamAccountName"),
        "LegacyExchangeDN": rec.get("LegacyExchangeDN"),
        "WindowsEmailAddress": rec.get("PrimarySmtpAddress"),
        "ExternalDirectoryObjectId": rec.get("ExternalDirectoryObjectId") if online else None,
        "IsDirSynced": bool(rec.get("IsDirSynced", online)),
    })
    _passthrough(props, rec)
    return _obj("MailUser", props, rec)


def remote_mailbox_object(side: Side, rec: dict[str, Any], online: bool) -> LabObject:
    """``Get-RemoteMailbox`` output (on-premises only)."""
    props = _common(side, rec, online)
    props.update({
        "RemoteRoutingAddress": rec.get("RemoteRoutingAddress"),
        "RemoteRecipientType": rec.get("RemoteRecipientType", "Migrated"),
        "ExchangeGuid": _guid(rec.get("ExchangeGuid")),
        "ArchiveGuid": _guid(rec.get("ArchiveGuid") or "00000000-0000-0000-0000-000000000000"),
        "ArchiveStatus": rec.get("ArchiveStatus", "None"),
        "OnPremisesOrganizationalUnit": rec.get("OrganizationalUnit"),
        "UserPrincipalName": rec.get("UserPrincipalName"),
        "SamAccountName": rec.get("SamAccountName"),
        "LegacyExchangeDN": rec.get("LegacyExchangeDN"),
        "WindowsEmailAddress": rec.get("PrimarySmtpAddress"),
    })
    _passthrough(props, rec)
    return _obj("RemoteMailbox", props, rec)


def _config_obj(kind: str, rec: dict[str, Any]) -> LabObject:
    props: dict[str, Any] = {}
    for key, value in rec.items():
        if key.startswith("_"):
            continue
        if key in ("WhenCreated", "WhenChanged", "WhenCreatedUTC", "WhenChangedUTC") and isinstance(value, str):
            value = from_iso(value)
        elif key == "Guid" and isinstance(value, str):
            value = uuid.UUID(value)
        elif isinstance(value, list):
            value = list(value)
        props[key] = value
    props.setdefault("Identity", rec.get("Name"))
    return LabObject(list(TYPES[kind]), props, to_string=str(props.get("Identity") or ""))


def exchange_server_object(rec: dict[str, Any]) -> LabObject:
    """``Get-ExchangeServer`` output."""
    return _config_obj("ExchangeServer", rec)


def mailbox_database_object(rec: dict[str, Any], status: bool = False) -> LabObject:
    """``Get-MailboxDatabase`` output; without ``-Status`` the live properties are $null, as in Exchange."""
    obj = _config_obj("MailboxDatabase", rec)
    for key in ("Mounted", "DatabaseSize", "AvailableNewMailboxSpace", "BackupInProgress", "LastFullBackup"):
        if not status:
            obj.properties[key] = None
        elif key in ("DatabaseSize", "AvailableNewMailboxSpace") and isinstance(obj.properties.get(key), int):
            obj.properties[key] = format_size(obj.properties[key])
    return obj


def accepted_domain_object(rec: dict[str, Any]) -> LabObject:
    """``Get-AcceptedDomain`` output."""
    return _config_obj("AcceptedDomain", rec)


def organization_config_object(rec: dict[str, Any]) -> LabObject:
    """``Get-OrganizationConfig`` output."""
    return _config_obj("OrganizationConfig", rec)
