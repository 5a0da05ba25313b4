"""Migration batches (the Exchange Online side of onboarding): New-/Get-/Set-/Start-/Stop-/Complete-/Remove-.

Shared state and helpers are in ``_migration_base``; endpoints and the migration config in
``migration_endpoints``; migration users in ``migration_users``; move requests in ``migration_moves``.
Two limits of the service are modelled (Exchange Team blog, 19 April 2019, "The 100 migration batches limit"):
at most ``MaxNumberOfBatches`` (100) batches exist at once, and a user already in another batch fails in the
new batch with UserDuplicateInOtherBatchException while the batch itself is created.
"""

from __future__ import annotations

import csv
import io
import uuid
from typing import Any

from hybridkit.lab._types import LabObject
from hybridkit.lab.exchange import migration_state as ms
from hybridkit.lab.exchange.migration_faults import MoveFault, fault_of, mark_moves, score_rank
from hybridkit.lab.exchange.cmdlets._migration_base import (
    COMPLETING_PHASES,
    DEFAULT_ENDPOINT,
    advance_moves,
    as_text,
    as_when,
    audit,
    batch_users,
    dated,
    find_batch,
    find_recipient,
    indexed,
    lab_error,
    member_status,
    moves_of,
    not_found,
    size_of,
)
from hybridkit.lab.exchange.cmdlets._registry import CmdletContext, cmdlet
from hybridkit.lab.exchange.migration_endpoint import seed_migration_endpoint
from hybridkit.lab.exchange.org import Org, register_demo_seeder
from hybridkit.lab.exchange.shapes import shaped_object

__all__ = ["DEFAULT_ENDPOINT", "MAX_BATCHES", "seed_migration", "seed_migration_endpoint"]

MAX_BATCHES = 100  # Get-MigrationConfig's MaxNumberOfBatches in Exchange Online
_ONBOARDING_COLUMNS = ("EmailAddress", "BadItemLimit", "LargeItemLimit", "MailboxType")


# ---------------------------------------------------------------- seeding


@register_demo_seeder
def seed_migration(org: Org) -> None:
    """The hybrid migration endpoint and the seeded move faults (over quota, bad items scored Investigate, transient)."""
    seed_migration_endpoint(org)
    users = sorted(
        str(r.get("PrimarySmtpAddress", "")).lower()
        for r in org.onprem.recipients.values()
        if r.get("RecipientTypeDetails") == "UserMailbox" and r.get("PrimarySmtpAddress")
    )
    chosen = ((3, MoveFault.QUOTA), (11, MoveFault.TRANSIENT))
    mark_moves(org, {users[index]: kind for index, kind in chosen if index < len(users)})
    if len(users) > 7:  # a few corrupt items, scored Investigate: `cutover remediate --approve-skipped --min-score investigate`
        mark_moves(org, {users[7]: MoveFault.BAD_ITEMS}, score="Investigate")  # fixes it; the quota one stays listed


# ---------------------------------------------------------------- batches


def _parse_csv(ctx: CmdletContext, data: Any, allow_unknown: bool) -> list[str]:
    raw = bytes(data) if not isinstance(data, str) else data.encode()
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = raw.decode("utf-16")
    else:
        text = raw.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    rows = [r for r in rows if any(c.strip() for c in r)]

    def bad(message: str) -> Exception:
        return ctx.terminate(
            lab_error(ctx, message, "Microsoft.Exchange.Migration.MigrationCSVParsingException", "CSVData", "InvalidData")
        )

    if not rows:
        raise bad("The CSV file is empty. It must contain a header row and at least one data row.")
    header = [h.strip() for h in rows[0]]
    lowered = [h.lower() for h in header]
    if "emailaddress" not in lowered:
        raise bad("The CSV file is missing the required column 'EmailAddress'.")
    known = {c.lower() for c in _ONBOARDING_COLUMNS}
    unknown = [h for h in header if h.lower() not in known]
    if unknown and not allow_unknown:
        raise bad(
            "The following columns in the CSV file aren't recognized: " + ", ".join(unknown) + ". Correct the column "
            "names, or set AllowUnknownColumnsInCsv to $true to ignore them."
        )
    col = lowered.index("emailaddress")
    emails: list[str] = []
    for number, row in enumerate(rows[1:], start=2):
        value = row[col].strip().lower() if col < len(row) else ""
        if "@" not in value:
            raise bad(f"Row {number}: '{value}' isn't a valid EmailAddress.")
        if value in emails:
            raise bad(f"Row {number}: the EmailAddress '{value}' appears more than once in the CSV file.")
        emails.append(value)
    if not emails:
        raise bad("The CSV file doesn't contain any users.")
    return emails


