"""``inventory export`` as one service: list (or read the earlier run's listing back), plan the steps, crawl them
through the runner, write the files and ``manifest.json``.

``export_from_profiles`` is what the CLI calls (it opens the journal, then both sides' sessions);
``export_inventory`` takes sessions already open (the demo, the benchmark).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from hybridkit._time import utc_now_iso
from hybridkit.config import Profile
from hybridkit.inventory._crawl import JOURNAL_KIND, crawl, crawl_steps, payloads
from hybridkit.inventory._discover import list_mailboxes
from hybridkit.inventory._model import Export, Listing, Manifest
from hybridkit.inventory._plan import CrawlStep, plan_steps, replan, request_fingerprint
from hybridkit.inventory._render import write_export, write_manifest
from hybridkit.journal import DEFAULT_JOURNAL, Journal, RunStatus
from hybridkit.ps import PSSession
from hybridkit.runner import NullReporter, PriorRun, Reporter, find_prior, open_run
from hybridkit.sides import Side, open_sides

__all__ = ["export_from_profiles", "export_inventory", "source_of"]


def source_of(session: object) -> str:
    """``profile (url)`` for the manifest; never credentials."""
    name = str(getattr(session, "name", ""))
    connection = getattr(session, "connection", None)
    url = getattr(connection, "url", None)
    return f"{name} ({url})" if url else name


def export_from_profiles(
    profiles: Mapping[Side, Profile],
    out_dir: Path,
    *,
    fmt: str = "csv",
    includes: frozenset[str],
    mailboxes: Sequence[str] | None = None,
    journal_path: Path | None = None,
    argv: Sequence[str] = (),
    chunk_size: int = 1000,
    reporter: Reporter | None = None,
) -> Manifest:
    """Open the journal (a file that is not one is refused before connecting), then each side; crawl."""
    with Journal(journal_path or DEFAULT_JOURNAL) as journal, open_sides(profiles) as sessions:
        return export_inventory(sessions, out_dir, fmt=fmt, includes=includes, mailboxes=mailboxes,
                                sources={side: source_of(s) for side, s in sessions.items()}, journal=journal,
                                argv=argv, chunk_size=chunk_size, reporter=reporter)


def _prior(journal: Journal, fingerprint: str) -> PriorRun | None:
    """The earlier crawl of this request to carry on: one not finished, even with every step done (interrupted
    while writing the files). A crawl that ended ``failed`` with every step done is finished: read again."""
    prior = find_prior(journal, JOURNAL_KIND, fingerprint, until_finished=True)
    if prior is not None and prior.run.status is RunStatus.FAILED and not prior.unfinished():
        return None
    return prior


def export_inventory(
    sessions: Mapping[Side, PSSession],
    out_dir: Path,
    *,
    includes: frozenset[str],
    journal: Journal,
    fmt: str = "csv",
    mailboxes: Sequence[str] | None = None,
    sources: Mapping[str, str] | None = None,
    argv: Sequence[str] = (),
    chunk_size: int = 1000,
    step_size: int | None = None,
    reporter: Reporter | None = None,
) -> Manifest:
    """Crawl the sides and write the exports batch planning reads, plus ``manifest.json``.

    Read-only on Exchange. Resumes an unfinished crawl of the same request (same output directory, sides,
    includes and mailbox list) from the journal: its listing and finished steps are not read again.

    Args:
        sessions: a session per side to crawl.
        out_dir: where the exports and ``manifest.json`` go (created).
        includes: what to crawl besides mailboxes and sizes (``parse_include``).
        journal: the run journal.
        fmt: ``csv`` or ``xlsx``.
        mailboxes: only these addresses (default: every mailbox).
        sources: what the manifest names each side by (default: the side's name).
        argv: the command line, for the journal.
        chunk_size: identities per pipeline.
        step_size: identities per journaled step (default: four chunks).
        reporter: where progress goes.
    """
    reporter = reporter or NullReporter()
    sessions = {Side(side): session for side, session in sessions.items()}
    sides = [str(s) for s in sessions]
    started = utc_now_iso()
    out_dir.mkdir(parents=True, exist_ok=True)
    fingerprint = request_fingerprint(str(out_dir.resolve()), sides, includes, mailboxes or [], fmt)
    requests_before = sum(s.request_count for s in sessions.values())
    prior = _prior(journal, fingerprint)
    replanned = replan(payloads(prior), sides, mailboxes) if prior is not None else None
    listing: Listing
    steps: list[CrawlStep]
    if replanned is not None:
        listing, steps = replanned
    else:
        prior = None  # journaled before payloads held the crawl: crawl afresh
        listing = list_mailboxes(sessions, mailboxes, chunk_size=chunk_size, reporter=reporter)
        steps = plan_steps(listing.refs, includes, step_size or chunk_size * 4)
    with open_run(journal, JOURNAL_KIND, fingerprint, crawl_steps(steps, listing), prior=prior, argv=argv,
                  profile=",".join(sides), reporter=reporter) as run:
        crawled = crawl(run, sessions, listing, chunk_size=chunk_size)
        wanted = {Export.MAILBOXES, Export.SIZES} | {Export(i) for i in includes}
        for export in Export:
            if export in wanted:
                write_export(out_dir, export, crawled.rows[export], fmt)
        per_side: dict[str, int] = {}
        for ref in listing.refs:
            per_side[ref.side.value] = per_side.get(ref.side.value, 0) + 1
        manifest = Manifest(
            started_at=started,
            finished_at=utc_now_iso(),
            sources={str(k): v for k, v in (sources or {side: side for side in sides}).items()},
            format=fmt,
            includes=tuple(sorted(includes)),
            counts={e.value: len(crawled.rows[e]) for e in Export if e in wanted},
            mailboxes=per_side,
            failures=crawled.failures,
            run_id=run.run_id,
            resumed=run.resumed,
            requests=sum(s.request_count for s in sessions.values()) - requests_before,
        )
        write_manifest(out_dir, manifest)
    return manifest
