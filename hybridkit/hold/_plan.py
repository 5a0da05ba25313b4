"""Pure planning for litigation hold: observed hold state + what was asked -> one action per mailbox.

No I/O here: ``_apply`` reads Exchange (``_discover``), calls ``plan_hold``, cuts the work into journal steps
(``plan_steps``), sends them through the runner, then calls ``outcomes_after_apply`` with what
came back and what the verification pass read (and ``credit_earlier`` when it resumed an interrupted run).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence

from hybridkit.hold._model import (
    HoldAction,
    HoldItem,
    HoldOutcome,
    HoldPlan,
    HoldSettings,
    HoldStep,
    MailboxHold,
    OutcomeStatus,
    Selection,
    duration_text,
    is_longer,
)
from hybridkit.sides import Side

__all__ = [
    "LICENCE_MESSAGE_MARK",
    "comment_warnings",
    "credit_earlier",
    "fingerprint",
    "is_licence_error",
    "kept_longer_warnings",
    "outcomes_after_apply",
    "outcomes_for_status",
    "plan_hold",
    "plan_steps",
    "refuse_reason_2010",
    "request_fingerprint",
]

ALREADY_REASON = "already on hold with these settings"

# The distinctive part of Exchange Online's licence error for Set-Mailbox -LitigationHoldEnabled $true.
LICENCE_MESSAGE_MARK = "license doesn't permit you to put a litigation hold"


def is_licence_error(message: str) -> bool:
    """Whether Exchange's message is the Exchange Online licence refusal."""
    return LICENCE_MESSAGE_MARK.lower() in message.replace("\u2019", "'").lower()


def refuse_reason_2010() -> str:
    return (
        "LitigationHoldDuration is not available on Exchange Server 2010 (Set-Mailbox documents it for 2013 and "
        "later); run again without --duration for on-premises mailboxes, or move them first"
    )


def fingerprint(observed: Iterable[MailboxHold]) -> str:
    """A stable digest of the observed state a plan was made from."""
    rows = sorted(
        (m.key.lower(), m.side or "", m.identity, m.enabled, duration_text(m.duration) if m.enabled else "")
        for m in observed
    )
    return hashlib.sha256(json.dumps(rows, separators=(",", ":")).encode()).hexdigest()[:16]


def _state_text(m: MailboxHold) -> str:
    if not m.found:
        return "-"
    if not m.enabled:
        return "not on hold"
    return f"on hold, {duration_text(m.duration)}"


def _plan_one(m: MailboxHold, settings: HoldSettings, onprem_version: str) -> tuple[HoldAction, str, str]:
    """(action, after, reason) for one observed mailbox."""
    target = f"on hold, {duration_text(settings.duration)}"
    if not m.found:
        return HoldAction.NOT_FOUND, "-", m.note or "no mailbox with this identity on either side"
    if m.side == "onprem" and onprem_version == "2010" and settings.duration_given:
        return HoldAction.REFUSED, "-", refuse_reason_2010()
    same_duration = (not settings.duration_given) or m.duration == settings.duration
    if m.enabled and same_duration:
        return HoldAction.ALREADY, _state_text(m), ALREADY_REASON
    if m.enabled and is_longer(m.duration, settings.duration) and not settings.allow_shorter:
        return (
            HoldAction.KEEP_LONGER,
            _state_text(m),
            f"kept its longer hold ({duration_text(m.duration)}); --duration {duration_text(settings.duration)} "
            "would shorten it (give --allow-shorter to shorten it)",
        )
    if m.licensed is False:
        return (
            HoldAction.UNLICENSED,
            "-",
            "no Exchange Online Plan 2 or Exchange Online Archiving licence (PersistedCapabilities: "
            + (", ".join(m.capabilities or ()) or "none")
            + ")",
        )
    if m.enabled:
        return (
            HoldAction.CHANGE,
            target,
            f"duration {duration_text(m.duration)} -> {duration_text(settings.duration)}",
        )
    after = target if settings.duration_given else "on hold"
    return HoldAction.ENABLE, after, "not on hold"


def plan_hold(observed: Sequence[MailboxHold], settings: HoldSettings, *, onprem_version: str = "2019") -> HoldPlan:
    """Decide, for each observed mailbox in order: enable, already on hold, change, not found, unlicensed, refused.

    Rules: a mailbox on hold whose duration matches (or when no duration was asked) is left alone; one on hold
    for a shorter time is changed; one on hold for longer keeps its hold unless ``allow_shorter``; an Exchange
    Online mailbox whose PersistedCapabilities show no hold-eligible licence is reported unlicensed without sending;
    ``--duration`` on Exchange 2010 is refused. The same mailbox reached through two keys is planned once (the
    second key is reported as the first).
    """
    items: list[HoldItem] = []
    seen: dict[tuple[str, str], HoldItem] = {}
    for m in observed:
        action, after, reason = _plan_one(m, settings, onprem_version)
        ident = (m.side or "", m.identity.lower())
        if m.found and ident in seen:
            first = seen[ident]
            items.append(
                HoldItem(m.key, m.side, m.identity, HoldAction.ALREADY if first.action.sends else first.action,
                         _state_text(m), first.after, f"same mailbox as {first.key}", m)
            )
            continue
        item = HoldItem(m.key, m.side, m.identity, action, _state_text(m), after, reason, m)
        if m.found:
            seen[ident] = item
        items.append(item)
    return HoldPlan(settings=settings, items=tuple(items), fingerprint=fingerprint(observed))


