"""Mailboxes that did not arrive: what Exchange says about each, the class of problem, and the documented remedy.

Pure: ``classify`` turns what ``_failures_read`` gathered from Exchange Online (a migration user, its move's
statistics, its skipped items counted by kind) into a ``MailboxFailure`` or None (the mailbox is fine). A
mailbox is listed when its migration user or move is Failed, its move is stalled (StatusDetail
``StalledDueTo*``), its DataConsistencyScore is below Good (Poor; Investigate until its skipped items are
approved: an approval is someone's sign-off on them), or it has skipped items waiting for approval.

The remedies are Microsoft's, not ours:

* Data Consistency Score and skipped-item approval: "Track and prevent migration data loss in Exchange Online"
  (https://learn.microsoft.com/exchange/mailbox-migration/track-prevent-data-loss-dcs): Perfect and Good need no
  approval, Investigate needs the skipped items approved (``Set-MigrationUser -ApproveSkippedItems``), Poor means
  major data loss: contact Microsoft Support. The Exchange Team's "Migrations with Data Consistency Score (DCS)"
  (techcommunity, 27 May 2021) says DCS replaces BadItemLimit/LargeItemLimit.
* ``Set-MigrationUser -ApproveSkippedItems`` approves the items skipped before now
  (https://learn.microsoft.com/powershell/module/exchange/set-migrationuser); ``Start-MigrationUser`` starts a
  user of an existing batch again (https://learn.microsoft.com/powershell/module/exchange/start-migrationuser).
* Over the target quota: Exchange Online's mailbox storage limits
  (https://learn.microsoft.com/office365/servicedescriptions/exchange-online-service-description/exchange-online-limits)
  and archiving (https://learn.microsoft.com/purview/autoexpanding-archiving): shrink the primary mailbox (move
  old items to the archive on-premises first) or give the user a licence with a larger quota, then restart.
* Stalls: "Mailboxes are stalled during a migration"
  (https://learn.microsoft.com/exchange/troubleshoot/migration/mailboxes-stalled-during-migration) and the
  Exchange Team's StalledDueToTarget_MDBFull article: a stall is throttling or the service waiting on a database's
  health; the move carries on by itself. Source-side stalls are the on-premises server's load or replication.
"""

from __future__ import annotations

import dataclasses
import enum

from hybridkit.cutover._model import FAILED_USER_STATUSES, ObservedUser

__all__ = [
    "SCORES",
    "FailureKind",
    "MailboxFailure",
    "MigrationUserView",
    "MoveView",
    "Problem",
    "classify",
    "score_rank",
]

SCORES = ("Perfect", "Good", "Investigate", "Poor")  # DataConsistencyScore grades, best first (Microsoft's page)


def score_rank(score: str) -> int:
    """0 for Perfect up to 3 for Poor; -1 for no score (nothing scored yet)."""
    return SCORES.index(score) if score in SCORES else -1


class Problem(str, enum.Enum):
    """Why a mailbox is listed (the first that applies, in this order)."""

    FAILED = "failed"
    STALLED = "stalled"
    AWAITING_APPROVAL = "awaiting-approval"  # skipped items hold its completion until someone approves them
    LOW_SCORE = "low-score"  # DataConsistencyScore Investigate or Poor

    def __str__(self) -> str:
        return self.value


class FailureKind(str, enum.Enum):
    """What can be done about it: decides what ``cutover remediate`` may do."""

    QUOTA = "quota"  # over the target's mailbox quota: a person changes the mailbox or its licence
    LICENCE = "licence"  # the target user has no (suitable) licence: a person assigns one
    SKIPPED_ITEMS = "skipped-items"  # too many bad or large items: approve them (score permitting), then restart
    STALLED = "stalled"  # throttled or waiting on a database: Exchange carries on by itself
    OTHER = "other"  # any other failure: restart once its cause is fixed (a transient one: restart now)
    NONE = "none"  # not failed: synced or syncing with skipped items or a low score

    def __str__(self) -> str:
        return self.value


@dataclasses.dataclass(frozen=True)
class MigrationUserView(ObservedUser):
    """A migration user as Get-MigrationUser reports it, with the columns ``_failures_read`` adds for a failure."""

    score: str = ""
    skipped_count: int = 0
    has_unapproved: bool = False
    mailbox_guid: str = ""


@dataclasses.dataclass(frozen=True)
class MoveView:
    """A move as Get-MoveRequestStatistics reports it (the columns ``_failures_read`` selects)."""

    mailbox: str
    status: str
    status_detail: str = ""
    failure_type: str = ""
    message: str = ""
    score: str = ""
    bad_items: int = 0
    large_items: int = 0
    approved_at: str = ""  # SkippedItemApprovalTime, ISO 8601 UTC; empty when never approved
    exchange_guid: str = ""


@dataclasses.dataclass(frozen=True)
class MailboxFailure:
    """One mailbox that needs attention, with Exchange's own words and what to do about it.

    Attributes:
        mailbox: primary SMTP address (lower case).
        batch: its migration batch.
        problem: why it is listed.
        kind: what can be done (decides what ``remediate`` may do).
        status: the migration user's Status (Failed, Synced, Syncing, ...).
        move_status: the move's Status (RequestStatus) and ``status_detail`` its StatusDetail.
        failure_type: the move's FailureType as Exchange names it (TooManyBadItemsPermanentException, ...).
        score: DataConsistencyScore (Perfect, Good, Investigate, Poor; empty when not scored).
        skipped: skipped items counted by kind (CorruptItem, LargeItem, MissingItem, ...).
        skipped_total: SkippedItemCount (all skipped items, listed or not).
        awaiting_approval: skipped items nobody has approved hold it (or will fail it again when restarted).
        message: the last failure message, in full (the move's Message, else the user's ErrorSummary).
        remedy: the documented remedy, in words.
    """

    mailbox: str
    batch: str
    problem: Problem
    kind: FailureKind
    status: str
    move_status: str
    status_detail: str
    failure_type: str
    score: str
    skipped: tuple[tuple[str, int], ...]
    skipped_total: int
    awaiting_approval: bool
    message: str
    remedy: str

    @property
    def failed(self) -> bool:
        """The migration user or its move is Failed."""
        return self.problem is Problem.FAILED


