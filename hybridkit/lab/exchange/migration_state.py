"""The lab's time-driven state machine for migration batches and move requests (Exchange Online side).

Pure: functions over the plain dicts kept in ``org.online`` collections and a ``now`` datetime; no I/O, no
threads. State advances lazily: every handler calls ``advance_move``/``advance_batch`` with the virtual clock's
``now`` and the move walks through every transition whose time has passed, stamping each at the time it
happened (so a clock jump of hours replays the hours).

Move phases (internal ``_phase``), the ``Status`` (RequestStatus) and ``StatusDetail`` (RequestState) each
shows::

    queued     Queued / Queued              -> copy (or failed: over the target quota)
    copy       InProgress / CopyingMessages -> retrying once (seeded transient fault) | stalled (seeded stall)
                                            | failed (bad or large items) | ready
    retrying   Retrying / TransientFailure  -> copy
    stalled    InProgress / StalledDueToTarget_MdbReplication -> copy (after the seeded stall)
    ready      (instant)                    -> autosuspended (SuspendWhenReadyToComplete) | completing | synced
    synced     Synced / IncrementalSync     -> wakes at the next incremental sync (24 h) or when signalled
    bounce     InProgress / IncrementalSync -> ready  (what a plain Resume-MoveRequest causes)
    periodic   Synced / IncrementalSync     -> ready  (the scheduled incremental sync; the status stays Synced)
    completing CompletionInProgress / Completion   -> finalizing
    finalizing CompletionInProgress / Finalization -> completed (converts the recipients on both sides)
    autosuspended AutoSuspended, suspended Suspended, failed Failed (FailedOther, FailedBadItemLimit),
    completed Completed: wait for a cmdlet.

Seeded faults (``migration_faults``) decide where a move fails or stalls and which items it skips. Skipped items
scored Investigate or Poor hold a move back from completing until they are approved (``approve_skipped``; Poor
cannot be approved); an approved synced move re-syncs at once. A failed move restarted (Resume-MoveRequest,
Start-MigrationUser, Start-MigrationBatch) resumes the copy from where it failed; a bad- or large-item failure
fails again at once unless its skipped items were approved first.

A move may complete when PreventCompletion and SuspendWhenReadyToComplete are both false, CompleteAfter is
unset or has passed, and no skipped items await approval. ``Set-MoveRequest`` alone changes flags but does not wake a synced move: that takes
``Resume-MoveRequest`` (an incremental sync, then completion) or the next scheduled incremental sync.
``Set-MigrationUser -CompleteAfter`` and ``Complete-MigrationBatch`` are service-side: they schedule the wake.
A move that auto-suspends (SuspendWhenReadyToComplete) has that flag cleared by the move service, so a plain
``Resume-MoveRequest`` completes it; a batch's move held by PreventCompletion only bounces back to Synced.

Status and StatusDetail values are Exchange's own enum names (see FIDELITY.md, "Migration batches and moves");
durations and failure messages are the lab's choices.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from hybridkit.lab.exchange import sizes
from hybridkit.lab.exchange.migration_faults import MoveFault, score_rank, skipped_items

__all__ = [
    "BOUNCE",
    "COMPLETING",
    "FINALIZING",
    "INCREMENTAL_INTERVAL",
    "MoveEffects",
    "TARGET_QUOTA_BYTES",
    "advance_move",
    "approve_skipped",
    "batch_status",
    "can_complete",
    "format_size",
    "has_unapproved_skipped",
    "migration_user_status",
    "new_move",
    "resume_move",
    "schedule_service_completion",
    "suspend_move",
    "status_summary",
    "sync_stage",
]

QUEUE_DELAY = dt.timedelta(minutes=2)
MIN_COPY = dt.timedelta(minutes=10)
COPY_PER_GB = dt.timedelta(minutes=20)
RETRY_DELAY = dt.timedelta(minutes=15)
BOUNCE = dt.timedelta(minutes=3)
COMPLETING = dt.timedelta(minutes=4)
FINALIZING = dt.timedelta(minutes=1)
INCREMENTAL_INTERVAL = dt.timedelta(hours=24)
TARGET_QUOTA_BYTES = 100 * 1024**3  # Exchange Online Plan 2 / E3 mailbox quota
GB = 1024**3

# Called with (move, when) once, when a move reaches Completed: converts the recipients on both sides.
MoveEffects = Callable[[dict[str, Any], dt.datetime], None]


def _iso(value: dt.datetime) -> str:
    return value.astimezone(dt.timezone.utc).isoformat()


def _dt(value: Any) -> dt.datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)
    parsed = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)


def format_size(num: int) -> str:
    """Exchange's ByteQuantifiedSize text: ``4.243 GB (4,555,456,537 bytes)`` (the lab's one formatter)."""
    return sizes.format_size(num)


def new_move(
    *,
    email: str,
    display_name: str,
    alias: str,
    exchange_guid: str,
    batch_name: str,
    size_bytes: int,
    item_count: int,
    now: dt.datetime,
    prevent_completion: bool,
    complete_after: dt.datetime | None,
    fault: str | None,
    order: int,
    remote_host: str,
    target_delivery_domain: str,
    start_after: dt.datetime | None = None,
    suspend_when_ready: bool = False,
    fault_score: str | None = None,
    stall: dt.timedelta | None = None,
) -> dict[str, Any]:
    """A new move request (Queued; not before ``start_after``), as a batch start or New-MoveRequest creates it.

    ``batch_name`` is the move's BatchName: ``MigrationService:<batch>`` for a migration batch's moves, the
    ``-BatchName`` given to New-MoveRequest (or empty) otherwise. ``fault`` is a ``MoveFault`` value (or None),
    ``fault_score`` the DataConsistencyScore its skipped items earn, ``stall`` how long a stalled move stalls.
    """
    begin = max(now, start_after) if start_after else now
    queued_until = begin + QUEUE_DELAY + dt.timedelta(seconds=15 * (order % 8))
    return {
        "Identity": email,
        "DisplayName": display_name,
        "Alias": alias,
        "ExchangeGuid": exchange_guid,
        "BatchName": batch_name,
        "RemoteHostName": remote_host,
        "TargetDeliveryDomain": target_delivery_domain,
        "Status": "Queued",
        "StatusDetail": "Queued",
        "PercentComplete": 0,
        "BytesTransferred": 0,
        "TotalMailboxSize": size_bytes,
        "TotalMailboxItemCount": item_count,
        "Suspend": False,
        "SuspendWhenReadyToComplete": suspend_when_ready,
        "PreventCompletion": prevent_completion,
        "CompleteAfter": _iso(complete_after) if complete_after else None,
        "QueuedTimestamp": _iso(now),
        "StartTimestamp": None,
        "InitialSeedingCompletedTimestamp": None,
        "LastSuccessfulSyncTimestamp": None,
        "CompletionTimestamp": None,
        "SuspendedTimestamp": None,
        "FailureTimestamp": None,
        "FailureType": None,
        "Message": None,
        "BadItemsEncountered": 0,
        "LargeItemsEncountered": 0,
        "DataConsistencyScore": "Perfect",
        "SkippedItemApprovalTime": None,
        "Report": [f"{_iso(now)} [lab] '{email}' created move request ({batch_name or 'no batch'})."],
        "_phase": "queued",
        "_until": _iso(queued_until),
        "_fault": fault,
        "_retried": False,
        "_copy_from": 0.0,
        "_copy_to": 0.0,
        "_copy_start": None,
        "_service_wake": _iso(complete_after) if complete_after and not prevent_completion else None,
        "_resumed_from": None,
        "_seeded": False,
        "_events": [],
        "_score": fault_score or "Perfect",
        "_skipped": [],
        "_stall_minutes": stall.total_seconds() / 60 if stall is not None else 720.0,
        "_stalled": False,
    }


def has_unapproved_skipped(move: dict[str, Any]) -> bool:
    """Whether the move skipped items scored Investigate or worse that nobody has approved."""
    return bool(move.get("_skipped")) and score_rank(move.get("DataConsistencyScore")) >= 2 \
        and not move.get("SkippedItemApprovalTime")


def approve_skipped(move: dict[str, Any], now: dt.datetime) -> bool:
    """Approve the move's skipped items (False for a Poor score: those cannot be approved).

    A synced move held by its skipped items re-syncs at once (then completes if nothing else holds it).
    """
    if move.get("DataConsistencyScore") == "Poor":
        return False
    move["SkippedItemApprovalTime"] = _iso(now)
    move["_events"].append([_iso(now), "ApproveSkippedItems", move["_phase"]])
    if move["_phase"] in ("synced", "periodic"):
        _set(move, "bounce", "InProgress", "IncrementalSync", now + BOUNCE, now)
    return True


def can_complete(move: dict[str, Any], at: dt.datetime) -> bool:
    """Whether nothing holds the move back from completing at ``at``."""
    if move.get("PreventCompletion") or move.get("SuspendWhenReadyToComplete") or has_unapproved_skipped(move):
        return False
    after = _dt(move.get("CompleteAfter"))
    return after is None or after <= at


def _set(move: dict[str, Any], phase: str, status: str, detail: str, until: dt.datetime | None, at: dt.datetime) -> None:
    move["_phase"] = phase
    move["Status"] = status
    move["StatusDetail"] = detail
    move["_until"] = _iso(until) if until else None
    move["_events"].append([_iso(at), status, detail])
    move["Report"].append(f"{_iso(at)} [lab] Status {status} ({detail}).")


def _copy_duration(move: dict[str, Any]) -> dt.timedelta:
    size = int(move.get("TotalMailboxSize") or 0)
    return max(MIN_COPY, COPY_PER_GB * (size / GB))


# Where in the copy a seeded fault strikes (fraction of the mailbox copied).
_FAULT_POINTS = {MoveFault.TRANSIENT: 0.5, MoveFault.BAD_ITEMS: 0.7, MoveFault.LARGE_ITEMS: 0.6, MoveFault.STALLED: 0.4}


def _fault_point(move: dict[str, Any]) -> float | None:
    """Where the move's fault strikes next, or None when it no longer will."""
    fault = move["_fault"]
    if fault == MoveFault.TRANSIENT and not move["_retried"]:
        return _FAULT_POINTS[MoveFault.TRANSIENT]
    if fault == MoveFault.STALLED and not move["_stalled"]:
        return _FAULT_POINTS[MoveFault.STALLED]
    if fault in (MoveFault.BAD_ITEMS, MoveFault.LARGE_ITEMS) and not move.get("SkippedItemApprovalTime"):
        return _FAULT_POINTS[MoveFault(fault)]  # restarted unapproved: the same items fail it again
    return None


