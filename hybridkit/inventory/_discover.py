"""The crawl's reads from Exchange: the listing, and each stage's pipelines turned into export rows per mailbox.

Per side (sides run side by side):

1. listing (``list_mailboxes``) - ``Get-Mailbox -ResultSize Unlimited`` once (or the ``--mailboxes`` addresses
   streamed into ``Get-Mailbox``); gives mailboxes.csv and sendonbehalf.csv (GrantSendOnBehalfTo is on the
   mailbox). The steps are planned from it.
2. sizes - identities streamed into ``Get-MailboxStatistics``.
3. fullaccess - identities streamed into ``Get-MailboxPermission``.
4. sendas - on-prem ``Get-ADPermission``, Exchange Online ``Get-RecipientPermission``.
5. calendar - ``Get-Mailbox | Get-MailboxFolderStatistics -FolderScope Calendar`` finds each default calendar
   under its localised name, then ``'<mailbox>:\\<folder>'`` strings are streamed into
   ``Get-MailboxFolderPermission``.

Stages 2-5 run as steps of ``hybridkit.runner``'s chunked-items runner, which drives a ``CrawlReader`` per side
in place of the bare session: its ``run_items(stage pipeline, identities)`` runs that stage's reads (the
calendar's two) and gives each mailbox's export rows as its output, or Exchange's errors for it. A mailbox that
fails (vanished, access denied) fails alone; it never stops the crawl.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from hybridkit.inventory._model import Listed, Listing, MailboxRef, Stage
from hybridkit.inventory._plan import calendar_permissions, listing_failures, selected, stage_pipeline
from hybridkit.inventory._rows import (
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
from hybridkit.ps import Command, ItemOutcome, ItemStatus, Pipeline, PSError, PSSession
from hybridkit.runner import Reporter
from hybridkit.sides import Side

__all__ = ["CrawlReader", "each_side", "list_mailboxes"]


def cancel_sessions(sessions: Iterable[Any]) -> None:
    """Stop every pipeline of these sessions at its next Receive (the user pressed Ctrl-C)."""
    for session in sessions:
        cancel = getattr(session, "cancel", None)
        if callable(cancel):
            cancel()


def each_side(sessions: Mapping[Side, PSSession], work: Callable[[Side, PSSession], Any]) -> dict[Side, Any]:
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


def list_mailboxes(sessions: Mapping[Side, PSSession], mailboxes: Sequence[str] | None, *, chunk_size: int,
                   reporter: Reporter) -> Listing:
    """Every mailbox on every side (or the named ones, each found on the side where it is a mailbox)."""

    def work(side: Side, session: PSSession) -> list[tuple[str | None, Any]]:
        task = f"list {side}"
        if mailboxes is None:
            reporter.start(task)
            result = session.run(selected("listing", Command.of("Get-Mailbox", ResultSize="Unlimited")))
            reporter.start(task, len(result.output))
            reporter.advance(task, len(result.output))
            reporter.finish(task)
            return [(None, o) for o in result.output]
        wanted = {m.casefold(): m for m in mailboxes}

        def key(obj: Any) -> str | None:
            return next((wanted[n] for n in _names(obj) if n in wanted), None)

        outcomes = session.run_items(selected("listing-named", Command.of("Get-Mailbox")), list(mailboxes),
                                     chunk_size=chunk_size, key=key)
        return [(str(o.item), o.output[0]) for o in outcomes if o.output]

    per_side = each_side(sessions, work)
    entries: list[Listed] = []
    seen: set[tuple[Side, str]] = set()
    for side in sessions:
        for asked, obj in per_side[side]:
            ref = mailbox_ref(obj, side)
            if (ref.side, ref.identity) in seen:
                continue
            seen.add((ref.side, ref.identity))
            entries.append(Listed(ref, mailbox_row(obj), sendonbehalf_row(obj), asked))
    return Listing(tuple(entries), listing_failures(entries, [str(s) for s in sessions], mailboxes))


def _failed(item: Any, errors: list[PSError]) -> ItemOutcome:
    return ItemOutcome(item, ItemStatus.FAILED, errors=errors)


def _rows(item: Any, rows: list[dict[str, str]]) -> ItemOutcome:
    return ItemOutcome(item, ItemStatus.OK, output=rows)


class CrawlReader:
    """One side's crawl reads, as ``hybridkit.runner`` drives them: a session whose items come back as rows.

    ``run_items(stage pipeline, identities)`` runs the stage's reads through the side's session, in chunks, and
    returns one outcome per identity: ok with the mailbox's export rows, or failed with Exchange's errors for it.
    ``cancel`` cancels the session (Ctrl-C).

    Args:
        side: the side read.
        session: that side's session.
        refs: the side's listed mailboxes by identity.
    """

    def __init__(self, side: Side, session: PSSession, refs: Mapping[str, MailboxRef]) -> None:
        self.side = side
        self.session = session
        self.refs = refs
        self._stages = [(stage_pipeline(stage, side), stage) for stage in Stage]
        self._by_guid = {r.exchange_guid: i for i, r in refs.items() if r.exchange_guid}

    def cancel(self) -> None:
        cancel = getattr(self.session, "cancel", None)
        if callable(cancel):
            cancel()

    def stage_of(self, command: Command | Pipeline) -> Stage:
        """Which stage ``command`` is the pipeline of on this side."""
        for pipeline, stage in self._stages:
            if pipeline == command:
                return stage
        raise ValueError(f"not a crawl stage's pipeline: {command}")

    def run_items(self, command: Command | Pipeline, items: Sequence[Any], *, chunk_size: int = 500,
                  key: Callable[[Any], Any] | None = None,
                  on_progress: Callable[[int], None] | None = None) -> list[ItemOutcome]:
        """Read ``items`` (identities) with the stage ``command`` starts; each identity's rows (``key`` unused)."""
        stage = self.stage_of(command)
        ids = [str(i) for i in items]
        if stage is Stage.CALENDAR:
            return self._calendar(command, ids, chunk_size, on_progress)
        if stage is Stage.SIZES:
            outcomes = self.session.run_items(command, ids, chunk_size=chunk_size, on_progress=on_progress,
                                              key=lambda o: self._by_guid.get(text(o.get("MailboxGuid")).lower()))
            return [_rows(o.item, [size_row(self.refs[str(o.item)], o.output[0])]) if o.output
                    else o if not o.ok else _rows(o.item, []) for o in outcomes]
        outcomes = self.session.run_items(command, ids, chunk_size=chunk_size, on_progress=on_progress,
                                          key=lambda o: text(o.get("Identity")))
        convert = fullaccess_rows if stage is Stage.FULLACCESS else (lambda objs: sendas_rows(objs, self.side))
        return [_rows(o.item, convert(o.output)) if o.ok else o for o in outcomes]

    def _calendar(self, command: Command | Pipeline, ids: list[str], chunk_size: int,
                  on_progress: Callable[[int], None] | None) -> list[ItemOutcome]:
        """Find each default calendar (localised name), then read its permissions."""
        found = self.session.run_items(command, ids, chunk_size=chunk_size, key=folder_owner)
        result: dict[str, ItemOutcome] = {}
        folders: dict[str, tuple[str, str]] = {}  # 'mailbox:\Folder' -> (identity, folder name)
        for o in found:
            identity = str(o.item)
            if not o.ok:
                result[identity] = o
                continue
            calendar = calendar_folder_identity(self.refs[identity], o.output)
            if calendar is None:
                result[identity] = _failed(identity, [PSError("no default calendar folder")])
                continue
            folders[calendar[0]] = (identity, calendar[1])
        perms = self.session.run_items(calendar_permissions(), list(folders), chunk_size=chunk_size,
                                       key=lambda p: text(p.get("Identity")))
        for p in perms:
            identity, name = folders[str(p.item)]
            result[identity] = (_rows(identity, calendar_rows(self.refs[identity], name, p.output)) if p.ok
                                else _failed(identity, p.errors))
        if on_progress:
            on_progress(len(ids))
        return [result[i] for i in ids]
