"""Shared state and helpers of the lab's migration handlers (Exchange Online side of onboarding).

State lives in ``org.online`` collections: ``MigrationEndpoint``, ``MigrationBatch`` (by name),
``MigrationUser`` and ``MoveRequest`` (by lower-case email address). A batch keeps its CSV's users in
``_users`` and, in ``_duplicates``, the users that were already in another batch when it was created (each
failed with UserDuplicateInOtherBatchException; the user's own migration user stays with the other batch).
Time-driven behaviour is in ``hybridkit.lab.exchange.migration_state``; every handler first advances all moves to the
virtual clock's now (once per command of a pipeline). Completion converts the on-prem mailbox into a
RemoteUserMailbox and the cloud mail user into a UserMailbox. Every completion signal and every completion is
recorded in ``org.online.settings["lab_migration_audit"]`` so tests can prove a mailbox was completed exactly
once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from typing import Any

from hybridkit.lab._types import LabError, LabObject
from hybridkit.lab.exchange import migration_state as ms
from hybridkit.lab.exchange.cmdlets._registry import CmdletContext
from hybridkit.lab.exchange.migration_endpoint import DEFAULT_ENDPOINT
from hybridkit.lab.exchange.org import Org

T_BATCH = "Microsoft.Exchange.Data.Storage.Management.MigrationBatch"
T_USER = "Microsoft.Exchange.Data.Storage.Management.MigrationUser"
T_USER_STATS = "Microsoft.Exchange.Data.Storage.Management.MigrationUserStatistics"
T_ENDPOINT = "Microsoft.Exchange.Data.Storage.Management.MigrationEndpoint"
T_CONFIG = "Microsoft.Exchange.Data.Storage.Management.MigrationConfig"
T_MOVE = "Microsoft.Exchange.Management.RecipientTasks.MoveRequest"
T_STATS = "Microsoft.Exchange.Management.RecipientTasks.MoveRequestStatistics"
_DATES = (
    "QueuedTimestamp", "StartTimestamp", "InitialSeedingCompletedTimestamp", "LastSuccessfulSyncTimestamp",
    "CompletionTimestamp", "SuspendedTimestamp", "FailureTimestamp", "CompleteAfter", "StartAfter",
    "CreationDateTime", "StartDateTime", "LastSyncedDateTime", "CompleteAfterUTC", "StartAfterUTC",
    "SkippedItemApprovalTime",
)  # fmt: skip
# Phases in which a move is completing or completed: Set-/Resume-/Suspend-MoveRequest no longer apply.
COMPLETING_PHASES = ("completing", "finalizing", "completed")

__all__ = [
    "COMPLETING_PHASES", "DEFAULT_ENDPOINT", "T_BATCH", "T_CONFIG", "T_ENDPOINT", "T_MOVE", "T_STATS", "T_USER",
    "T_USER_STATS", "advance_moves", "as_text", "as_when", "audit", "batch_users", "completion_effects", "dated",
    "domain_controller", "duplicate_error", "find_batch", "find_move", "find_recipient", "indexed", "lab_error",
    "limit_results", "member_status", "moves_of", "not_found", "size_of", "smtp_set", "user_status",
]  # fmt: skip

# ---------------------------------------------------------------- helpers


def as_text(value: Any) -> str:
    if isinstance(value, LabObject):
        for prop in ("Identity", "EmailAddress", "Name"):
            if value.get(prop):
                return str(value.get(prop))
        return value.to_string or ""
    if isinstance(value, dict):
        return str(value.get("Identity") or value.get("Name") or "")
    return str(value)


def as_when(value: Any) -> dt.datetime | None:
    """A DateTime parameter: aware datetimes as given; a value without a zone is UTC (Exchange Online)."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)
    text = str(value).strip().replace("Z", "+00:00").replace("z", "+00:00")
    parsed = dt.datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)


def domain_controller(ctx: CmdletContext) -> str:
    return str(ctx.side.settings.get("domain_controller", "NAMPR01A001DC01.NAMPR01A001.prod.outlook.com"))