def _start_copy(move: dict[str, Any], at: dt.datetime, start_fraction: float) -> None:
    end_fraction = 1.0
    point = _fault_point(move)
    if point is not None and (start_fraction < point or move["_fault"] in (MoveFault.BAD_ITEMS, MoveFault.LARGE_ITEMS)):
        end_fraction = max(point, start_fraction)
    move["_copy_from"], move["_copy_to"] = start_fraction, end_fraction
    move["_copy_start"] = _iso(at)
    if move.get("StartTimestamp") is None:
        move["StartTimestamp"] = _iso(at)
    until = at + _copy_duration(move) * (end_fraction - start_fraction)
    _set(move, "copy", "InProgress", "CopyingMessages", until, at)


def _skip_items(move: dict[str, Any], at: dt.datetime) -> None:
    """The move meets its seeded skipped items (once): counts and DataConsistencyScore follow."""
    if move["_skipped"] or move["_fault"] not in (MoveFault.BAD_ITEMS, MoveFault.LARGE_ITEMS, MoveFault.SKIPPED):
        return
    items = skipped_items(MoveFault(move["_fault"]), str(move["Identity"]).lower(), at)
    move["_skipped"] = items
    move["BadItemsEncountered"] = sum(1 for i in items if i["Kind"] != "LargeItem")
    move["LargeItemsEncountered"] = sum(1 for i in items if i["Kind"] == "LargeItem")
    move["DataConsistencyScore"] = move["_score"]
    move["Report"].append(f"{_iso(at)} [lab] {len(items)} items skipped; DataConsistencyScore {move['_score']}.")


