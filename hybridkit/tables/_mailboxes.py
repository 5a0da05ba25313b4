"""Mailbox lists: the column of mailboxes in a CSV file or workbook, as people and Exchange write them.

The header is the first row (of the first 30, title and blank rows skipped) with a column that names mailboxes
(``PrimarySmtpAddress``, ``EmailAddress``, ``E-mail Address``, ``Mailbox``, ``UserPrincipalName``, ...: spaces,
case and punctuation ignored); the best such column is read. A list with no such header is read as it stands when
it has one value a row (a plain list of addresses), else from the first column holding an address (``@``) in its
first row. A workbook's first visible sheet is read. ``#TYPE`` lines and the header repeated (exports appended
with ``Out-File -Append``) are no mailboxes. Every value keeps its file, sheet and row for messages.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from pathlib import Path

from hybridkit.errors import InputError
from hybridkit.tables._read import BOOK_SUFFIXES, CSV_SUFFIXES, find_header, read_table

__all__ = ["MAILBOX_COLUMNS", "Listed", "column_key", "read_addresses", "read_mailbox_list"]

# Columns that name a mailbox, best first (Get-Mailbox exports, migration CSVs, hand-made lists), normalised.
MAILBOX_COLUMNS = ("primarysmtpaddress", "emailaddress", "windowsemailaddress", "smtpaddress", "email", "mail",
                   "mailbox", "userprincipalname", "upn", "address", "identity", "alias")
_SHOWN = "PrimarySmtpAddress, EmailAddress, Mailbox, UserPrincipalName, Identity"


def column_key(header: str) -> str:
    """``" E-mail Address "`` -> ``"emailaddress"``: headers as people type them."""
    return re.sub(r"[^a-z0-9]", "", header.lower())


@dataclasses.dataclass(frozen=True)
class Listed:
    """One mailbox as listed: the value as written (stripped) and where it was."""

    value: str
    file: str
    sheet: str | None
    row: int


def _column(header: Sequence[str]) -> int | None:
    keys = [column_key(c) for c in header]
    return next((keys.index(name) for name in MAILBOX_COLUMNS if name in keys), None)


def read_mailbox_list(path: Path) -> list[Listed]:
    """Every non-blank value of the file's mailbox column, in file order (see the module docstring).

    Raises:
        InputError: a missing, unreadable or empty file, another kind of file, or no column of mailboxes.
    """
    source = str(path)
    if not path.exists():
        raise InputError("file not found", file=source)
    if path.suffix.lower() not in CSV_SUFFIXES | BOOK_SUFFIXES:
        raise InputError("use a .csv or .xlsx file", file=source)
    table = read_table(path, is_header=lambda row: _column(row) is not None)
    problem = next((n for n in table.notes if n.blocking), None)
    if problem is not None:
        raise InputError(problem.reason, file=source, row=problem.row)
    sheet = next((s for s in table.sheets if not s.hidden), None)
    numbered = [(sheet.row_number(i), [c.strip() for c in r]) for i, r in enumerate(sheet.rows)] if sheet else []
    # blank rows skipped (file row numbers kept), and "#TYPE" lines repeated by exports appended with Out-File
    numbered = [(n, r) for n, r in numbered if any(r) and not r[0].startswith("#TYPE")]
    name = sheet.name if sheet else None
    if not numbered:
        raise InputError("the file lists no mailboxes", file=source, sheet=name)
    at = find_header([r for _, r in numbered], lambda row: _column(row) is not None)
    if at >= 0:
        header = numbered[at][1]
        column = _column(header)
        body = [(n, r) for n, r in numbered[at + 1 :] if r != header]  # the header repeated by appended exports
    elif all(sum(1 for c in r if c) == 1 for _, r in numbered):  # a plain list, one value a row
        column = None
        body = numbered
    else:  # no known header: the first column holding an address, its first row included
        column = next((i for i, c in enumerate(numbered[0][1]) if "@" in c), None)
        body = numbered
        if column is None:
            raise InputError(f"no column of mailbox addresses (expected one of: {_SHOWN})", file=source, sheet=name)
    out = []
    for number, row in body:
        value = next(c for c in row if c) if column is None else (row[column] if column < len(row) else "")
        if value:
            out.append(Listed(value, source, name, number))
    if not out:
        raise InputError("the file lists no mailboxes", file=source, sheet=name)
    return out


def read_addresses(path: Path) -> list[str]:
    """The addresses a mailbox list holds, lower case, in file order; anything else is refused with its row.

    Raises:
        InputError: as ``read_mailbox_list``, or a value that is not an address (a name, an alias).
    """
    out = []
    for listed in read_mailbox_list(path):
        if "@" not in listed.value:
            raise InputError(f"{listed.value!r} is not an email address", file=listed.file, sheet=listed.sheet,
                             row=listed.row)
        out.append(listed.value.lower())
    return out
