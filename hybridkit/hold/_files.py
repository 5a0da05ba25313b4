"""Reading a mailbox list (CSV or XLSX) and writing the hold report (CSV or XLSX, chosen by extension)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Sequence
from pathlib import Path

from hybridkit._csvreport import write_csv_report
from hybridkit.errors import InputError
from hybridkit.hold._model import Outcome

__all__ = ["ADDRESS_COLUMNS", "REPORT_COLUMNS", "read_mailbox_file", "write_report"]

# Columns that name a mailbox, best first (the shapes of Get-Mailbox exports and hand-made lists).
ADDRESS_COLUMNS = (
    "primarysmtpaddress",
    "emailaddress",
    "email",
    "mailbox",
    "userprincipalname",
    "upn",
    "address",
    "identity",
    "alias",
)

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


def _decode(raw: bytes) -> str:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("cp1252")


def _rows_from_csv(path: Path) -> list[list[str]]:
    text = _decode(path.read_bytes())
    lines = [ln for ln in text.splitlines() if not ln.startswith("#TYPE")]
    body = "\n".join(lines)
    try:
        dialect = csv.Sniffer().sniff(body[:4096], delimiters=",;\t")
        delimiter = dialect.delimiter
    except csv.Error:
        delimiter = ","
    return [row for row in csv.reader(io.StringIO(body), delimiter=delimiter)]


def _rows_from_xlsx(path: Path) -> list[list[str]]:
    import pandas as pd

    try:
        frame = pd.read_excel(path, sheet_name=0, header=None, dtype=str, engine="calamine")
    except Exception as exc:  # noqa: BLE001 - any reader failure is the file's problem, reported as input
        raise InputError(f"cannot read workbook: {exc}", file=str(path)) from exc
    return [["" if (v is None or v != v) else str(v) for v in row] for row in frame.itertuples(index=False)]


def read_mailbox_file(path: Path) -> list[str]:
    """The mailbox addresses listed in a CSV or XLSX file, in file order, without blanks or repeats.

    The header row may sit below title rows; the first row containing a known column (PrimarySmtpAddress,
    EmailAddress, Mailbox, UserPrincipalName, Identity, ...) is the header. A file with no known header but a
    single column is read as a plain list.

    Raises:
        InputError: missing file, unreadable file, or no column of addresses.
    """
    if not path.exists():
        raise InputError("file not found", file=str(path))
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm", ".xls"):
        rows = _rows_from_xlsx(path)
    elif suffix in (".csv", ".txt"):
        rows = _rows_from_csv(path)
    else:
        raise InputError("use a .csv or .xlsx file", file=str(path))
    rows = [[c.strip() for c in r] for r in rows if any(c.strip() for c in r)]
    if not rows:
        raise InputError("the file lists no mailboxes", file=str(path))
    header_at, column = -1, -1
    for at, row in enumerate(rows[:20]):
        lowered = [c.lower().replace(" ", "") for c in row]
        for name in ADDRESS_COLUMNS:
            if name in lowered:
                header_at, column = at, lowered.index(name)
                break
        if header_at >= 0:
            break
    if header_at < 0:
        if all(len([c for c in r if c]) == 1 for r in rows):
            values = [next(c for c in r if c) for r in rows]
        else:
            raise InputError(
                "no column of mailbox addresses (expected one of: PrimarySmtpAddress, EmailAddress, Mailbox, "
                "UserPrincipalName, Identity)",
                file=str(path),
            )
    else:
        values = [r[column] if column < len(r) else "" for r in rows[header_at + 1 :]]
    out: list[str] = []
    seen: set[str] = set()
    for value in values:
        if value and value.lower() not in seen:
            seen.add(value.lower())
            out.append(value)
    if not out:
        raise InputError("the file lists no mailboxes", file=str(path))
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
