"""Migration users and move requests (Exchange Online side). Shares state and helpers with ``migration``."""

from __future__ import annotations

import uuid
from typing import Any

from hybridkit.lab import migration_state as ms
from hybridkit.lab._types import LabObject
from hybridkit.lab.cmdlets._registry import CmdletContext, cmdlet
from hybridkit.lab.shapes import shaped_object
from hybridkit.lab.cmdlets.migration import (
    _advance,
    _audit,
    _dated,
    _error,
    _find_batch,
    _find_move,
    _moves,
    _not_found,
    _text,
    _user_status,
    _when,
)

__all__: list[str] = []

_DEFAULT_RESULT_SIZE = 1000
_RESULT_SIZE_WARNING = (
    "By default, only the first 1000 items are returned. Use the ResultSize parameter to specify the number of items "
    'returned. To return all items, specify "-ResultSize Unlimited". Be aware that, depending on the actual number of '
    "items, returning all items can take a long time and consume a large amount of memory. Also, we don't recommend "
    "storing the results in a variable. Instead, pipe the results to another task or script to perform batch changes."
)


def _limit(ctx: CmdletContext, items: list[Any]) -> list[Any]:
    size = ctx.params.get("ResultSize", _DEFAULT_RESULT_SIZE)
    if str(size).lower() == "unlimited":
        return items
    limit = int(size)
    if len(items) > limit and not ctx.has("ResultSize"):
        ctx.warning(_RESULT_SIZE_WARNING)
    return items[:limit]


# ---------------------------------------------------------------- migration users


def _user_object(ctx: CmdletContext, email: str, user: dict[str, Any]) -> LabObject:
    move = _moves(ctx).get(email)
    status = _user_status(ctx, email)
    props = _dated(user)
    props.update(
        Identity=email,
        Identifier=email,
        Guid=uuid.uuid5(uuid.NAMESPACE_URL, "migrationuser:" + email),
        EmailAddress=email,
        Status=status,
        StatusSummary=ms.status_summary(status),
        ErrorSummary=user.get("_validation_error") or (move or {}).get("Message") if status.endswith("Failed") else None,
        LastSuccessfulSyncTime=_when((move or {}).get("LastSuccessfulSyncTimestamp")),
        MailboxGuid=(move or {}).get("ExchangeGuid"),
        SkippedItemCount=(move or {}).get("BadItemsEncountered", 0),
        DataConsistencyScore=(move or {}).get("DataConsistencyScore"),
    )
    return shaped_object("MigrationUser", props, email)


@cmdlet("Get-MigrationUser")
def get_migration_user(ctx: CmdletContext) -> None:
    _advance(ctx)
    users = ctx.side.collection("MigrationUser")
    if ctx.has("Identity") or ctx.has("EmailAddress"):
        wanted = _text(ctx.params.get("Identity") or ctx.params.get("EmailAddress")).strip().lower()
        if wanted not in users:
            ctx.error(_not_found(ctx, wanted))
            return
        selected = [wanted]
    elif ctx.has("MailboxGuid"):
        guid = str(ctx.params["MailboxGuid"]).lower()
        selected = [e for e in users if str(_moves(ctx).get(e, {}).get("ExchangeGuid", "")).lower() == guid]
    else:
        selected = list(users)
        if ctx.has("BatchId"):
            found = _find_batch(ctx, ctx.params["BatchId"])
            if found is None:
                ctx.error(_not_found(ctx, ctx.params["BatchId"]))
                return
            selected = [e for e in selected if users[e].get("BatchId") == found[0]]
    objects = [_user_object(ctx, e, users[e]) for e in selected]
    if ctx.has("Status"):
        objects = [o for o in objects if str(o.get("Status")).lower() == str(ctx.params["Status"]).lower()]
    if ctx.has("StatusSummary"):
        objects = [o for o in objects if str(o.get("StatusSummary")).lower() == str(ctx.params["StatusSummary"]).lower()]
    for obj in _limit(ctx, objects):
        ctx.output(obj)


