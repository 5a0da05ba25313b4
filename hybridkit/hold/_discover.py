"""Hold state from Exchange: find where each mailbox lives and what hold it has, and read a hold back.

Every read is one cmdlet (plus streamed pipeline input) ending in ``Select-Object -Property`` with exactly the
columns hybridkit uses (a whole Get-Mailbox object is ~228 properties; a hold read needs seven), never script text:

* ``--all`` / ``--recipient-type``: ``Get-Mailbox -ResultSize Unlimited [-RecipientTypeDetails T]`` once per side.
* named mailboxes: the addresses are streamed into ``Get-Mailbox`` on every connected side at once. A mailbox is
  found on the side where it is a mailbox: an on-prem mailbox is a mail user in Exchange Online, a cloud mailbox
  is a remote mailbox on-prem, so each address resolves to exactly one side. Addresses found nowhere are streamed
  into ``Get-Recipient`` to say why (a remote mailbox whose cloud side is not connected, a mail user, nothing).
* verification: the identities just changed are streamed into ``Get-Mailbox`` and the hold read back.

Values arrive with Exchange's own kinds: LitigationHoldDate is a DateTime, Guid a Guid, EmailAddresses and
PersistedCapabilities lists; LitigationHoldDuration is an ``Unlimited<EnhancedTimeSpan>`` shown as ``Unlimited`` or
a TimeSpan (``2555.00:00:00``). Nothing here assumes a string.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from hybridkit.hold._model import HoldPlan, MailboxHold, Selection, Verification
from hybridkit.ps import Command, ItemOutcome, Pipeline, PSSession
from hybridkit.runner import NullReporter, Reporter
from hybridkit.sides import Side

__all__ = [
    "HOLD_COLUMNS",
    "MAILBOX_KEYS",
    "VERIFY_COLUMNS",
    "identity_of",
    "mailbox_hold",
    "read_back",
    "read_selection",
    "selected",
    "verify",
]

# Properties of a mailbox that an administrator may have typed to name it.
MAILBOX_KEYS = (
    "PrimarySmtpAddress",
    "UserPrincipalName",
    "WindowsEmailAddress",
    "Alias",
    "Name",
    "Identity",
    "SamAccountName",
    "DistinguishedName",
    "Guid",
    "ExchangeGuid",
    "ExternalDirectoryObjectId",
)

# What a hold read uses of a mailbox: its identity on that side, how the report names it, and its hold.
HOLD_COLUMNS = (
    "Identity",
    "PrimarySmtpAddress",
    "RecipientTypeDetails",
    "LitigationHoldEnabled",
    "LitigationHoldDuration",
    "LitigationHoldOwner",
    "LitigationHoldDate",
)
# Exchange Online only: the licence check (PersistedCapabilities shows Plan 2 or the archiving add-on).
LICENCE_COLUMNS = ("PersistedCapabilities",)
# What verification reads back: the identity it streamed in, and what Set-Mailbox set.
VERIFY_COLUMNS = ("Identity", "LitigationHoldEnabled", "LitigationHoldDuration", "LitigationHoldOwner",
                  "LitigationHoldDate")


def selected(command: Command, columns: Sequence[str]) -> Pipeline:
    """``command | Select-Object -Property <columns>`` (the data diet: only what is used crosses the wire)."""
    return Pipeline.of(command, Command.of("Select-Object", Property=list(dict.fromkeys(columns))))


def _hold_columns(side: Side, *, named: bool) -> tuple[str, ...]:
    extra = LICENCE_COLUMNS if side == "online" else ()
    names = (*MAILBOX_KEYS, "EmailAddresses") if named else ()
    return tuple(dict.fromkeys((*HOLD_COLUMNS, *extra, *names)))


_REMOTE_TYPES = {"RemoteUserMailbox", "RemoteSharedMailbox", "RemoteRoomMailbox", "RemoteEquipmentMailbox"}


def _text(value: Any) -> str:
    if value is None:
        return ""
    return str(value)


def identity_of(obj: Any) -> str:
    """The Identity a side reports for an object (what we stream back into that side's cmdlets)."""
    for name in ("Identity", "DistinguishedName", "Guid", "PrimarySmtpAddress", "Alias", "Name"):
        value = obj.get(name)
        if value not in (None, ""):
            return str(value)
    return str(obj)


def _addresses(obj: Any) -> list[str]:
    out = []
    for value in obj.get("EmailAddresses") or []:
        text = str(value)
        if text.lower().startswith("smtp:"):
            out.append(text[5:])
    return out


def _duration(value: Any) -> int | None:
    """LitigationHoldDuration in whole days; None for ``Unlimited`` (or nothing).

    Exchange shows it as ``Unlimited`` or a TimeSpan (``2555.00:00:00``; under a day ``12:00:00``); a
    deserialised TimeSpan (timedelta) or a bare number of days is taken as it is.
    """
    if value is None:
        return None
    if isinstance(value, dt.timedelta):
        return value.days
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = str(value).strip()
    if not text or text.lower() == "unlimited":
        return None
    head = text.split(":", 1)[0] if ":" in text else text
    days = head.split(".", 1)[0] if (":" in text and "." in head) else ("0" if ":" in text else head)
    return int(days) if days.isdigit() else None


def _when(value: Any) -> dt.datetime | None:
    """LitigationHoldDate as an aware UTC datetime (Exchange sends a DateTime; a string is parsed if ISO)."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        when = value
    else:
        try:
            when = dt.datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
        except ValueError:
            return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    return when.astimezone(dt.timezone.utc)


def _capabilities(obj: Any) -> tuple[str, ...] | None:
    if "PersistedCapabilities" not in obj:
        return None
    raw = obj.get("PersistedCapabilities")
    if raw is None:
        return ()
    if isinstance(raw, str):
        return tuple(p.strip() for p in raw.split(",") if p.strip())
    return tuple(str(v) for v in raw)


def mailbox_hold(obj: Any, side: Side, key: str | None = None) -> MailboxHold:
    """A Get-Mailbox output object as a ``MailboxHold`` for ``key`` (default: its primary SMTP address)."""
    smtp = _text(obj.get("PrimarySmtpAddress"))
    return MailboxHold(
        key=key or smtp or identity_of(obj),
        side=side,
        identity=identity_of(obj),
        primary_smtp=smtp,
        recipient_type=_text(obj.get("RecipientTypeDetails")),
        enabled=obj.get("LitigationHoldEnabled") is True,
        duration=_duration(obj.get("LitigationHoldDuration")),
        owner=_text(obj.get("LitigationHoldOwner")),
        date=_when(obj.get("LitigationHoldDate")),
        capabilities=_capabilities(obj) if side == "online" else None,
    )


def _names(obj: Any) -> list[str]:
    """Every name an administrator may have typed for this object, casefolded, in a fixed order (never a set's
    hash order: which key an object is filed under must not change from run to run)."""
    names = [str(obj.get(k)).casefold() for k in MAILBOX_KEYS if obj.get(k) not in (None, "")]
    names.extend(a.casefold() for a in _addresses(obj))
    return list(dict.fromkeys(names))


def _key_for(wanted: set[str]) -> Callable[[Any], str | None]:
    """A key function for ``run_items``: the first of an output object's names that was asked for."""

    def key(obj: Any) -> str | None:
        for name in _names(obj):
            if name in wanted:
                return name
        return None

    return key


def _is_not_found(outcome: ItemOutcome) -> bool:
    return all(
        "notfound" in (e.error_id + e.category + e.reason + e.exception_type).replace(" ", "").lower()
        or "couldn't be found" in e.message
        for e in outcome.errors
    )


def _on_each_side(sessions: Mapping[Side, PSSession], work: Callable[[Side, PSSession], Any]) -> dict[str, Any]:
    if len(sessions) == 1:
        ((name, session),) = sessions.items()
        return {name: work(name, session)}
    with ThreadPoolExecutor(max_workers=len(sessions)) as pool:
        futures = {name: pool.submit(work, name, session) for name, session in sessions.items()}
        return {name: f.result() for name, f in futures.items()}


def read_selection(
    sessions: Mapping[Side, PSSession],
    selection: Selection,
    *,
    chunk_size: int = 500,
    reporter: Reporter | None = None,
) -> list[MailboxHold]:
    """The hold state of every selected mailbox, in selection order (sides in the order of ``sessions``).

    Progress goes to ``reporter``: ``read <side>`` per side for ``--all``/``--recipient-type``, ``locate
    mailboxes`` for named ones.
    """
    reporter = reporter or NullReporter()
    if selection.all or selection.recipient_types:
        return _read_all(sessions, selection, reporter)
    return _read_named(sessions, list(selection.mailboxes), chunk_size=chunk_size, reporter=reporter)


def _read_all(sessions: Mapping[Side, PSSession], selection: Selection, reporter: Reporter) -> list[MailboxHold]:
    params: dict[str, Any] = {"ResultSize": "Unlimited"}
    if selection.recipient_types:
        params["RecipientTypeDetails"] = list(selection.recipient_types)
    command = Command.of("Get-Mailbox", params)

    def work(side: Side, session: PSSession) -> list[MailboxHold]:
        task = f"read {side}"
        reporter.start(task)
        try:
            result = session.run(selected(command, _hold_columns(side, named=False)))
            reporter.start(task, len(result.output))
            reporter.advance(task, len(result.output))
        finally:
            reporter.finish(task)
        return [mailbox_hold(obj, side) for obj in result.output]

    per_side = _on_each_side(sessions, work)
    return [m for side in sessions for m in per_side[side]]


def _read_named(
    sessions: Mapping[Side, PSSession], keys: list[str], *, chunk_size: int, reporter: Reporter
) -> list[MailboxHold]:
    wanted = {k.casefold() for k in keys}
    task = "locate mailboxes"

    def work(side: Side, session: PSSession) -> list[ItemOutcome]:
        return session.run_items(
            selected(Command.of("Get-Mailbox"), _hold_columns(side, named=True)), keys, chunk_size=chunk_size,
            key=_key_for(wanted), on_progress=lambda n: reporter.advance(task, n),
        )

    reporter.start(task, len(keys) * len(sessions))
    try:
        per_side: dict[str, list[ItemOutcome]] = _on_each_side(sessions, work)
    finally:
        reporter.finish(task)
    found: dict[str, MailboxHold] = {}
    problems: dict[str, str] = {}
    by_name: dict[str, tuple[Side, Any]] = {}  # every name of every mailbox found -> (side, object)
    for side in sessions:
        for outcome in per_side[side]:
            key = str(outcome.item)
            if outcome.output and key not in found:
                found[key] = mailbox_hold(outcome.output[0], side, key)
                for name in _names(outcome.output[0]):
                    by_name.setdefault(name, (side, outcome.output[0]))
            elif not outcome.ok and not _is_not_found(outcome):
                problems.setdefault(key, f"{side}: {outcome.message}")
    # The same mailbox asked for twice (address and alias) comes back once per key, but both objects are filed
    # under one key; the other key is that mailbox too.
    for key in keys:
        if key not in found and key not in problems and key.casefold() in by_name:
            side, obj = by_name[key.casefold()]
            found[key] = mailbox_hold(obj, side, key)
    missing = [k for k in keys if k not in found]
    notes = _explain_missing(sessions, missing, chunk_size=chunk_size) if missing else {}
    out = []
    for key in keys:
        if key in found:
            out.append(found[key])
        else:
            out.append(MailboxHold(key=key, side=None, note=problems.get(key) or notes.get(key, "")))
    return out


def _explain_missing(sessions: Mapping[Side, PSSession], keys: list[str], *, chunk_size: int) -> dict[str, str]:
    """Why each address was not found as a mailbox: what kind of recipient it is on each connected side."""
    wanted = {k.casefold() for k in keys}

    def work(side: Side, session: PSSession) -> list[ItemOutcome]:
        pipeline = selected(Command.of("Get-Recipient"), ("RecipientTypeDetails", *MAILBOX_KEYS, "EmailAddresses"))
        return session.run_items(pipeline, keys, chunk_size=chunk_size, key=_key_for(wanted))

    per_side: dict[str, list[ItemOutcome]] = _on_each_side(sessions, work)
    notes: dict[str, str] = {}
    for side in sessions:
        for outcome in per_side[side]:
            key = str(outcome.item)
            if not outcome.output or key in notes:
                continue
            kind = _text(outcome.output[0].get("RecipientTypeDetails"))
            if side == "onprem" and kind in _REMOTE_TYPES:
                notes[key] = f"{kind} on-premises: the mailbox lives in Exchange Online (connect --online)"
            elif side == "online" and kind == "MailUser":
                notes[key] = "mail user in Exchange Online: the mailbox lives on-premises (connect --onprem)"
            elif kind == "PublicFolderMailbox":
                notes[key] = "public folder mailbox: litigation hold isn't supported (use an In-Place Hold)"
            else:
                notes[key] = f"{kind or 'recipient'} on {side}, not a mailbox"
    for key in keys:
        notes.setdefault(key, "no recipient with this identity on " + " or ".join(sessions))
    return notes


def read_back(
    session: PSSession,
    side: Side,
    identities: Sequence[str],
    *,
    chunk_size: int = 500,
    on_progress: Callable[[int], None] | None = None,
) -> tuple[dict[str, Any], dict[str, str]]:
    """The verification read: ``identities | Get-Mailbox | Select-Object -Property VERIFY_COLUMNS``.

    Returns (the object read back per identity, Exchange's message per identity the read failed for). An error
    that names no mailbox is charged to every mailbox the read did not return, so none of them counts as read.
    """
    wanted = {i.casefold() for i in identities}

    def key(obj: Any) -> str | None:
        value = _text(obj.get("Identity")).casefold()
        return value if value in wanted else None

    outcomes = session.run_items(
        selected(Command.of("Get-Mailbox"), VERIFY_COLUMNS), list(identities), chunk_size=chunk_size, key=key,
        on_progress=on_progress,
    )
    read: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for outcome in outcomes:
        ident = str(outcome.item)
        if outcome.errors:
            errors[ident] = outcome.message or "the read failed"
        elif outcome.output:
            read[ident] = outcome.output[0]
    return read, errors


def verify(
    plan: HoldPlan,
    sessions: Mapping[Side, PSSession],
    *,
    chunk_size: int = 500,
    reporter: Reporter | None = None,
) -> Verification:
    """Read the hold back for every mailbox the plan sent, by identity, on its own side.

    The sent identities are streamed into ``Get-Mailbox | Select-Object -Property Identity,LitigationHoldEnabled,
    LitigationHoldDuration,LitigationHoldOwner,LitigationHoldDate`` (one pipeline per chunk). Nothing is inferred
    from a mailbox's absence: only an object read back proves a hold, and an error in the read leaves the
    mailboxes it concerns unverified. Progress: the reporter's ``verify`` task.
    """
    reporter = reporter or NullReporter()
    read: dict[str, MailboxHold] = {}
    errors: dict[str, str] = {}
    reporter.start("verify", sum(len(plan.to_send(side)) for side in sessions))
    try:
        for side, session in sessions.items():
            items = {i.identity: i for i in reversed(plan.to_send(side))}
            if not items:
                continue
            identities = list(dict.fromkeys(i.identity for i in plan.to_send(side)))
            objects, failures = read_back(session, side, identities, chunk_size=chunk_size,
                                          on_progress=lambda n: reporter.advance("verify", n))
            errors.update(failures)
            for ident, obj in objects.items():
                back = mailbox_hold(obj, side, items[ident].key)
                read[ident] = dataclasses.replace(items[ident].mailbox, enabled=back.enabled, duration=back.duration,
                                                  owner=back.owner, date=back.date)
    finally:
        reporter.finish("verify")
    return Verification(read=read, errors=errors)
