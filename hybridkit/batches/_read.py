"""Reading exports as Exchange, PowerShell and Excel really write them.

CSV: UTF-8 with or without BOM, UTF-16 (``Out-File``), Windows-1252, or UTF-8 with a few Windows-1252 lines
(:mod:`._decode`); a ``#TYPE`` first line; CRLF, LF or CR line ends; comma, semicolon or tab delimiters; title rows
above the header; blank rows; stray spaces. Workbooks (read with python-calamine, the fastest reader available):
every visible sheet, same rules (a hidden sheet only when ``kind`` names it). Each file or sheet is recognised by its
header unless ``kind`` forces it. An empty file is a blocking problem: Export-Csv leaves one when nothing reached it.

Nothing here raises for bad input: every problem becomes a :class:`Problem` (blocking or not) in the result.
"""

from __future__ import annotations

import csv
import datetime as _dt
import io
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from hybridkit.batches._decode import decode
from hybridkit.batches._model import InputFile, Kind, PlanInputs, Problem, Table

__all__ = ["load_inputs", "normalise_header", "recognise"]

_ALIASES = {
    "emailaddress": "primarysmtpaddress",
    "primarysmtp": "primarysmtpaddress",
    "smtpaddress": "primarysmtpaddress",
    "upn": "userprincipalname",
    "sam": "samaccountname",
    "dn": "distinguishedname",
    "migrationwave": "wave",
    "migrationbatch": "batch",
    "batchname": "batch",
}
SIZE_COLUMNS = (
    "totalitemsize",
    "totalitemsizebytes",
    "sizebytes",
    "bytes",
    "totalitemsizemb",
    "sizemb",
    "totalitemsizegb",
    "sizegb",
)
MAILBOX_ID_COLUMNS = ("primarysmtpaddress", "mailbox", "identity", "userprincipalname", "alias", "displayname")
_INVENTORY_ONLY = {"alias", "userprincipalname", "samaccountname", "recipienttypedetails", "distinguishedname"}
_KNOWN = set(SIZE_COLUMNS) | set(MAILBOX_ID_COLUMNS) | _INVENTORY_ONLY | {
    "database", "department", "office", "wave", "batch", "name", "user", "trustee", "accessrights", "extendedrights",
    "isinherited", "deny", "accesscontroltype", "grantsendonbehalfto", "foldername",
}  # fmt: skip
_REQUIRED: dict[Kind, tuple[tuple[str, ...], ...]] = {
    Kind.MAILBOXES: (("primarysmtpaddress",),),
    Kind.SIZES: (MAILBOX_ID_COLUMNS, SIZE_COLUMNS),
    Kind.FULLACCESS: (("identity", "mailbox"), ("user",)),
    Kind.SENDAS: (("identity", "mailbox"), ("user", "trustee")),
    Kind.SENDONBEHALF: (MAILBOX_ID_COLUMNS, ("grantsendonbehalfto",)),
    Kind.FOLDER: (("identity", "mailbox"), ("user",)),
    Kind.FASTTRACK: (("mailbox",), ("user",), ("accessrights",)),
}
_HEADER_SCAN = 30
_CSV_SUFFIXES = {".csv", ".txt", ".tsv"}
_BOOK_SUFFIXES = {".xlsx", ".xlsm", ".xlsb", ".xls", ".ods"}


def normalise_header(text: str) -> str:
    """``" Primary SMTP Address "`` -> ``"primarysmtpaddress"`` (then known synonyms)."""
    key = re.sub(r"[^a-z0-9]", "", text.lower())
    return _ALIASES.get(key, key)


def recognise(keys: Iterable[str]) -> Kind | None:
    """The kind of table a set of normalised header names stands for, or ``None``."""
    k = set(keys)
    has_mailbox = bool(k & {"identity", "mailbox"})
    if "grantsendonbehalfto" in k and k & set(MAILBOX_ID_COLUMNS):
        return Kind.SENDONBEHALF
    if "foldername" in k and "user" in k and has_mailbox:
        return Kind.FOLDER
    if has_mailbox and ("extendedrights" in k and "user" in k or "trustee" in k):
        return Kind.SENDAS
    if "identity" in k and "user" in k:
        return Kind.FULLACCESS
    if {"mailbox", "user", "accessrights"} <= k:
        return Kind.FASTTRACK
    sizes = bool(k & set(SIZE_COLUMNS))
    if "primarysmtpaddress" in k and (k & _INVENTORY_ONLY or not sizes):
        return Kind.MAILBOXES
    if sizes and k & set(MAILBOX_ID_COLUMNS):
        return Kind.SIZES
    return None