def lab_error(ctx: CmdletContext, message: str, exc: str, target: Any, category: str = "InvalidOperation") -> LabError:
    short = exc.rsplit(".", 1)[-1]
    task = ctx.name.replace("-", "")
    return LabError(
        message=message,
        exception_type=exc,
        fully_qualified_error_id=f"[Server={domain_controller(ctx).split('.')[0]},RequestId={uuid.uuid4()},"
        f"TimeStamp={ctx.now():%m/%d/%Y %I:%M:%S %p}] [FailureCategory=Cmdlet-{short}] "
        f"{hashlib.md5(short.encode()).hexdigest()[:8].upper()},Microsoft.Exchange.Management.Migration.{task}",
        category=category,
        reason=short,
        target=as_text(target),
    )


def not_found(ctx: CmdletContext, identity: Any) -> LabError:
    return lab_error(
        ctx,
        f"The operation couldn't be performed because object '{as_text(identity)}' couldn't be found on '{domain_controller(ctx)}'.",
        "Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException",
        identity,
        "ObjectNotFound",
    )


def audit(ctx: CmdletContext, event: str, identity: str, **detail: Any) -> None:
    log = ctx.org.online.settings.setdefault("lab_migration_audit", [])
    log.append({"at": ctx.now().isoformat(), "event": event, "identity": identity, **detail})


def smtp_set(rec: dict[str, Any]) -> set[str]:
    found = {str(rec.get(k, "")).lower() for k in ("PrimarySmtpAddress", "WindowsEmailAddress", "UserPrincipalName")}
    for addr in rec.get("EmailAddresses") or []:
        text = str(addr)
        found.add(text.split(":", 1)[1].lower() if ":" in text else text.lower())
    found.discard("")
    return found


RecipientIndex = tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]


def recipient_index(org_side: Any) -> RecipientIndex:
    """(by address, by local part) over a side's recipients, first one wins: for lookups of many addresses."""
    by_address: dict[str, dict[str, Any]] = {}
    by_local: dict[str, dict[str, Any]] = {}
    for rec in org_side.recipients.values():
        for address in smtp_set(rec):
            by_address.setdefault(address, rec)
            by_local.setdefault(address.split("@", 1)[0], rec)
    return by_address, by_local


def find_recipient(org_side: Any, email: str, index: RecipientIndex | None = None) -> dict[str, Any] | None:
    """The recipient with this address, else one whose address has the same local part (None if neither)."""
    by_address, by_local = index if index is not None else recipient_index(org_side)
    email = email.lower()
    return by_address.get(email) or by_local.get(email.split("@", 1)[0])


def indexed(ctx: CmdletContext, side: str) -> RecipientIndex:
    """The recipient index of ``org.<side>``, built once per command (a command of many users looks up each)."""
    key = f"recipient_index:{side}"
    if key not in ctx.state:
        ctx.state[key] = recipient_index(getattr(ctx.org, side))
    return ctx.state[key]  # type: ignore[no-any-return]