def _fail(move: dict[str, Any], at: dt.datetime, failure_type: str, message: str) -> None:
    move["FailureType"] = failure_type
    move["FailureTimestamp"] = _iso(at)
    move["FailureSide"] = "Target"
    move["Message"] = message
    detail = "FailedBadItemLimit" if failure_type == "TooManyBadItemsPermanentException" else "FailedOther"
    _set(move, "failed", "Failed", detail, None, at)


def _ready(move: dict[str, Any], at: dt.datetime) -> None:
    """The move has caught up with the source (initial seeding or an incremental sync)."""
    _skip_items(move, at)
    move["PercentComplete"] = 95
    move["BytesTransferred"] = int(move.get("TotalMailboxSize") or 0)
    move["LastSuccessfulSyncTimestamp"] = _iso(at)
    if move.get("InitialSeedingCompletedTimestamp") is None:
        move["InitialSeedingCompletedTimestamp"] = _iso(at)
    if move.get("SuspendWhenReadyToComplete"):
        # The move service clears the flag as it auto-suspends: the next Resume-MoveRequest completes the move.
        move["SuspendWhenReadyToComplete"] = False
        move["Suspend"] = True
        move["SuspendedTimestamp"] = _iso(at)
        _set(move, "autosuspended", "AutoSuspended", "AutoSuspended", None, at)
    elif can_complete(move, at):
        _set(move, "completing", "CompletionInProgress", "Completion", at + COMPLETING, at)
    else:
        wake = at + INCREMENTAL_INTERVAL
        service = _dt(move.get("_service_wake"))
        if service is not None and at < service < wake:
            wake = service
        _set(move, "synced", "Synced", "IncrementalSync", wake, at)


