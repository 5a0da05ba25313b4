"""Which pipelines the crawl runs and how its work is cut into journaled steps (pure: no I/O).

After the listing, each stage streams one side's mailbox identities into one pipeline (``stage_pipeline``), cut
into steps of a few of the session's chunks (``plan_steps``). Each step's journal payload carries what a resumed
crawl needs from the journal alone (``step_payload``): its identities, and for a sizes step (sizes are always
crawled) the listing's entries for its mailboxes. ``replan`` reads both back from the earlier run's payloads, so
a resumed crawl neither lists the mailboxes again nor re-reads a finished step.

Every pipeline ends in ``Select-Object -Property <names>`` (a second command of the same pipeline), on both sides:
only the export's columns and what ties an object to its mailbox come back, not full Exchange objects (~228
properties each), so the Receives carry a fraction of the bytes. Exchange's /PowerShell keeps Select-Object
public as the real cmdlet (Microsoft's KB 2922668 runs ``Get-Mailbox | Select-Object -Property ...`` through a
remote session); only script blocks are refused there, and none are sent.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from hybridkit.inventory._model import COLUMNS, Export, Failure, Listed, Listing, MailboxRef, Stage
from hybridkit.ps import Command, Pipeline
from hybridkit.sides import Side

__all__ = [
    "PROPERTIES",
    "SELECT_COLUMNS",
    "STAGES",
    "CrawlStep",
    "calendar_permissions",
    "crawl_step",
    "listing_failures",
    "plan_steps",
    "replan",
    "request_fingerprint",
    "selected",
    "stage_pipeline",
    "step_payload",
]

# Stage -> the include that turns it on (None: always).
STAGES: dict[Stage, str | None] = {Stage.SIZES: None, Stage.FULLACCESS: "fullaccess", Stage.SENDAS: "sendas",
                                   Stage.CALENDAR: "calendar"}

# What each pipeline asks Select-Object for: the export's columns plus what ties an object to its mailbox
# (ExchangeGuid/MailboxGuid, Identity), nothing the crawl already knows (a statistics object's DisplayName is its
# mailbox's, a folder permission's FolderName the folder asked for): the crawl's requests are mostly Receives,
# whose number follows the bytes sent back. False sends the cmdlets bare (full objects) on every side.
SELECT_COLUMNS = True
_LISTING = (*COLUMNS[Export.MAILBOXES], "GrantSendOnBehalfTo", "ExchangeGuid")
PROPERTIES: dict[str, tuple[str, ...]] = {
    "listing": _LISTING,
    # --mailboxes: the names an asked-for address may match come back too.
    "listing-named": (*_LISTING, "Name", "Guid", "EmailAddresses"),
    "sizes": ("TotalItemSize", "ItemCount", "MailboxGuid"),
    "fullaccess": COLUMNS[Export.FULLACCESS],
    "sendas-onprem": COLUMNS[Export.SENDAS],
    "sendas-online": ("Identity", "Trustee", "AccessRights", "IsInherited", "AccessControlType"),
    "calendar": ("Identity", "FolderType", "FolderPath"),
    "calendar-permissions": ("Identity", "User", "AccessRights"),
}

_KIND = "inv2"  # the payloads' layout: runs journaled before it (side files) are not resumed from


def selected(what: str, *commands: Command) -> Pipeline:
    """``commands | Select-Object -Property <PROPERTIES[what]>`` (just ``commands`` with SELECT_COLUMNS off)."""
    if not SELECT_COLUMNS:
        return Pipeline.of(*commands)
    return Pipeline.of(*commands, Command.of("Select-Object", Property=list(PROPERTIES[what])))


def stage_pipeline(stage: Stage, side: Side) -> Pipeline:
    """The pipeline a stage streams identities into on ``side``.

    The calendar stage's pipeline finds each default calendar under its localised name (FolderStatistics binds
    -Identity by property name only, hence the Get-Mailbox in front); its folders' permissions are read next with
    ``calendar_permissions``.
    """
    if stage is Stage.SIZES:
        return selected("sizes", Command.of("Get-MailboxStatistics"))
    if stage is Stage.FULLACCESS:
        return selected("fullaccess", Command.of("Get-MailboxPermission"))
    if stage is Stage.SENDAS:
        if side is Side.ONLINE:
            return selected("sendas-online", Command.of("Get-RecipientPermission"))
        return selected("sendas-onprem", Command.of("Get-ADPermission"))
    return selected("calendar", Command.of("Get-Mailbox"), Command.of("Get-MailboxFolderStatistics",
                                                                      FolderScope="Calendar"))


def calendar_permissions() -> Pipeline:
    """What ``'<mailbox>:\\<folder>'`` strings are streamed into once the calendar stage found the folders."""
    return selected("calendar-permissions", Command.of("Get-MailboxFolderPermission"))


@dataclasses.dataclass(frozen=True)
class CrawlStep:
    """One journaled unit of crawl work: one stage for a block of one side's mailboxes."""

    stage: Stage
    side: Side
    number: int
    identities: tuple[str, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "stage", Stage(self.stage))  # from the journal's JSON or a caller's string
        object.__setattr__(self, "side", Side(self.side))

    @property
    def key(self) -> str:
        digest = hashlib.sha256("\n".join(self.identities).encode()).hexdigest()[:10]
        return f"{self.stage}/{self.side}/{self.number:05d}/{digest}"

    @property
    def target(self) -> str:
        """What ``hybridkit journal show`` lists for the step."""
        return f"{self.stage} {self.side}: {len(self.identities)} mailbox(es)"