_HINTS: dict[Kind, frozenset[str]] = {  # columns that say which export a header was meant to be
    Kind.MAILBOXES: frozenset({"displayname", "alias", "userprincipalname", "samaccountname", "recipienttypedetails",
                               "database"}),
    Kind.SIZES: frozenset(SIZE_COLUMNS) | {"itemcount"},
    Kind.FULLACCESS: frozenset({"accessrights", "isinherited", "deny"}),
    Kind.SENDAS: frozenset({"extendedrights", "trustee", "accesscontroltype"}),
    Kind.SENDONBEHALF: frozenset({"grantsendonbehalfto"}),
    Kind.FOLDER: frozenset({"foldername", "accessrights"}),
    Kind.FASTTRACK: frozenset({"mailbox", "accessrights"}),
}


_PRETTY = {c.lower(): c for c in (
    "PrimarySmtpAddress", "Mailbox", "Identity", "User", "Trustee", "AccessRights", "GrantSendOnBehalfTo",
    "TotalItemSize", "TotalItemSizeBytes", "SizeBytes",
)}  # fmt: skip


def _closest(keys: set[str]) -> str:
    """For an unrecognised header: the export it looks most like and the columns it lacks ("" if none fits)."""
    best: tuple[int, int, Kind] | None = None
    for kind, groups in _REQUIRED.items():
        missing = sum(not keys & set(group) for group in groups)
        hints = len(keys & _HINTS[kind])
        if missing and hints and (best is None or (-hints, missing) < (-best[0], best[1])):
            best = (hints, missing, kind)
    if best is None:
        return ""
    kind = best[2]
    lacking = [" or ".join(_PRETTY.get(c, c) for c in group[:3]) for group in _REQUIRED[kind] if not keys & set(group)]
    return f"; it looks like a {kind.value} export without a {', '.join(lacking)} column"


def _has_required(kind: Kind, keys: set[str]) -> bool:
    return all(keys & set(group) for group in _REQUIRED[kind])


def _find_header(rows: Sequence[Sequence[str]], kind: Kind | None) -> tuple[int, Kind | None]:
    """Index of the header row among the first rows (title rows above it are skipped) and its kind."""
    for index, row in enumerate(rows[:_HEADER_SCAN]):
        keys = {normalise_header(c) for c in row if c}
        if not keys:
            continue
        if kind is not None:
            if _has_required(kind, keys):
                return index, kind
        else:
            found = recognise(keys)
            if found is not None:
                return index, found
    return -1, None


def _cell(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, (_dt.datetime, _dt.date, _dt.time)):
        return value.isoformat()
    return "" if value is None else str(value)


def _table(
    file: str, sheet: str | None, rows: list[list[str]], kind: Kind | None, first_row: int, problems: list[Problem]
) -> Table | None:
    """Cut a grid of cells into a Table, or record why not. ``first_row`` is the file row number of ``rows[0]``."""
    header_index, found = _find_header(rows, kind)
    if found is None:
        if any("".join(r).strip() for r in rows[:_HEADER_SCAN]):
            wanted = f"the columns a {kind.value} export needs" if kind else "a header this tool recognises"
            first = next(r for r in rows if "".join(r).strip())
            if kind is None:
                wanted += _closest({normalise_header(c) for c in first if c})
            problems.append(
                Problem(file, sheet, None, None, ", ".join(c for c in first if c)[:200],
                        f"no row with {wanted} (use --kind to say what it is)", blocking=sheet is None)
            )  # fmt: skip
        return None
    header = rows[header_index]
    positions: dict[str, int] = {}
    headers: dict[str, str] = {}
    for position, text in enumerate(header):
        key = normalise_header(text)
        if key in _KNOWN and key not in positions:
            positions[key] = position
            headers[key] = text.strip()
    data = rows[header_index + 1 :]
    start = first_row + header_index + 1
    # blank rows, and the header or "#TYPE" line repeated by exports appended with `Out-File -Append`
    again = [c.strip() for c in header]
    first = again[0] if again else ""
    keep = [i for i, r in enumerate(data) if "".join(r).strip() and not (
        r[0].startswith("#TYPE") or (r[0].strip() == first and [c.strip() for c in r] == again))]
    if len(keep) != len(data):
        data = [data[i] for i in keep]
    columns: dict[str, list[str]] = {}
    for key, position in positions.items():
        try:
            columns[key] = [r[position].strip() for r in data]
        except IndexError:
            columns[key] = [r[position].strip() if len(r) > position else "" for r in data]
    return Table(file, sheet, found, columns, headers, [start + i for i in keep])


