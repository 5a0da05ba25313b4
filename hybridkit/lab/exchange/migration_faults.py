"""Seeded migration faults: which mailboxes' moves fail, stall or skip items, and the skipped items they report.

Tests and the demo mark mailboxes with ``mark_moves(org, {address: MoveFault.BAD_ITEMS, ...})`` before the
batches start; a move created for a marked mailbox carries the fault from then on (``migration_state`` plays it
out). Marks live in ``org.online.settings`` (``lab_move_faults``: address -> kind, the form the demo has always
used; ``lab_move_fault_options``: address -> ``{"score": ..., "stall_minutes": ...}``) so a saved lab keeps them.

Kinds (see FIDELITY.md, "Migration failures, stalls and skipped items", for each one's source):

- ``quota``: fails when it starts (MailboxExceedsTargetQuotaPermanentException), whatever is approved or restarted;
- ``baditems``: copies 70 %, then fails with TooManyBadItemsPermanentException (corrupt items skipped);
- ``largeitems``: copies 60 %, then fails with TooManyLargeItemsPermanentException (items over 150 MB skipped);
- ``skipped``: syncs, but skipped items (missing and corrupt items) hold its completion until they are approved;
- ``stalled``: copies 40 %, then stalls (InProgress, StalledDueToTarget_MdbReplication) for ``stall_minutes``;
- ``transient``: retries once after a CommunicationErrorTransientException, then syncs.

Each kind's DataConsistencyScore (Perfect, Good, Investigate, Poor) once its items are skipped defaults to
``DEFAULT_SCORES`` and can be chosen per mailbox with ``score=``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

from hybridkit.lab.exchange.org import Org

__all__ = [
    "DEFAULT_SCORES",
    "DEFAULT_STALL",
    "SCORES",
    "FaultSpec",
    "MoveFault",
    "clear_moves",
    "fault_of",
    "mark_moves",
    "score_rank",
    "skipped_items",
]


class MoveFault(enum.StrEnum):
    """What a marked mailbox's move does."""

    QUOTA = "quota"
    BAD_ITEMS = "baditems"
    LARGE_ITEMS = "largeitems"
    SKIPPED = "skipped"
    STALLED = "stalled"
    TRANSIENT = "transient"


SCORES = ("Perfect", "Good", "Investigate", "Poor")  # DataConsistencyScore grades, best first
DEFAULT_SCORES = {
    MoveFault.QUOTA: "Perfect",
    MoveFault.BAD_ITEMS: "Poor",
    MoveFault.LARGE_ITEMS: "Investigate",
    MoveFault.SKIPPED: "Investigate",
    MoveFault.STALLED: "Perfect",
    MoveFault.TRANSIENT: "Perfect",
}
DEFAULT_STALL = dt.timedelta(hours=12)
_FAULTS = "lab_move_faults"
_OPTIONS = "lab_move_fault_options"


@dataclasses.dataclass(frozen=True)
class FaultSpec:
    """A marked mailbox's fault, the score its skipped items earn, and how long a stall lasts."""

    kind: MoveFault
    score: str
    stall: dt.timedelta = DEFAULT_STALL


def score_rank(score: str | None) -> int:
    """0 for Perfect (or no score) up to 3 for Poor."""
    return SCORES.index(score) if score in SCORES else 0


def mark_moves(
    org: Org,
    faults: Mapping[str, MoveFault | str],
    *,
    score: str | None = None,
    stall: dt.timedelta | None = None,
) -> None:
    """Mark mailboxes (by primary SMTP address) so the moves created for them from now on play out ``faults``.

    Args:
        org: the lab organisation.
        faults: address -> fault kind.
        score: the DataConsistencyScore the skipped items earn (default: the kind's, ``DEFAULT_SCORES``).
        stall: how long a ``stalled`` move stalls (default ``DEFAULT_STALL``).

    Raises:
        ValueError: for an unknown kind or score.
    """
    if score is not None and score not in SCORES:
        raise ValueError(f"unknown DataConsistencyScore {score!r}; expected one of {', '.join(SCORES)}")
    kinds = org.online.settings.setdefault(_FAULTS, {})
    options = org.online.settings.setdefault(_OPTIONS, {})
    for address, kind in faults.items():
        email = address.strip().lower()
        kinds[email] = MoveFault(kind).value
        chosen: dict[str, Any] = {}
        if score is not None:
            chosen["score"] = score
        if stall is not None:
            chosen["stall_minutes"] = stall.total_seconds() / 60
        if chosen:
            options[email] = chosen
        else:
            options.pop(email, None)


