"""From permission tables to resolved links: which rows are relationships, and between which mailboxes.

Each permission table kind has its own columns and its own non-relationships (SELF, Default, Anonymous, inherited,
Deny, "None" rights, rights that are not the one the export is about). Those are skipped and counted; names that
cannot be resolved are kept with their file/sheet/row/column so the planner can report them.
"""

from __future__ import annotations

import dataclasses
from collections import Counter

from hybridkit.batches._identity import SKIP_WORDS, Directory
from hybridkit.batches._model import Kind, Problem, Table
from hybridkit.batches._read import MAILBOX_ID_COLUMNS

__all__ = ["RIGHTS", "Links", "collect_links"]

FULLACCESS, SENDONBEHALF, SENDAS, CALENDAR, FOLDER = range(5)
RIGHTS = ("FullAccess", "SendOnBehalf", "SendAs", "Calendar", "Folder")
_PERMISSION_KINDS = (Kind.FULLACCESS, Kind.SENDAS, Kind.SENDONBEHALF, Kind.FOLDER, Kind.FASTTRACK)


@dataclasses.dataclass
class Links:
    """Resolved permission rows (parallel lists) plus what was skipped and what did not resolve."""

    mailbox: list[int] = dataclasses.field(default_factory=list)
    trustee: list[int] = dataclasses.field(default_factory=list)  # >= 0 a mailbox, < 0: -(1 + unresolved id)
    right: list[int] = dataclasses.field(default_factory=list)
    unresolved_names: dict[str, int] = dataclasses.field(default_factory=dict)  # lower-case name -> id
    unresolved_written: list[str] = dataclasses.field(default_factory=list)  # id -> name as first written
    # rows whose trustee did not resolve, reported unless the trustee is a super-connector:
    # (unresolved id, file, sheet, row, column, value, reason)
    pending: list[tuple[int, str, str | None, int, str, str, str]] = dataclasses.field(default_factory=list)
    skipped: Counter[str] = dataclasses.field(default_factory=Counter)
    rows: int = 0


# PowerShell's Export-Csv writes True/False whatever the culture; Excel, re-saving such a CSV, writes its boolean
# cells in its UI language (the words below: PhpSpreadsheet's locale tables, Calculation/locale/*/functions;
# Excel in Japanese, Chinese, Korean, Greek, Hebrew and Arabic keeps TRUE/FALSE). Compared in upper case.
_BOOLEANS: dict[str, bool] = {word: True for word in (
    "TRUE", "1", "YES", "Y", "WAHR", "VRAI", "VERDADERO", "VERO", "WAAR", "VERDADEIRO", "SANT", "SAND", "SANN",
    "TOSI", "PRAWDA", "PRAVDA", "IGAZ", "ИСТИНА", "DOĞRU",
)} | {word: False for word in (
    "FALSE", "0", "NO", "N", "", "FALSCH", "FAUX", "FALSO", "ONWAAR", "FALSKT", "FALSK", "USANN", "EPÄTOSI",
    "FAŁSZ", "NEPRAVDA", "HAMIS", "ЛОЖЬ", "YANLIŞ",
)}  # fmt: skip
_ACCESS_CONTROL = {"ALLOW": False, "DENY": True, "": False}  # Get-RecipientPermission's AccessControlType


def _flags(table: Table, key: str, words: dict[str, bool], problems: list[Problem]) -> list[bool]:
    """A True/False column as booleans; each distinct value it cannot read is a blocking problem (first row)."""
    values = table.columns.get(key)
    if values is None:
        return [False] * len(table)
    lookup: dict[str, bool] = {}
    for value in set(values):
        found = words.get(value.upper())
        if found is None:
            first = values.index(value)
            count = values.count(value)
            header = table.headers.get(key, key)
            expected = "Allow or Deny" if words is _ACCESS_CONTROL else "True or False (or Excel's word for them)"
            more = f" ({count} rows)" if count > 1 else ""
            problems.append(Problem(table.file, table.sheet, table.rows[first], header, value,
                                    f"{header} must be {expected}; cannot tell whether this row is a permission"
                                    f"{more}", True))  # fmt: skip
            found = True  # planning stops on the problem; validation should not list the row again as unresolved
        lookup[value] = found
    return list(map(lookup.__getitem__, values))


