"""Migration users (Exchange Online side): Get-, Set-, Start-MigrationUser, Get-MigrationUserStatistics.

A migration user belongs to one batch. A user listed in a second batch's CSV while still in another batch fails
there (Status Failed, ErrorSummary UserDuplicateInOtherBatchException); ``Get-MigrationUser`` lists that failed
entry under the second batch beside the user's own entry under the first.

Skipped items: ``Get-MigrationUserStatistics -IncludeSkippedItems`` lists them (MigrationUserSkippedItem objects,
at most ``-LimitSkippedItemsTo``); ``Set-MigrationUser -ApproveSkippedItems`` approves them unless the user is
scored Poor; ``Start-MigrationUser`` restarts a failed or stopped user from where it stopped.
"""

from __future__ import annotations

import uuid
from typing import Any

from hybridkit.lab._types import LabObject
from hybridkit.lab.exchange import migration_state as ms
from hybridkit.lab.exchange.cmdlets._migration_base import (
    COMPLETING_PHASES,
    advance_moves,
    as_text,
    as_when,
    audit,
    dated,
    duplicate_error,
    find_batch,
    lab_error,
    limit_results,
    moves_of,
    not_found,
    user_status,
)
from hybridkit.lab.exchange.cmdlets._registry import CmdletContext, cmdlet
from hybridkit.lab.exchange.shapes import shaped_object

T_SKIPPED_ITEM = ["Microsoft.Exchange.Data.Storage.Management.MigrationUserSkippedItem",
                  "Microsoft.Exchange.Data.ConfigurableObject", "System.Object"]

__all__: list[str] = []


def _user_object(ctx: CmdletContext, email: str, user: dict[str, Any]) -> LabObject:
    move = moves_of(ctx).get(email)
    status = user_status(ctx, email)
    props = dated(user)
    props.update(
        Identity=email,
        Identifier=email,
        Guid=uuid.uuid5(uuid.NAMESPACE_URL, "migrationuser:" + email),
        EmailAddress=email,
        Status=status,
        StatusSummary=ms.status_summary(status),
        ErrorSummary=user.get("_validation_error") or (move or {}).get("Message") if status.endswith("Failed") else None,
        LastSuccessfulSyncTime=as_when((move or {}).get("LastSuccessfulSyncTimestamp")),
        MailboxGuid=(move or {}).get("ExchangeGuid"),
        SkippedItemCount=len((move or {}).get("_skipped") or ()),
        DataConsistencyScore=(move or {}).get("DataConsistencyScore"),
        HasUnapprovedSkippedItems=bool(move and ms.has_unapproved_skipped(move)),
    )
    return shaped_object("MigrationUser", props, email)


def _duplicate_object(email: str, batch: str, other: str) -> LabObject:
    """The failed entry of a user that was already in batch ``other`` when ``batch`` was created."""
    props = {
        "Identity": email, "Identifier": email, "EmailAddress": email, "BatchId": batch, "RecipientType": "Mailbox",
        "Guid": uuid.uuid5(uuid.NAMESPACE_URL, "migrationuser:" + email),
        "Status": "Failed", "StatusSummary": "Failed",
        "ErrorSummary": duplicate_error(email, other), "LastSuccessfulSyncTime": None, "MailboxGuid": None,
        "SkippedItemCount": 0,
    }  # fmt: skip
    return shaped_object("MigrationUser", props, email)


def _entries(ctx: CmdletContext, *, email: str | None = None, batch: str | None = None
             ) -> list[tuple[str, LabObject]]:
    """Every migration user (own entries, then each batch's duplicates), as (email, object); only ``email``'s or
    ``batch``'s when given (filtered before the objects are built: a tenant of 100,000 users, read per batch)."""
    users = ctx.side.collection("MigrationUser")
    if email is not None:
        chosen = [(email, users[email])] if email in users else []
    else:
        chosen = [(e, u) for e, u in users.items() if batch is None or u.get("BatchId") == batch]
    out = [(e, _user_object(ctx, e, user)) for e, user in chosen]
    for name, found in ctx.side.collection("MigrationBatch").items():
        if batch is not None and name != batch:
            continue
        for other_email, other in (found.get("_duplicates") or {}).items():
            if email is None or other_email == email:
                out.append((other_email, _duplicate_object(other_email, name, other)))
    return out


@cmdlet("Get-MigrationUser")
def get_migration_user(ctx: CmdletContext) -> None:
    advance_moves(ctx)
    if ctx.has("Identity") or ctx.has("EmailAddress"):
        wanted = as_text(ctx.params.get("Identity") or ctx.params.get("EmailAddress")).strip().lower()
        entries = _entries(ctx, email=wanted)
        if not entries:
            ctx.error(not_found(ctx, wanted))
            return
    elif ctx.has("MailboxGuid"):
        guid = str(ctx.params["MailboxGuid"]).lower()
        entries = [(e, o) for e, o in _entries(ctx) if str(o.get("MailboxGuid") or "").lower() == guid]
    elif ctx.has("BatchId"):
        found = find_batch(ctx, ctx.params["BatchId"])
        if found is None:
            ctx.error(not_found(ctx, ctx.params["BatchId"]))
            return
        entries = _entries(ctx, batch=found[0])
    else:
        entries = _entries(ctx)
    objects = [o for _, o in entries]
    if ctx.has("Status"):
        objects = [o for o in objects if str(o.get("Status")).lower() == str(ctx.params["Status"]).lower()]
    if ctx.has("StatusSummary"):
        objects = [o for o in objects if str(o.get("StatusSummary")).lower() == str(ctx.params["StatusSummary"]).lower()]
    for obj in limit_results(ctx, objects):
        ctx.output(obj)