def clear_moves(org: Org, addresses: Iterable[str]) -> None:
    """Unmark mailboxes: moves created for them from now on behave (moves already made keep their fault)."""
    for address in addresses:
        email = address.strip().lower()
        org.online.settings.get(_FAULTS, {}).pop(email, None)
        org.online.settings.get(_OPTIONS, {}).pop(email, None)


def fault_of(org: Org, email: str) -> FaultSpec | None:
    """The fault marked for ``email`` (None when it is not marked)."""
    kind = org.online.settings.get(_FAULTS, {}).get(email.lower())
    if not kind:
        return None
    fault = MoveFault(kind)
    options = org.online.settings.get(_OPTIONS, {}).get(email.lower(), {})
    minutes = options.get("stall_minutes")
    return FaultSpec(
        kind=fault,
        score=str(options.get("score") or DEFAULT_SCORES[fault]),
        stall=dt.timedelta(minutes=float(minutes)) if minutes is not None else DEFAULT_STALL,
    )


_ITEM_KINDS = {
    MoveFault.BAD_ITEMS: (("CorruptItem", 12), ("CorruptFolderACL", 1)),
    MoveFault.LARGE_ITEMS: (("LargeItem", 3),),
    MoveFault.SKIPPED: (("MissingItem", 4), ("CorruptItem", 2)),
}
_FOLDERS = ("Inbox", "Sent Items", "Calendar", "Archive/2019", "Projects")
_SUBJECTS = ("Quarterly figures", "Site photos", "Re: contract draft", "Board pack", "Scanned invoices")


def skipped_items(kind: MoveFault, email: str, at: dt.datetime) -> list[dict[str, Any]]:
    """The skipped items a ``kind`` move reports (stable per mailbox), as Get-MigrationUserStatistics lists them.

    Each item has MigrationUserSkippedItem's properties (Kind, FolderName, Sender, Recipient, Subject,
    MessageClass, MessageSize, DateSent, DateReceived, Failure) and Exchange Online's ScoringClassifications.
    """
    seed = int(hashlib.sha256(email.encode()).hexdigest()[:8], 16)
    items: list[dict[str, Any]] = []
    for item_kind, count in _ITEM_KINDS.get(kind, ()):
        for n in range(count):
            index = seed + n + len(items)
            folder = _FOLDERS[index % len(_FOLDERS)]
            size = 150 * 1024**2 + (index % 40) * 1024**2 if item_kind == "LargeItem" else 20_000 + index % 90_000
            sent = at - dt.timedelta(days=30 + index % 900)
            is_folder = item_kind.startswith("CorruptFolder")
            items.append({
                "Kind": item_kind,
                "FolderName": folder,
                "Sender": None if is_folder else f"sender{index % 17}@fabrikam.com",
                "Recipient": None if is_folder else email,
                "Subject": None if is_folder else _SUBJECTS[index % len(_SUBJECTS)],
                "MessageClass": None if is_folder else "IPM.Note",
                "MessageSize": None if is_folder else size,
                "DateSent": None if is_folder else sent.isoformat(),
                "DateReceived": None if is_folder else (sent + dt.timedelta(seconds=4)).isoformat(),
                "ScoringClassifications": _CLASSIFICATION[item_kind],
                "Failure": _FAILURES[item_kind],
            })
    return items


_CLASSIFICATION = {
    "CorruptItem": "Corrupt",
    "CorruptFolderACL": "Permission",
    "LargeItem": "Large",
    "MissingItem": "Missing",
}
_FAILURES = {
    "CorruptItem": "A corrupted item was encountered.",
    "CorruptFolderACL": "A corrupted item was encountered: Folder ACL.",
    "LargeItem": "This mailbox exceeded the maximum number of large items that were specified for this request.",
    "MissingItem": "The item was in the source mailbox but was not found in the target mailbox.",
}
