"""Values of the cutover capability: planned and observed batches, move states, the two plans it makes, and
what came of them (typed per-item outcomes, each with its own ``failed`` rule; the words are
``hybridkit.outcomes.Outcome``)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from collections.abc import Mapping

from hybridkit.outcomes import Outcome

__all__ = [
    "Action",
    "BatchAction",
    "BatchChange",
    "BatchOutcome",
    "CompletionChunk",
    "CompletionInterrupted",
    "CompletionItem",
    "CompletionMethod",
    "CompletionOutcome",
    "CompletionPlan",
    "CompletionReport",
    "CompletionResult",
    "CreateOptions",
    "CreatePlan",
    "CreateResult",
    "FAILED_OUTCOMES",
    "MailboxOutcome",
    "MoveState",
    "ObservedBatch",
    "ObservedUser",
    "PlannedBatch",
    "Readiness",
    "SETTLED_BATCH_STATUSES",
    "StatusSnapshot",
    "TERMINAL_MOVE_STATUSES",
    "UNDER_WAY_MOVE_STATUSES",
]


class Action(str, enum.Enum):
    """What a command does for an item (``action`` in JSON): the README's words."""

    CREATE = "create"
    START = "start"
    UPDATE = "update"  # an existing batch grown with the plan's new members (Set-MigrationBatch -AddUsers)
    COMPLETE = "complete"
    FOLLOW = "follow"  # the completion was delivered before: followed, never sent again
    NONE = "none"

    def __str__(self) -> str:
        return self.value


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
    GROW = "grow"  # exists with some of the planned members and none other: the rest are added (-AddUsers)
    UNCHANGED = "unchanged"
    CONFLICT = "conflict"


@dataclasses.dataclass(frozen=True)
class BatchChange:
    """What ``cutover create`` does for one planned batch, and why."""

    action: BatchAction
    name: str
    mailboxes: tuple[str, ...]
    reason: str
    missing: tuple[str, ...] = ()  # planned but not in the existing batch (what GROW adds)
    extra: tuple[str, ...] = ()  # in the existing batch but not planned
    start: bool = False  # GROW: the batch was never started (or stopped) and --start was asked: start it after


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
    def to_grow(self) -> tuple[BatchChange, ...]:
        return tuple(c for c in self.changes if c.action is BatchAction.GROW)

    @property
    def sends(self) -> bool:
        """Whether the plan sends anything (a batch to create, grow or start)."""
        return bool(self.to_create or self.to_grow or self.to_start)

    @property
    def conflicts(self) -> tuple[BatchChange, ...]:
        return tuple(c for c in self.changes if c.action is BatchAction.CONFLICT)


@dataclasses.dataclass(frozen=True)
class CreateOptions:
    """How ``cutover create`` makes its batches (New-MigrationBatch parameters)."""

    endpoint: str
    target_delivery_domain: str
    start: bool = False
    complete_after: dt.datetime | None = None
    notify: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class BatchOutcome:
    """What happened to one planned batch: ``action`` as planned, ``outcome`` (created, updated: grown with new
    members, started, unchanged, failed) and ``detail`` (Exchange's message for a failure)."""

    batch: str
    action: Action
    outcome: Outcome
    detail: str
    added: int | None = None  # a grown batch (action update): how many mailboxes -AddUsers added

    @property
    def failed(self) -> bool:
        return Outcome(self.outcome) is Outcome.FAILED


@dataclasses.dataclass(frozen=True)
class MailboxOutcome:
    """One mailbox of a created (or existing) batch as Exchange reports it after creation: ``outcome`` created
    (in the batch, not failed), unchanged (an existing batch's member) or failed (Exchange's ErrorSummary)."""

    batch: str
    mailbox: str
    outcome: Outcome
    status: str
    detail: str

    @property
    def failed(self) -> bool:
        return Outcome(self.outcome) is Outcome.FAILED


