"""Granting permissions: Add-MailboxPermission (on-prem and Exchange Online) and Add-RecipientPermission (Exchange
Online's Send-As).

Semantics from the reference pages (FIDELITY.md, "Hybrid recipient handlers"):

* Add-MailboxPermission ``-Identity <mailbox> -User <trustee> -AccessRights <rights>`` adds an ACE to the
  mailbox (``-Deny`` makes it a Deny entry, ``-InheritanceType`` defaults to All, ``-AutoMapping`` to $true) and
  writes the new entry as a MailboxAcePresentationObject; Get-MailboxPermission shows it from then on.
  ``-Owner`` sets the mailbox owner (default NT AUTHORITY\\SELF) and writes nothing.
* Add-RecipientPermission ``-Identity <recipient> -Trustee <trustee> -AccessRights SendAs``: SendAs is the only
  right; the page's Confirm text says the cmdlet "has a built-in pause", so without ``-Confirm:$false`` a host
  that cannot prompt fails it (the engine's confirmation rule). The entry is written as a RecipientPermission.
* The trustee must resolve to a recipient on the same side (user, mailbox, mail user or security group); otherwise
  Exchange's not-found error names it. Granting a right the trustee already has adds no second entry
  (lab's choice: the ACL holds one entry per trustee and Allow/Deny).
"""

from __future__ import annotations

from typing import Any

from hybridkit.lab.exchange import exchange_errors
from hybridkit.lab.exchange.cmdlets._registry import CmdletContext, cmdlet
from hybridkit.lab.exchange.cmdlets.hold import MAILBOX_TYPES
from hybridkit.lab.exchange.cmdlets.permissions import permission_object, trustee_name
from hybridkit.lab.exchange.identity import identity_text, resolve_one

__all__: list[str] = []

_RECIPIENT_RIGHT = "Microsoft.Exchange.Management.RecipientTasks.RecipientAccessRight"


def _as_list(value: Any) -> list[str]:
    items = value if isinstance(value, (list, tuple)) else [value]
    return [part.strip() for item in items if item is not None for part in str(item).split(",") if part.strip()]


def _resolve(ctx: CmdletContext, identity: Any, accept: Any = None) -> dict[str, Any] | None:
    rec, matches = resolve_one(ctx.side, identity, accept)
    if rec is None:
        make = exchange_errors.ambiguous if matches > 1 else exchange_errors.not_found
        ctx.error(make(ctx, identity_text(identity)))
    return rec


def _stored_user(ctx: CmdletContext, trustee: dict[str, Any]) -> str:
    """The trustee as Exchange lists it in an ACE: DOMAIN\\sam on-prem, the UPN (or name) online."""
    if ctx.is_online:
        return str(trustee.get("UserPrincipalName") or trustee.get("PrimarySmtpAddress") or trustee.get("Name"))
    netbios = ctx.side.settings.get("netbios", "CONTOSO")
    return f"{netbios}\\{trustee.get('SamAccountName') or trustee.get('Name')}"


def _grant(entries: list[dict[str, Any]], trustee: dict[str, Any], user: str, deny: bool,
           extra: dict[str, Any]) -> dict[str, Any]:
    for entry in entries:
        if entry.get("Trustee") == trustee.get("Guid") and bool(entry.get("Deny")) == deny:
            rights = list(entry.get("AccessRights") or [])
            rights += [r for r in extra.get("AccessRights", []) if r not in rights]
            entry.update({**extra, "AccessRights": rights})
            return entry
    entry = {"User": user, "Trustee": trustee.get("Guid"), "Deny": deny, "IsInherited": False, **extra}
    entries.append(entry)
    return entry


def _identity(rec: dict[str, Any]) -> str:
    return str(rec.get("Identity") or rec.get("Name") or rec.get("Guid"))


@cmdlet("Add-MailboxPermission")
def add_mailbox_permission(ctx: CmdletContext) -> None:
    """Add one ACE (or set the owner) on one mailbox."""
    params = ctx.params
    instance = params.get("Instance")
    identity = params.get("Identity") if params.get("Identity") is not None else (
        instance.get("Identity") if instance is not None and hasattr(instance, "get") else None)
    mailbox = _resolve(ctx, identity, lambda r: r.get("RecipientTypeDetails") in MAILBOX_TYPES)
    if mailbox is None:
        return
    if params.get("Owner") is not None:
        owner = _resolve(ctx, params["Owner"])
        if owner is not None and not params.get("WhatIf"):
            mailbox["Owner"] = _stored_user(ctx, owner)
        return
    user_value = params.get("User")
    rights_value = params.get("AccessRights")
    if instance is not None and hasattr(instance, "get"):
        user_value = user_value if user_value is not None else instance.get("User")
        rights_value = rights_value if rights_value is not None else instance.get("AccessRights")
    trustee = _resolve(ctx, user_value)
    if trustee is None:
        return
    rights = _as_list(rights_value)
    deny = bool(params.get("Deny"))
    inheritance = str(params.get("InheritanceType") or "All")
    if params.get("WhatIf"):
        return
    entries = mailbox.setdefault("MailboxPermissions", [])
    _grant(entries, trustee, _stored_user(ctx, trustee), deny,
           {"AccessRights": rights, "InheritanceType": inheritance,
            "AutoMapping": bool(params.get("AutoMapping", True))})
    ctx.output(permission_object("MailboxAce", {
        "AccessRights": rights,
        "Deny": deny,
        "InheritanceType": inheritance,
        "User": trustee_name(ctx, {"User": _stored_user(ctx, trustee), "Trustee": trustee.get("Guid")}),
        "Identity": _identity(mailbox),
        "IsInherited": False,
        "IsValid": True,
    }))


@cmdlet("Add-RecipientPermission")
def add_recipient_permission(ctx: CmdletContext) -> None:
    """Give one trustee Send-As on one recipient (Exchange Online)."""
    params = ctx.params
    rights = _as_list(params.get("AccessRights"))
    wrong = [r for r in rights if r.lower() != "sendas"]
    if wrong or not rights:
        raise ctx.terminate(exchange_errors.task_error(
            ctx, f"Cannot process argument transformation on parameter 'AccessRights'. Cannot convert value "
            f"\"{wrong[0] if wrong else ''}\" to type \"{_RECIPIENT_RIGHT}\". Error: \"Unable to match the identifier "
            f"name {wrong[0] if wrong else ''} to a valid enumerator name. Specify one of the following enumerator "
            "names and try again: SendAs\"", exception="ParameterBindingException", category="InvalidData",
            target=wrong[0] if wrong else None))
    recipient = _resolve(ctx, params.get("Identity"))
    if recipient is None:
        return
    trustee = _resolve(ctx, params.get("Trustee"))
    if trustee is None or params.get("WhatIf"):
        return
    entry = _grant(recipient.setdefault("SendAs", []), trustee, _stored_user(ctx, trustee), False, {})
    ctx.output(permission_object("RecipientPermission", {
        "Identity": _identity(recipient),
        "Trustee": trustee_name(ctx, entry),
        "AccessControlType": "Allow",
        "AccessRights": ["SendAs"],
        "IsInherited": False,
        "InheritanceType": "None",
    }))