_FIRST_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n|$)")  # CRLF, LF or CR alone (Excel for Mac's "CSV (Macintosh)")
_EMPTY = ("the file is empty: no header and no rows (Export-Csv leaves an empty file when nothing reached it; "
          "check the export and run it again)")  # fmt: skip


_CP1252_NOTE = ("not valid UTF-8 although the rest of the file is: this line alone was read as Windows-1252 "
                "(edited in another program?); check its accented letters")  # fmt: skip
_CP1252_SHOWN = 20


def _read_csv(path: Path, kind: Kind | None, problems: list[Problem], files: list[InputFile]) -> list[Table]:
    decoded = decode(path.read_bytes())
    files.append(InputFile(str(path), "csv", decoded.encoding))
    text = decoded.text.lstrip("\ufeff").rstrip("\x1a")  # (an old tool's Ctrl-Z end-of-file mark is no row)
    if decoded.cp1252_lines:
        lines = text.splitlines()
        for number in decoded.cp1252_lines[:_CP1252_SHOWN]:
            problems.append(Problem(str(path), None, number, None, lines[number - 1][:200], _CP1252_NOTE))
        if len(decoded.cp1252_lines) > _CP1252_SHOWN:
            rest = decoded.cp1252_lines[_CP1252_SHOWN:]
            problems.append(Problem(str(path), None, rest[0], None, f"lines {', '.join(map(str, rest[:10]))}"
                                    + (", ..." if len(rest) > 10 else ""),
                                    f"{len(rest)} more lines read as Windows-1252, as above"))  # fmt: skip
    if not text.strip():
        problems.append(Problem(str(path), None, None, None, path.name, _EMPTY, True))
        return []
    first_row = 1
    if text.startswith("#TYPE"):
        line = _FIRST_LINE.match(text)
        text = text[line.end() :] if line else ""
        first_row = 2
        if not text.strip():
            problems.append(Problem(str(path), None, 1, None, path.name, "the file is empty but for its #TYPE line: no "
                                    "header and no rows; check the export and run it again", True))  # fmt: skip
            return []
    forced_delimiter = None
    if text[:4].lower() == "sep=":  # Excel's "sep=;" hint line
        line = _FIRST_LINE.match(text)
        forced_delimiter = text[4:5]
        text = text[line.end() :] if line else ""
        first_row += 1
    head_lines = [line[:4096] for line in text.splitlines()[:_HEADER_SCAN]]  # (enough to find the header)
    best: tuple[int, str] | None = None
    for delimiter in (forced_delimiter,) if forced_delimiter else (",", ";", "\t"):
        sample = list(csv.reader(head_lines, delimiter=delimiter))
        index, found = _find_header(sample, kind)
        if found is not None and (best is None or index < best[0]):
            best = (index, delimiter)
    if best is None:
        nonblank = next((line for line in head_lines if line.strip()), "")
        delimiter = max((",", ";", "\t"), key=nonblank.count)
    else:
        delimiter = best[1]
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        rows = list(reader)
    except csv.Error as exc:  # a cell past csv's field limit (131,072 characters), a NUL byte
        limit = csv.field_size_limit()
        why = (f"a cell longer than {limit:,} characters (no Exchange property holds that much)" if "field limit"
               in str(exc) else str(exc))  # fmt: skip
        problems.append(Problem(str(path), None, first_row + reader.line_num - 1, None, path.name,
                                f"cannot read the file at this row: {why}; check the export", True))  # fmt: skip
        return []
    table = _table(str(path), None, rows, kind, first_row, problems)
    return [table] if table is not None else []


