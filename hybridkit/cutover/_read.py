"""Reading cutover inputs from disk: plan.json and mailbox lists (CSV or XLSX)."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

from hybridkit.cutover._model import PlannedBatch
from hybridkit.cutover._plan import parse_plan
from hybridkit.errors import InputError

__all__ = ["read_mailbox_list", "read_plan"]

_COLUMNS = ("emailaddress", "primarysmtpaddress", "windowsemailaddress", "smtpaddress", "email", "mail", "mailbox",
            "identity", "userprincipalname")


def _key(header: str) -> str:
    """``" E-mail Address "`` -> ``"emailaddress"``: headers as people type them."""
    return re.sub(r"[^a-z0-9]", "", header.lower())


def read_plan(path: Path) -> tuple[PlannedBatch, ...]:
    """The batches of ``PLAN_DIR/plan.json`` (or of the plan file itself)."""
    file = path / "plan.json" if path.is_dir() else path
    try:
        data = json.loads(file.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise InputError("no plan.json here; make one with `hybridkit batches plan ... --out DIR`", file=str(file)) from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"cannot read the plan: {exc}", file=str(file)) from exc
    return parse_plan(data, str(file))


def _pick(rows: list[list[str]], source: str, sheet: str | None = None) -> list[str]:
    numbered = [(n, [str(c).strip() if c is not None else "" for c in r]) for n, r in enumerate(rows, start=1)]
    numbered = [(n, r) for n, r in numbered if any(r)]  # blank rows skipped, file row numbers kept
    if not numbered:
        raise InputError("no mailboxes in the file", file=source, sheet=sheet)
    # title rows above the header (workbooks written by people)
    start = next((i for i, (_, r) in enumerate(numbered[:10])
                  if any(_key(c) in _COLUMNS for c in r)), 0)
    numbered = numbered[start:]
    header = [_key(h) for h in numbered[0][1]]
    col = next((header.index(c) for c in _COLUMNS if c in header), None)
    body = numbered[1:]
    if col is None:  # no known header: the first column holding addresses, header row included if it is one
        col = next((i for i, c in enumerate(numbered[0][1]) if "@" in c), None)
        body = numbered
        if col is None:
            raise InputError("no EmailAddress (or PrimarySmtpAddress) column", file=source, sheet=sheet)
    out: list[str] = []
    for number, row in body:
        value = row[col] if col < len(row) else ""
        if not value:
            continue
        if "@" not in value:
            raise InputError(f"{value!r} is not an email address", file=source, sheet=sheet, row=number)
        out.append(value.lower())
    return out


def read_mailbox_list(path: Path) -> list[str]:
    """Mailbox addresses from a CSV (UTF-8/UTF-16, comma or semicolon) or the first sheet of an XLSX."""
    source = str(path)
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        try:
            import openpyxl

            book = openpyxl.load_workbook(path, read_only=True, data_only=True)
        except FileNotFoundError:
            raise InputError("file not found", file=source) from None
        except Exception as exc:  # openpyxl raises many kinds for a bad workbook
            raise InputError(f"cannot read the workbook: {exc}", file=source) from exc
        sheet = book.worksheets[0]
        rows = [list(r) for r in sheet.iter_rows(values_only=True)]
        book.close()
        return _pick(rows, source, sheet.title)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read: {exc}", file=source) from exc
    text = raw.decode("utf-16") if raw.startswith((b"\xff\xfe", b"\xfe\xff")) else raw.decode("utf-8-sig", "replace")
    lines = [("" if ln.startswith("#TYPE") else ln) for ln in text.splitlines()]  # keep row numbers
    sample = "\n".join(lines[:5])
    delimiter = max((",", ";", "\t"), key=sample.count)  # Excel: ";" in many locales, tab for "Unicode Text"
    return _pick(list(csv.reader(io.StringIO("\n".join(lines)), delimiter=delimiter)), source)