def _transition(move: dict[str, Any], at: dt.datetime, effects: MoveEffects) -> None:
    phase = move["_phase"]
    if phase == "queued":
        size = int(move.get("TotalMailboxSize") or 0)
        if move["_fault"] == "quota" or size > TARGET_QUOTA_BYTES:
            _fail(
                move,
                at,
                "MailboxExceedsTargetQuotaPermanentException",
                "Error: MailboxExceedsTargetQuotaPermanentException: The mailbox size "
                f"({format_size(size)}) exceeds the target quota ({format_size(TARGET_QUOTA_BYTES)}).",
            )
        else:
            _start_copy(move, at, move["_copy_to"] if move["_copy_to"] < 1.0 else 0.0)
    elif phase == "copy":
        fraction = move["_copy_to"]
        move["PercentComplete"] = int(10 + 85 * fraction)
        move["BytesTransferred"] = int(int(move.get("TotalMailboxSize") or 0) * fraction)
        if fraction >= 1.0:
            _ready(move, at)
        elif move["_fault"] == MoveFault.TRANSIENT and not move["_retried"]:
            move["_retried"] = True
            move["Message"] = (
                "Transient error CommunicationErrorTransientException has occurred. The system will retry (1/60)."
            )
            _set(move, "retrying", "Retrying", "TransientFailure", at + RETRY_DELAY, at)
        elif move["_fault"] == MoveFault.STALLED and not move["_stalled"]:
            move["_stalled"] = True
            until = at + dt.timedelta(minutes=float(move.get("_stall_minutes") or 720.0))
            _set(move, "stalled", "InProgress", "StalledDueToTarget_MdbReplication", until, at)
        elif move["_fault"] == MoveFault.LARGE_ITEMS:
            _skip_items(move, at)
            _fail(
                move,
                at,
                "TooManyLargeItemsPermanentException",
                "Error: This mailbox exceeded the maximum number of large items that were specified for this "
                "request. --> MapiExceptionMaxSubmissionExceeded: IExchangeFastTransferEx.TransferBuffer failed "
                "(hr=0x80004005, ec=1242)",
            )
        else:  # the bad-items fault
            _skip_items(move, at)
            score = move["DataConsistencyScore"]
            remedy = ("Set-MigrationUser -ApproveSkippedItems approves Investigate, not Poor: contact Microsoft "
                      "Support." if score == "Poor" else "Review the skipped items, approve them with "
                      "Set-MigrationUser -ApproveSkippedItems, then resume the request.")
            _fail(
                move,
                at,
                "TooManyBadItemsPermanentException",
                "Error: TooManyBadItemsPermanentException: The job encountered too many bad items "
                f"({move['BadItemsEncountered']}). The data consistency score for this request is {score}. "
                + remedy,
            )
    elif phase == "retrying":
        move["Message"] = None
        _start_copy(move, at, move["_copy_to"])
    elif phase == "stalled":
        _start_copy(move, at, move["_copy_to"])
    elif phase in ("bounce", "periodic", "ready"):
        _ready(move, at)
    elif phase == "synced":
        if can_complete(move, at):
            _set(move, "completing", "CompletionInProgress", "Completion", at + COMPLETING, at)
        else:  # the scheduled incremental sync: the move stays Synced while it runs
            _set(move, "periodic", "Synced", "IncrementalSync", at + BOUNCE, at)
    elif phase == "completing":
        _set(move, "finalizing", "CompletionInProgress", "Finalization", at + FINALIZING, at)
    elif phase == "finalizing":
        move["PercentComplete"] = 100
        move["CompletionTimestamp"] = _iso(at)
        move["Suspend"] = False
        _set(move, "completed", "Completed", "Completed", None, at)
        effects(move, at)
    else:
        move["_until"] = None