def _start_batch(ctx: CmdletContext, name: str, batch: dict[str, Any], only: list[str] | None = None) -> None:
    """Start (or restart) the batch: a move for each valid user without one; failed and stopped moves resume.

    With ``only``, start just those users (users added to a running batch) and leave the others as they are.
    """
    now = ctx.now()
    batch["_started"] = True
    batch["_stopped"] = False
    if not batch.get("StartDateTime"):
        batch["StartDateTime"] = now.isoformat()
    complete_after = as_when(batch.get("CompleteAfter"))
    prevent = not batch.get("AutoComplete") and complete_after is None
    moves = moves_of(ctx)
    users = ctx.side.collection("MigrationUser")
    duplicates = batch.get("_duplicates") or {}
    for order, email in enumerate(batch_users(ctx, batch) if only is None else only):
        user = users.get(email)
        if email in duplicates or user is None or user.get("_validation_error"):
            continue  # failed at creation: no move request
        move = moves.get(email)
        if move is not None:
            if only is None and move["_phase"] in ("failed", "suspended"):
                ms.resume_move(move, now)
            continue
        rec = find_recipient(ctx.org.onprem, email, indexed(ctx, "onprem"))
        size, items = size_of(rec, email)
        spec = fault_of(ctx.org, email)
        fault = spec.kind.value if spec else None
        if fault == MoveFault.QUOTA:
            size = max(size, ms.TARGET_QUOTA_BYTES + 5 * 1024**3 + size % 1024**3)
        moves[email] = ms.new_move(
            email=email,
            display_name=str((rec or {}).get("DisplayName") or email),
            alias=str((rec or {}).get("Alias") or email.split("@", 1)[0]),
            exchange_guid=str((rec or {}).get("ExchangeGuid") or uuid.uuid5(uuid.NAMESPACE_URL, email)),
            batch_name=f"MigrationService:{name}",
            size_bytes=size,
            item_count=items,
            now=now,
            prevent_completion=prevent,
            complete_after=as_when(user.get("CompleteAfter")) or complete_after,
            fault=fault,
            order=order,
            remote_host=str(batch.get("_remote_server") or ""),
            start_after=as_when(user.get("StartAfter")) or as_when(batch.get("StartAfter")),
            target_delivery_domain=str(batch.get("TargetDeliveryDomain") or ""),
            fault_score=spec.score if spec else None,
            stall=spec.stall if spec else None,
        )


def _batch_score(ctx: CmdletContext, batch: dict[str, Any]) -> str:
    """A batch's DataConsistencyScore: the worst of its users' (Perfect when none has one)."""
    scores = [str(m.get("DataConsistencyScore") or "Perfect") for e in _own_users(batch)
              if (m := moves_of(ctx).get(e)) is not None]
    return max(scores, key=score_rank, default="Perfect")


def _batch_object(ctx: CmdletContext, name: str, batch: dict[str, Any]) -> LabObject:
    statuses = [member_status(ctx, batch, e) for e in batch_users(ctx, batch)]
    summaries = [ms.status_summary(s) for s in statuses]
    props = dated(batch)
    props.update(
        Status=ms.batch_status(batch, statuses),
        TotalCount=len(statuses),
        ActiveCount=summaries.count("Active"),
        StoppedCount=summaries.count("Stopped"),
        SyncedCount=summaries.count("Synced"),
        FinalizedCount=summaries.count("Completed"),
        FailedCount=summaries.count("Failed"),
        PendingCount=statuses.count("Queued"),
    )
    props["CreationDateTimeUTC"] = props.get("CreationDateTime")
    props["StartDateTimeUTC"] = props.get("StartDateTime")
    props["LastSyncedDateTimeUTC"] = props.get("LastSyncedDateTime")
    props["Reports"] = []
    props["DataConsistencyScore"] = _batch_score(ctx, batch)
    return shaped_object("MigrationBatch", props, name)


