"""Values of the inventory crawl: which exports and stages, their columns (as the real exports write them), what
the listing found, per-mailbox failures and the manifest.

Plain frozen data; nothing does I/O.
"""

from __future__ import annotations

import dataclasses
import enum

from hybridkit.sides import Side

__all__ = [
    "COLUMNS",
    "Export",
    "INCLUDES",
    "Failure",
    "Listed",
    "Listing",
    "MailboxRef",
    "Manifest",
    "Stage",
    "TYPE_LINES",
    "parse_include",
]


class Export(str, enum.Enum):
    """One output file; its stem is the value (``mailboxes.csv`` ...)."""

    MAILBOXES = "mailboxes"
    SIZES = "sizes"
    FULLACCESS = "fullaccess"
    SENDAS = "sendas"
    SENDONBEHALF = "sendonbehalf"
    CALENDAR = "calendar"


class Stage(enum.StrEnum):
    """One crawl stage after the listing: its mailboxes' identities streamed into its pipeline on each side."""

    SIZES = "sizes"
    FULLACCESS = "fullaccess"
    SENDAS = "sendas"
    CALENDAR = "calendar"

    @property
    def export(self) -> Export:
        """The file the stage's rows go to."""
        return Export(self.value)


# Columns exactly as the real exports have them (shared/exchange/export-samples).
COLUMNS: dict[Export, tuple[str, ...]] = {
    Export.MAILBOXES: ("DisplayName", "Alias", "PrimarySmtpAddress", "UserPrincipalName", "SamAccountName",
                       "RecipientTypeDetails", "Identity", "Database"),
    Export.SIZES: ("DisplayName", "PrimarySmtpAddress", "TotalItemSize", "ItemCount"),
    Export.FULLACCESS: ("Identity", "User", "AccessRights", "IsInherited", "Deny"),
    Export.SENDAS: ("Identity", "User", "ExtendedRights", "IsInherited", "Deny"),
    Export.SENDONBEHALF: ("PrimarySmtpAddress", "GrantSendOnBehalfTo"),
    Export.CALENDAR: ("Mailbox", "FolderName", "User", "AccessRights"),
}
# The ``#TYPE`` line Export-Csv writes (without -NoTypeInformation) for the exports that have one in the samples.
TYPE_LINES: dict[Export, str] = {
    Export.MAILBOXES: "#TYPE Selected.Microsoft.Exchange.Data.Directory.Management.Mailbox",
    Export.FULLACCESS: "#TYPE Microsoft.Exchange.Management.RecipientTasks.MailboxAcePresentationObject",
    Export.SENDAS: "#TYPE Microsoft.Exchange.Management.RecipientTasks.ADAcePresentationObject",
}
INCLUDES = ("fullaccess", "sendas", "sendonbehalf", "calendar")


def parse_include(text: str | None) -> frozenset[str]:
    """``"fullaccess,calendar"`` -> the set; None/empty -> all four. Raises ValueError for unknown names."""
    if not text:
        return frozenset(INCLUDES)
    parts = {p.strip().lower() for p in text.split(",") if p.strip()}
    unknown = parts - set(INCLUDES)
    if unknown:
        raise ValueError(f"unknown --include value(s): {', '.join(sorted(unknown))} (use {', '.join(INCLUDES)})")
    return frozenset(parts)


@dataclasses.dataclass(frozen=True)
class MailboxRef:
    """One mailbox found by the listing stage: where it lives and how to name it back to its side."""

    side: Side
    identity: str  # the Identity its side reports (streamed back into that side's cmdlets)
    primary_smtp: str
    display_name: str
    exchange_guid: str
    calendar_folder: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.side, Side):  # from the journal's JSON or a caller's plain string
            object.__setattr__(self, "side", Side(self.side))


@dataclasses.dataclass(frozen=True)
class Listed:
    """One mailbox as the listing found it: its ref, its mailboxes.csv row, its sendonbehalf.csv row (None when
    nobody has the right), and the ``--mailboxes`` address that asked for it (None when every mailbox was listed)."""

    ref: MailboxRef
    row: dict[str, str]
    delegates: dict[str, str] | None = None
    asked: str | None = None

    def to_json(self) -> dict[str, object]:
        return {"ref": dataclasses.asdict(self.ref), "row": self.row, "delegates": self.delegates,
                "asked": self.asked}

    @classmethod
    def from_json(cls, data: dict[str, object]) -> Listed:
        return cls(MailboxRef(**data["ref"]), dict(data["row"]),  # type: ignore[arg-type]
                   dict(data["delegates"]) if data.get("delegates") else None,  # type: ignore[arg-type]
                   str(data["asked"]) if data.get("asked") else None)


@dataclasses.dataclass(frozen=True)
class Failure:
    """A per-mailbox failure in one stage (the crawl goes on)."""

    stage: str  # a Stage's value, or "mailboxes" for an asked-for address found on no side
    side: str  # a Side's value, or "" for a mailbox found on neither side
    mailbox: str
    message: str


@dataclasses.dataclass(frozen=True)
class Listing:
    """What the listing found: every mailbox per side in the order the sides gave them, and the asked-for
    addresses found on no side."""

    entries: tuple[Listed, ...]
    failures: tuple[Failure, ...] = ()

    @property
    def refs(self) -> list[MailboxRef]:
        return [e.ref for e in self.entries]


@dataclasses.dataclass(frozen=True)
class Manifest:
    """``manifest.json``: when, from where, what was collected, and what failed."""

    started_at: str
    finished_at: str
    sources: dict[str, str]
    format: str
    includes: tuple[str, ...]
    counts: dict[str, int]
    mailboxes: dict[str, int]
    failures: tuple[Failure, ...]
    run_id: str | None
    resumed: bool
    requests: int
