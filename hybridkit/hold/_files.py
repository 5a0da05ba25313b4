"""Reading a mailbox list (CSV or XLSX) and writing the hold report (CSV or XLSX, chosen by extension)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

from hybridkit._csvreport import write_csv_report
from hybridkit.errors import InputError
from hybridkit.hold._model import Outcome
from hybridkit.tables import read_mailbox_list

__all__ = ["REPORT_COLUMNS", "read_mailbox_file", "write_report"]

REPORT_COLUMNS = (
    "Mailbox",
    "Side",
    "Status",
    "PrimarySmtpAddress",
    "RecipientTypeDetails",
    "LitigationHoldEnabled",
    "LitigationHoldDuration",
    "LitigationHoldOwner",
    "LitigationHoldDate",
    "Verified",
    "Message",
)


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


def _as_cells(row: Outcome) -> list[str]:
    return [
        row.key,
        row.side or "",
        row.status.value,
        row.primary_smtp,
        row.recipient_type,
        "" if row.enabled is None else str(row.enabled),
        row.duration,
        row.owner,
        row.date.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ") if row.date else "",
        "" if row.verified is None else str(row.verified),
        row.message,
    ]


def write_report(path: Path, rows: Sequence[Outcome]) -> None:
    """Write every row to ``path``: XLSX when it ends in .xlsx, CSV otherwise (``hybridkit._csvreport``: UTF-8
    with BOM for Excel, formula-shaped cells kept as text)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".xlsx":
        from hybridkit._xlsx import text_workbook

        book = text_workbook(path)
        try:
            sheet = book.add_worksheet("Hold")
            bold = book.add_format({"bold": True})
            sheet.write_row(0, 0, REPORT_COLUMNS, bold)
            for at, row in enumerate(rows, start=1):
                sheet.write_row(at, 0, _as_cells(row))
            sheet.autofilter(0, 0, max(len(rows), 1), len(REPORT_COLUMNS) - 1)
            sheet.freeze_panes(1, 0)
        finally:
            book.close()
        return
    if path.suffix.lower() != ".csv":
        raise InputError("the report must end in .csv or .xlsx", file=str(path))
    write_csv_report(path, REPORT_COLUMNS, (_as_cells(row) for row in rows))
