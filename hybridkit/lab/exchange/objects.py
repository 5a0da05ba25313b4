"""Exchange-shaped output objects built from the lab's stored records.

Every builder returns a ``LabObject`` with the real type's full property set (``hybridkit.lab.exchange.shapes``: type names
most derived first, every property in Exchange's order, each of its real CLIXML kind) whose values are computed
only when a property is first read. Values follow Exchange's shapes: sizes as ByteQuantifiedSize strings
(``hybridkit.lab.exchange.sizes.format_size``), aware datetimes, GUIDs as ``uuid.UUID``, multi-valued properties as lists,
object references as the referenced object's Identity (canonical name on-premises, Name in Exchange Online).
Stored records are described in ``hybridkit.lab.exchange.orgs``; a record's keys that are properties of the type show up
as stored (e.g. ``Set-Mailbox -CustomAttribute1``), everything else takes Exchange's defaults.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from hybridkit.lab._types import LabObject
from hybridkit.lab.exchange.org import Side, from_iso
from hybridkit.lab.exchange.shapes import shape, shaped_object
from hybridkit.lab.exchange.sizes import format_size

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


@dataclasses.dataclass(frozen=True)
class _Source:
    """What a property getter reads: the side, the stored record and which endpoint asks."""

    side: Side
    rec: dict[str, Any]
    online: bool

    def get(self, key: str, default: Any = None) -> Any:
        return self.rec.get(key, default)


Getter = Callable[[_Source], Any]


class _RecordValues(Mapping[str, Any]):
    """A builder's values, each computed only when read: a getter per computed property, else the record's own
    key (``Set-Mailbox -CustomAttribute1`` ...). The object's shape decides which names exist at all."""

    __slots__ = ("_getters", "_source")

    def __init__(self, getters: dict[str, Getter], source: _Source) -> None:
        self._getters = getters
        self._source = source

    def __contains__(self, name: object) -> bool:
        return name in self._getters or (isinstance(name, str) and name in self._source.rec
                                         and not name.startswith("_"))

    def __getitem__(self, name: str) -> Any:
        getter = self._getters.get(name)
        if getter is not None:
            return getter(self._source)
        if name.startswith("_"):
            raise KeyError(name)
        return self._source.rec[name]

    def __iter__(self) -> Iterator[str]:
        yield from self._getters
        yield from (k for k in self._source.rec if k not in self._getters and not k.startswith("_"))

    def __len__(self) -> int:
        return sum(1 for _ in self)


def _created(r: _Source) -> dt.datetime | None:
    return _date(r.get("WhenCreated"))


def _changed(r: _Source) -> dt.datetime | None:
    return _date(r.get("WhenChanged")) or _created(r)


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    return value.astimezone(dt.timezone.utc) if value else None


def _identity(r: _Source) -> Any:
    return r.get("Identity") or r.get("Name")


_PERSON = ["top", "person", "organizationalPerson", "user"]

# The directory properties every recipient object carries (ADObject / ADPresentationObject).
_DIRECTORY: dict[str, Getter] = {
    "Identity": _identity,
    "Id": _identity,
    "IsValid": lambda r: True,
    "ExchangeVersion": lambda r: "0.20 (15.0.0.0)" if r.online else r.get(
        "ExchangeVersion", r.side.settings.get("exchange_version", "0.20 (15.0.0.0)")),
    "ObjectCategory": lambda r: f"{_ONLINE_FOREST}/Configuration/Schema/Person" if r.online
    else f"{r.side.settings.get('domain') or 'contoso.com'}/Configuration/Schema/Person",
    "ObjectClass": lambda r: list(_PERSON),
    "WhenCreated": _created,
    "WhenChanged": _changed,
    "WhenCreatedUTC": lambda r: _utc(_created(r)),
    "WhenChangedUTC": lambda r: _utc(_changed(r)),
    "OrganizationId": lambda r: (f"{_ONLINE_FOREST}/Microsoft Exchange Hosted Organizations/"
                                 f"{r.side.settings.get('tenant', 'contoso.onmicrosoft.com')}") if r.online else "",
    "OriginatingServer": lambda r: str(r.side.settings.get("directory_server")
                                       or r.side.settings.get("domain_controller") or "DC01.contoso.local"),
    "ObjectState": lambda r: "Unchanged",
}