def _fasttrack_right(text: str) -> int | None:
    low = text.lower().replace(" ", "").replace("-", "")
    if "fullaccess" in low:
        return FULLACCESS
    if "sendas" in low:
        return SENDAS
    if "behalf" in low:
        return SENDONBEHALF
    if "calendar" in low:
        return CALENDAR
    if "folder" in low:
        return FOLDER
    return None


def _split_delegates(value: str, resolve_ok: bool) -> list[str]:
    if ";" in value:
        return [v for v in (p.strip() for p in value.split(";")) if v]
    if "," in value and not resolve_ok:
        return [v for v in (p.strip() for p in value.split(",")) if v]
    return [value] if value else []


def collect_links(tables: list[Table], directory: Directory, problems: list[Problem]) -> Links:
    """Resolve every permission row of every permission table (the hot loop of planning)."""
    links = Links()
    for table in tables:
        if table.kind in _PERMISSION_KINDS:
            _collect_table(table, directory, links, problems)
    return links


def _columns(table: Table) -> tuple[str, str]:
    cols = table.columns
    if table.kind is Kind.SENDONBEHALF:
        return next(c for c in MAILBOX_ID_COLUMNS if c in cols), "grantsendonbehalfto"
    return ("mailbox" if "mailbox" in cols else "identity"), ("trustee" if "trustee" in cols and "user" not in cols
                                                            else "user")  # fmt: skip


_LOST = "rights lost in the export"
_TYPE_PREFIXES = ("System.", "Deserialized.", "Microsoft.Exchange.")


def _type_name(value: str) -> bool:
    """``System.Collections.ArrayList`` and the like: what Export-Csv writes for a collection it cannot flatten."""
    return value.startswith(_TYPE_PREFIXES) or "`1[" in value


def _rights(table: Table, mboxes: list[str], problems: list[Problem]) -> list[int | str]:
    """Per row: the right code, or the reason the row is not a relationship (computed once per distinct value)."""
    cols, kind, n = table.columns, table.kind, len(table)
    column = "extendedrights" if cols.get("extendedrights") else "accessrights"
    rights = cols.get(column) or [""] * n
    bad = {r for r in set(rights) if _type_name(r)}  # few distinct values: checked once each
    if bad:
        lost = next(i for i, r in enumerate(rights) if r in bad)
        # Export-Csv of a remote session's objects writes the collection's .NET type name instead of the rights
        header = table.headers.get(column, column)
        problems.append(Problem(table.file, table.sheet, table.rows[lost], header, rights[lost],
                                f"the export lost the rights: {header} holds a .NET type name, not the rights. "
                                f"Export again with @{{n='{header}';e={{$_.{header} -join ','}}}} in Select-Object",
                                True))  # fmt: skip
        rights = [_LOST if r in bad else r for r in rights]
    if kind is Kind.FOLDER:
        folder = cols.get("foldername") or [""] * n
        rights = [f"{r}\0{f or m.rpartition(chr(92))[2]}" for r, f, m in zip(rights, folder, mboxes)]
    lookup = {value: _LOST if value.startswith(_LOST) else _right_of(kind, value) for value in set(rights)}
    return list(map(lookup.__getitem__, rights))


