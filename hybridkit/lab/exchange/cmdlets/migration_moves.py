"""Move requests (Exchange Online side): New-, Get-, Get-...Statistics, Set-, Resume-, Suspend-, Remove-MoveRequest.

A migration batch's moves carry ``BatchName`` ``MigrationService:<batch>`` and are held by PreventCompletion until
the batch (or the user) is completed. ``New-MoveRequest`` makes a move outside any batch (onboarding: ``-Remote
-RemoteHostName``); with ``-SuspendWhenReadyToComplete`` it waits as AutoSuspended when ready, and a plain
``Resume-MoveRequest`` completes it.
"""

from __future__ import annotations

import uuid
from typing import Any

from hybridkit.lab._types import LabObject
from hybridkit.lab.exchange import migration_state as ms
from hybridkit.lab.exchange.migration_faults import fault_of
from hybridkit.lab.exchange.cmdlets._migration_base import (
    COMPLETING_PHASES,
    advance_moves,
    as_text,
    as_when,
    audit,
    dated,
    find_move,
    find_recipient,
    lab_error,
    limit_results,
    moves_of,
    not_found,
    size_of,
)
from hybridkit.lab.exchange.cmdlets._registry import CmdletContext, cmdlet
from hybridkit.lab.exchange.shapes import shaped_object

__all__: list[str] = []


# ---------------------------------------------------------------- move requests


def _move_object(move: dict[str, Any]) -> LabObject:
    def values() -> dict[str, Any]:
        props = dated(move)
        props.update(RequestStyle="CrossOrg", Direction="Pull", Flags="CrossOrg, Pull", IsOffline=False,
                     Protect=False, TargetDatabase=None, Name=move.get("DisplayName") or move.get("Alias"),
                     PrimarySmtpAddress=move["Identity"], RecipientTypeDetails="MailUser", RecipientType="MailUser",
                     ExchangeVersion="0.20 (15.0.0.0)", IsValid=True)
        return props

    return shaped_object("MoveRequest", values, str(move.get("DisplayName") or move["Identity"]))


def _stats_object(move: dict[str, Any], include_report: bool) -> LabObject:
    def values() -> dict[str, Any]:
        props = dated(move)
        size = int(move.get("TotalMailboxSize") or 0)
        props["MailboxIdentity"] = move.get("DisplayName") or move["Identity"]
        props["TotalMailboxSize"] = ms.format_size(size)
        props["BytesTransferred"] = ms.format_size(int(move.get("BytesTransferred") or 0))
        props["ItemsTransferred"] = int(int(move.get("TotalMailboxItemCount") or 0)
                                        * (move.get("PercentComplete", 0) / 100))
        props["SyncStage"] = ms.sync_stage(move)
        props["FailureSide"] = "Target" if move.get("FailureType") else None
        props.update(RequestStyle="CrossOrg", Direction="Pull", Flags="CrossOrg, Pull", Priority="Normal",
                     WorkloadType="Onboarding", RecipientTypeDetails="UserMailbox", IsValid=True,
                     RequestGuid=uuid.uuid5(uuid.NAMESPACE_URL, "moverequest:" + str(move["Identity"])))
        report = move.get("Report")
        props["Report"] = ("\n".join(report) if isinstance(report, list) else report) if include_report else None
        return props

    return shaped_object("MoveRequestStatistics", values, str(move.get("DisplayName") or move["Identity"]))


def _move_or_error(ctx: CmdletContext) -> dict[str, Any] | None:
    advance_moves(ctx)
    move = find_move(ctx, ctx.params.get("Identity", ""))
    if move is None:
        ctx.error(not_found(ctx, ctx.params.get("Identity", "")))
    return move


