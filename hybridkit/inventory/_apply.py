"""The inventory crawl: few chunked pipelines per stage, a bounded number at once, journaled and resumable.

Per side (sides run side by side):

1. listing - ``Get-Mailbox -ResultSize Unlimited`` once (or the ``--mailboxes`` addresses streamed into
   ``Get-Mailbox``); gives mailboxes.csv and sendonbehalf.csv (GrantSendOnBehalfTo is on the mailbox).
2. sizes - identities streamed into ``Get-MailboxStatistics``.
3. fullaccess - identities streamed into ``Get-MailboxPermission``.
4. sendas - on-prem ``Get-ADPermission``, Exchange Online ``Get-RecipientPermission``.
5. calendar - ``Get-Mailbox | Get-MailboxFolderStatistics -FolderScope Calendar`` finds each default calendar
   under its localised name (FolderStatistics binds -Identity by property name only, hence the Get-Mailbox in
   front), then ``'<mailbox>:\\<folder>'`` strings are streamed into ``Get-MailboxFolderPermission``.

Every pipeline ends in ``Select-Object -Property <names>`` (a second command of the same pipeline), on both sides:
only the export's columns and what ties an object to its mailbox come back, not full Exchange objects (~228
properties each), so the Receives carry a fraction of the bytes. Exchange's /PowerShell keeps Select-Object
public as the real cmdlet (Microsoft's KB 2922668 runs ``Get-Mailbox | Select-Object -Property ...`` through a
remote session); only script blocks are refused there, and none are sent.

Stages 2-5 are cut into steps of a few chunks; each finished step's rows go to a part file, then the journal marks
it done. A resumed crawl reuses the saved listing and part files and only runs steps not done. A mailbox that
fails (vanished, access denied) becomes a manifest entry; it never stops the crawl.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from hybridkit.inventory._model import COLUMNS, Export, Failure, MailboxRef
from hybridkit.inventory._plan import (
    CrawlStep,
    calendar_folder_identity,
    calendar_rows,
    folder_owner,
    fullaccess_rows,
    mailbox_ref,
    mailbox_row,
    sendas_rows,
    sendonbehalf_row,
    size_row,
    text,
)
from hybridkit.ps import Command, ItemOutcome, Pipeline, PSSession

__all__ = [
    "PROPERTIES", "Listing", "StepResult", "cancel_sessions", "each_side", "list_mailboxes", "run_step", "selected",
    "stage_pipeline",
]

Progress = Callable[[str, int, int], None]

# What each pipeline asks Select-Object for: the export's columns plus what ties an object to its mailbox
# (ExchangeGuid/MailboxGuid, Identity), nothing the crawl already knows (a statistics object's DisplayName is its
# mailbox's, a folder permission's FolderName the folder asked for): the crawl's requests are mostly Receives,
# whose number follows the bytes sent back. False sends the cmdlets bare (full objects) on every side.
SELECT_COLUMNS = True
_LISTING = (*COLUMNS[Export.MAILBOXES], "GrantSendOnBehalfTo", "ExchangeGuid")
PROPERTIES: dict[str, tuple[str, ...]] = {
    "listing": _LISTING,
    # --mailboxes: the names an asked-for address may match (_names) come back too.
    "listing-named": (*_LISTING, "Name", "Guid", "EmailAddresses"),
    "sizes": ("TotalItemSize", "ItemCount", "MailboxGuid"),
    "fullaccess": COLUMNS[Export.FULLACCESS],
    "sendas-onprem": COLUMNS[Export.SENDAS],
    "sendas-online": ("Identity", "Trustee", "AccessRights", "IsInherited", "AccessControlType"),
    "calendar": ("Identity", "FolderType", "FolderPath"),
    "calendar-permissions": ("Identity", "User", "AccessRights"),
}


def selected(what: str, side: str, *commands: Command) -> Pipeline:
    """``commands | Select-Object -Property <PROPERTIES[what]>`` (just ``commands`` with SELECT_COLUMNS off)."""
    if not SELECT_COLUMNS:
        return Pipeline.of(*commands)
    return Pipeline.of(*commands, Command.of("Select-Object", Property=list(PROPERTIES[what])))


@dataclasses.dataclass
class Listing:
    """What the listing stage found: mailboxes per side, their export rows, and addresses found nowhere."""

    refs: list[MailboxRef]
    rows: dict[str, list[dict[str, str]]]  # Export value -> rows (mailboxes, sendonbehalf)
    failures: list[Failure]

    def to_json(self) -> dict[str, Any]:
        return {"refs": [dataclasses.asdict(r) for r in self.refs], "rows": self.rows,
                "failures": [dataclasses.asdict(f) for f in self.failures]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Listing:
        return cls([MailboxRef(**r) for r in data["refs"]], data["rows"], [Failure(**f) for f in data["failures"]])


@dataclasses.dataclass
class StepResult:
    rows: dict[str, list[dict[str, str]]]
    failures: list[Failure]

    def to_json(self) -> dict[str, Any]:
        return {"rows": self.rows, "failures": [dataclasses.asdict(f) for f in self.failures]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> StepResult:
        return cls(data["rows"], [Failure(**f) for f in data["failures"]])


def cancel_sessions(sessions: Iterable[PSSession]) -> None:
    """Stop every pipeline of these sessions at its next Receive (the user pressed Ctrl-C)."""
    for session in sessions:
        cancel = getattr(session, "cancel", None)
        if callable(cancel):
            cancel()


def each_side(sessions: dict[str, PSSession], work: Callable[[str, PSSession], Any]) -> dict[str, Any]:
    """``work(side, session)`` for every side at once, each in its own thread; the results by side.

    Ctrl-C reaching the caller (or a thread) cancels every session, so the threads end at their pipelines' next
    Receive: without it, leaving would wait for every chunk still queued to run.
    """
    pool = ThreadPoolExecutor(max_workers=max(1, len(sessions)), thread_name_prefix="hk-side")
    try:
        futures = {side: pool.submit(work, side, s) for side, s in sessions.items()}
        return {side: f.result() for side, f in futures.items()}
    except BaseException as exc:
        if not isinstance(exc, Exception):  # KeyboardInterrupt: stop now; an error on one side lets the other end
            cancel_sessions(sessions.values())
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _names(obj: Any) -> set[str]:
    keys = ("PrimarySmtpAddress", "UserPrincipalName", "Alias", "Name", "Identity", "SamAccountName",
            "DistinguishedName", "Guid", "ExchangeGuid")
    names = {text(obj.get(k)).casefold() for k in keys if obj.get(k) not in (None, "")}
    for address in obj.get("EmailAddresses") or []:
        value = text(address)
        names.add((value[5:] if value.lower().startswith("smtp:") else value).casefold())
    return names


def list_mailboxes(
    sessions: dict[str, PSSession], mailboxes: Sequence[str] | None, *, chunk_size: int, progress: Progress | None
) -> Listing:
    """Every mailbox on every side (or the named ones, each found on the side where it is a mailbox)."""

    def work(side: str, session: PSSession) -> list[tuple[str | None, Any]]:
        if mailboxes is None:
            result = session.run(selected("listing", side, Command.of("Get-Mailbox", ResultSize="Unlimited")))
            if progress:
                progress(f"list {side}", len(result.output), len(result.output))
            return [(None, o) for o in result.output]
        wanted = {m.casefold() for m in mailboxes}

        def key(obj: Any) -> str | None:
            return next((n for n in _names(obj) if n in wanted), None)

        outcomes = session.run_items(selected("listing-named", side, Command.of("Get-Mailbox")), list(mailboxes),
                                     chunk_size=chunk_size, key=key)
        return [(str(o.item), o.output[0]) for o in outcomes if o.output]

    per_side = each_side(sessions, work)
    refs: list[MailboxRef] = []
    rows: dict[str, list[dict[str, str]]] = {Export.MAILBOXES.value: [], Export.SENDONBEHALF.value: []}
    found: set[str] = set()
    seen: set[tuple[str, str]] = set()
    for side in sessions:
        for asked, obj in per_side[side]:
            ref = mailbox_ref(obj, side)
            if (side, ref.identity) in seen:
                continue
            seen.add((side, ref.identity))
            if asked is not None:
                found.add(asked)
            refs.append(ref)
            rows[Export.MAILBOXES.value].append(mailbox_row(obj))
            delegates = sendonbehalf_row(obj)
            if delegates is not None:
                rows[Export.SENDONBEHALF.value].append(delegates)
    failures = [
        Failure("mailboxes", "", m, "no mailbox with this identity on " + " or ".join(sessions))
        for m in (mailboxes or []) if m not in found
    ]
    return Listing(refs, rows, failures)


def stage_pipeline(stage: str, side: str) -> Pipeline:
    """The pipeline a stage streams identities into on ``side``."""
    if stage == "sizes":
        return selected("sizes", side, Command.of("Get-MailboxStatistics"))
    if stage == "fullaccess":
        return selected("fullaccess", side, Command.of("Get-MailboxPermission"))
    if stage == "sendas":
        if side == "online":
            return selected("sendas-online", side, Command.of("Get-RecipientPermission"))
        return selected("sendas-onprem", side, Command.of("Get-ADPermission"))
    if stage == "calendar":
        return selected("calendar", side, Command.of("Get-Mailbox"),
                        Command.of("Get-MailboxFolderStatistics", FolderScope="Calendar"))
    raise ValueError(f"unknown stage {stage!r}")


def _fail(stage: str, side: str, ref: MailboxRef | None, outcome: ItemOutcome) -> Failure:
    who = ref.primary_smtp if ref is not None and ref.primary_smtp else str(outcome.item)
    return Failure(stage, side, who, outcome.message or "failed")


def run_step(
    step: CrawlStep,
    session: PSSession,
    refs: dict[str, MailboxRef],
    *,
    chunk_size: int,
    tick: Callable[[int], None] | None = None,
) -> StepResult:
    """Run one crawl step and turn what came back into export rows and per-mailbox failures."""
    ids = list(step.identities)
    rows: list[dict[str, str]] = []
    failures: list[Failure] = []
    pipeline = stage_pipeline(step.stage, step.side)
    if step.stage == "sizes":
        by_guid = {refs[i].exchange_guid: i for i in ids if refs[i].exchange_guid}
        outcomes = session.run_items(pipeline, ids, chunk_size=chunk_size, on_progress=tick,
                                     key=lambda o: by_guid.get(text(o.get("MailboxGuid")).lower()))
        for o in outcomes:
            if o.output:
                rows.append(size_row(refs[str(o.item)], o.output[0]))
            elif not o.ok:
                failures.append(_fail(step.stage, step.side, refs.get(str(o.item)), o))
        return StepResult({Export.SIZES.value: rows}, failures)
    if step.stage in ("fullaccess", "sendas"):
        outcomes = session.run_items(pipeline, ids, chunk_size=chunk_size, on_progress=tick,
                                     key=lambda o: text(o.get("Identity")))
        export = Export.FULLACCESS if step.stage == "fullaccess" else Export.SENDAS
        for o in outcomes:
            if not o.ok:
                failures.append(_fail(step.stage, step.side, refs.get(str(o.item)), o))
                continue
            rows.extend(fullaccess_rows(o.output) if step.stage == "fullaccess" else sendas_rows(o.output, step.side))
        return StepResult({export.value: rows}, failures)
    # calendar: find each default calendar (localised name), then read its permissions.
    outcomes = session.run_items(pipeline, ids, chunk_size=chunk_size, key=folder_owner)
    folders: dict[str, tuple[MailboxRef, str]] = {}
    for o in outcomes:
        ref = refs[str(o.item)]
        if not o.ok:
            failures.append(_fail("calendar", step.side, ref, o))
            continue
        found = calendar_folder_identity(ref, o.output)
        if found is None:
            failures.append(Failure("calendar", step.side, ref.primary_smtp, "no default calendar folder"))
            continue
        folders[found[0]] = (ref, found[1])
    perms = session.run_items(selected("calendar-permissions", step.side, Command.of("Get-MailboxFolderPermission")),
                              list(folders), chunk_size=chunk_size,
                              on_progress=None, key=lambda p: text(p.get("Identity")))
    for p in perms:
        ref, name = folders[str(p.item)]
        if not p.ok:
            failures.append(_fail("calendar", step.side, ref, p))
            continue
        rows.extend(calendar_rows(ref, name, p.output))
    if tick:
        tick(len(ids))
    return StepResult({Export.CALENDAR.value: rows}, failures)


def part_dir(out_dir: Path) -> Path:
    return out_dir / ".parts"
