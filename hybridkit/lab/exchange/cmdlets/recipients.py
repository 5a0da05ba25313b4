"""Recipient reads: Get-Mailbox, Get-Recipient, Get-User, Get-MailUser, Get-RemoteMailbox, and the Exchange Online
module's Get-EXOMailbox / Get-EXORecipient (Minimum property set unless -PropertySets/-Properties ask for more).

Common behaviour (as Exchange does it):

* ``-Identity`` (named, positional, or from the pipeline) resolves like Exchange (``hybridkit.lab.exchange.identity``);
  no match writes a non-terminating ManagementObjectNotFoundException targeted at the identity, several matches
  of a non-wildcard identity a ManagementObjectAmbiguousException; ``*`` wildcards return every match.
* Without ``-ResultSize`` at most 1000 objects are returned, followed by Exchange's warning when more exist;
  with an explicit ``-ResultSize N`` the warning is "There are more results available ...". ``Unlimited`` has no
  cap.
* ``-RecipientTypeDetails`` / ``-RecipientType`` / ``-Filter`` / ``-Anr`` / ``-Database`` / ``-Server`` /
  ``-OrganizationalUnit`` / ``-SortBy`` narrow or order the results.
* Get-Mailbox hides system mailboxes unless asked: ``-Arbitration``, ``-Monitoring``, ``-AuditLog``,
  ``-AuxAuditLog``, ``-PublicFolder``, ``-GroupMailbox``, ``-SupervisoryReviewPolicy`` each return only that kind.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterable
from typing import Any

from hybridkit.lab._types import LabError, LabObject
from hybridkit.lab.exchange import exchange_errors, identity
from hybridkit.lab.exchange.cmdlets._registry import CmdletContext, cmdlet
from hybridkit.lab.exchange.filters import FilterError, compile_filter
from hybridkit.lab.exchange.objects import (
    mail_user_object,
    mailbox_object,
    recipient_object,
    remote_mailbox_object,
    user_object,
)

__all__ = ["DEFAULT_RESULT_SIZE", "MORE_RESULTS_WARNING", "RESULT_SIZE_WARNING", "list_recipients"]

DEFAULT_RESULT_SIZE = 1000
RESULT_SIZE_WARNING = (
    "By default, only the first 1000 items are returned. Use the ResultSize parameter to specify the number of "
    'items returned. To return all items, specify "-ResultSize Unlimited". Be aware that, depending upon the actual '
    "number of items, returning all items can take a long time and consume a large amount of memory. Also, we don't "
    "recommend storing the results in a variable. Instead, pipe the results to another task or script to perform "
    "batch changes."
)
MORE_RESULTS_WARNING = (
    "There are more results available than are currently displayed. To view them, increase the value for the "
    "ResultSize parameter."
)
_REGULAR_MAILBOXES = frozenset({"UserMailbox", "SharedMailbox", "RoomMailbox", "EquipmentMailbox", "LinkedMailbox",
                                "LinkedRoomMailbox", "LegacyMailbox", "DiscoveryMailbox", "TeamMailbox",
                                "SchedulingMailbox"})
_MAILBOX_SWITCHES = {"Arbitration": "ArbitrationMailbox", "Monitoring": "MonitoringMailbox",
                     "AuditLog": "AuditLogMailbox", "AuxAuditLog": "AuxAuditLogMailbox",
                     "PublicFolder": "PublicFolderMailbox", "GroupMailbox": "GroupMailbox",
                     "SupervisoryReviewPolicy": "SupervisoryReviewPolicyMailbox"}
_SYSTEM = frozenset({"ArbitrationMailbox", "MonitoringMailbox", "AuditLogMailbox", "AuxAuditLogMailbox",
                     "SupervisoryReviewPolicyMailbox", "SystemMailbox", "SystemAttendantMailbox"})
_NOT_MAIL = frozenset({"User", "DisabledUser", "LinkedUser", "Computer", "UniversalSecurityGroup",
                       "UniversalDistributionGroup", "NonUniversalGroup", "RoleGroup"})
_USERS = frozenset({"UserMailbox", "SharedMailbox", "RoomMailbox", "EquipmentMailbox", "LinkedMailbox",
                    "LinkedRoomMailbox", "LegacyMailbox", "DiscoveryMailbox", "SchedulingMailbox", "MailUser",
                    "GuestMailUser", "RemoteUserMailbox", "RemoteSharedMailbox", "RemoteRoomMailbox",
                    "RemoteEquipmentMailbox", "User", "DisabledUser", "LinkedUser"})
_REMOTE = frozenset({"RemoteUserMailbox", "RemoteSharedMailbox", "RemoteRoomMailbox", "RemoteEquipmentMailbox",
                     "RemoteTeamMailbox"})

Builder = Callable[[Any, dict[str, Any], bool], LabObject]


def _kinds(values: Any) -> set[str]:
    if values is None:
        return set()
    items = values if isinstance(values, list) else [values]
    return {part.strip() for item in items for part in str(item).split(",") if part.strip()}


def _anr(text: str) -> Callable[[dict[str, Any]], bool]:
    wanted = text.lower()

    def test(rec: dict[str, Any]) -> bool:
        for key in ("Name", "DisplayName", "Alias", "FirstName", "LastName", "SamAccountName", "PrimarySmtpAddress"):
            value = rec.get(key)
            if value and str(value).lower().startswith(wanted):
                return True
        return False

    return test


def list_recipients(ctx: CmdletContext, accept: Callable[[dict[str, Any]], bool], build: Builder) -> None:
    """The shared body of the recipient Get- cmdlets (see the module docstring)."""
    params = ctx.params
    online = ctx.is_online
    tests: list[Callable[[dict[str, Any]], bool]] = [accept]
    details = _kinds(params.get("RecipientTypeDetails"))
    if details:
        tests.append(lambda r: r.get("RecipientTypeDetails") in details)
    rtypes = _kinds(params.get("RecipientType"))
    if rtypes:
        tests.append(lambda r: r.get("RecipientType") in rtypes)
    if params.get("Anr"):
        tests.append(_anr(str(params["Anr"])))
    for key, field in (("Database", "Database"), ("Server", "ServerName")):
        if params.get(key):
            wanted = identity.identity_text(params[key]).lower()
            tests.append(lambda r, f=field, w=wanted: str(r.get(f) or "").lower() == w)
    if params.get("OrganizationalUnit"):
        ou = identity.identity_text(params["OrganizationalUnit"]).lower().rstrip("/")
        tests.append(lambda r, ou=ou: str(r.get("OrganizationalUnit") or "").lower().startswith(ou))
    if params.get("Archive"):
        tests.append(lambda r: r.get("ArchiveStatus") not in (None, "None"))

    def keep(rec: dict[str, Any]) -> bool:
        return all(test(rec) for test in tests)

    if ctx.has("Identity") and params.get("Identity") is not None:
        wanted = params["Identity"]
        text = identity.identity_text(wanted)
        found = identity.resolve(ctx.side, wanted, keep)
        if not found:
            ctx.error(exchange_errors.not_found(ctx, text))
            return
        if len(found) > 1 and "*" not in text:
            ctx.error(exchange_errors.ambiguous(ctx, text))
            return
        records: Iterable[dict[str, Any]] = found
    else:
        records = (r for r in ctx.side.recipients.values() if keep(r))
    predicate = None
    if params.get("Filter"):
        predicate = _compile(ctx, str(params["Filter"]), build, online)
    sort_by = params.get("SortBy")
    if predicate is not None:
        # Filters see the object's properties and the directory attributes behind them (Department, Title ...,
        # which Exchange filters on even where the output object does not show them).
        records = (r for r in records if predicate(_FilterView(ctx.side, r, build, online)))  # type: ignore[arg-type]
    objects: Iterable[LabObject] = (build(ctx.side, r, online) for r in records)
    if sort_by:
        objects = sorted(objects, key=lambda o: str(o.get(str(sort_by)) or "").lower())
    limit = _limit(params)
    count = 0
    for obj in objects:
        if limit is not None and count >= limit:
            ctx.warning(RESULT_SIZE_WARNING if "ResultSize" not in params else MORE_RESULTS_WARNING)
            return
        ctx.output(obj)
        count += 1


def _limit(params: dict[str, Any]) -> int | None:
    if "ResultSize" not in params:
        return DEFAULT_RESULT_SIZE
    value = params["ResultSize"]
    return None if value in (None, "Unlimited") else int(value)


def _compile(ctx: CmdletContext, text: str, build: Builder, online: bool) -> Callable[[LabObject], bool]:
    cached = ctx.state.get(("filter", text))
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    sample = next(iter(ctx.side.recipients.values()), {})
    known = set(build(ctx.side, sample, online).properties) if sample else set()
    known |= _DIRECTORY_ATTRIBUTES | {f"CustomAttribute{n}" for n in range(1, 16)}
    try:
        predicate = compile_filter(text, known)
    except FilterError as exc:
        raise ctx.terminate(exc.error(ctx.name if online else exchange_errors.cmdlet_class(ctx.name))) from None
    ctx.state[("filter", text)] = predicate
    return predicate


_DIRECTORY_ATTRIBUTES = frozenset({
    "RecipientTypeDetails", "RecipientType", "Name", "Alias", "DisplayName", "PrimarySmtpAddress", "EmailAddresses",
    "Department", "Title", "Office", "City", "Company", "FirstName", "LastName", "Manager", "Database",
    "LitigationHoldEnabled", "UserPrincipalName", "SamAccountName", "ExchangeGuid", "Guid", "WhenCreated",
    "WhenChanged", "HiddenFromAddressListsEnabled", "ExternalDirectoryObjectId", "PersistedCapabilities",
})


_PLAIN = frozenset({
    "RecipientTypeDetails", "RecipientType", "Name", "Alias", "DisplayName", "PrimarySmtpAddress", "EmailAddresses",
    "Department", "Title", "Office", "City", "Company", "FirstName", "LastName", "Database", "UserPrincipalName",
    "SamAccountName", "ExternalDirectoryObjectId", "PersistedCapabilities", "LitigationHoldEnabled",
    *(f"CustomAttribute{n}" for n in range(1, 16)),
})


class _FilterView:
    """What a filter reads: the output object's properties, falling back to the stored directory attributes.
    The object is built only when a property is not stored on the record as is."""

    def __init__(self, side: Any, rec: dict[str, Any], build: Builder, online: bool) -> None:
        self._side, self._rec, self._build, self._online = side, rec, build, online
        self._obj: LabObject | None = None

    def get(self, name: str, default: Any = None) -> Any:
        if name in _PLAIN and name in self._rec:  # stored exactly as Exchange shows it: no need to build
            return self._rec[name]
        if self._obj is None:
            self._obj = self._build(self._side, self._rec, self._online)
        marker = object()
        value = self._obj.get(name, marker)
        if value is not marker:
            return value
        if name == "Manager" and self._rec.get("Manager"):
            manager = self._side.recipients.get(self._rec["Manager"])
            return manager.get("Identity") if manager else None
        lowered = name.lower()
        for key, stored in self._rec.items():
            if key.lower() == lowered:
                return stored
        return default


def _mailbox_kinds(ctx: CmdletContext) -> frozenset[str]:
    chosen = {kind for switch, kind in _MAILBOX_SWITCHES.items() if ctx.params.get(switch)}
    return frozenset(chosen) if chosen else _REGULAR_MAILBOXES


def _live(rec: dict[str, Any], ctx: CmdletContext) -> bool:
    if rec.get("IsSoftDeleted") and not ctx.params.get("SoftDeletedMailbox"):
        return False
    if rec.get("IsInactiveMailbox") and not (ctx.params.get("IncludeInactiveMailbox")
                                            or ctx.params.get("InactiveMailboxOnly")):
        return False
    if ctx.params.get("InactiveMailboxOnly") and not rec.get("IsInactiveMailbox"):
        return False
    return True


@cmdlet("Get-Mailbox")
def get_mailbox(ctx: CmdletContext) -> None:
    """Mailboxes of this side."""
    kinds = _mailbox_kinds(ctx)
    list_recipients(ctx, lambda r: r.get("RecipientTypeDetails") in kinds and _live(r, ctx), mailbox_object)


@cmdlet("Get-Recipient")
def get_recipient(ctx: CmdletContext) -> None:
    """Mail-enabled recipients (plain users and system mailboxes only when asked for by type)."""
    asked = _kinds(ctx.params.get("RecipientTypeDetails"))

    def accept(rec: dict[str, Any]) -> bool:
        kind = rec.get("RecipientTypeDetails")
        if kind in _NOT_MAIL or kind in _SYSTEM:
            return kind in asked
        return _live(rec, ctx)

    list_recipients(ctx, accept, recipient_object)


@cmdlet("Get-User")
def get_user(ctx: CmdletContext) -> None:
    """User accounts: mailbox users, mail users, remote mailboxes and plain users."""
    list_recipients(ctx, lambda r: r.get("RecipientTypeDetails") in _USERS, user_object)


@cmdlet("Get-MailUser")
def get_mail_user(ctx: CmdletContext) -> None:
    """Mail users (in Exchange Online also guest mail users)."""
    kinds = {"MailUser", "GuestMailUser"} if ctx.is_online else {"MailUser"}
    list_recipients(ctx, lambda r: r.get("RecipientTypeDetails") in kinds, mail_user_object)


@cmdlet("Get-RemoteMailbox")
def get_remote_mailbox(ctx: CmdletContext) -> None:
    """On-prem RemoteMailbox objects (mailboxes that live in Exchange Online)."""
    list_recipients(ctx, lambda r: r.get("RecipientTypeDetails") in _REMOTE, remote_mailbox_object)


def matches_wildcard(value: str, pattern: str) -> bool:
    """Case-insensitive ``*`` matching as Exchange applies it to names."""
    return fnmatch.fnmatchcase(value.lower(), pattern.lower())


# Get-EXOMailbox / Get-EXORecipient (ExchangeOnlineManagement REST cmdlets): the "Minimum" property set unless
# -PropertySets / -Properties ask for more (learn.microsoft.com, "Get-EXOMailbox property sets").
_EXO_MINIMUM = ("ExternalDirectoryObjectId", "UserPrincipalName", "Alias", "DisplayName", "EmailAddresses",
                "PrimarySmtpAddress", "RecipientType", "RecipientTypeDetails", "Identity", "Id", "ExchangeVersion",
                "Name", "DistinguishedName", "OrganizationId", "Guid")


def _exo(ctx: CmdletContext, accept: Callable[[dict[str, Any]], bool], full: Builder) -> None:
    if not ctx.session.data.get("exo_connected"):
        raise ctx.terminate(LabError(
            message=f"{ctx.name}: there is no connection to Exchange Online in this session; run "
            "Connect-ExchangeOnline first.",
            exception_type="System.InvalidOperationException", fully_qualified_error_id=f"NoActiveConnection,{ctx.name}",
            category="InvalidOperation", reason="InvalidOperationException"))
    for alternate in ("ExternalDirectoryObjectId", "PrimarySmtpAddress", "UserPrincipalName"):
        if ctx.params.get(alternate) and not ctx.params.get("Identity"):
            ctx.params["Identity"] = str(ctx.params[alternate])
    sets = {str(s).lower() for s in (ctx.params.get("PropertySets") or [])}
    extra = [str(p) for p in (ctx.params.get("Properties") or [])]

    def project(side: Any, rec: dict[str, Any], online: bool) -> LabObject:
        obj = full(side, rec, online)
        if "all" in sets:
            return obj
        wanted = list(_EXO_MINIMUM) + extra
        props = {name: obj.get(name) for name in wanted}
        props["Id"] = obj.get("Identity")
        props["OrganizationId"] = side.settings.get("tenant")
        return LabObject(list(obj.type_names), props, to_string=obj.to_string)

    list_recipients(ctx, accept, project)


@cmdlet("Get-EXOMailbox")
def get_exo_mailbox(ctx: CmdletContext) -> None:
    """Exchange Online mailboxes through the module's REST cmdlet (Minimum property set by default)."""
    kinds = frozenset({"GroupMailbox"}) if ctx.params.get("GroupMailbox") else (
        frozenset({"PublicFolderMailbox"}) if ctx.params.get("PublicFolder") else _REGULAR_MAILBOXES)
    _exo(ctx, lambda r: r.get("RecipientTypeDetails") in kinds and _live(r, ctx), mailbox_object)


@cmdlet("Get-EXORecipient")
def get_exo_recipient(ctx: CmdletContext) -> None:
    """Exchange Online recipients through the module's REST cmdlet."""
    _exo(ctx, lambda r: r.get("RecipientTypeDetails") not in _NOT_MAIL and r.get("RecipientTypeDetails") not in _SYSTEM,
         recipient_object)
