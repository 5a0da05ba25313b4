"""Values of the cutover capability: planned and observed batches, move states, and the two plans it makes."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum

__all__ = [
    "BatchAction",
    "BatchChange",
    "BatchOutcome",
    "CompletionItem",
    "CompletionMethod",
    "CompletionPlan",
    "CompletionResult",
    "CreatePlan",
    "CreateResult",
    "MailboxOutcome",
    "MoveState",
    "ObservedBatch",
    "ObservedUser",
    "PlannedBatch",
    "Readiness",
]


@dataclasses.dataclass(frozen=True)
class PlannedBatch:
    """One batch of plan.json: its name and its mailboxes (primary SMTP, lower case)."""

    name: str
    mailboxes: tuple[str, ...]
    size_bytes: int = 0


@dataclasses.dataclass(frozen=True)
class ObservedUser:
    """A migration user as Get-MigrationUser reports it (a user may be listed once per batch it is in)."""

    mailbox: str
    batch: str
    status: str
    error: str = ""

    @property
    def failed(self) -> bool:
        return self.status in FAILED_USER_STATUSES


# MigrationUserStatus values whose StatusSummary is Failed (Get-MigrationUser reference page).
FAILED_USER_STATUSES = frozenset({"Failed", "IncrementalFailed", "CompletionFailed", "Corrupted"})


@dataclasses.dataclass(frozen=True)
class ObservedBatch:
    """A migration batch as Exchange Online reports it, with its members from Get-MigrationUser."""

    name: str
    status: str
    mailboxes: tuple[str, ...]
    users: tuple[ObservedUser, ...] = ()
    total: int | None = None
    synced: int | None = None
    completed: int | None = None
    failed: int | None = None
    complete_after: dt.datetime | None = None


class BatchAction(enum.Enum):
    CREATE = "create"
    START = "start"  # exists with the same members, never started (Created) or Stopped, and --start was asked
    UNCHANGED = "unchanged"
    CONFLICT = "conflict"


@dataclasses.dataclass(frozen=True)
class BatchChange:
    """What ``cutover create`` does for one planned batch, and why."""

    action: BatchAction
    name: str
    mailboxes: tuple[str, ...]
    reason: str
    missing: tuple[str, ...] = ()  # planned but not in the existing batch
    extra: tuple[str, ...] = ()  # in the existing batch but not planned


@dataclasses.dataclass(frozen=True)
class CreatePlan:
    changes: tuple[BatchChange, ...]
    warnings: tuple[str, ...] = ()

    @property
    def to_create(self) -> tuple[BatchChange, ...]:
        return tuple(c for c in self.changes if c.action is BatchAction.CREATE)

    @property
    def to_start(self) -> tuple[BatchChange, ...]:
        return tuple(c for c in self.changes if c.action is BatchAction.START)

    @property
    def conflicts(self) -> tuple[BatchChange, ...]:
        return tuple(c for c in self.changes if c.action is BatchAction.CONFLICT)


@dataclasses.dataclass(frozen=True)
class BatchOutcome:
    """What happened to one planned batch: ``action`` as planned, ``outcome`` (created, started, unchanged,
    failed) and ``detail`` (Exchange's message for a failure)."""

    batch: str
    action: str
    outcome: str
    detail: str


@dataclasses.dataclass(frozen=True)
class MailboxOutcome:
    """One mailbox of a created (or existing) batch as Exchange reports it after creation."""

    batch: str
    mailbox: str
    outcome: str  # created (in the batch, not failed), unchanged (an existing batch's member), failed
    status: str
    detail: str


@dataclasses.dataclass(frozen=True)
class CreateResult:
    batches: tuple[BatchOutcome, ...]
    mailboxes: tuple[MailboxOutcome, ...] = ()

    @property
    def failed(self) -> bool:
        """Whether a batch or a mailbox failed (the command exits 1)."""
        return any(b.outcome == "failed" for b in self.batches) or any(m.outcome == "failed" for m in self.mailboxes)


@dataclasses.dataclass(frozen=True)
class MoveState:
    """One move request as Get-MoveRequest / Get-MoveRequestStatistics show it."""

    mailbox: str
    status: str
    status_detail: str = ""
    percent: int = 0
    transferred_bytes: int | None = None
    size_bytes: int | None = None
    message: str = ""
    complete_after: dt.datetime | None = None


class CompletionMethod(enum.Enum):
    MOVEREQUEST = "moverequest"  # Set-MoveRequest (clear the holds, CompleteAfter) then Resume-MoveRequest
    MIGRATIONUSER = "migrationuser"  # Set-MigrationUser -CompleteAfter (the service completes it)


class Readiness(enum.Enum):
    COMPLETE = "complete"  # synced: send the completion now
    SIGNALLED = "signalled"  # the completion was already delivered (journal or live state): follow it, never resend
    DONE = "done"  # already Completed
    NOT_READY = "not-ready"  # not synced: reported and skipped, never forced
    FAILED = "failed"  # the move failed: reported
    NOT_FOUND = "not-found"  # no move request for this mailbox


@dataclasses.dataclass(frozen=True)
class CompletionItem:
    mailbox: str
    readiness: Readiness
    reason: str
    status: str = ""


@dataclasses.dataclass(frozen=True)
class CompletionPlan:
    method: CompletionMethod
    at: dt.datetime
    items: tuple[CompletionItem, ...]

    def with_readiness(self, *kinds: Readiness) -> tuple[CompletionItem, ...]:
        return tuple(i for i in self.items if i.readiness in kinds)


@dataclasses.dataclass(frozen=True)
class CompletionResult:
    """One mailbox of ``cutover complete``: ``action`` planned (complete, follow, none), ``outcome`` (sent,
    completing, completed, failed, not-found, skipped, timed-out), the move's ``status`` as last read, ``detail``."""

    mailbox: str
    action: str
    outcome: str
    status: str
    detail: str

    @property
    def failed(self) -> bool:
        return self.outcome in FAILED_OUTCOMES


# Outcomes that make ``cutover complete`` exit 1.
FAILED_OUTCOMES = frozenset({"failed", "not-found", "skipped", "timed-out"})
