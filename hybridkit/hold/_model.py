"""Values of the litigation-hold capability: what was asked, what Exchange holds, what to do about it.

Everything here is plain frozen data; nothing does I/O.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from collections.abc import Mapping

from hybridkit.outcomes import Outcome
from hybridkit.sides import Side

__all__ = [
    "ELIGIBLE_CAPABILITIES",
    "EnableResult",
    "HoldAction",
    "HoldItem",
    "HoldPlan",
    "HoldSettings",
    "HoldStep",
    "MAX_DURATION_DAYS",
    "HoldOutcome",
    "MailboxHold",
    "OutcomeStatus",
    "Selection",
    "UNLIMITED",
    "Verification",
    "duration_text",
    "is_longer",
    "parse_duration",
]

UNLIMITED = "unlimited"

# LitigationHoldDuration is an Unlimited<EnhancedTimeSpan>: a number of days that Exchange keeps as a .NET TimeSpan
# (EWS documents hold periods as "Unlimited" or any TimeSpan value), and TimeSpan.MaxValue is 10675199.02:48:05.
MAX_DURATION_DAYS = 10_675_199

# Exchange Online capabilities that allow litigation hold (michev.info 6594): Exchange Online Plan 2
# (BPOS_S_Enterprise, part of E3/E5), or Plan 1 with the Exchange Online Archiving add-on.
ELIGIBLE_CAPABILITIES: frozenset[str] = frozenset({"BPOS_S_Enterprise", "BPOS_S_ArchiveAddOn", "BPOS_S_Archive"})


def parse_duration(text: str | int | None) -> int | None:
    """``"unlimited"``/None -> None (Exchange's default); a positive integer of days otherwise.

    Raises:
        ValueError: not an integer from 1 to ``MAX_DURATION_DAYS`` and not ``unlimited``.
    """
    if text is None:
        return None
    if isinstance(text, int) and not isinstance(text, bool):
        days = text
    else:
        raw = str(text).strip()
        if raw.lower() == UNLIMITED:
            return None
        # Exchange shows a duration as a TimeSpan ("2555.00:00:00") when reading it back.
        if "." in raw and ":" in raw:
            raw = raw.split(".", 1)[0]
        elif ":" in raw:
            raw = "0"
        if not raw.lstrip("-").isdigit():
            raise ValueError(f"not a number of days or 'unlimited': {text!r}")
        days = int(raw)
    if days < 1:
        raise ValueError(f"a hold duration must be at least 1 day: {text!r}")
    if days > MAX_DURATION_DAYS:
        raise ValueError(
            f"at most {MAX_DURATION_DAYS} days (Exchange keeps LitigationHoldDuration as a TimeSpan, which ends "
            f"there); give unlimited for a hold without end: {text!r}"
        )
    return days


def duration_text(days: int | None) -> str:
    """How a duration is shown in reports: the number of days, or ``unlimited``."""
    return UNLIMITED if days is None else str(days)


def is_longer(held: int | None, asked: int | None) -> bool:
    """Whether a hold of ``held`` days (None = unlimited) keeps items longer than one of ``asked`` days."""
    if held is None:
        return asked is not None
    return asked is not None and held > asked


@dataclasses.dataclass(frozen=True)
class HoldSettings:
    """The hold asked for: ``duration`` in days (None = unlimited), optional owner and comment.

    ``allow_shorter``: a mailbox already held for longer than ``duration`` is cut down to it; without it, such a
    mailbox keeps its longer hold (shortening a legal hold is never a side effect).
    """

    duration: int | None = None
    owner: str | None = None
    comment: str | None = None
    duration_given: bool = False  # whether --duration was passed (Exchange 2010 cannot take it at all)
    allow_shorter: bool = False


@dataclasses.dataclass(frozen=True)
class Selection:
    """Which mailboxes: every mailbox, named addresses, or recipient types (RecipientTypeDetails)."""

    all: bool = False
    mailboxes: tuple[str, ...] = ()
    recipient_types: tuple[str, ...] = ()

    def describe(self) -> str:
        if self.all:
            return "all mailboxes"
        if self.recipient_types:
            return "recipient types " + ", ".join(self.recipient_types)
        return f"{len(self.mailboxes)} named mailbox(es)"


@dataclasses.dataclass(frozen=True)
class MailboxHold:
    """One mailbox as observed: where it lives and its hold state.

    ``key`` is what the person asked for (the address from the selection) or, for ``--all``, the primary SMTP
    address. ``identity`` is the mailbox's Identity as its own side reports it (what we stream back in).
    ``side`` is None when the mailbox was not found anywhere; ``note`` then says why.
    ``capabilities`` is None when unknown (on-prem, or the property was not returned). ``date`` is
    LitigationHoldDate (aware, UTC) when Exchange gave one.
    """

    key: str
    side: Side | None
    identity: str = ""
    primary_smtp: str = ""
    recipient_type: str = ""
    enabled: bool = False
    duration: int | None = None
    owner: str = ""
    date: dt.datetime | None = None
    capabilities: tuple[str, ...] | None = None
    note: str = ""

    def __post_init__(self) -> None:
        if self.side is not None and not isinstance(self.side, Side):  # from JSON or a caller's plain string
            object.__setattr__(self, "side", Side(self.side))

    @property
    def found(self) -> bool:
        return self.side is not None

    @property
    def licensed(self) -> bool | None:
        """Whether Exchange Online would allow a hold, if we can tell."""
        if self.side != "online" or self.capabilities is None:
            return None
        return any(c in ELIGIBLE_CAPABILITIES for c in self.capabilities)


class HoldAction(enum.Enum):
    """What the plan does with one mailbox."""

    ENABLE = "enable"
    ALREADY = "already on hold"
    CHANGE = "change"
    KEEP_LONGER = "keep longer hold"
    NOT_FOUND = "not found"
    UNLICENSED = "unlicensed"
    REFUSED = "refused"

    @property
    def sends(self) -> bool:
        """Whether the plan sends Set-Mailbox for this mailbox."""
        return self in (HoldAction.ENABLE, HoldAction.CHANGE)

    @property
    def token(self) -> str:
        """The README's JSON ``action``: ``enable``, ``update`` (a duration changed) or ``none``."""
        return {HoldAction.ENABLE: "enable", HoldAction.CHANGE: "update"}.get(self, "none")


@dataclasses.dataclass(frozen=True)
class HoldItem:
    """One line of the plan."""

    key: str
    side: Side | None
    identity: str
    action: HoldAction
    before: str
    after: str
    reason: str
    mailbox: MailboxHold

    def __post_init__(self) -> None:
        if self.side is not None and not isinstance(self.side, Side):  # from JSON or a caller's plain string
            object.__setattr__(self, "side", Side(self.side))


@dataclasses.dataclass(frozen=True)
class HoldPlan:
    """The ordered plan and the fingerprint of the state it was made from."""

    settings: HoldSettings
    items: tuple[HoldItem, ...]
    fingerprint: str

    @property
    def has_changes(self) -> bool:
        return any(i.action.sends for i in self.items)

    def to_send(self, side: Side) -> list[HoldItem]:
        """The items whose Set-Mailbox goes to ``side``, in plan order."""
        return [i for i in self.items if i.action.sends and i.side == side]

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for item in self.items:
            out[item.action.value] = out.get(item.action.value, 0) + 1
        return out


@dataclasses.dataclass(frozen=True)
class HoldStep:
    """One journaled unit of work: the identities whose Set-Mailbox goes to one side together."""

    key: str
    side: Side
    identities: tuple[str, ...]
    actions: tuple[str, ...]  # HoldAction values, one per identity

    def __post_init__(self) -> None:
        if self.side is not None and not isinstance(self.side, Side):  # from JSON or a caller's plain string
            object.__setattr__(self, "side", Side(self.side))


@dataclasses.dataclass(frozen=True)
class Verification:
    """What the verification read gave: each mailbox's hold as read back, or Exchange's message for the read.

    Both by identity (``HoldItem.identity``). A mailbox in neither map was not returned by the read at all (it
    cannot be shown to be on hold).
    """

    read: Mapping[str, MailboxHold]
    errors: Mapping[str, str]


class OutcomeStatus(enum.Enum):
    """What the report says happened to one mailbox (``value``: the words tables and the report show)."""

    ENABLED = "enabled"
    ALREADY = "already on hold"
    CHANGED = "changed"
    KEPT_LONGER = "kept longer hold"
    FAILED = "failed"
    UNVERIFIED = "unverified"
    NOT_FOUND = "not found"
    UNLICENSED = "unlicensed"
    REFUSED = "refused"
    WOULD_ENABLE = "would enable"
    WOULD_CHANGE = "would change"
    ON_HOLD = "on hold"
    NOT_ON_HOLD = "not on hold"

    @property
    def word(self) -> Outcome | None:
        """The README's JSON ``outcome`` (``hybridkit.outcomes``); None under --what-if for a mailbox that would
        be sent (nothing happened to it yet)."""
        return _WORDS[self]

    @property
    def failed(self) -> bool:
        """Whether the mailbox is left off hold, or not proven on hold: each one makes ``hold enable`` exit 1
        (legal asked for all of them). Under --what-if: would not be put on hold."""
        return self in _NOT_HELD


_WORDS: dict[OutcomeStatus, Outcome | None] = {
    OutcomeStatus.ENABLED: Outcome.ENABLED,
    OutcomeStatus.ALREADY: Outcome.UNCHANGED,
    OutcomeStatus.CHANGED: Outcome.UPDATED,
    OutcomeStatus.KEPT_LONGER: Outcome.KEPT_LONGER,
    OutcomeStatus.FAILED: Outcome.FAILED,
    OutcomeStatus.UNVERIFIED: Outcome.UNVERIFIED,
    OutcomeStatus.NOT_FOUND: Outcome.NOT_FOUND,
    OutcomeStatus.UNLICENSED: Outcome.UNLICENSED,
    OutcomeStatus.REFUSED: Outcome.REFUSED,
    OutcomeStatus.WOULD_ENABLE: None,
    OutcomeStatus.WOULD_CHANGE: None,
    OutcomeStatus.ON_HOLD: Outcome.ON_HOLD,
    OutcomeStatus.NOT_ON_HOLD: Outcome.NOT_ON_HOLD,
}
_NOT_HELD = frozenset({OutcomeStatus.FAILED, OutcomeStatus.UNVERIFIED, OutcomeStatus.NOT_FOUND,
                       OutcomeStatus.UNLICENSED, OutcomeStatus.REFUSED})


@dataclasses.dataclass(frozen=True)
class HoldOutcome:
    """One mailbox's outcome: a row of the report, an item of the JSON."""

    key: str
    side: Side | None
    status: OutcomeStatus
    primary_smtp: str = ""
    recipient_type: str = ""
    enabled: bool | None = None
    duration: str = ""
    owner: str = ""
    message: str = ""
    verified: bool | None = None
    date: dt.datetime | None = None
    action: HoldAction | None = None  # what the plan did with it (None for hold status)

    def __post_init__(self) -> None:
        if self.side is not None and not isinstance(self.side, Side):  # from JSON or a caller's plain string
            object.__setattr__(self, "side", Side(self.side))

    @property
    def failed(self) -> bool:
        """Left off hold, or not proven on hold (see ``OutcomeStatus.failed``)."""
        return self.status.failed


@dataclasses.dataclass(frozen=True)
class EnableResult:
    """Everything ``hold enable`` did (or, under --what-if, would do), for rendering.

    Attributes:
        plan: the plan made from live state.
        outcomes: one per selected mailbox, in selection order.
        run_id: the journal run (None under --what-if, or when nothing was sent and no run was left to close).
        resumed: an interrupted run of the same request was carried on.
        steps_total: that run's steps; steps_skipped: how many of them were done before (or shown done live).
        commands: (side, PowerShell line) under --what-if: the exact pipelines, one per chunk.
        warnings: sentences for the person.
    """

    plan: HoldPlan
    outcomes: tuple[HoldOutcome, ...]
    run_id: str | None = None
    resumed: bool = False
    steps_total: int = 0
    steps_skipped: int = 0
    commands: tuple[tuple[Side, str], ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def failed(self) -> bool:
        """Whether any selected mailbox is (or would be) left off hold or unproven: the command exits 1."""
        return any(o.failed for o in self.outcomes)

    @property
    def not_held(self) -> dict[str, int]:
        """Mailboxes the run could not (or, with --what-if, would not) put on hold, counted by reason."""
        counts: dict[str, int] = {}
        for outcome in self.outcomes:
            if outcome.failed:
                counts[outcome.status.value] = counts.get(outcome.status.value, 0) + 1
        return counts
