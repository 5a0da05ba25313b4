"""Value objects of batch planning: what was read, what was asked, what was decided.

Everything here is a frozen dataclass or an enum; nothing does IO.
"""

from __future__ import annotations

import dataclasses
import enum
from typing import Any

from hybridkit.errors import InputError

__all__ = [
    "BatchInputError",
    "Batch",
    "BatchPlan",
    "CrossLink",
    "ExcludedTrustee",
    "InputFile",
    "Kind",
    "Placement",
    "PlanInputs",
    "PlanOptions",
    "Problem",
    "Table",
    "format_gb",
    "name_list",
]


def name_list(names: list[str] | tuple[str, ...], shown: int = 5) -> str:
    """``"a, b, c"`` or, past ``shown`` names, ``"a, b, c, d, e and 7 more"`` (for one-line messages)."""
    head = ", ".join(names[:shown])
    return head if len(names) <= shown else f"{head} and {len(names) - shown} more"


def format_gb(size_bytes: float) -> str:
    """Bytes as people read them in plans: ``"120.0 GB"`` (Exchange's 1024-based units)."""
    return f"{size_bytes / 1024**3:,.1f} GB"


class Kind(str, enum.Enum):
    """What an input file or sheet holds, recognised from its header (or forced with ``--kind``)."""

    MAILBOXES = "mailboxes"
    SIZES = "sizes"
    FULLACCESS = "fullaccess"
    SENDAS = "sendas"
    SENDONBEHALF = "sendonbehalf"
    FOLDER = "folder"
    FASTTRACK = "fasttrack"


@dataclasses.dataclass(frozen=True)
class Problem:
    """One thing wrong or unresolvable in the input, located as precisely as the input allows.

    ``blocking`` problems stop planning (exit 2); the others are reported in ``unresolved``.
    """

    file: str
    sheet: str | None
    row: int | None
    column: str | None
    value: str
    reason: str
    blocking: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "sheet": self.sheet,
            "row": self.row,
            "column": self.column,
            "value": self.value,
            "reason": self.reason,
        }


class BatchInputError(InputError):
    """The inputs have blocking problems; ``problems`` lists every one (blocking and not)."""

    def __init__(self, problems: list[Problem]) -> None:
        blocking = [p for p in problems if p.blocking]
        first = blocking[0] if blocking else None
        message = f"{len(blocking)} blocking input problem(s)"
        if first is not None:
            message += f"; first: {first.reason} ({first.value!r})"
        super().__init__(
            message,
            file=first.file if first else None,
            sheet=first.sheet if first else None,
            row=first.row if first else None,
            column=first.column if first else None,
        )
        self.problems = problems


@dataclasses.dataclass(frozen=True, eq=False)
class Table:
    """One recognised file or sheet: its kind and its cells, column by column, already stripped.

    ``columns`` maps a canonical column name (lower case, no spaces: ``primarysmtpaddress``) to one string per data
    row; ``headers`` maps the same key to the header exactly as written (for reports); ``rows`` holds the 1-based
    row number in the file or sheet of each data row.
    """

    file: str
    sheet: str | None
    kind: Kind
    columns: dict[str, list[str]]
    headers: dict[str, str]
    rows: list[int]

    def __len__(self) -> int:
        return len(self.rows)

    def __bool__(self) -> bool:  # a header-only table is still a table
        return True


@dataclasses.dataclass(frozen=True)
class InputFile:
    """One input file as read: ``csv`` with the encoding it was decoded with, ``workbook`` (no encoding), or
    ``None`` for a file that could not be read at all (its problem says why)."""

    file: str
    format: str | None
    encoding: str | None = None


@dataclasses.dataclass(frozen=True)
class PlanInputs:
    """Everything read from the input files: recognised tables, the files, the problems found while reading."""

    tables: tuple[Table, ...]
    problems: tuple[Problem, ...] = ()
    files: tuple[InputFile, ...] = ()


@dataclasses.dataclass(frozen=True)
class PlanOptions:
    """What the planner is asked for (the ``batches plan`` options)."""

    max_mailboxes: int | None = 500
    max_gb: float | None = None
    super_connector_degree: int = 50
    exclude_trustees: tuple[str, ...] = ()
    source_version: int = 2016
    name_prefix: str = "Batch"

    @property
    def max_bytes(self) -> int | None:
        return None if self.max_gb is None else int(self.max_gb * 1024**3)

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self) | {"exclude_trustees": list(self.exclude_trustees)}


@dataclasses.dataclass(frozen=True)
class Batch:
    """One migration batch: its stable name, its mailboxes (primary SMTP, lower case) and total size."""

    name: str
    mailboxes: tuple[str, ...]
    size_bytes: int
    pinned: bool = False
    without_size: int = 0  # mailboxes counted as 0 bytes because no size was found for them


@dataclasses.dataclass(frozen=True)
class Placement:
    """Where one mailbox goes and why."""

    mailbox: str
    display_name: str
    batch: str
    size_bytes: int
    reason: str
    size_known: bool = True


@dataclasses.dataclass(frozen=True)
class CrossLink:
    """A permission whose two ends land in different batches."""

    mailbox: str
    trustee: str
    right: str
    strength: str
    mailbox_batch: str
    trustee_batch: str

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class ExcludedTrustee:
    """A super-connector: its links never glue mailboxes together."""

    trustee: str
    reason: str
    mailbox_count: int

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class BatchPlan:
    """The result of ``plan_batches``: batches, placements with reasons, crossings, problems, summary."""

    batches: tuple[Batch, ...]
    placements: tuple[Placement, ...]
    cross_batch_links: tuple[CrossLink, ...]
    unresolved: tuple[Problem, ...]
    excluded_trustees: tuple[ExcludedTrustee, ...]
    summary: dict[str, Any]
    warnings: tuple[str, ...] = ()
    mailboxes_without_size: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The ``plan.json`` document (stable schema; sizes in bytes, ``warnings`` a list of sentences)."""
        return {
            "batches": [
                {"name": b.name, "mailboxes": list(b.mailboxes), "size_bytes": b.size_bytes,
                 "mailboxes_without_size": b.without_size}
                for b in self.batches
            ],  # fmt: skip
            "cross_batch_links": [c.to_json() for c in self.cross_batch_links],
            "unresolved": [p.to_json() for p in self.unresolved],
            "excluded_trustees": [e.to_json() for e in self.excluded_trustees],
            "mailboxes_without_size": list(self.mailboxes_without_size),
            "summary": self.summary,
            "warnings": list(self.warnings),
        }