_UNSENT = {
    HoldAction.ALREADY: OutcomeStatus.ALREADY,
    HoldAction.KEEP_LONGER: OutcomeStatus.KEPT_LONGER,
    HoldAction.NOT_FOUND: OutcomeStatus.NOT_FOUND,
    HoldAction.UNLICENSED: OutcomeStatus.UNLICENSED,
    HoldAction.REFUSED: OutcomeStatus.REFUSED,
}


def _row(item: HoldItem, status: OutcomeStatus, m: MailboxHold | None, message: str,
         verified: bool | None) -> HoldOutcome:
    row = _outcome(item.key, item.side, status, m or item.mailbox, message, verified)
    return dataclasses.replace(row, action=item.action)


def _outcome(key: str, side: Side | None, status: OutcomeStatus, shown: MailboxHold, message: str,
             verified: bool | None = None) -> HoldOutcome:
    """A report row showing ``shown``'s hold state as read (nothing for a mailbox that was not found)."""
    return HoldOutcome(
        key=key,
        side=side,
        status=status,
        primary_smtp=shown.primary_smtp,
        recipient_type=shown.recipient_type,
        enabled=shown.enabled if shown.found else None,
        duration=duration_text(shown.duration) if shown.found and shown.enabled else "",
        owner=shown.owner,
        message=message,
        verified=verified,
        date=shown.date if shown.found and shown.enabled else None,
    )


def outcomes_after_apply(
    plan: HoldPlan,
    errors: Mapping[str, str],
    verified: Mapping[str, MailboxHold] | None,
    *,
    what_if: bool = False,
    read_errors: Mapping[str, str] | None = None,
) -> list[HoldOutcome]:
    """The report rows: one per plan item.

    Args:
        plan: the plan that was applied.
        errors: Exchange's message per identity (``HoldItem.identity``) for mailboxes whose Set-Mailbox failed.
        verified: hold state read back after applying, by identity (None when no verification pass ran). A sent
            mailbox counts as enabled/changed only when it was read back showing what was set.
        what_if: nothing was sent; report what would happen.
        read_errors: Exchange's message per identity whose verification read failed (those are unverified).
    """
    rows: list[HoldOutcome] = []
    read_errors = read_errors or {}
    for item in plan.items:
        if not item.action.sends:
            rows.append(_row(item, _UNSENT[item.action], None, "" if item.reason == ALREADY_REASON else item.reason,
                             None))
            continue
        if what_if:
            status = OutcomeStatus.WOULD_ENABLE if item.action is HoldAction.ENABLE else OutcomeStatus.WOULD_CHANGE
            rows.append(_row(item, status, None, item.reason, None))
            continue
        message = errors.get(item.identity, "")
        back = verified.get(item.identity) if verified is not None else None
        if message:
            status = OutcomeStatus.UNLICENSED if is_licence_error(message) else OutcomeStatus.FAILED
            rows.append(_row(item, status, back, message, _matches(back, plan.settings) if back else None))
            continue
        if verified is not None:
            if item.identity in read_errors:
                rows.append(_row(item, OutcomeStatus.UNVERIFIED, item.mailbox,
                                 "sent, but the verification read failed: " + read_errors[item.identity], False))
                continue
            if back is None:
                rows.append(_row(item, OutcomeStatus.UNVERIFIED, item.mailbox,
                                 "sent, but the verification read did not return this mailbox", False))
                continue
            if not _matches(back, plan.settings):
                rows.append(_row(item, OutcomeStatus.FAILED, back, f"verification read back {_seen(back)}", False))
                continue
        status = OutcomeStatus.ENABLED if item.action is HoldAction.ENABLE else OutcomeStatus.CHANGED
        rows.append(_row(item, status, back, "", True if verified is not None else None))
    return rows


def _seen(m: MailboxHold) -> str:
    return (f"LitigationHoldEnabled={m.enabled}, LitigationHoldDuration={duration_text(m.duration)}, "
            f"LitigationHoldOwner={m.owner or '(empty)'}")


def _matches(m: MailboxHold, settings: HoldSettings) -> bool:
    """Whether the hold read back is the one asked for: enabled, with the duration and owner that were set."""
    if not m.enabled:
        return False
    if settings.duration_given and m.duration != settings.duration:
        return False
    return not settings.owner or m.owner == settings.owner


