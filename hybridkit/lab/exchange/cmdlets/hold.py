"""Lab Set-Mailbox: litigation hold with its documented rules, plus generic acceptance of other settings.

The catalogue has already bound and checked the command (parameter availability per product: for example
``-LitigationHoldDuration`` does not exist on Exchange Server 2010, so the binder refuses it there with
PowerShell's "A parameter cannot be found" error before this handler runs; ``-Identity`` binds from the
pipeline by property name only, so plain strings piped in never reach it). What this handler adds
(facts.md section 4, field-notes "Litigation hold"):

* ``-LitigationHoldEnabled $true`` stamps ``LitigationHoldDate`` with the server's time (a given
  ``-LitigationHoldDate`` is stored as an informational value) and fills ``LitigationHoldOwner`` with the
  account running the command when no owner is given.
* ``-LitigationHoldDuration``: a number of days (1 to 10675199, the days of TimeSpan.MaxValue) or ``unlimited``
  (the default), shown by Get-Mailbox as ``Unlimited`` or a TimeSpan (``365.00:00:00``).
* ``-RetentionComment``: in Exchange Online it goes with litigation hold; on-premises it is refused unless
  RetentionHoldEnabled is (or becomes) ``$true``.
* Exchange Online licensing: a mailbox whose PersistedCapabilities hold neither Exchange Online Plan 2
  (``BPOS_S_Enterprise``) nor the archiving add-on gets Exchange Online's real licence error.
* Public folder mailboxes (reached only with ``-PublicFolder``) are refused: "Placing public folder mailboxes on
  Litigation Hold isn't supported."

Any other parameter the catalogue accepts is stored on the mailbox as given (simple values), so other
capabilities can use Set-Mailbox without a handler of their own. ``-WhatIf`` changes nothing.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from hybridkit.lab._types import LabError
from hybridkit.lab.exchange import exchange_errors
from hybridkit.lab.exchange.cmdlets._registry import CmdletContext, cmdlet
from hybridkit.lab.exchange.identity import identity_text, resolve_one
from hybridkit.lab.exchange.org import to_iso

__all__ = [
    "ELIGIBLE_CAPABILITIES",
    "LICENCE_MESSAGE",
    "MAILBOX_TYPES",
    "find_mailbox",
    "hold_duration_text",
    "is_hold_licensed",
]

MAILBOX_TYPES = frozenset(
    {
        "UserMailbox",
        "SharedMailbox",
        "RoomMailbox",
        "EquipmentMailbox",
        "LinkedMailbox",
        "LinkedRoomMailbox",
        "DiscoveryMailbox",
        "SchedulingMailbox",
        "TeamMailbox",
        "LegacyMailbox",
    }
)
ELIGIBLE_CAPABILITIES = frozenset({"BPOS_S_Enterprise", "BPOS_S_ArchiveAddOn", "BPOS_S_Archive"})
LICENCE_MESSAGE = (
    "The action 'Set-Mailbox', 'LitigationHoldEnabled', can't be performed on the user '{user}'. Your Microsoft "
    "Exchange Online license doesn't permit you to put a litigation hold on this mailbox."
)
PUBLIC_FOLDER_MESSAGE = (
    "Placing public folder mailboxes on Litigation Hold isn't supported. To place public folder mailboxes on hold, "
    "create an In-Place Hold using the New-MailboxSearch cmdlet with the InPlaceHoldEnabled parameter."
)
# An Unlimited<EnhancedTimeSpan> in days: TimeSpan.MaxValue is 10675199.02:48:05 (EWS: hold periods are TimeSpans).
MAX_DURATION_DAYS = 10_675_199
_NOT_STORED = {"Identity", "Confirm", "WhatIf", "Force", "DomainController", "PublicFolder", "Arbitration",
               "GroupMailbox", "IgnoreDefaultScope", "Archive", "RemoteArchive", "AuditLog", "AuxAuditLog",
               "Debug", "ErrorAction", "ErrorVariable", "InformationAction", "InformationVariable", "OutBuffer",
               "OutVariable", "PipelineVariable", "ProgressAction", "Verbose", "WarningAction", "WarningVariable"}
_HOLD_PARAMS = {"LitigationHoldEnabled", "LitigationHoldDuration", "LitigationHoldOwner", "LitigationHoldDate",
                "RetentionComment"}


def find_mailbox(
    ctx: CmdletContext, identity: Any, *, public_folder: bool = False
) -> tuple[dict[str, Any] | None, int]:
    """(the mailbox on this side that ``identity`` names, number of matches); public folder mailboxes only when
    asked for (``-PublicFolder``)."""
    return resolve_one(ctx.side, identity, lambda rec: _is_mailbox(rec, public_folder))


def _is_mailbox(rec: dict[str, Any], public_folder: bool) -> bool:
    kind = rec.get("RecipientTypeDetails", "")
    return kind == "PublicFolderMailbox" if public_folder else kind in MAILBOX_TYPES


def is_hold_licensed(rec: dict[str, Any]) -> bool:
    """Whether Exchange Online allows a litigation hold on this mailbox (no licence data: allowed)."""
    caps = rec.get("PersistedCapabilities")
    if caps is None:
        return True
    if isinstance(caps, str):
        caps = [c.strip() for c in caps.split(",")]
    return any(str(c) in ELIGIBLE_CAPABILITIES for c in caps)


def hold_duration_text(value: Any) -> str:
    """How Get-Mailbox shows a stored duration: ``Unlimited`` or ``<days>.00:00:00``."""
    if value is None or (isinstance(value, str) and value.lower() == "unlimited"):
        return "Unlimited"
    if isinstance(value, str) and ":" in value:
        return value
    return f"{int(value)}.00:00:00"


def _error(ctx: CmdletContext, message: str, target: str, exception: str = "TaskInvalidOperationException",
           category: str = "InvalidOperation") -> LabError:
    return exchange_errors.task_error(ctx, message, exception=exception, category=category, target=target)


def _display_identity(rec: dict[str, Any]) -> str:
    return str(rec.get("Identity") or rec.get("Name") or rec.get("Alias") or rec.get("Guid") or "")


def _hold_rules(ctx: CmdletContext, rec: dict[str, Any], target: str) -> LabError | None:
    params = ctx.params
    enabling = params.get("LitigationHoldEnabled") is True
    if rec.get("RecipientTypeDetails") == "PublicFolderMailbox" and (
        enabling or "LitigationHoldDuration" in params
    ):
        return _error(ctx, PUBLIC_FOLDER_MESSAGE, target)
    if ctx.is_online and enabling and not rec.get("LitigationHoldEnabled") and not is_hold_licensed(rec):
        user = str(rec.get("Name") or rec.get("Alias") or target)
        return _error(ctx, LICENCE_MESSAGE.format(user=user), target, exception="RecipientTaskException")
    if "LitigationHoldDuration" in params:
        value = params["LitigationHoldDuration"]
        if not (isinstance(value, str) and value.lower() == "unlimited") and not (
            isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_DURATION_DAYS
        ):
            return _error(
                ctx,
                f"Cannot bind parameter 'LitigationHoldDuration' to the value '{value}'. A valid value is an "
                "integer that represents the number of days, or the value unlimited.",
                target,
                exception="DataValidationException",
                category="InvalidArgument",
            )
    if "RetentionComment" in params and not ctx.is_online:
        retention_hold = params.get("RetentionHoldEnabled", rec.get("RetentionHoldEnabled", False))
        if retention_hold is not True:
            return _error(
                ctx,
                "The RetentionComment parameter can only be used when RetentionHoldEnabled is set to $true.",
                target,
                exception="DataValidationException",
                category="InvalidArgument",
            )
    return None


@cmdlet("Set-Mailbox")
def set_mailbox(ctx: CmdletContext) -> None:
    """Modify one mailbox per call (the engine calls once per pipeline input item)."""
    identity = ctx.params.get("Identity")
    rec, matches = find_mailbox(ctx, identity, public_folder=bool(ctx.params.get("PublicFolder")))
    if rec is None:
        make = exchange_errors.ambiguous if matches > 1 else exchange_errors.not_found
        ctx.error(make(ctx, identity_text(identity)))
        return
    target = _display_identity(rec)
    problem = _hold_rules(ctx, rec, target)
    if problem is not None:
        ctx.error(problem)
        return
    if ctx.params.get("WhatIf"):
        return
    params = ctx.params
    now: dt.datetime = ctx.now()
    before = {k: v for k, v in rec.items() if k != "WhenChanged"}
    if "LitigationHoldEnabled" in params:
        enabling = bool(params["LitigationHoldEnabled"])
        was = bool(rec.get("LitigationHoldEnabled"))
        rec["LitigationHoldEnabled"] = enabling
        if enabling and not was:
            given = params.get("LitigationHoldDate")
            rec["LitigationHoldDate"] = to_iso(given) if isinstance(given, dt.datetime) else to_iso(now)
            rec["LitigationHoldOwner"] = str(params.get("LitigationHoldOwner") or ctx.session.user)
        rec.setdefault("LitigationHoldDuration", "Unlimited")
    if "LitigationHoldDuration" in params:
        value = params["LitigationHoldDuration"]
        rec["LitigationHoldDuration"] = hold_duration_text(value)
    if "LitigationHoldOwner" in params:
        rec["LitigationHoldOwner"] = str(params["LitigationHoldOwner"] or "")
    if "LitigationHoldDate" in params and isinstance(params["LitigationHoldDate"], dt.datetime):
        rec["LitigationHoldDate"] = to_iso(params["LitigationHoldDate"])
    if "RetentionComment" in params:
        rec["RetentionComment"] = params["RetentionComment"]
    for name, value in params.items():
        if name in _NOT_STORED or name in _HOLD_PARAMS:
            continue
        rec[name] = _plain(value)
    if {k: v for k, v in rec.items() if k != "WhenChanged"} == before:  # Exchange's warning; nothing is written
        ctx.warning(f"The command completed successfully but no settings of '{target}' have been modified.")
        return
    rec["WhenChanged"] = to_iso(now)


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return to_iso(value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return str(value)
