"""hold's inputs: the mailbox selection (a CSV or XLSX list from disk, addresses, or recipient types) and the hold
asked for, checked before Exchange is asked anything."""

from __future__ import annotations

from pathlib import Path

from hybridkit.errors import InputError
from hybridkit.hold._model import HoldSettings, Selection, parse_duration
from hybridkit.tables import read_mailbox_list

__all__ = ["hold_settings", "read_mailbox_file", "selection_from"]


def read_mailbox_file(path: Path) -> list[str]:
    """The mailboxes a CSV or XLSX file lists, in file order, without blanks or repeats (the first spelling kept).

    Read by ``hybridkit.tables.read_mailbox_list`` (the header may sit below title rows; a file with one value a
    row is a plain list). Values are kept as written: Exchange resolves names and aliases too.

    Raises:
        InputError: missing, unreadable or empty file, or no column of mailboxes.
    """
    out: list[str] = []
    seen: set[str] = set()
    for listed in read_mailbox_list(path):
        if listed.value.lower() not in seen:
            seen.add(listed.value.lower())
            out.append(listed.value)
    return out


def selection_from(all_: bool, mailboxes: list[str] | None, from_file: Path | None,
                   types: list[str] | None) -> Selection:
    """The selection the options give (``--all``, ``--mailbox``, ``--from-file``, ``--recipient-type``).

    Raises:
        InputError: not exactly one selector, an empty address, or an unusable file.
    """
    given = [bool(all_), mailboxes is not None and len(mailboxes) > 0, from_file is not None, bool(types)]
    if sum(given) != 1:
        raise InputError("choose exactly one of --all, --mailbox, --from-file, --recipient-type")
    if from_file is not None:
        return Selection(mailboxes=tuple(read_mailbox_file(from_file)))
    if mailboxes:
        if any(not m.strip() for m in mailboxes):
            raise InputError("--mailbox: an empty address; give each mailbox's address (or use --from-file)")
        return Selection(mailboxes=tuple(dict.fromkeys(m.strip() for m in mailboxes)))
    if types:
        return Selection(recipient_types=tuple(types))
    return Selection(all=True)


def hold_settings(duration: str | None, owner: str | None, comment: str | None, allow_shorter: bool) -> HoldSettings:
    """The hold asked for (``--duration`` in days or ``unlimited``, ``--owner``, ``--comment``, ``--allow-shorter``).

    Raises:
        InputError: a duration that is not 1 to 10675199 days or ``unlimited``.
    """
    try:
        days = parse_duration(duration) if duration is not None else None
    except ValueError as exc:
        raise InputError(f"--duration: {exc}") from None
    return HoldSettings(duration=days, owner=owner, comment=comment, duration_given=duration is not None,
                        allow_shorter=allow_shorter)