def _collect_table(  # noqa: C901 - one flat hot loop is faster than helpers per row
    table: Table, directory: Directory, links: Links, problems: list[Problem]
) -> None:
    cols = table.columns
    n = len(table)
    links.rows += n
    mcol, tcol = _columns(table)
    mboxes, trustees = cols[mcol], cols[tcol]
    inherited = _flags(table, "isinherited", _BOOLEANS, problems)
    if "deny" in cols or "accesscontroltype" not in cols:
        deny = _flags(table, "deny", _BOOLEANS, problems)
    else:  # Get-RecipientPermission: AccessControlType Allow/Deny instead of a Deny column
        deny = _flags(table, "accesscontroltype", _ACCESS_CONTROL, problems)
    codes = _rights(table, mboxes, problems)
    resolved_m = directory.resolve_all(mboxes)
    if table.kind is Kind.SENDONBEHALF:
        lost = next((i for i, t in enumerate(trustees) if _type_name(t)), None)
        if lost is not None:  # Export-Csv of GrantSendOnBehalfTo without joining it
            header = table.headers.get(tcol, tcol)
            problems.append(Problem(table.file, table.sheet, table.rows[lost], header, trustees[lost],
                                    f"the export lost the delegates: {header} holds a .NET type name. Export again "
                                    f"with @{{n='{header}';e={{$_.{header} -join ';'}}}} in Select-Object", True))
            trustees = ["" if _type_name(t) else t for t in trustees]
        resolved_t: list[int | str] = [-1] * n  # several delegates per cell: resolved row by row below
    else:
        resolved_t = directory.resolve_all(trustees)
    skipped = links.skipped
    out_m, out_t, out_r = links.mailbox, links.trustee, links.right
    names, written, pending = links.unresolved_names, links.unresolved_written, links.pending
    where = (table.file, table.sheet)
    mhead, thead = table.headers.get(mcol, mcol), table.headers.get(tcol, tcol)
    skip_words = SKIP_WORDS
    n_inherited = n_deny = n_self = 0
    for i, (inh, den, right, t, m) in enumerate(zip(inherited, deny, codes, resolved_t, resolved_m)):
        if inh:
            n_inherited += 1
            continue
        if den:
            n_deny += 1
            continue
        if right.__class__ is str:
            skipped[right] += 1  # type: ignore[index]
            continue
        if table.kind is Kind.SENDONBEHALF:
            value = trustees[i]
            values = _split_delegates(value, directory.resolve(value).__class__ is int)
            targets = [(v, directory.resolve(v)) for v in values]
        else:
            targets = [(trustees[i], t)]
        kept = []
        for value, t in targets:
            if t in skip_words:
                skipped[t] += 1  # type: ignore[index]
            else:
                kept.append((value, t))
        if not kept:
            continue
        if m.__class__ is not int:
            reason = f"not a mailbox name ({m})" if m in skip_words else m
            problems.append(Problem(*where, table.rows[i], mhead, mboxes[i], f"mailbox: {reason}"))
            continue
        for value, t in kept:
            if t.__class__ is str:
                key = value.strip().lower()
                uid = names.get(key)
                if uid is None:
                    uid = names[key] = len(written)
                    written.append(value.strip())
                pending.append((uid, where[0], where[1], table.rows[i], thead, value, t))  # type: ignore[arg-type]
                t = -1 - uid
            elif t == m:
                n_self += 1
                continue
            out_m.append(m)
            out_t.append(t)  # type: ignore[arg-type]
            out_r.append(right)  # type: ignore[arg-type]
    for word, count in (("inherited", n_inherited), ("deny", n_deny), ("self", n_self)):
        if count:
            skipped[word] += count


def _right_of(kind: Kind, key: str) -> int | str:
    """The right a row grants (a code), or why the row is not a relationship (a skip reason)."""
    rights, _, folder = key.partition("\0")
    flat = rights.replace(" ", "").replace("-", "").lower()
    if kind is Kind.FULLACCESS:
        return FULLACCESS if not rights or "fullaccess" in flat else "other rights"
    if kind is Kind.SENDAS:
        return SENDAS if not rights or "sendas" in flat else "other rights"
    if kind is Kind.FOLDER:
        if flat in ("none", "{none}"):
            return "no rights"
        return CALENDAR if "calendar" in folder.lower() else FOLDER
    if kind is Kind.SENDONBEHALF:
        return SENDONBEHALF
    found = _fasttrack_right(rights)
    return "other rights" if found is None else found
