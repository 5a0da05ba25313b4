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
    "PlanLayout",
    "PlanOptions",
    "Problem",
    "SERVICE_BATCH_LIMIT",
    "Table",
    "Wave",
    "format_gb",
    "name_list",
]


SERVICE_BATCH_LIMIT = 100  # Exchange Online: at most 100 migration batches at once (Get-MigrationConfig)


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
    sync_batches: int | None = None  # pack the waves into at most this many sync batches (None: only if needed)

    @property
    def max_bytes(self) -> int | None:
        return None if self.max_gb is None else int(self.max_gb * 1024**3)

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self) | {"exclude_trustees": list(self.exclude_trustees)}


@dataclasses.dataclass(frozen=True)
class Batch:
    """One migration batch: its stable name, its mailboxes (primary SMTP, lower case) and total size.

    In a plan, ``batches`` are the migration batches to create (the sync batches); ``waves`` names the completion
    waves a batch holds (empty when read from a plan.json written before waves: then the batch is its own wave).
    """

    name: str
    mailboxes: tuple[str, ...]
    size_bytes: int
    pinned: bool = False
    without_size: int = 0  # mailboxes counted as 0 bytes because no size was found for them
    waves: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class Wave:
    """One completion wave: mailboxes linked by permissions that complete together, and the sync batch they
    sync in (a wave is never split across sync batches)."""

    name: str
    mailboxes: tuple[str, ...]
    sync_batch: str
    size_bytes: int = 0
    pinned: bool = False
    without_size: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "sync_batch": self.sync_batch, "mailboxes": list(self.mailboxes),
                "size_bytes": self.size_bytes, "mailboxes_without_size": self.without_size}


@dataclasses.dataclass(frozen=True)
class Placement:
    """Where one mailbox goes and why: ``batch`` is its completion wave, ``sync_batch`` the migration batch it
    syncs in (the same name unless the plan packs waves into sync batches)."""

    mailbox: str
    display_name: str
    batch: str
    size_bytes: int
    reason: str
    size_known: bool = True
    sync_batch: str = ""


@dataclasses.dataclass(frozen=True)
class CrossLink:
    """A permission whose two ends land in different completion waves (``*_batch`` name the waves)."""

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
    """The result of ``plan_batches``: batches, placements with reasons, crossings, problems, summary.

    ``batches`` are the migration batches to create (sync batches) and ``waves`` the completion waves (relationship
    groups), each naming its sync batch; without packing each wave is its own batch, under the same name.
    """

    batches: tuple[Batch, ...]
    placements: tuple[Placement, ...]
    cross_batch_links: tuple[CrossLink, ...]
    unresolved: tuple[Problem, ...]
    excluded_trustees: tuple[ExcludedTrustee, ...]
    summary: dict[str, Any]
    warnings: tuple[str, ...] = ()
    mailboxes_without_size: tuple[str, ...] = ()
    waves: tuple[Wave, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The ``plan.json`` document (stable schema; sizes in bytes, ``warnings`` a list of sentences).

        ``batches``: the migration batches to create, each with the ``waves`` it holds; ``waves``: the completion
        waves, each with its ``sync_batch``.
        """
        return {
            "batches": [
                {"name": b.name, "mailboxes": list(b.mailboxes), "size_bytes": b.size_bytes,
                 "mailboxes_without_size": b.without_size, "waves": list(b.waves or (b.name,))}
                for b in self.batches
            ],  # fmt: skip
            "waves": [w.to_json() for w in self.waves],
            "cross_batch_links": [c.to_json() for c in self.cross_batch_links],
            "unresolved": [p.to_json() for p in self.unresolved],
            "excluded_trustees": [e.to_json() for e in self.excluded_trustees],
            "mailboxes_without_size": list(self.mailboxes_without_size),
            "summary": self.summary,
            "warnings": list(self.warnings),
        }


@dataclasses.dataclass(frozen=True)
class PlanLayout:
    """A plan's two levels as read back (``read_layout``): the migration batches to create, each with the waves
    it holds, and the completion waves, each with its sync batch and members. A plan.json written before waves
    reads as one wave per batch, named as the batch."""

    batches: tuple[Batch, ...]
    waves: tuple[Wave, ...]

    def wave(self, name: str) -> Wave:
        """The wave called ``name`` (case-insensitive). Raises ``KeyError`` listing the waves there are."""
        for wave in self.waves:
            if wave.name.lower() == name.strip().lower():
                return wave
        raise KeyError(f"no wave {name!r} in the plan (waves: {name_list([w.name for w in self.waves])})")

    def batch(self, name: str) -> Batch:
        """The migration batch called ``name`` (case-insensitive). Raises ``KeyError``."""
        for batch in self.batches:
            if batch.name.lower() == name.strip().lower():
                return batch
        raise KeyError(f"no batch {name!r} in the plan (batches: {name_list([b.name for b in self.batches])})")

    def waves_of(self, batch: str) -> tuple[Wave, ...]:
        """The waves that sync in migration batch ``batch``."""
        return tuple(self.wave(name) for name in self.batch(batch).waves)