def _read_book(
    path: Path, kind: Kind | None, problems: list[Problem], files: list[InputFile],
    kinds: Mapping[str, Kind] | None = None,
) -> list[Table]:  # fmt: skip
    from python_calamine import CalamineWorkbook

    files.append(InputFile(str(path), "workbook"))
    book = CalamineWorkbook.from_path(str(path))
    tables: list[Table] = []
    filled = 0
    for key in kinds or {}:
        head, sep, sheet = key.rpartition(":")
        if sep and head in (str(path), path.name) and sheet not in book.sheet_names:
            problems.append(Problem(str(path), sheet, None, None, key,
                                    f"--kind names no sheet of this workbook (its sheets: "
                                    f"{', '.join(book.sheet_names)})", True))  # fmt: skip
    hidden = {m.name for m in getattr(book, "sheets_metadata", ())
              if str(m.visible).rsplit(".", 1)[-1].lower() != "visible"}  # Hidden, VeryHidden
    for name in book.sheet_names:
        grid = book.get_sheet_by_name(name).to_python(skip_empty_area=False)
        rows = [[v if v.__class__ is str else _cell(v) for v in row] for row in grid]
        filled += any("".join(row).strip() for row in rows)
        named = next((kinds[k] for k in (f"{path}:{name}", f"{path.name}:{name}") if kinds and k in kinds), None)
        if name in hidden and named is None:  # stale data nobody looking at the workbook sees: not read unasked
            if any("".join(row).strip() for row in rows):
                problems.append(Problem(str(path), name, None, None, name, "hidden sheet not read; to read it, "
                                        f"unhide it or give --kind '{path.name}:{name}=KIND'"))  # fmt: skip
            continue
        sheet_kind = named or kind
        table = _table(str(path), name, rows, sheet_kind, 1, problems)
        if table is not None:
            tables.append(table)
    if not filled:
        problems.append(Problem(str(path), None, None, None, path.name, "every sheet of the workbook is empty: no "
                                "header and no rows; check the export", True))  # fmt: skip
    return tables


def _kind_for(path: Path, kinds: Mapping[str, Kind]) -> Kind | None:
    for key in (str(path), path.name, path.stem, "*"):
        if key in kinds:
            return kinds[key]
    return None


def load_inputs(paths: Iterable[str | Path], kind: Kind | str | Mapping[str, Kind | str] | None = None) -> PlanInputs:
    """Read every file (every sheet of a workbook) and recognise what each holds.

    Args:
        paths: CSV files and workbooks, in any mix.
        kind: force a kind for every input (``"fullaccess"``), or per file as a mapping of path, file name or stem
            to kind (``"*"`` for the rest; ``"book.xlsx:Sheet"`` for one sheet); otherwise each file or sheet is
            recognised by its header.

    Returns:
        The recognised tables and the problems met (an unreadable file or an unrecognised CSV is blocking).
    """
    if kind is None:
        kinds: dict[str, Kind] = {}
    elif isinstance(kind, Mapping):
        kinds = {k: Kind(v) for k, v in kind.items()}
    else:
        kinds = {"*": Kind(kind)}
    tables: list[Table] = []
    problems: list[Problem] = []
    files: list[InputFile] = []
    seen: dict[Path, Path] = {}
    for raw in paths:
        path = Path(raw)
        first = seen.setdefault(path.resolve(), path)
        if first is not path:  # `inv/*.csv inv/mailboxes.csv`: every mailbox would be a duplicate
            problems.append(Problem(str(path), None, None, None, str(path),
                                    f"given twice (also as {first}): read once"))  # fmt: skip
            continue
        forced = _kind_for(path, kinds)
        try:
            with path.open("rb") as handle:
                magic = handle.read(4)
            is_book = path.suffix.lower() in _BOOK_SUFFIXES or (
                path.suffix.lower() not in _CSV_SUFFIXES and magic.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0"))
            )
            if is_book:
                tables.extend(_read_book(path, forced, problems, files, kinds))
            else:
                tables.extend(_read_csv(path, forced, problems, files))
        except (OSError, csv.Error, UnicodeError, ValueError) as exc:
            problems.append(Problem(str(path), None, None, None, str(path), f"cannot read file: {exc}", True))
        except Exception as exc:  # calamine raises its own error types for corrupt workbooks
            if type(exc).__module__.split(".")[0] != "python_calamine":
                raise
            problems.append(Problem(str(path), None, None, None, str(path), f"cannot read workbook: {exc}", True))
        if not files or files[-1].file != str(path):
            files.append(InputFile(str(path), None))
    return PlanInputs(tuple(tables), tuple(problems), tuple(files))
