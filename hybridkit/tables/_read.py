"""Reading CSV files and workbooks as Exchange, PowerShell and Excel really write them, into grids of text.

CSV: UTF-8 with or without BOM, UTF-16 (``Out-File``), Windows-1252, or UTF-8 with a few Windows-1252 lines
(:mod:`._decode`, each such line noted); a ``#TYPE`` first line (``Export-Csv`` without ``-NoTypeInformation``);
Excel's ``sep=;`` hint line; CRLF, LF or CR line ends; comma, semicolon or tab delimiters (the one under which a
header is found first, else the commonest); an old tool's Ctrl-Z end mark. Workbooks (read with python-calamine):
every sheet, hidden ones flagged, cells as text (numbers without a stray ``.0``, dates in ISO 8601).

Nothing here raises for a bad file: an empty or unreadable file, or a row the csv module cannot read, becomes a
blocking :class:`Note`; the caller decides what a note means (batch planning lists them, a mailbox list refuses).
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as _dt
import io
import re
from collections.abc import Callable, Sequence
from pathlib import Path

from hybridkit.tables._decode import decode

__all__ = [
    "BOOK_SUFFIXES",
    "CSV_SUFFIXES",
    "HEADER_SCAN",
    "Note",
    "Sheet",
    "TableFile",
    "cell_text",
    "find_header",
    "is_workbook",
    "read_table",
]

HEADER_SCAN = 30  # rows looked at for a header (title rows above it are skipped)
CSV_SUFFIXES = frozenset({".csv", ".txt", ".tsv"})
BOOK_SUFFIXES = frozenset({".xlsx", ".xlsm", ".xlsb", ".xls", ".ods"})
_DELIMITERS = (",", ";", "\t")
_FIRST_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n|$)")  # CRLF, LF or CR alone (Excel for Mac's "CSV (Macintosh)")
_EMPTY = ("the file is empty: no header and no rows (Export-Csv leaves an empty file when nothing reached it; "
          "check the export and run it again)")  # fmt: skip
_EMPTY_BUT_TYPE = ("the file is empty but for its #TYPE line: no header and no rows; check the export and run it "
                   "again")  # fmt: skip
_EMPTY_BOOK = "every sheet of the workbook is empty: no header and no rows; check the export"
_CP1252_NOTE = ("not valid UTF-8 although the rest of the file is: this line alone was read as Windows-1252 "
                "(edited in another program?); check its accented letters")  # fmt: skip
_CP1252_SHOWN = 20

HeaderTest = Callable[[Sequence[str]], bool]


@dataclasses.dataclass(frozen=True)
class Note:
    """Something met while reading, located as precisely as the file allows; ``blocking`` when nothing usable came
    of the file (empty, unreadable) or of a row."""

    file: str
    sheet: str | None
    row: int | None
    value: str
    reason: str
    blocking: bool = False


@dataclasses.dataclass(frozen=True, eq=False)
class Sheet:
    """One grid of cells: a CSV file, or one sheet of a workbook (``name``; ``hidden`` when Excel hides it).

    ``rows`` are lists of cell texts as written (not stripped); ``first_row`` is the file or sheet row number of
    ``rows[0]`` (2 after a ``#TYPE`` line), so row ``i`` is row ``first_row + i`` for people.
    """

    file: str
    name: str | None
    rows: list[list[str]]
    first_row: int = 1
    hidden: bool = False

    def row_number(self, index: int) -> int:
        """The row number people see for ``rows[index]``."""
        return self.first_row + index


@dataclasses.dataclass(frozen=True)
class TableFile:
    """A file as read: ``format`` is ``csv`` (with the ``encoding`` it was decoded with), ``workbook``, or None
    when the file could not be read at all (a blocking note says why)."""

    file: str
    format: str | None
    sheets: tuple[Sheet, ...] = ()
    notes: tuple[Note, ...] = ()
    encoding: str | None = None

    @property
    def sheet_names(self) -> list[str]:
        return [s.name for s in self.sheets if s.name is not None]


def cell_text(value: object) -> str:
    """A workbook cell as text: numbers without a stray ``.0``, booleans as ``True``/``False``, dates in ISO 8601."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, (_dt.datetime, _dt.date, _dt.time)):
        return value.isoformat()
    return "" if value is None else str(value)


def find_header(rows: Sequence[Sequence[str]], is_header: HeaderTest, scan: int = HEADER_SCAN) -> int:
    """The index of the first of the first ``scan`` rows ``is_header`` accepts (blank rows skipped), or -1."""
    for index, row in enumerate(rows[:scan]):
        if any(c.strip() for c in row) and is_header(row):
            return index
    return -1


def is_workbook(path: Path) -> bool:
    """A workbook by its suffix, or (for a file not named as CSV) by its first bytes (zip or OLE2)."""
    suffix = path.suffix.lower()
    if suffix in BOOK_SUFFIXES:
        return True
    if suffix in CSV_SUFFIXES:
        return False
    with path.open("rb") as handle:
        magic = handle.read(4)
    return magic.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0"))


def read_table(path: str | Path, *, is_header: HeaderTest | None = None) -> TableFile:
    """Read a CSV file or every sheet of a workbook (see the module docstring).

    Args:
        path: the file.
        is_header: says whether a row is the header the caller looks for; it chooses a CSV file's delimiter (the
            one under which a header is found soonest). Without it, the commonest delimiter of the first line.
    """
    path = Path(path)
    try:
        if is_workbook(path):
            return _read_book(path)
        return _read_csv(path, is_header)
    except (OSError, csv.Error, UnicodeError, ValueError) as exc:
        return TableFile(str(path), None, notes=(Note(str(path), None, None, str(path), f"cannot read file: {exc}",
                                                      True),))


def _read_csv(path: Path, is_header: HeaderTest | None) -> TableFile:
    decoded = decode(path.read_bytes())
    file = str(path)
    notes: list[Note] = []

    def done(*sheets: Sheet) -> TableFile:
        return TableFile(file, "csv", sheets, tuple(notes), decoded.encoding)

    text = decoded.text.lstrip("\ufeff").rstrip("\x1a")  # (an old tool's Ctrl-Z end-of-file mark is no row)
    if decoded.cp1252_lines:
        lines = text.splitlines()
        for number in decoded.cp1252_lines[:_CP1252_SHOWN]:
            notes.append(Note(file, None, number, lines[number - 1][:200], _CP1252_NOTE))
        if len(decoded.cp1252_lines) > _CP1252_SHOWN:
            rest = decoded.cp1252_lines[_CP1252_SHOWN:]
            notes.append(Note(file, None, rest[0], f"lines {', '.join(map(str, rest[:10]))}"
                              + (", ..." if len(rest) > 10 else ""),
                              f"{len(rest)} more lines read as Windows-1252, as above"))  # fmt: skip
    if not text.strip():
        notes.append(Note(file, None, None, path.name, _EMPTY, True))
        return done()
    first_row = 1
    if text.startswith("#TYPE"):
        line = _FIRST_LINE.match(text)
        text = text[line.end() :] if line else ""
        first_row = 2
        if not text.strip():
            notes.append(Note(file, None, 1, path.name, _EMPTY_BUT_TYPE, True))
            return done()
    forced = None
    if text[:4].lower() == "sep=":  # Excel's "sep=;" hint line
        line = _FIRST_LINE.match(text)
        forced = text[4:5]
        text = text[line.end() :] if line else ""
        first_row += 1
    delimiter = forced or _delimiter(text, is_header)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        rows = list(reader)
    except csv.Error as exc:  # a cell past csv's field limit (131,072 characters), a NUL byte
        limit = csv.field_size_limit()
        why = (f"a cell longer than {limit:,} characters (no Exchange property holds that much)" if "field limit"
               in str(exc) else str(exc))  # fmt: skip
        notes.append(Note(file, None, first_row + reader.line_num - 1, path.name,
                          f"cannot read the file at this row: {why}; check the export", True))  # fmt: skip
        return done()
    return done(Sheet(file, None, rows, first_row))


def _delimiter(text: str, is_header: HeaderTest | None) -> str:
    head_lines = [line[:4096] for line in text.splitlines()[:HEADER_SCAN]]  # (enough to find the header)
    if is_header is not None:
        best: tuple[int, str] | None = None
        for delimiter in _DELIMITERS:
            index = find_header(list(csv.reader(head_lines, delimiter=delimiter)), is_header)
            if index >= 0 and (best is None or index < best[0]):
                best = (index, delimiter)
        if best is not None:
            return best[1]
    nonblank = next((line for line in head_lines if line.strip()), "")
    return max(_DELIMITERS, key=nonblank.count)


def _read_book(path: Path) -> TableFile:
    from python_calamine import CalamineWorkbook

    file = str(path)
    try:
        book = CalamineWorkbook.from_path(file)
        hidden = {m.name for m in getattr(book, "sheets_metadata", ())
                  if str(m.visible).rsplit(".", 1)[-1].lower() != "visible"}  # Hidden, VeryHidden
        sheets = []
        for name in book.sheet_names:
            grid = book.get_sheet_by_name(name).to_python(skip_empty_area=False)
            rows = [[v if v.__class__ is str else cell_text(v) for v in row] for row in grid]
            sheets.append(Sheet(file, name, rows, 1, name in hidden))
    except Exception as exc:  # calamine raises its own error types for corrupt workbooks
        if type(exc).__module__.split(".")[0] != "python_calamine":
            raise
        return TableFile(file, "workbook", notes=(Note(file, None, None, file, f"cannot read workbook: {exc}", True),))
    notes = ()
    if not any("".join(row).strip() for sheet in sheets for row in sheet.rows):
        notes = (Note(file, None, None, path.name, _EMPTY_BOOK, True),)
    return TableFile(file, "workbook", tuple(sheets), notes)