@cmdlet("New-MigrationBatch")
def new_migration_batch(ctx: CmdletContext) -> None:
    advance_moves(ctx)
    name = str(ctx.params["Name"])
    batches = ctx.side.collection("MigrationBatch")
    if len(name) > 64:
        raise ctx.terminate(lab_error(ctx, f"The batch name '{name}' is longer than 64 characters.",
                                   "Microsoft.Exchange.Data.DataValidationException", name, "InvalidArgument"))
    if find_batch(ctx, name):
        raise ctx.terminate(lab_error(ctx, f"A migration batch with the name '{name}' already exists.",
                                   "Microsoft.Exchange.Migration.MigrationBatchAlreadyExistsException", name))
    endpoint: dict[str, Any] | None = None
    if ctx.has("SourceEndpoint"):
        wanted = as_text(ctx.params["SourceEndpoint"]).lower()
        endpoint = next((e for k, e in ctx.side.collection("MigrationEndpoint").items() if k.lower() == wanted), None)
        if endpoint is None:
            raise ctx.terminate(not_found(ctx, ctx.params["SourceEndpoint"]))
        if not ctx.params.get("TargetDeliveryDomain"):
            raise ctx.terminate(lab_error(ctx, "The TargetDeliveryDomain parameter is required for remote move "
                                       "onboarding batches.", "Microsoft.Exchange.Migration.MigrationPermanentException",
                                       name, "InvalidArgument"))
    if not ctx.has("CSVData"):
        raise ctx.terminate(lab_error(ctx, "The CSVData parameter is required for this migration type.",
                                   "Microsoft.Exchange.Migration.MigrationPermanentException", name, "InvalidArgument"))
    emails = _parse_csv(ctx, ctx.params["CSVData"], bool(ctx.params.get("AllowUnknownColumnsInCsv", False)))
    limit = int(ctx.side.settings.get("migration_max_batches", MAX_BATCHES))
    if len(batches) >= limit:
        raise ctx.terminate(lab_error(ctx, "The maximum number of migration batches is already running. Please "
                                      "remove a batch before you add another one",
                                      "Microsoft.Exchange.Migration.MaximumNumberOfBatchesReachedException", name))
    users = ctx.side.collection("MigrationUser")
    now = ctx.now()
    complete_after = as_when(ctx.params.get("CompleteAfter"))
    start_after = as_when(ctx.params.get("StartAfter"))
    batch: dict[str, Any] = {
        "Identity": name,
        "BatchGuid": str(uuid.uuid4()),
        "MigrationType": "ExchangeRemoteMove",
        "BatchDirection": "Onboarding",
        "SourceEndpoint": endpoint["Identity"] if endpoint else None,
        "TargetDeliveryDomain": ctx.params.get("TargetDeliveryDomain"),
        "NotificationEmails": [str(a) for a in (ctx.params.get("NotificationEmails") or [])]
        if isinstance(ctx.params.get("NotificationEmails"), (list, tuple))
        else ([str(ctx.params["NotificationEmails"])] if ctx.params.get("NotificationEmails") else []),
        "AutoComplete": bool(ctx.params.get("AutoComplete", False)),
        "CompleteAfter": complete_after.isoformat() if complete_after else None,
        "CompleteAfterUTC": complete_after.isoformat() if complete_after else None,
        "StartAfter": start_after.isoformat() if start_after else None,
        "StartAfterUTC": start_after.isoformat() if start_after else None,
        "CreationDateTime": now.isoformat(),
        "StartDateTime": None,
        "LastSyncedDateTime": None,
        "SubmittedByUser": ctx.session.user,
        "TimeZone": "UTC",
        "_users": [],
        "_duplicates": {},
        "_remote_server": endpoint.get("RemoteServer") if endpoint else None,
        "_started": False,
    }
    batches[name] = batch
    duplicates = _add_users(ctx, name, batch, emails)
    audit(ctx, "New-MigrationBatch", name, users=len(emails), duplicates=sorted(duplicates))
    if ctx.params.get("AutoStart"):
        _start_batch(ctx, name, batch)
    ctx.output(_batch_object(ctx, name, batch))