_QUOTA_TYPES = ("MailboxExceedsTargetQuotaPermanentException", "MailboxExceedsTargetQuota",
                "TargetMailboxQuotaExceeded")
_SKIPPED_TYPES = ("TooManyBadItemsPermanentException", "TooManyLargeItemsPermanentException",
                  "TooManyMissingItemsPermanentException", "FolderHierarchyContainsNoMappingsException")


def _kind(failed: bool, stalled: bool, failure_type: str, message: str) -> FailureKind:
    words = f"{failure_type} {message}".lower()
    if failed:
        if any(t.lower() in words for t in _QUOTA_TYPES) or "exceeds the target quota" in words:
            return FailureKind.QUOTA
        if "licen" in words:  # e.g. "... doesn't have a valid license": Exchange's licence failures name it
            return FailureKind.LICENCE
        if failure_type in _SKIPPED_TYPES or "bad items" in words or "large items" in words:
            return FailureKind.SKIPPED_ITEMS
        return FailureKind.OTHER
    return FailureKind.STALLED if stalled else FailureKind.NONE


def _remedy(kind: FailureKind, score: str, status_detail: str, awaiting: bool) -> str:
    if kind is FailureKind.QUOTA:
        return ("Not fixed by a restart: the mailbox is larger than its Exchange Online quota. Move older items to "
                "the user's archive on-premises (enable the archive, or auto-expanding archiving for a large one), "
                "or assign a licence with a larger mailbox quota; then restart it (Start-MigrationUser).")
    if kind is FailureKind.LICENCE:
        return ("Not fixed by a restart: assign the target user an Exchange Online licence (Microsoft 365 admin "
                "center), then restart it (Start-MigrationUser).")
    if kind is FailureKind.STALLED:
        side = "source (on-premises)" if "Source" in status_detail else "target (Exchange Online)"
        return (f"Exchange is throttling the move or waiting on the {side} database's health ({status_detail}); "
                "it carries on by itself. Nothing to restart; if it stays stalled for days, check the "
                + ("on-premises server's load and database copies." if "Source" in status_detail
                   else "service health, then open a case with Microsoft."))
    if score == "Poor":
        return ("DataConsistencyScore Poor: major data loss; its skipped items cannot be approved. Contact Microsoft "
                "Support; do not restart it as it is.")
    if kind is FailureKind.SKIPPED_ITEMS:
        return ("Review its skipped items (Get-MigrationUserStatistics -IncludeSkippedItems), approve them "
                "(Set-MigrationUser -ApproveSkippedItems), then restart it (Start-MigrationUser); a restart "
                "without approval fails on the same items again.")
    if kind is FailureKind.OTHER:
        return ("Read the message; once its cause is fixed (a transient one needs nothing), restart it "
                "(Start-MigrationUser): the move resumes from where it failed.")
    if awaiting:
        return ("Its skipped items hold its completion: review them (Get-MigrationUserStatistics "
                "-IncludeSkippedItems) and approve them (Set-MigrationUser -ApproveSkippedItems).")
    return ("DataConsistencyScore below Good: review its skipped items (Get-MigrationUserStatistics "
            "-IncludeSkippedItems) before completing it.")


def classify(user: MigrationUserView, move: MoveView | None,
             skipped: dict[str, int] | None = None) -> MailboxFailure | None:
    """The mailbox's problem and remedy, or None when it has none (pure).

    Args:
        user: the migration user.
        move: its move's statistics (None when it has no move request yet).
        skipped: its skipped items counted by kind (Get-MigrationUserStatistics -IncludeSkippedItems).
    """
    move_status = move.status if move else ""
    detail = move.status_detail if move else ""
    failure_type = move.failure_type if move else ""
    score = (move.score if move and move.score else user.score) or ""
    failed = user.status in FAILED_USER_STATUSES or move_status == "Failed"
    stalled = detail.startswith("StalledDueTo")
    approved = bool(move and move.approved_at)
    count = user.skipped_count or (move.bad_items + move.large_items if move else 0)
    awaiting = user.has_unapproved or (failed and count > 0 and not approved and failure_type in _SKIPPED_TYPES)
    if failed:
        problem = Problem.FAILED
    elif stalled:
        problem = Problem.STALLED
    elif awaiting:
        problem = Problem.AWAITING_APPROVAL
    elif score == "Poor" or (score == "Investigate" and not approved):  # approved: someone signed it off
        problem = Problem.LOW_SCORE
    else:
        return None
    message = (move.message if move and move.message else "") or user.error
    kind = _kind(failed, stalled, failure_type, message)
    return MailboxFailure(
        mailbox=user.mailbox, batch=user.batch, problem=problem, kind=kind, status=user.status,
        move_status=move_status, status_detail=detail, failure_type=failure_type, score=score,
        skipped=tuple(sorted((skipped or {}).items())), skipped_total=count, awaiting_approval=awaiting,
        message=message, remedy=_remedy(kind, score, detail, awaiting),
    )