def advance_move(move: dict[str, Any], now: dt.datetime, effects: MoveEffects) -> None:
    """Replay every transition of ``move`` due at or before ``now``."""
    for _ in range(10_000):
        until = _dt(move.get("_until"))
        if until is None or until > now:
            break
        _transition(move, until, effects)
    if move["_phase"] == "copy":  # progress within the copy phase, for Get-MoveRequestStatistics
        start, end = _dt(move["_copy_start"]), _dt(move["_until"])
        if start is not None and end is not None and end > start:
            part = min(1.0, max(0.0, (now - start) / (end - start)))
            fraction = move["_copy_from"] + (move["_copy_to"] - move["_copy_from"]) * part
            move["PercentComplete"] = int(10 + 85 * fraction)
            move["BytesTransferred"] = int(int(move.get("TotalMailboxSize") or 0) * fraction)


_SYNC_STAGES = {
    "queued": "None", "copy": "CopyingMessages", "retrying": "CopyingMessages", "stalled": "CopyingMessages", "synced": "IncrementalSync",
    "periodic": "IncrementalSync", "bounce": "IncrementalSync", "autosuspended": "IncrementalSync",
    "completing": "FinalIncrementalSync", "finalizing": "Cleanup", "completed": "SyncFinished", "failed": "Error",
}  # fmt: skip


def sync_stage(move: dict[str, Any]) -> str:
    """Get-MoveRequestStatistics' SyncStage (Exchange's SyncStage names) for the move's phase."""
    phase = move["_phase"]
    if phase == "suspended":
        phase = move.get("_resumed_from") or "queued"
    return _SYNC_STAGES.get(phase, "None")


def resume_move(move: dict[str, Any], now: dt.datetime, *, suspend_when_ready: bool = False) -> bool:
    """Resume-MoveRequest: returns False when the move is in a state Resume does not apply to."""
    phase = move["_phase"]
    if suspend_when_ready:
        move["SuspendWhenReadyToComplete"] = True
    if phase in ("completed", "completing", "finalizing"):
        return False
    move["Suspend"] = False
    move["_events"].append([_iso(now), "Resume", phase])
    after = _dt(move.get("CompleteAfter"))
    if after is not None and not move.get("PreventCompletion") and not move.get("SuspendWhenReadyToComplete"):
        move["_service_wake"] = _iso(after)  # resumed with a CompleteAfter: MRS completes it at that time
    if phase == "failed":  # restarted: the copy resumes from where it failed
        move["FailureType"] = None
        move["Message"] = None
        _set(move, "queued", "Queued", "Queued", now + QUEUE_DELAY, now)
    elif phase == "suspended":
        back = move.get("_resumed_from") or "queued"
        if back in ("queued", "copy", "retrying", "stalled"):
            _set(move, "queued", "Queued", "Queued", now + QUEUE_DELAY, now)
        else:
            _set(move, "bounce", "InProgress", "IncrementalSync", now + BOUNCE, now)
    elif phase in ("synced", "periodic", "autosuspended", "bounce"):
        _set(move, "bounce", "InProgress", "IncrementalSync", now + BOUNCE, now)
    # queued / copy / retrying / stalled: already running; Resume is accepted and changes nothing.
    return True