def outcomes_for_status(observed: Sequence[MailboxHold]) -> list[HoldOutcome]:
    """Report rows for ``hold status``: on hold / not on hold / not found, per mailbox."""
    rows = []
    first: dict[tuple[str, str], str] = {}  # (side, identity) -> the key that named the mailbox first
    for m in observed:
        if m.found and (m.side or "", m.identity.lower()) in first:
            same = first[(m.side or "", m.identity.lower())]
            status = OutcomeStatus.ON_HOLD if m.enabled else OutcomeStatus.NOT_ON_HOLD
            rows.append(_outcome(m.key, m.side, status, m, f"same mailbox as {same}"))
            continue
        if m.found:
            first[(m.side or "", m.identity.lower())] = m.key
        if not m.found:
            status = OutcomeStatus.NOT_FOUND
        elif m.enabled:
            status = OutcomeStatus.ON_HOLD
        else:
            status = OutcomeStatus.NOT_ON_HOLD
        message = m.note
        if m.found and m.licensed is False and not m.enabled:
            message = "no hold-eligible Exchange Online licence"
        rows.append(_outcome(m.key, m.side, status, m, message))
    return rows


def comment_warnings(settings: HoldSettings, sides: Iterable[Side]) -> list[str]:
    """The warning when ``--comment`` is given and on-premises mailboxes are sent (``-RetentionComment`` goes to
    Exchange Online only)."""
    if settings.comment and any(side == "onprem" for side in sides):
        return ["--comment is set in Exchange Online only: on-premises Exchange takes RetentionComment only with "
                "RetentionHoldEnabled $true, which hybridkit does not switch on"]
    return []


def kept_longer_warnings(settings: HoldSettings, rows: Sequence[HoldOutcome]) -> list[str]:
    """Which mailboxes kept a hold longer than --duration asks (never shortened without --allow-shorter)."""
    kept = [o.key for o in rows if o.status is OutcomeStatus.KEPT_LONGER]
    if not kept:
        return []
    shown = ", ".join(kept[:10]) + (f" and {len(kept) - 10} more" if len(kept) > 10 else "")
    return [f"{len(kept)} mailbox(es) kept a longer hold than --duration {duration_text(settings.duration)} asks: "
            f"{shown} (give --allow-shorter to shorten them)"]


def credit_earlier(plan: HoldPlan, rows: Sequence[HoldOutcome], earlier: Mapping[tuple[str, str], str],
                   errors: Mapping[str, str]) -> list[HoldOutcome]:
    """Report mailboxes an interrupted run put on hold as enabled/changed, not "already on hold".

    Args:
        plan: the plan made when resuming (it sees those mailboxes on hold already).
        rows: ``outcomes_after_apply``'s rows for it.
        earlier: what the interrupted run planned, by (side, identity): a ``HoldAction`` value.
        errors: Exchange's message per identity, also from the interrupted run's finished steps.
    """
    if not earlier:
        return list(rows)
    out = []
    for item, row in zip(plan.items, rows):
        action = earlier.get((item.side or "", item.identity))
        if row.status is OutcomeStatus.ALREADY and action is not None:
            status = OutcomeStatus.ENABLED if action == HoldAction.ENABLE.value else OutcomeStatus.CHANGED
            row = dataclasses.replace(row, status=status, message="done before the interruption", verified=True)
        elif item.action.sends and item.identity in errors and row.status is OutcomeStatus.FAILED and not row.message:
            row = dataclasses.replace(row, message=errors[item.identity])
        out.append(row)
    return out


def plan_steps(plan: HoldPlan, sides: Sequence[str], per_step: int) -> list[HoldStep]:
    """Cut the plan's Set-Mailbox work into journal steps of up to ``per_step`` mailboxes, side by side.

    A step's key is stable for the same side, position, identities and settings, so a re-planned run of the
    same request finds its steps again.
    """
    settings = plan.settings
    steps: list[HoldStep] = []
    for side in sides:
        items = plan.to_send(side)
        unique: dict[str, HoldItem] = {}
        for item in items:
            unique.setdefault(item.identity, item)
        ordered = list(unique.values())
        for number, start in enumerate(range(0, len(ordered), max(1, per_step))):
            batch = ordered[start : start + per_step]
            identities = tuple(i.identity for i in batch)
            digest = hashlib.sha256(
                "\n".join([side, repr(settings.duration), settings.owner or "", settings.comment or "", *identities])
                .encode()
            ).hexdigest()[:12]
            steps.append(
                HoldStep(
                    key=f"{side}/{number:05d}/{digest}",
                    side=side,
                    identities=identities,
                    actions=tuple(i.action.value for i in batch),
                )
            )
    return steps


def request_fingerprint(kind: str, selection: Selection, settings: HoldSettings, sides: Sequence[str]) -> str:
    """What identifies "the same request" for resuming: the selection, the settings and the sides."""
    data = [kind, selection.all, sorted(m.lower() for m in selection.mailboxes), sorted(selection.recipient_types),
            settings.duration_given, settings.duration, settings.owner, settings.comment, sorted(sides),
            settings.allow_shorter]
    return "req-" + hashlib.sha256(json.dumps(data, separators=(",", ":")).encode()).hexdigest()[:16]