def size_of(rec: dict[str, Any] | None, email: str) -> tuple[int, int]:
    """(bytes, items) of a mailbox: from the recipient's size fields, else a stable pseudo-random size."""
    if rec:
        for key in ("TotalItemSizeBytes", "SizeBytes", "size_bytes"):
            if isinstance(rec.get(key), int):
                return rec[key], int(rec.get("ItemCount") or rec[key] // 75_000)
        text = str(rec.get("TotalItemSize") or "")
        if "(" in text:
            digits = "".join(ch for ch in text.split("(", 1)[1] if ch.isdigit())
            if digits:
                return int(digits), int(rec.get("ItemCount") or int(digits) // 75_000)
    seed = int(hashlib.sha256(email.encode()).hexdigest()[:8], 16)
    size = 50 * 1024**2 + seed % (3 * 1024**3)
    return size, size // 75_000


def completion_effects(org: Org) -> ms.MoveEffects:
    indexes: dict[str, RecipientIndex] = {}

    def find(side: str, email: str) -> dict[str, Any] | None:
        if side not in indexes:
            indexes[side] = recipient_index(getattr(org, side))
        return find_recipient(getattr(org, side), email, indexes[side])

    def complete(move: dict[str, Any], when: dt.datetime) -> None:
        email = str(move["Identity"]).lower()
        log = org.online.settings.setdefault("lab_migration_audit", [])
        log.append({"at": when.isoformat(), "event": "Completed", "identity": email})
        tdd = move.get("TargetDeliveryDomain") or "contoso.mail.onmicrosoft.com"
        onprem = find("onprem", email)
        alias = move.get("Alias") or email.split("@", 1)[0]
        online = find("online", email)
        if onprem is not None and online is not None and onprem.get("Alias") and "routing_domain" in org.onprem.settings:
            from hybridkit.lab.exchange.orgs_people import migrate_mailbox  # the demo org's own conversion

            migrate_mailbox(org, onprem, online, ["BPOS_S_Enterprise"])
            return
        if onprem is not None:
            onprem["RecipientTypeDetails"] = "RemoteUserMailbox"
            onprem["RecipientType"] = "MailUser"
            onprem["RemoteRoutingAddress"] = f"{alias}@{tdd}"
            onprem["Database"] = None
        if online is None:
            guid = str(uuid.uuid4())
            online = {
                "Guid": guid,
                "Identity": alias,
                "Name": alias,
                "Alias": alias,
                "DisplayName": move.get("DisplayName") or alias,
                "PrimarySmtpAddress": email,
                "EmailAddresses": [f"SMTP:{email}", f"smtp:{alias}@{tdd}"],
                "ExchangeGuid": move.get("ExchangeGuid"),
            }
            org.online.recipients[guid] = online
        online["RecipientTypeDetails"] = "UserMailbox"
        online["RecipientType"] = "UserMailbox"

    return complete


def advance_moves(ctx: CmdletContext) -> None:
    if ctx.state.get("_advanced"):
        return
    ctx.state["_advanced"] = True
    now = ctx.now()
    effects = completion_effects(ctx.org)
    for move in ctx.org.online.collection("MoveRequest").values():
        ms.advance_move(move, now, effects)


def moves_of(ctx: CmdletContext) -> dict[str, dict[str, Any]]:
    return ctx.org.online.collection("MoveRequest")


def find_move(ctx: CmdletContext, identity: Any) -> dict[str, Any] | None:
    wanted = as_text(identity).strip().lower()
    moves = moves_of(ctx)
    if wanted in moves:
        return moves[wanted]
    for move in moves.values():
        keys = (move.get("Alias"), move.get("DisplayName"), move.get("ExchangeGuid"))
        if wanted in {str(k).lower() for k in keys if k}:
            return move
    return None


def batch_users(ctx: CmdletContext, batch: dict[str, Any]) -> list[str]:
    return list(batch.get("_users", []))


def find_batch(ctx: CmdletContext, identity: Any) -> tuple[str, dict[str, Any]] | None:
    """A batch by name or BatchGuid (case-insensitive)."""
    wanted = as_text(identity).strip().lower()
    for name, batch in ctx.side.collection("MigrationBatch").items():
        if name.lower() == wanted or str(batch.get("BatchGuid", "")).lower() == wanted:
            return name, batch
    return None


_DEFAULT_RESULT_SIZE = 1000
_RESULT_SIZE_WARNING = (
    "By default, only the first 1000 items are returned. Use the ResultSize parameter to specify the number of items "
    'returned. To return all items, specify "-ResultSize Unlimited". Be aware that, depending on the actual number of '
    "items, returning all items can take a long time and consume a large amount of memory. Also, we don't recommend "
    "storing the results in a variable. Instead, pipe the results to another task or script to perform batch changes."
)


def limit_results(ctx: CmdletContext, items: list[Any]) -> list[Any]:
    """``-ResultSize`` (default 1000, with Exchange's warning when more were left out)."""
    size = ctx.params.get("ResultSize", _DEFAULT_RESULT_SIZE)
    if str(size).lower() == "unlimited":
        return items
    limit = int(size)
    if len(items) > limit and not ctx.has("ResultSize"):
        ctx.warning(_RESULT_SIZE_WARNING)
    return items[:limit]


def duplicate_error(email: str, other_batch: str) -> str:
    """Get-MigrationUser's ErrorSummary for a user that was already in another batch."""
    return (f'UserDuplicateInOtherBatchException: The user "{email}" is already included in migration batch '
            f'"{other_batch}." Please remove the user from any other batch and try again.')


def member_status(ctx: CmdletContext, batch: dict[str, Any], email: str) -> str:
    """A batch member's MigrationUserStatus: Failed for a duplicate, else its migration user's."""
    if email in (batch.get("_duplicates") or {}):
        return "Failed"
    return user_status(ctx, email)


def user_status(ctx: CmdletContext, email: str) -> str:
    user = ctx.org.online.collection("MigrationUser").get(email, {})
    return ms.migration_user_status(moves_of(ctx).get(email), user)


def dated(record: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in record.items():
        if key.startswith("_"):
            continue
        out[key] = as_when(value) if key in _DATES and isinstance(value, str) else value
    return out