def suspend_move(move: dict[str, Any], now: dt.datetime, comment: str | None = None) -> bool:
    """Suspend-MoveRequest: only before CompletionInProgress."""
    if move["_phase"] in ("completing", "finalizing", "completed", "failed", "suspended"):
        return False
    if move["_phase"] == "copy":  # keep what was copied
        advance_fraction = move.get("PercentComplete", 10)
        move["_copy_to"] = max(0.0, min(1.0, (int(advance_fraction) - 10) / 85))
    move["_resumed_from"] = move["_phase"]
    move["Suspend"] = True
    move["SuspendedTimestamp"] = _iso(now)
    if comment:
        move["SuspendComment"] = comment
    _set(move, "suspended", "Suspended", "Suspended", None, now)
    return True


def schedule_service_completion(move: dict[str, Any], when: dt.datetime, now: dt.datetime) -> None:
    """The migration service's completion signal (Complete-MigrationBatch, Set-MigrationUser -CompleteAfter)."""
    move["CompleteAfter"] = _iso(when)
    move["PreventCompletion"] = False
    move["SuspendWhenReadyToComplete"] = False
    move["_service_wake"] = _iso(when)
    wake = max(when, now)
    if move["_phase"] in ("synced", "periodic"):
        move["_phase"] = "synced"
        move["_until"] = _iso(wake)
    elif move["_phase"] == "autosuspended":
        move["Suspend"] = False
        _set(move, "synced", "Synced", "IncrementalSync", wake, now)


_USER_STATUS = {
    "queued": "Queued",
    "copy": "Syncing",
    "retrying": "Syncing",
    "stalled": "Syncing",
    "bounce": "IncrementalSyncing",
    "synced": "Synced",
    "periodic": "Synced",
    "autosuspended": "Synced",
    "completing": "Completing",
    "finalizing": "Completing",
    "completed": "Completed",
    "suspended": "Stopped",
}


def migration_user_status(move: dict[str, Any] | None, user: dict[str, Any]) -> str:
    """Get-MigrationUser's Status for a user from its move request (documented MigrationUserStatus values)."""
    if user.get("_validation_error"):
        return "Failed"
    if move is None:
        return "Stopped" if user.get("_removed_move") else "Queued"
    phase = move["_phase"]
    if phase == "failed":
        return "IncrementalFailed" if move.get("InitialSeedingCompletedTimestamp") else "Failed"
    return _USER_STATUS.get(phase, "Syncing")


def status_summary(status: str) -> str:
    """Get-MigrationUser's StatusSummary (Active, Completed, Failed, Stopped, Synced)."""
    if status in ("Completed", "CompletedWithWarnings"):
        return "Completed"
    if status in ("Failed", "IncrementalFailed", "CompletionFailed"):
        return "Failed"
    if status in ("Stopped", "IncrementalStopped"):
        return "Stopped"
    if status in ("Synced", "IncrementalSynced", "CompletionSynced"):
        return "Synced"
    return "Active"


def batch_status(batch: dict[str, Any], user_statuses: list[str]) -> str:
    """A batch's documented MigrationBatchStatus, derived from its users."""
    if not batch.get("_started"):
        return "Created"
    if batch.get("_stopped"):
        return "Stopped"
    summaries = [status_summary(s) for s in user_statuses]
    failed = summaries.count("Failed")
    completed = summaries.count("Completed")
    if not user_statuses:
        return "Completed"
    if "Completing" in user_statuses:
        return "Completing"
    active = [s for s, summary in zip(user_statuses, summaries) if summary == "Active"]
    if active:
        if batch.get("_completion_signalled"):
            return "Completing"
        if all(s == "IncrementalSyncing" for s in active):
            return "IncrementalSyncing"
        return "Syncing"
    if completed + failed == len(user_statuses):
        if completed == 0:
            return "Failed"
        return "CompletedWithErrors" if failed else "Completed"
    if failed == len(user_statuses):
        return "Failed"
    return "SyncedWithErrors" if failed else "Synced"