@cmdlet("Get-MoveRequest")
def get_move_request(ctx: CmdletContext) -> None:
    advance_moves(ctx)
    if ctx.has("Identity"):
        move = find_move(ctx, ctx.params["Identity"])
        if move is None:
            ctx.error(not_found(ctx, ctx.params["Identity"]))
            return
        ctx.output(_move_object(move))
        return
    moves = list(moves_of(ctx).values())
    if ctx.has("BatchName"):
        wanted = str(ctx.params["BatchName"]).lower()
        moves = [m for m in moves if str(m.get("BatchName")).lower() in (wanted, f"migrationservice:{wanted}")]
    if ctx.has("Status"):
        moves = [m for m in moves if str(m.get("Status")).lower() == str(ctx.params["Status"]).lower()]
    for flag in ("Suspend", "SuspendWhenReadyToComplete"):
        if ctx.has(flag):
            moves = [m for m in moves if bool(m.get(flag)) == bool(ctx.params[flag])]
    for move in limit_results(ctx, moves):
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
    if move["_phase"] in COMPLETING_PHASES:
        ctx.error(lab_error(ctx, f"The move request for '{identity}' can't be changed because it's {move['Status']}.",
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
            when = as_when(ctx.params[prop])
            value = when.isoformat() if when else None
            if move.get(prop) != value:
                move[prop] = value
                changed.append(prop)
    if ctx.has("BatchName"):
        move["BatchName"] = str(ctx.params["BatchName"])
        changed.append("BatchName")
    if ctx.has("SkippedItemApprovalTime") and move.get("_skipped"):
        # Items skipped before the time given are approved (the lab's items are all found before any approval).
        if not ms.approve_skipped(move, as_when(ctx.params["SkippedItemApprovalTime"]) or ctx.now()):
            ctx.error(lab_error(ctx, f"The skipped items of '{identity}' can't be approved because its data "
                                "consistency score is Poor. Contact Microsoft Support for assistance.",
                                "Microsoft.Exchange.MailboxReplicationService.MailboxReplicationPermanentException",
                                identity))
            return
        changed.append("SkippedItemApprovalTime")
        audit(ctx, "ApproveSkippedItems", identity.lower(), via="Set-MoveRequest")
    if changed:
        audit(ctx, "Set-MoveRequest", identity, changed=changed)
    else:
        ctx.warning(f"The command completed successfully but no settings of '{identity}' have been modified.")


@cmdlet("Resume-MoveRequest")
def resume_move_request(ctx: CmdletContext) -> None:
    move = _move_or_error(ctx)
    if move is None:
        return
    identity = str(move["Identity"])
    if not ms.resume_move(move, ctx.now(), suspend_when_ready=bool(ctx.params.get("SuspendWhenReadyToComplete"))):
        ctx.error(lab_error(ctx, f"The move request for '{identity}' can't be resumed because it's {move['Status']}.",
                         "Microsoft.Exchange.MailboxReplicationService.CannotResumeRequestPermanentException",
                         identity))
        return
    audit(ctx, "Resume-MoveRequest", identity, may_complete=ms.can_complete(move, ctx.now()))


@cmdlet("Suspend-MoveRequest")
def suspend_move_request(ctx: CmdletContext) -> None:
    move = _move_or_error(ctx)
    if move is None:
        return
    identity = str(move["Identity"])
    if not ms.suspend_move(move, ctx.now(), ctx.params.get("SuspendComment")):
        ctx.error(lab_error(ctx, f"The move request for '{identity}' can't be suspended because it's {move['Status']}.",
                         "Microsoft.Exchange.MailboxReplicationService.CannotSuspendRequestPermanentException",
                         identity))
        return
    audit(ctx, "Suspend-MoveRequest", identity)


@cmdlet("Remove-MoveRequest")
def remove_move_request(ctx: CmdletContext) -> None:
    move = _move_or_error(ctx)
    if move is None:
        return
    identity = str(move["Identity"]).lower()
    moves_of(ctx).pop(identity, None)
    user = ctx.side.collection("MigrationUser").get(identity)
    if user is not None and move["_phase"] != "completed":
        user["_removed_move"] = True
    audit(ctx, "Remove-MoveRequest", identity)


@cmdlet("New-MoveRequest")
def new_move_request(ctx: CmdletContext) -> None:
    """A move outside any migration batch: onboarding (``-Remote -RemoteHostName``) of a cloud mail user."""
    advance_moves(ctx)
    identity = as_text(ctx.params["Identity"]).strip()
    online = find_recipient(ctx.org.online, identity)
    if online is None:
        ctx.error(not_found(ctx, identity))
        return
    email = str(online.get("PrimarySmtpAddress") or identity).lower()
    existing = moves_of(ctx).get(email)
    if existing is not None:
        name = existing.get("DisplayName") or email
        if existing["_phase"] == "completed":  # Microsoft KB 3050691
            message = (f"Mailbox '{name}' has a completed move request associated with it. Before you create a new "
                       "move request for the mailbox, run the Remove-MoveRequest cmdlet to clear the completed move "
                       "request.")
        else:
            message = f"The mailbox '{name}' is already being moved."
        ctx.error(lab_error(ctx, message, "Microsoft.Exchange.MailboxReplicationService.RequestAlreadyExistsException",
                            identity, "InvalidArgument"))
        return
    now = ctx.now()
    onprem = find_recipient(ctx.org.onprem, email)
    size, items = size_of(onprem, email)
    move = ms.new_move(
        email=email,
        display_name=str((onprem or online).get("DisplayName") or email),
        alias=str((onprem or online).get("Alias") or email.split("@", 1)[0]),
        exchange_guid=str((onprem or online).get("ExchangeGuid") or uuid.uuid5(uuid.NAMESPACE_URL, email)),
        batch_name=str(ctx.params.get("BatchName") or ""),
        size_bytes=size,
        item_count=items,
        now=now,
        prevent_completion=bool(ctx.params.get("PreventCompletion")),
        complete_after=as_when(ctx.params.get("CompleteAfter")),
        fault=spec.kind.value if (spec := fault_of(ctx.org, email)) else None,
        fault_score=spec.score if spec else None,
        stall=spec.stall if spec else None,
        order=len(moves_of(ctx)),
        remote_host=str(ctx.params.get("RemoteHostName") or ""),
        target_delivery_domain=str(ctx.params.get("TargetDeliveryDomain") or ""),
        start_after=as_when(ctx.params.get("StartAfter")),
        suspend_when_ready=bool(ctx.params.get("SuspendWhenReadyToComplete")),
    )
    if ctx.params.get("Suspend"):  # queued, but it does not reach InProgress until resumed
        ms.suspend_move(move, now, ctx.params.get("SuspendComment"))
    moves_of(ctx)[email] = move
    audit(ctx, "New-MoveRequest", email, suspend_when_ready=move["SuspendWhenReadyToComplete"],
          prevent_completion=move["PreventCompletion"])
    ctx.output(_move_object(move))