def _add_users(ctx: CmdletContext, name: str, batch: dict[str, Any], emails: list[str]) -> dict[str, str]:
    """Add the CSV's users to the batch; returns the ones already in another batch (they fail in this one)."""
    users = ctx.side.collection("MigrationUser")
    duplicates = {e: str(users[e]["BatchId"]) for e in emails if e in users}
    batch["_users"].extend(emails)
    batch["_duplicates"].update(duplicates)
    for email in emails:
        if email in duplicates:
            continue
        user = {"Identity": email, "BatchId": name, "RecipientType": "Mailbox", "CompleteAfter": None}
        if (find_recipient(ctx.org.online, email, indexed(ctx, "online")) is None
                and find_recipient(ctx.org.onprem, email, indexed(ctx, "onprem")) is None):
            user["_validation_error"] = (f"A recipient wasn't found for '{email}' on the target. Create a mail user "
                                         "with that address and try again.")
        users[email] = user
    return duplicates


@cmdlet("Get-MigrationBatch")
def get_migration_batch(ctx: CmdletContext) -> None:
    advance_moves(ctx)
    if ctx.has("Identity"):
        found = find_batch(ctx, ctx.params["Identity"])
        if found is None:
            ctx.error(not_found(ctx, ctx.params["Identity"]))
            return
        items = [found]
    else:
        items = list(ctx.side.collection("MigrationBatch").items())
    for name, batch in items:
        obj = _batch_object(ctx, name, batch)
        if ctx.has("Status") and str(obj.get("Status")).lower() != str(ctx.params["Status"]).lower():
            continue
        if ctx.has("Endpoint") and str(batch.get("SourceEndpoint")).lower() != as_text(ctx.params["Endpoint"]).lower():
            continue
        ctx.output(obj)


def _batch_or_error(ctx: CmdletContext) -> tuple[str, dict[str, Any]] | None:
    advance_moves(ctx)
    found = find_batch(ctx, ctx.params.get("Identity", ""))
    if found is None:
        ctx.error(not_found(ctx, ctx.params.get("Identity", "")))
    return found


@cmdlet("Set-MigrationBatch")
def set_migration_batch(ctx: CmdletContext) -> None:
    found = _batch_or_error(ctx)
    if found is None:
        return
    name, batch = found
    now = ctx.now()
    if ctx.has("CompleteAfter"):
        when = as_when(ctx.params["CompleteAfter"])
        batch["CompleteAfter"] = batch["CompleteAfterUTC"] = when.isoformat() if when else None
        users = ctx.side.collection("MigrationUser")
        for email in _own_users(batch):
            move = moves_of(ctx).get(email)
            if move is not None and when is not None and not users[email].get("CompleteAfter"):
                ms.schedule_service_completion(move, when, now)
    if ctx.has("NotificationEmails"):
        batch["NotificationEmails"] = [str(a) for a in (ctx.params["NotificationEmails"] or [])]
    if ctx.params.get("AddUsers"):
        if not ctx.has("CSVData"):
            ctx.error(lab_error(ctx, "The AddUsers parameter must be used with the CSVData parameter.",
                                "Microsoft.Exchange.Migration.MigrationPermanentException", name, "InvalidArgument"))
            return
        emails = _parse_csv(ctx, ctx.params["CSVData"], bool(ctx.params.get("AllowUnknownColumnsInCsv", False)))
        known = set(batch["_users"])
        added = [e for e in emails if e not in known]  # only new entries are processed
        duplicates = _add_users(ctx, name, batch, added)
        audit(ctx, "AddUsers", name, users=added, duplicates=sorted(duplicates))
        if batch.get("_started") and not batch.get("_stopped"):
            _start_batch(ctx, name, batch, only=added)
    if ctx.params.get("ApproveSkippedItems"):
        for email in _own_users(batch):
            move = moves_of(ctx).get(email)
            # Approving a batch approves its users scored Perfect to Investigate, never a Poor one.
            if move is not None and move.get("_skipped") and ms.approve_skipped(move, now):
                audit(ctx, "ApproveSkippedItems", email, via="Set-MigrationBatch")
    audit(ctx, "Set-MigrationBatch", name)