@cmdlet("Set-MigrationUser")
def set_migration_user(ctx: CmdletContext) -> None:
    _advance(ctx)
    email = _text(ctx.params["Identity"]).strip().lower()
    user = ctx.side.collection("MigrationUser").get(email)
    if user is None:
        ctx.error(_not_found(ctx, email))
        return
    now = ctx.now()
    move = _moves(ctx).get(email)
    if ctx.has("CompleteAfter"):
        when = _when(ctx.params["CompleteAfter"])
        if move is not None and move["_phase"] in ("completed", "completing"):
            ctx.error(_error(ctx, f"The migration user '{email}' is already completing or completed.",
                             "Microsoft.Exchange.Migration.MigrationUserAlreadyCompletedException", email))
            return
        user["CompleteAfter"] = when.isoformat() if when else None
        if move is not None and when is not None:
            ms.schedule_service_completion(move, when, now)
            _audit(ctx, "CompletionSignal", email, via="Set-MigrationUser", complete_after=when.isoformat())
    if ctx.has("StartAfter"):
        when = _when(ctx.params["StartAfter"])
        user["StartAfter"] = when.isoformat() if when else None
    if ctx.params.get("ApproveSkippedItems") and move is not None:
        move["_fault"] = None if move.get("_fault") == "baditems" else move.get("_fault")
        move["DataConsistencyScore"] = "Good"


# ---------------------------------------------------------------- move requests


def _move_object(move: dict[str, Any]) -> LabObject:
    def values() -> dict[str, Any]:
        props = _dated(move)
        props.update(RequestStyle="CrossOrg", Direction="Pull", Flags="CrossOrg, Pull", IsOffline=False,
                     Protect=False, TargetDatabase=None, Name=move.get("DisplayName") or move.get("Alias"),
                     PrimarySmtpAddress=move["Identity"], RecipientTypeDetails="MailUser", RecipientType="MailUser",
                     ExchangeVersion="0.20 (15.0.0.0)", IsValid=True)
        return props

    return shaped_object("MoveRequest", values, str(move.get("DisplayName") or move["Identity"]))


def _stats_object(move: dict[str, Any], include_report: bool) -> LabObject:
    def values() -> dict[str, Any]:
        props = _dated(move)
        size = int(move.get("TotalMailboxSize") or 0)
        props["MailboxIdentity"] = move.get("DisplayName") or move["Identity"]
        props["TotalMailboxSize"] = ms.format_size(size)
        props["BytesTransferred"] = ms.format_size(int(move.get("BytesTransferred") or 0))
        props["ItemsTransferred"] = int(int(move.get("TotalMailboxItemCount") or 0)
                                        * (move.get("PercentComplete", 0) / 100))
        props["SyncStage"] = move.get("StatusDetail")
        props["FailureSide"] = "Target" if move.get("FailureType") else None
        props.update(RequestStyle="CrossOrg", Direction="Pull", Flags="CrossOrg, Pull", Priority="Normal",
                     WorkloadType="Onboarding", RecipientTypeDetails="UserMailbox", IsValid=True,
                     RequestGuid=uuid.uuid5(uuid.NAMESPACE_URL, "moverequest:" + str(move["Identity"])))
        report = move.get("Report")
        props["Report"] = ("\n".join(report) if isinstance(report, list) else report) if include_report else None
        return props

    return shaped_object("MoveRequestStatistics", values, str(move.get("DisplayName") or move["Identity"]))


def _move_or_error(ctx: CmdletContext) -> dict[str, Any] | None:
    _advance(ctx)
    move = _find_move(ctx, ctx.params.get("Identity", ""))
    if move is None:
        ctx.error(_not_found(ctx, ctx.params.get("Identity", "")))
    return move