# What every mail-enabled recipient shows (names, addresses, types).
_RECIPIENT: dict[str, Getter] = {
    **_DIRECTORY,
    "RecipientType": lambda r: r.get("RecipientType", "UserMailbox"),
    "RecipientTypeDetails": lambda r: r.get("RecipientTypeDetails", "UserMailbox"),
    "HiddenFromAddressListsEnabled": lambda r: bool(r.get("HiddenFromAddressListsEnabled", False)),
    "WindowsEmailAddress": lambda r: r.get("WindowsEmailAddress") or r.get("PrimarySmtpAddress"),
    "EmailAddressPolicyEnabled": lambda r: bool(r.get("EmailAddressPolicyEnabled", not r.online)),
    "GrantSendOnBehalfTo": lambda r: reference_names(r.side, r.get("GrantSendOnBehalfTo")),
    "AcceptMessagesOnlyFrom": lambda r: reference_names(r.side, r.get("AcceptMessagesOnlyFrom")),
    "RejectMessagesFrom": lambda r: reference_names(r.side, r.get("RejectMessagesFrom")),
    "ExternalDirectoryObjectId": lambda r: r.get("ExternalDirectoryObjectId") if r.online
    else r.get("ExternalDirectoryObjectId", ""),
    "IsDirSynced": lambda r: bool(r.get("IsDirSynced", False)),
    "MaxSendSize": lambda r: r.get("MaxSendSize", "35 MB (36,700,160 bytes)" if r.online else "Unlimited"),
    "MaxReceiveSize": lambda r: r.get("MaxReceiveSize", "36 MB (37,748,736 bytes)" if r.online else "Unlimited"),
    **{f"CustomAttribute{n}": (lambda r, k=f"CustomAttribute{n}": r.get(k, "")) for n in range(1, 16)},
}


def _mailbox_details(r: _Source) -> str:
    return str(r.get("RecipientTypeDetails", "UserMailbox"))


def _quota_getter(key: str, onprem: str | int, online: str | int) -> Getter:
    return lambda r: _quota(r.rec, key, online if r.online else onprem)


_MAILBOX: dict[str, Getter] = {
    **_RECIPIENT,
    "UseDatabaseQuotaDefaults": lambda r: bool(r.get("UseDatabaseQuotaDefaults", not r.online)),
    "ProhibitSendQuota": _quota_getter("ProhibitSendQuota", "Unlimited", 106_300_440_576),
    "ProhibitSendReceiveQuota": _quota_getter("ProhibitSendReceiveQuota", "Unlimited", 107_374_182_400),
    "IssueWarningQuota": _quota_getter("IssueWarningQuota", "Unlimited", 105_226_698_752),
    "RecoverableItemsQuota": _quota_getter("RecoverableItemsQuota", 32_212_254_720, 32_212_254_720),
    "ArchiveQuota": _quota_getter("ArchiveQuota", 107_374_182_400, 107_374_182_400),
    "ArchiveWarningQuota": _quota_getter("ArchiveWarningQuota", 96_636_764_160, 96_636_764_160),
    "LitigationHoldEnabled": lambda r: bool(r.get("LitigationHoldEnabled", False)),
    "LitigationHoldDate": lambda r: _date(r.get("LitigationHoldDate")),
    "LitigationHoldOwner": lambda r: r.get("LitigationHoldOwner", ""),
    "LitigationHoldDuration": lambda r: _duration(r.get("LitigationHoldDuration", "Unlimited")),
    "RetentionComment": lambda r: r.get("RetentionComment", ""),
    "SingleItemRecoveryEnabled": lambda r: bool(r.get("SingleItemRecoveryEnabled", r.online)),
    "ArchiveGuid": lambda r: r.get("ArchiveGuid") or _ZERO_GUID,
    "ArchiveName": lambda r: list(r.get("ArchiveName") or []),
    "ArchiveStatus": lambda r: r.get("ArchiveStatus", "None"),
    "IsShared": lambda r: _mailbox_details(r) == "SharedMailbox",
    "IsResource": lambda r: _mailbox_details(r) in ("RoomMailbox", "EquipmentMailbox"),
    "ResourceType": lambda r: r.get("ResourceType") or {"RoomMailbox": "Room",
                                                        "EquipmentMailbox": "Equipment"}.get(_mailbox_details(r)),
    "IsMailboxEnabled": lambda r: True,
    "AccountDisabled": lambda r: bool(r.get("AccountDisabled", False)),
    "RemoteRecipientType": lambda r: r.get("RemoteRecipientType", "None"),
    "AuditEnabled": lambda r: bool(r.get("AuditEnabled", r.online)),
    "RecipientLimits": lambda r: r.get("RecipientLimits", "500" if r.online else "Unlimited"),
    "RetentionPolicy": lambda r: r.get("RetentionPolicy", "Default MRM Policy" if r.online else None),
    "SharingPolicy": lambda r: r.get("SharingPolicy", "Default Sharing Policy"),
    "RoleAssignmentPolicy": lambda r: r.get("RoleAssignmentPolicy", "Default Role Assignment Policy"),
    "InPlaceHolds": lambda r: list(r.get("InPlaceHolds") or []),
    "MailboxMoveStatus": lambda r: r.get("MailboxMoveStatus", "None"),
    "MailboxMoveBatchName": lambda r: r.get("MailboxMoveBatchName", ""),
    "PersistedCapabilities": lambda r: list(r.get("PersistedCapabilities") or []),
    "WhenMailboxCreated": lambda r: _date(r.get("WhenMailboxCreated") or r.get("WhenCreated")),
    "AdminDisplayVersion": lambda r: (r.side.settings.get("admin_display_version") or
                                      ("Version 15.20 (Build 7452.28)" if r.online else "Version 15.2 (Build 1544.4)")),
}


