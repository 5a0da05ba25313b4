"""On-prem remote mailboxes of a hybrid: Enable-RemoteMailbox and Set-RemoteMailbox (Exchange Server only).

A remote mailbox is the on-prem mail user that stands for a mailbox in Exchange Online. Semantics follow the
reference pages (FIDELITY.md, "Hybrid recipient handlers"):

* Enable-RemoteMailbox mail-enables an existing on-prem user without a mailbox (RecipientTypeDetails ``User`` or
  ``DisabledUser``): it becomes a ``RemoteUserMailbox`` (``-Room``/``-Equipment``/``-Shared``: the matching
  remote type) whose RemoteRecipientType says ``ProvisionMailbox`` — the flag that makes directory sync create
  the cloud mailbox (the Set-RemoteMailbox page quotes "remoteMailbox.RemoteRecipientType must include
  ProvisionMailbox"). Alias defaults to the user's SamAccountName, the primary address to alias@domain, and the
  remote routing address to alias@<tenant>.mail.onmicrosoft.com (the address the Hybrid Configuration wizard's
  email address policy adds). ``-Archive`` on an existing remote mailbox adds ``ProvisionArchive`` and the
  page's default archive name for the version. The remote mailbox is written to the output, as Enable- cmdlets do.
  The cloud mailbox itself appears only after directory sync, which the lab does not run.
* Set-RemoteMailbox changes a remote mailbox: ``-EmailAddresses`` replaces the proxy addresses (or adds/removes
  with ``@{Add=...; Remove=...}``), the ``SMTP:`` one (else the first) being primary; ``-PrimarySmtpAddress``
  changes the primary address and WindowsEmailAddress (never together with ``-EmailAddresses``: refused as the
  page says); ``-Type`` Regular/Room/Equipment/Shared changes the remote type and RemoteRecipientType's type flag;
  every other parameter the catalogue accepts (RemoteRoutingAddress, ExchangeGuid, CustomAttributeN, ...) is
  stored as given. Nothing is written to the output. ``-WhatIf`` changes nothing.

Parameters Exchange does not have on these cmdlets (``Set-RemoteMailbox -LitigationHoldEnabled``) never get here:
the binder refuses them first, as Exchange does (a cloud mailbox's hold is set with Set-Mailbox in Exchange Online).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from hybridkit.lab.exchange import exchange_errors
from hybridkit.lab.exchange.cmdlets._registry import CmdletContext, cmdlet
from hybridkit.lab.exchange.identity import identity_text, resolve_one
from hybridkit.lab.exchange.objects import remote_mailbox_object
from hybridkit.lab.exchange.org import to_iso

__all__ = ["REMOTE_TYPES", "archive_name"]

# -Type / switch -> (RecipientTypeDetails, RemoteRecipientType type flag)
REMOTE_TYPES: dict[str, tuple[str, str | None]] = {
    "Regular": ("RemoteUserMailbox", None),
    "Room": ("RemoteRoomMailbox", "RoomMailbox"),
    "Equipment": ("RemoteEquipmentMailbox", "EquipmentMailbox"),
    "Shared": ("RemoteSharedMailbox", "SharedMailbox"),
}
_REMOTE = frozenset(kind for kind, _ in REMOTE_TYPES.values()) | {"RemoteTeamMailbox"}
_PLAIN_USERS = frozenset({"User", "DisabledUser"})
_TYPE_FLAGS = frozenset(flag for _, flag in REMOTE_TYPES.values() if flag)
_NOT_STORED = frozenset({
    "Identity", "Confirm", "WhatIf", "DomainController", "IgnoreDefaultScope", "EmailAddresses", "PrimarySmtpAddress",
    "Type", "Debug", "ErrorAction", "ErrorVariable", "InformationAction", "InformationVariable", "OutBuffer",
    "OutVariable", "PipelineVariable", "ProgressAction", "Verbose", "WarningAction", "WarningVariable",
    "RemovePicture", "RemoveSpokenName", "ResetPasswordOnNextLogon",
})


def archive_name(version: str, display_name: str) -> str:
    """The default archive name the reference page gives for each Exchange version."""
    if version == "2010":
        return f"Personal Archive - {display_name}"
    if version == "2013":
        return f"In-Place Archive - {display_name}"
    return f"In-Place Archive -{display_name}"


def _flags(text: Any) -> list[str]:
    return [part.strip() for part in str(text or "").split(",") if part.strip()]


def _with_type_flag(remote_recipient_type: Any, flag: str | None) -> str:
    kept = [f for f in _flags(remote_recipient_type) if f not in _TYPE_FLAGS]
    return ", ".join(kept + ([flag] if flag else []))


def _address(value: Any) -> str:
    return str(value).split(":", 1)[1] if ":" in str(value) else str(value)


def _proxy_list(values: Any) -> list[str]:
    items = values if isinstance(values, (list, tuple)) else [values]
    out = [str(v) if ":" in str(v) else f"smtp:{v}" for v in items if v not in (None, "")]
    if out and not any(v.startswith("SMTP:") for v in out):  # no SMTP: type -> the first address is primary
        out[0] = "SMTP:" + _address(out[0])
    return out


def _set_primary(rec: dict[str, Any], address: str) -> None:
    others = [a for a in rec.get("EmailAddresses") or [] if _address(a).lower() != address.lower()]
    demoted = ["smtp:" + _address(a) if str(a).startswith("SMTP:") else str(a) for a in others]
    rec["EmailAddresses"] = [f"SMTP:{address}", *demoted]
    rec["PrimarySmtpAddress"] = address
    rec["WindowsEmailAddress"] = address


def _apply_email_addresses(rec: dict[str, Any], value: Any) -> None:
    if isinstance(value, dict):  # @{Add=...; Remove=...}
        lowered = {str(k).lower(): v for k, v in value.items()}
        current = list(rec.get("EmailAddresses") or [])
        removed = {_address(a).lower() for a in _as_list(lowered.get("remove"))}
        current = [a for a in current if _address(a).lower() not in removed]
        for added in _as_list(lowered.get("add")):
            text = str(added) if ":" in str(added) else f"smtp:{added}"
            if text.startswith("SMTP:"):
                _set_primary(rec, _address(text))
                current = list(rec["EmailAddresses"])
            elif _address(text).lower() not in {_address(a).lower() for a in current}:
                current.append(text)
        rec["EmailAddresses"] = current
    else:
        rec["EmailAddresses"] = _proxy_list(value)
    primary = next((_address(a) for a in rec["EmailAddresses"] if str(a).startswith("SMTP:")), None)
    if primary:
        rec["PrimarySmtpAddress"] = primary
        rec["WindowsEmailAddress"] = primary


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return to_iso(value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def _not_found(ctx: CmdletContext, identity: Any, matches: int) -> None:
    make = exchange_errors.ambiguous if matches > 1 else exchange_errors.not_found
    ctx.error(make(ctx, identity_text(identity)))


@cmdlet("Enable-RemoteMailbox")
def enable_remote_mailbox(ctx: CmdletContext) -> None:
    """Mail-enable an on-prem user for a mailbox in Exchange Online (or give a remote mailbox its archive)."""
    params = ctx.params
    identity = params.get("Identity")
    if params.get("Archive"):
        rec, matches = resolve_one(ctx.side, identity, lambda r: r.get("RecipientTypeDetails") in _REMOTE)
        if rec is None:
            _not_found(ctx, identity, matches)
            return
        if not params.get("WhatIf"):
            flags = _flags(rec.get("RemoteRecipientType"))
            if "ProvisionArchive" not in flags:
                rec["RemoteRecipientType"] = ", ".join([*flags, "ProvisionArchive"])
            rec["ArchiveName"] = _as_list(params.get("ArchiveName")) or [
                archive_name(ctx.org.version, str(rec.get("DisplayName") or rec.get("Name")))]
            rec["WhenChanged"] = to_iso(ctx.now())
        ctx.output(remote_mailbox_object(ctx.side, rec, False))
        return
    rec, matches = resolve_one(ctx.side, identity)
    if rec is None:
        _not_found(ctx, identity, matches)
        return
    if rec.get("RecipientTypeDetails") not in _PLAIN_USERS:
        ctx.error(exchange_errors.task_error(
            ctx, f"The user '{identity_text(identity)}' is already mail-enabled (RecipientTypeDetails "
            f"{rec.get('RecipientTypeDetails')}).", exception="RecipientTaskException", target=identity_text(identity)))
        return
    kind = next((name for name in ("Room", "Equipment", "Shared") if params.get(name)), "Regular")
    details, flag = REMOTE_TYPES[kind]
    if params.get("WhatIf"):
        return
    settings = ctx.side.settings
    alias = str(params.get("Alias") or rec.get("Alias") or rec.get("SamAccountName") or rec.get("Name"))
    primary = _address(params.get("PrimarySmtpAddress") or f"{alias}@{settings.get('domain', 'contoso.com')}")
    routing = str(params.get("RemoteRoutingAddress") or f"SMTP:{alias}@{settings.get('routing_domain')}")
    routing = routing if ":" in routing else f"SMTP:{routing}"
    rec.update({
        "Alias": alias, "RecipientType": "MailUser", "RecipientTypeDetails": details,
        "RemoteRecipientType": _with_type_flag("ProvisionMailbox", flag), "RemoteRoutingAddress": routing,
        "EmailAddressPolicyEnabled": True, "WhenChanged": to_iso(ctx.now()),
    })
    if params.get("DisplayName"):
        rec["DisplayName"] = str(params["DisplayName"])
    if params.get("ACLableSyncedObjectEnabled"):
        rec["ACLableSyncedObjectEnabled"] = True
    rec["EmailAddresses"] = []
    _set_primary(rec, primary)
    routing_address = _address(routing)
    if routing_address.lower() != primary.lower():
        rec["EmailAddresses"].append(f"smtp:{routing_address}")
    ctx.output(remote_mailbox_object(ctx.side, rec, False))


@cmdlet("Set-RemoteMailbox")
def set_remote_mailbox(ctx: CmdletContext) -> None:
    """Change one remote mailbox per call (the engine calls once per pipeline input item)."""
    params = ctx.params
    identity = params.get("Identity")
    rec, matches = resolve_one(ctx.side, identity, lambda r: r.get("RecipientTypeDetails") in _REMOTE)
    if rec is None:
        _not_found(ctx, identity, matches)
        return
    if "EmailAddresses" in params and "PrimarySmtpAddress" in params:
        ctx.error(exchange_errors.task_error(
            ctx, "You can't use the EmailAddresses and PrimarySmtpAddress parameters in the same command.",
            exception="RecipientTaskException", category="InvalidArgument", target=identity_text(identity)))
        return
    if params.get("WhatIf"):
        return
    if "EmailAddresses" in params:
        _apply_email_addresses(rec, params["EmailAddresses"])
    if params.get("PrimarySmtpAddress"):
        _set_primary(rec, _address(params["PrimarySmtpAddress"]))
    if params.get("Type"):
        details, flag = REMOTE_TYPES[str(params["Type"]).capitalize()]
        rec["RecipientTypeDetails"] = details
        rec["RemoteRecipientType"] = _with_type_flag(rec.get("RemoteRecipientType") or "ProvisionMailbox", flag)
    for name, value in params.items():
        if name not in _NOT_STORED:
            rec[name] = _plain(value)
    rec["WhenChanged"] = to_iso(ctx.now())