@cmdlet("Set-MigrationUser")
def set_migration_user(ctx: CmdletContext) -> None:
    advance_moves(ctx)
    email = as_text(ctx.params["Identity"]).strip().lower()
    user = ctx.side.collection("MigrationUser").get(email)
    if user is None:
        ctx.error(not_found(ctx, email))
        return
    now = ctx.now()
    move = moves_of(ctx).get(email)
    if ctx.has("CompleteAfter"):
        when = as_when(ctx.params["CompleteAfter"])
        if move is not None and move["_phase"] in COMPLETING_PHASES:
            ctx.error(lab_error(ctx, f"The migration user '{email}' is already completing or completed.",
                                "Microsoft.Exchange.Migration.MigrationUserAlreadyCompletedException", email))
            return
        user["CompleteAfter"] = when.isoformat() if when else None
        if move is not None and when is not None:
            ms.schedule_service_completion(move, when, now)
            audit(ctx, "CompletionSignal", email, via="Set-MigrationUser", complete_after=when.isoformat())
    if ctx.has("StartAfter"):
        when = as_when(ctx.params["StartAfter"])
        user["StartAfter"] = when.isoformat() if when else None
    if ctx.params.get("ApproveSkippedItems") and move is not None and move.get("_skipped"):
        if not ms.approve_skipped(move, now):
            ctx.error(lab_error(ctx, f"The skipped items of '{email}' can't be approved because its data consistency "
                                "score is Poor. Contact Microsoft Support for assistance.",
                                "Microsoft.Exchange.Migration.MigrationPermanentException", email))
            return
        audit(ctx, "ApproveSkippedItems", email, via="Set-MigrationUser")


@cmdlet("Start-MigrationUser")
def start_migration_user(ctx: CmdletContext) -> None:
    """Restart a failed or stopped user: its move resumes from where it stopped."""
    advance_moves(ctx)
    email = as_text(ctx.params["Identity"]).strip().lower()
    user = ctx.side.collection("MigrationUser").get(email)
    if user is None:
        ctx.error(not_found(ctx, email))
        return
    move = moves_of(ctx).get(email)
    status = user_status(ctx, email)
    if move is None or move["_phase"] not in ("failed", "suspended"):
        ctx.error(lab_error(ctx, f"The migration user '{email}' can't be started because its status is {status}. "
                            "Only a failed or stopped user can be started.",
                            "Microsoft.Exchange.Migration.MigrationUserCannotBeStartedException", email))
        return
    ms.resume_move(move, ctx.now())
    audit(ctx, "Start-MigrationUser", email, was=status)


@cmdlet("Get-MigrationUserStatistics")
def get_migration_user_statistics(ctx: CmdletContext) -> None:
    """The migration user with its move's progress (one object per Identity, pipeline input included)."""
    advance_moves(ctx)
    email = as_text(ctx.params["Identity"]).strip().lower()
    user = ctx.side.collection("MigrationUser").get(email)
    if user is None:
        ctx.error(not_found(ctx, email))
        return
    base = _user_object(ctx, email, user)
    move = moves_of(ctx).get(email) or {}
    total = int(move.get("TotalMailboxSize") or 0)
    items = int(move.get("TotalMailboxItemCount") or 0)
    percent = int(move.get("PercentComplete") or 0)
    props = dict(base.properties)
    props.update(
        TotalItemsInSourceMailboxCount=items,
        SyncedItemCount=int(items * percent / 100),
        BytesTransferred=ms.format_size(int(move.get("BytesTransferred") or 0)),
        EstimatedTotalTransferSize=ms.format_size(total),
        PercentageComplete=percent,
        DataConsistencyScore=move.get("DataConsistencyScore"),
    )
    if ctx.params.get("IncludeReport"):
        props["Report"] = list(move.get("Report") or [])
    if ctx.params.get("IncludeSkippedItems"):
        items = list(move.get("_skipped") or [])
        if ctx.has("LimitSkippedItemsTo"):
            items = items[: max(0, int(ctx.params["LimitSkippedItemsTo"]))]
        props["SkippedItems"] = [_skipped_item(email, n, item) for n, item in enumerate(items)]
    ctx.output(shaped_object("MigrationUserStatistics", props, email))


def _skipped_item(email: str, number: int, item: dict[str, Any]) -> LabObject:
    """One MigrationUserSkippedItem (its properties, then Exchange Online's ScoringClassifications)."""
    props: dict[str, Any] = {"Identity": f"{email}\\{number}"}
    for key in ("Kind", "FolderName", "Sender", "Recipient", "Subject", "MessageClass", "MessageSize", "DateSent",
                "DateReceived", "Failure", "ScoringClassifications"):
        props[key] = as_when(item.get(key)) if key.startswith("Date") else item.get(key)
    props.update(IsValid=True, ObjectState="Unchanged")
    subject = item.get("Subject") or ""
    return LabObject(list(T_SKIPPED_ITEM), props, to_string=f"{item.get('FolderName')}: {subject}".strip())