def _manager(r: _Source) -> Any:
    return reference_names(r.side, [r.rec["Manager"]])[0] if r.get("Manager") else None


_REDUCED: dict[str, Getter] = {
    **_RECIPIENT,
    "Manager": _manager,
    "LitigationHoldEnabled": lambda r: bool(r.get("LitigationHoldEnabled", False)),
    "ArchiveStatus": lambda r: r.get("ArchiveStatus", "None"),
    "ArchiveGuid": lambda r: r.get("ArchiveGuid") or _ZERO_GUID,
    "ExchangeGuid": lambda r: r.get("ExchangeGuid") or _ZERO_GUID,
    "WindowsLiveID": lambda r: r.get("UserPrincipalName") if r.online else "",
    "DatabaseName": lambda r: r.get("Database"),
    "WhenMailboxCreated": lambda r: _date(r.get("WhenMailboxCreated") or r.get("WhenCreated"))
    if r.get("Database") else None,
}


def _user_details(r: _Source) -> str:
    return str(r.get("RecipientTypeDetails", "User"))


_USER: dict[str, Getter] = {
    **_DIRECTORY,
    "Manager": _manager,
    "WindowsEmailAddress": lambda r: r.get("PrimarySmtpAddress"),
    "RecipientType": lambda r: "User" if _user_details(r) in ("User", "DisabledUser") else r.get("RecipientType"),
    "RecipientTypeDetails": _user_details,
    "ExternalDirectoryObjectId": lambda r: r.get("ExternalDirectoryObjectId") if r.online else "",
    "UserAccountControl": lambda r: "AccountDisabled, NormalAccount" if r.get("AccountDisabled")
    else "NormalAccount",
    "IsSecurityPrincipal": lambda r: _user_details(r) != "MailUniversalSecurityGroup",
}

_MAIL_USER: dict[str, Getter] = {
    **_RECIPIENT,
    "ExchangeGuid": lambda r: r.get("ExchangeGuid") or _ZERO_GUID,
    "ArchiveGuid": lambda r: r.get("ArchiveGuid") or _ZERO_GUID,
    "ArchiveStatus": lambda r: r.get("ArchiveStatus", "None"),
    "LitigationHoldEnabled": lambda r: bool(r.get("LitigationHoldEnabled", False)),
    "WindowsEmailAddress": lambda r: r.get("PrimarySmtpAddress"),
    "IsDirSynced": lambda r: bool(r.get("IsDirSynced", r.online)),
}

_REMOTE_MAILBOX: dict[str, Getter] = {
    **_MAIL_USER,
    "RemoteRecipientType": lambda r: r.get("RemoteRecipientType", "Migrated"),
    "OnPremisesOrganizationalUnit": lambda r: r.get("OrganizationalUnit"),
    "ArchiveState": lambda r: r.get("ArchiveState", "None"),
}


def _build(key: str, getters: dict[str, Getter], side: Side, rec: dict[str, Any], online: bool) -> LabObject:
    text = str(rec.get("Identity") or rec.get("Name") or "")
    return shaped_object(key, _RecordValues(getters, _Source(side, rec, online)), to_string=text)


def mailbox_object(side: Side, rec: dict[str, Any], online: bool) -> LabObject:
    """``Get-Mailbox`` output (``Microsoft.Exchange.Data.Directory.Management.Mailbox``, 228 properties)."""
    return _build("Mailbox", _MAILBOX, side, rec, online)


def recipient_object(side: Side, rec: dict[str, Any], online: bool) -> LabObject:
    """``Get-Recipient`` output (``ReducedRecipient``)."""
    return _build("Recipient", _REDUCED, side, rec, online)


def user_object(side: Side, rec: dict[str, Any], online: bool) -> LabObject:
    """``Get-User`` output (``Microsoft.Exchange.Data.Directory.Management.User``)."""
    return _build("User", _USER, side, rec, online)


def mail_user_object(side: Side, rec: dict[str, Any], online: bool) -> LabObject:
    """``Get-MailUser`` output."""
    return _build("MailUser", _MAIL_USER, side, rec, online)


def remote_mailbox_object(side: Side, rec: dict[str, Any], online: bool) -> LabObject:
    """``Get-RemoteMailbox`` output (on-premises only)."""
    return _build("RemoteMailbox", _REMOTE_MAILBOX, side, rec, online)


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