@cmdlet("Get-MoveRequest")
def get_move_request(ctx: CmdletContext) -> None:
    _advance(ctx)
    if ctx.has("Identity"):
        move = _find_move(ctx, ctx.params["Identity"])
        if move is None:
            ctx.error(_not_found(ctx, ctx.params["Identity"]))
            return
        ctx.output(_move_object(move))
        return
    moves = list(_moves(ctx).values())
    if ctx.has("BatchName"):
        wanted = str(ctx.params["BatchName"]).lower()
        moves = [m for m in moves if str(m.get("BatchName")).lower() in (wanted, f"migrationservice:{wanted}")]
    if ctx.has("Status"):
        moves = [m for m in moves if str(m.get("Status")).lower() == str(ctx.params["Status"]).lower()]
    for flag in ("Suspend", "SuspendWhenReadyToComplete"):
        if ctx.has(flag):
            moves = [m for m in moves if bool(m.get(flag)) == bool(ctx.params[flag])]
    for move in _limit(ctx, moves):
        ctx.output(_move_object(move))


@cmdlet("Get-MoveRequestStatistics")
def get_move_request_statistics(ctx: CmdletContext) -> None:
    move = _move_or_error(ctx)
    if move is not None:
        ctx.output(_stats_object(move, bool(ctx.params.get("IncludeReport"))))


@cmdlet("Set-MoveRequest")
def set_move_request(ctx: CmdletContext) -> None:
    move = _move_or_error(ctx)
    if move is None:
        return
    identity = str(move["Identity"])
    if move["_phase"] in ("completed", "completing"):
        ctx.error(_error(ctx, f"The move request for '{identity}' can't be changed because it's {move['Status']}.",
                         "Microsoft.Exchange.MailboxReplicationService.CannotModifyCompletedRequestPermanentException",
                         identity))
        return
    changed = []
    for flag in ("PreventCompletion", "SuspendWhenReadyToComplete"):
        if ctx.has(flag) and bool(move.get(flag)) != bool(ctx.params[flag]):
            move[flag] = bool(ctx.params[flag])
            changed.append(flag)
    for prop in ("CompleteAfter", "StartAfter"):
        if ctx.has(prop):
            when = _when(ctx.params[prop])
            value = when.isoformat() if when else None
            if move.get(prop) != value:
                move[prop] = value
                changed.append(prop)
    if ctx.has("BatchName"):
        move["BatchName"] = str(ctx.params["BatchName"])
        changed.append("BatchName")
    if changed:
        _audit(ctx, "Set-MoveRequest", identity, changed=changed)
    else:
        ctx.warning(f"The command completed successfully but no settings of '{identity}' have been modified.")


@cmdlet("Resume-MoveRequest")
def resume_move_request(ctx: CmdletContext) -> None:
    move = _move_or_error(ctx)
    if move is None:
        return
    identity = str(move["Identity"])
    if not ms.resume_move(move, ctx.now(), suspend_when_ready=bool(ctx.params.get("SuspendWhenReadyToComplete"))):
        ctx.error(_error(ctx, f"The move request for '{identity}' can't be resumed because it's {move['Status']}.",
                         "Microsoft.Exchange.MailboxReplicationService.CannotResumeRequestPermanentException",
                         identity))
        return
    _audit(ctx, "Resume-MoveRequest", identity, may_complete=ms.can_complete(move, ctx.now()))


@cmdlet("Suspend-MoveRequest")
def suspend_move_request(ctx: CmdletContext) -> None:
    move = _move_or_error(ctx)
    if move is None:
        return
    identity = str(move["Identity"])
    if not ms.suspend_move(move, ctx.now(), ctx.params.get("SuspendComment")):
        ctx.error(_error(ctx, f"The move request for '{identity}' can't be suspended because it's {move['Status']}.",
                         "Microsoft.Exchange.MailboxReplicationService.CannotSuspendRequestPermanentException",
                         identity))
        return
    _audit(ctx, "Suspend-MoveRequest", identity)


@cmdlet("Remove-MoveRequest")
def remove_move_request(ctx: CmdletContext) -> None:
    move = _move_or_error(ctx)
    if move is None:
        return
    identity = str(move["Identity"]).lower()
    _moves(ctx).pop(identity, None)
    user = ctx.side.collection("MigrationUser").get(identity)
    if user is not None and move["_phase"] != "completed":
        user["_removed_move"] = True
    _audit(ctx, "Remove-MoveRequest", identity)
