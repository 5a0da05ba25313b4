"""Reading exports as Exchange, PowerShell and Excel really write them, and recognising what each holds.

Files are read by ``hybridkit.tables.read_table`` (every encoding, delimiter and line end those write; a ``#TYPE``
first line; workbooks through python-calamine). Here: title rows above the header; blank rows; stray spaces; every
visible sheet of a workbook (a hidden sheet only when ``kind`` names it). Each file or sheet is recognised by its
header unless ``kind`` forces it. An empty file is a blocking problem: Export-Csv leaves one when nothing reached it.

Nothing here raises for bad input: every problem becomes a :class:`Problem` (blocking or not) in the result.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from hybridkit.batches._model import InputFile, Kind, PlanInputs, Problem, Table
from hybridkit.tables import HEADER_SCAN, Note, Sheet, read_table

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
_HEADER_SCAN = HEADER_SCAN


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


def _header_kind(row: Sequence[str], kind: Kind | None) -> Kind | None:
    """The kind of export ``row`` is the header of (``kind`` itself when forced and its columns are there)."""
    keys = {normalise_header(c) for c in row if c}
    if not keys:
        return None
    if kind is not None:
        return kind if _has_required(kind, keys) else None
    return recognise(keys)


def _find_header(rows: Sequence[Sequence[str]], kind: Kind | None) -> tuple[int, Kind | None]:
    """Index of the header row among the first rows (title rows above it are skipped) and its kind."""
    for index, row in enumerate(rows[:_HEADER_SCAN]):
        found = _header_kind(row, kind)
        if found is not None:
            return index, found
    return -1, None


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


def _problem(note: Note) -> Problem:
    return Problem(note.file, note.sheet, note.row, None, note.value, note.reason, note.blocking)


def _csv_tables(sheet: Sheet, kind: Kind | None, problems: list[Problem]) -> list[Table]:
    table = _table(sheet.file, None, sheet.rows, kind, sheet.first_row, problems)
    return [table] if table is not None else []


def _book_tables(
    path: Path, sheets: Sequence[Sheet], kind: Kind | None, problems: list[Problem],
    kinds: Mapping[str, Kind] | None = None,
) -> list[Table]:  # fmt: skip
    names = [s.name for s in sheets]
    for key in kinds or {}:
        head, sep, sheet = key.rpartition(":")
        if sep and head in (str(path), path.name) and sheet not in names:
            problems.append(Problem(str(path), sheet, None, None, key,
                                    f"--kind names no sheet of this workbook (its sheets: "
                                    f"{', '.join(str(n) for n in names)})", True))  # fmt: skip
    tables: list[Table] = []
    for sheet in sheets:
        name = str(sheet.name)
        named = next((kinds[k] for k in (f"{path}:{name}", f"{path.name}:{name}") if kinds and k in kinds), None)
        if sheet.hidden and named is None:  # stale data nobody looking at the workbook sees: not read unasked
            if any("".join(row).strip() for row in sheet.rows):
                problems.append(Problem(str(path), name, None, None, name, "hidden sheet not read; to read it, "
                                        f"unhide it or give --kind '{path.name}:{name}=KIND'"))  # fmt: skip
            continue
        table = _table(str(path), name, sheet.rows, named or kind, sheet.first_row, problems)
        if table is not None:
            tables.append(table)
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
        read = read_table(path, is_header=lambda row, forced=forced: _header_kind(row, forced) is not None)
        files.append(InputFile(str(path), read.format, read.encoding))
        blocking = [_problem(n) for n in read.notes if n.blocking]
        problems.extend(_problem(n) for n in read.notes if not n.blocking)  # (lines read as Windows-1252)
        if read.format == "workbook":
            tables.extend(_book_tables(path, read.sheets, forced, problems, kinds))
        else:
            for sheet in read.sheets:
                tables.extend(_csv_tables(sheet, forced, problems))
        problems.extend(blocking)  # (an empty or unreadable file: after what was read, as a workbook's sheets)
    return PlanInputs(tuple(tables), tuple(problems), tuple(files))