def plan_steps(refs: Sequence[MailboxRef], includes: Iterable[str], per_step: int) -> list[CrawlStep]:
    """Every stage's work for every mailbox, cut into steps of ``per_step`` identities per side."""
    wanted = set(includes)
    steps: list[CrawlStep] = []
    sides = list(dict.fromkeys(r.side for r in refs))
    for stage, include in STAGES.items():
        if include is not None and include not in wanted:
            continue
        for side in sides:
            ids = [r.identity for r in refs if r.side == side]
            for number, start in enumerate(range(0, len(ids), max(1, per_step))):
                steps.append(CrawlStep(stage, side, number, tuple(ids[start : start + per_step])))
    return steps


def step_payload(step: CrawlStep, listing: Listing) -> dict[str, Any]:
    """What the journal keeps with a planned step: its identities, and for a sizes step its mailboxes' listing."""
    payload: dict[str, Any] = {"ids": list(step.identities)}
    if step.stage is Stage.SIZES:
        entries = {(e.ref.side, e.ref.identity): e for e in listing.entries if e.ref.side is step.side}
        payload["listing"] = [entries[(step.side, i)].to_json() for i in step.identities]
    return payload


def crawl_step(key: str, payload: dict[str, Any]) -> CrawlStep:
    """A ``CrawlStep`` from its journal key and payload."""
    stage, side, number, _ = key.split("/")
    return CrawlStep(Stage(stage), Side(side), int(number), tuple(payload["ids"]))


def replan(payloads: Mapping[str, Any], sides: Sequence[str], mailboxes: Sequence[str] | None
           ) -> tuple[Listing, list[CrawlStep]] | None:
    """The listing and steps of an earlier crawl from its steps' journal payloads alone (key -> payload, in plan
    order); None when they are not there.

    The listing's failures (asked-for addresses found on no side) are the asked addresses no entry answered.
    """
    steps: list[CrawlStep] = []
    entries: list[Listed] = []
    for key, payload in payloads.items():
        if not isinstance(payload, dict) or "ids" not in payload:
            return None
        step = crawl_step(key, payload)
        steps.append(step)
        if step.stage is Stage.SIZES:
            entries.extend(Listed.from_json(e) for e in payload["listing"])
    return Listing(tuple(entries), listing_failures(entries, sides, mailboxes)), steps


def listing_failures(entries: Sequence[Listed], sides: Sequence[str], mailboxes: Sequence[str] | None
                     ) -> tuple[Failure, ...]:
    """A failure for every asked-for address no listed mailbox answered (on ``sides``)."""
    found = {e.asked for e in entries if e.asked is not None}
    return tuple(Failure("mailboxes", "", m, "no mailbox with this identity on " + " or ".join(sides))
                 for m in (mailboxes or []) if m not in found)


def request_fingerprint(out_dir: str, sides: Sequence[str], includes: Iterable[str], mailboxes: Sequence[str],
                        fmt: str) -> str:
    """Identifies a crawl request: the same output directory, sides, includes, mailbox list and format."""
    data = [str(out_dir), sorted(sides), sorted(includes), sorted(m.lower() for m in mailboxes), fmt]
    return f"{_KIND}-" + hashlib.sha256(json.dumps(data).encode()).hexdigest()[:16]