@dataclasses.dataclass(frozen=True)
class CreateResult:
    """What ``cutover create`` did: each planned batch, then each mailbox of the batches Exchange listed back.

    ``run_id``: the journal run the changes were sent in (None when nothing was sent)."""

    batches: tuple[BatchOutcome, ...]
    mailboxes: tuple[MailboxOutcome, ...] = ()
    run_id: str | None = None
    resumed: bool = False

    @property
    def failed(self) -> bool:
        """Whether a batch or a mailbox failed (the command exits 1)."""
        return any(b.failed for b in self.batches) or any(m.failed for m in self.mailboxes)


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
class CompletionChunk:
    """Mailboxes whose completion goes out together (one journaled step, one pipeline per completion cmdlet).

    ``key`` is the step's key in the journal: a resumed run keeps an earlier run's chunks, so it finds them."""

    key: str
    mailboxes: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class CompletionOutcome:
    """What sending the completion did: the readiness plan, per-mailbox send failures, the journal run.

    Attributes:
        plan: each mailbox's readiness (what was sent, followed, skipped, and why).
        sent: mailboxes the completion was sent to in this run (failed ones included, see ``send_failed``).
        send_failed: mailbox -> Exchange's message, for those whose completion Exchange refused.
        under_way: mailbox -> move status, for those Exchange refused because the completion was already under
            way (CompletionInProgress, Completed): a success.
        run_id: the journal run (None when nothing was to be sent).
        resumed: an interrupted run of the same selection was carried on.
    """

    plan: CompletionPlan
    sent: list[str] = dataclasses.field(default_factory=list)
    send_failed: dict[str, str] = dataclasses.field(default_factory=dict)
    under_way: dict[str, str] = dataclasses.field(default_factory=dict)
    run_id: str | None = None
    resumed: bool = False

    @property
    def followed(self) -> list[str]:
        """Mailboxes whose completion is under way (sent now or before)."""
        earlier = [i.mailbox for i in self.plan.with_readiness(Readiness.SIGNALLED)]
        return earlier + [m for m in self.sent if m not in self.send_failed]


@dataclasses.dataclass(frozen=True)
class CompletionResult:
    """One mailbox of ``cutover complete``: ``action`` planned (complete, follow, none), ``outcome`` (sent,
    completing, completed, failed, not-found, skipped, timed-out), the move's ``status`` as last read, ``detail``."""

    mailbox: str
    action: Action
    outcome: Outcome
    status: str
    detail: str

    @property
    def failed(self) -> bool:
        """A mailbox asked for that did not get (or keep) its completion: the command exits 1."""
        return Outcome(self.outcome) in FAILED_OUTCOMES


# Outcomes that make ``cutover complete`` exit 1 (a mailbox asked for that was not ready is one of them).
FAILED_OUTCOMES = frozenset({Outcome.FAILED, Outcome.NOT_FOUND, Outcome.SKIPPED, Outcome.TIMED_OUT})


@dataclasses.dataclass(frozen=True)
class CompletionReport:
    """What ``cutover complete`` reports: each mailbox's result, the journal run, whether it resumed one."""

    results: tuple[CompletionResult, ...]
    run_id: str | None
    resumed: bool

    @property
    def failed(self) -> bool:
        return any(r.failed for r in self.results)


class CompletionInterrupted(KeyboardInterrupt):
    """Ctrl-C during ``cutover complete``: what it left behind and the command that carries on (``hint``)."""

    def __init__(self, hint: str) -> None:
        super().__init__(hint)
        self.hint = hint


# Move statuses (RequestStatus) a move does not leave by itself: what --wait follows a mailbox to.
TERMINAL_MOVE_STATUSES = frozenset({"Completed", "CompletedWithWarning", "CompletedWithSkippedItems", "Failed"})
# Move statuses that mean a completion is under way or done.
UNDER_WAY_MOVE_STATUSES = frozenset({"CompletionInProgress", "Completed", "CompletedWithWarning",
                                     "CompletedWithSkippedItems"})
# Batch statuses ``cutover status --watch`` stops at (the batch waits for a person, or has finished).
SETTLED_BATCH_STATUSES = frozenset({"Completed", "CompletedWithErrors", "Failed", "Synced", "SyncedWithErrors",
                                    "Stopped", "Created"})


@dataclasses.dataclass(frozen=True)
class StatusSnapshot:
    """Batches and their mailboxes' moves as read at ``observed_at`` (what ``cutover status`` shows)."""

    batches: tuple[ObservedBatch, ...]
    moves: Mapping[str, MoveState]
    observed_at: dt.datetime

    @property
    def moving(self) -> tuple[ObservedBatch, ...]:
        """The batches that have not settled yet."""
        return tuple(b for b in self.batches if b.status not in SETTLED_BATCH_STATUSES)