@cmdlet("Start-MigrationBatch")
def start_migration_batch(ctx: CmdletContext) -> None:
    found = _batch_or_error(ctx)
    if found is None:
        return
    name, batch = found
    audit(ctx, "Start-MigrationBatch", name)
    _start_batch(ctx, name, batch)


@cmdlet("Stop-MigrationBatch")
def stop_migration_batch(ctx: CmdletContext) -> None:
    found = _batch_or_error(ctx)
    if found is None:
        return
    name, batch = found
    statuses = [ms.status_summary(member_status(ctx, batch, e)) for e in batch_users(ctx, batch)]
    if all(s in ("Completed", "Failed") for s in statuses):
        ctx.error(lab_error(ctx, f"The migration batch '{name}' can't be stopped because all of its users are completed "
                         "or failed.", "Microsoft.Exchange.Migration.MigrationBatchCannotBeStoppedException", name))
        return
    for email in _own_users(batch):
        move = moves_of(ctx).get(email)
        if move is not None:
            ms.suspend_move(move, ctx.now(), "Stopped by Stop-MigrationBatch")
    batch["_stopped"] = True
    audit(ctx, "Stop-MigrationBatch", name)


@cmdlet("Complete-MigrationBatch")
def complete_migration_batch(ctx: CmdletContext) -> None:
    found = _batch_or_error(ctx)
    if found is None:
        return
    name, batch = found
    status = _batch_object(ctx, name, batch).get("Status")
    if status not in ("Synced", "SyncedWithErrors"):
        ctx.error(lab_error(ctx, f"The migration batch '{name}' can't be completed because its status is {status}. "
                         "Only a batch whose status is Synced or SyncedWithErrors can be completed.",
                         "Microsoft.Exchange.Migration.MigrationBatchCannotBeCompletedException", name))
        return
    if ctx.params.get("SyncAndComplete"):
        summaries = [ms.status_summary(member_status(ctx, batch, e)) for e in batch_users(ctx, batch)]
        if "Failed" in summaries or "Stopped" in summaries:
            ctx.error(lab_error(ctx, f"The migration batch '{name}' can't be completed with SyncAndComplete because it "
                             "has failed, corrupted, or stopped items.",
                             "Microsoft.Exchange.Migration.MigrationBatchCannotBeCompletedException", name))
            return
    now = ctx.now()
    batch["CompleteAfter"] = batch["CompleteAfterUTC"] = now.isoformat()
    batch["_completion_signalled"] = True
    users = ctx.side.collection("MigrationUser")
    for email in _own_users(batch):
        move = moves_of(ctx).get(email)
        if move is None or move["_phase"] in (*COMPLETING_PHASES, "failed"):
            continue
        if users[email].get("CompleteAfter"):  # a per-user CompleteAfter overrides the batch's
            continue
        ms.schedule_service_completion(move, now, now)
        audit(ctx, "CompletionSignal", email, via="Complete-MigrationBatch")
    audit(ctx, "Complete-MigrationBatch", name)


@cmdlet("Remove-MigrationBatch")
def remove_migration_batch(ctx: CmdletContext) -> None:
    found = _batch_or_error(ctx)
    if found is None:
        return
    name, batch = found
    status = _batch_object(ctx, name, batch).get("Status")
    if status in ("Syncing", "IncrementalSyncing", "Completing", "Starting", "Stopping"):
        ctx.error(lab_error(ctx, f"The migration batch '{name}' can't be removed while its status is {status}. "
                         "Stop the batch first.", "Microsoft.Exchange.Migration.MigrationBatchCannotBeRemovedException",
                         name))
        return
    users = ctx.side.collection("MigrationUser")
    for email in _own_users(batch):
        users.pop(email, None)
        move = moves_of(ctx).get(email)
        if move is not None and move["_phase"] != "completed":
            moves_of(ctx).pop(email, None)
    ctx.side.collection("MigrationBatch").pop(name, None)
    audit(ctx, "Remove-MigrationBatch", name)


def _own_users(batch: dict[str, Any]) -> list[str]:
    """The batch's users that belong to it (not the ones that failed as already in another batch)."""
    duplicates = batch.get("_duplicates") or {}
    return [e for e in batch.get("_users", []) if e not in duplicates]
