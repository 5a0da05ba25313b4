"""CSV reports for people: every cell a spreadsheet could take for a formula is written as text.

Reports carry data from inputs and from Exchange (an address list, an owner, Exchange's messages), and people open
them in Excel. A cell such as ``=HYPERLINK(...)``, ``+cmd|' /C calc'!A0`` or ``@SUM(1+1)`` would run as a
formula (CSV or formula injection). Following OWASP's "CSV Injection" page:

* a cell starting with ``=``, ``+``, ``-``, ``@``, tab (0x09) or carriage return (0x0D) gets a single quote in
  front, which spreadsheets read as "this cell is text" (OWASP ASVS 5.0 V1.2.10 adds NUL, 0x00, which is
  covered too);
* every field is enclosed in double quotes and every double quote inside is doubled (RFC 4180 2.6/2.7), so a
  separator or quote in the data cannot start a new cell that begins with one of those characters.

Beyond OWASP's list, the same characters after leading blanks are neutralised as well, since some spreadsheet
imports trim leading spaces before deciding whether a cell is a formula.

Only for files people read. Files Exchange or batch planning reads as data (New-MigrationBatch CSVs, the
inventory exports written as Exchange's Export-Csv writes them) must stay byte for byte what they are, and do not
use this writer. Workbooks: ``hybridkit._xlsx.text_workbook``.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

__all__ = ["FORMULA_STARTS", "safe_cell", "write_csv_report"]

# Characters that make a spreadsheet read a cell as a formula when they come first (OWASP; NUL from ASVS).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\0")


def safe_cell(value: Any) -> str:
    """``value`` as the text of one report cell, with a leading ``'`` when a spreadsheet would run it."""
    text = "" if value is None else str(value)
    if text.lstrip(" ").startswith(FORMULA_STARTS):
        return "'" + text
    return text


def write_csv_report(path: str | Path, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """Write a report for people: UTF-8 with BOM (Excel opens it as UTF-8), CRLF, every field quoted and every
    cell neutralised by ``safe_cell``. Written to a temporary file beside ``path``, then moved into place.

    Raises:
        OSError: the file or its folder cannot be written.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    try:
        with tmp.open("w", encoding="utf-8-sig", newline="") as handle:
            writer = csv.writer(handle, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
            writer.writerow([safe_cell(h) for h in header])
            for row in rows:
                writer.writerow([safe_cell(v) for v in row])
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise

