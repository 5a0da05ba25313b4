"""``inventory export`` as one service: list, plan steps, journal, run stages per side, write files + manifest."""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from hybridkit._time import utc_now_iso
from hybridkit.inventory._apply import Listing, StepResult, each_side, list_mailboxes, run_step, stage_pipeline
from hybridkit.inventory._model import Export, Failure, Manifest
from hybridkit.inventory._plan import CrawlStep, plan_steps, request_fingerprint
from hybridkit.inventory._write import read_part, write_export, write_json_atomic, write_manifest, write_part
from hybridkit.journal import Journal, PlannedStep, RunStatus, StepState
from hybridkit.ps import PSSession

__all__ = ["JOURNAL_KIND", "export_inventory"]

JOURNAL_KIND = "inventory"
Progress = Callable[[str, int, int], None]
_LISTING = ".parts/listing.json"
_STEPS = ".parts/steps.json"


def _load_steps(out_dir: Path) -> dict[str, CrawlStep] | None:
    path = out_dir / _STEPS
    if not path.exists():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    return {k: CrawlStep(v[0], v[1], int(v[2]), tuple(v[3])) for k, v in data.items()}


def _now() -> str:
    return utc_now_iso()


def _target(step: CrawlStep) -> str:
    """What ``hybridkit journal show`` lists for a step."""
    return f"{step.stage} {step.side}: {len(step.identities)} mailbox(es)"


def export_inventory(
    sessions: dict[str, PSSession],
    out_dir: Path,
    *,
    fmt: str = "csv",
    includes: frozenset[str],
    mailboxes: Sequence[str] | None = None,
    sources: dict[str, str] | None = None,
    journal: Journal | None = None,
    argv: Sequence[str] = (),
    chunk_size: int = 1000,
    step_size: int | None = None,
    progress: Progress | None = None,
    after_step: Callable[[CrawlStep], None] | None = None,
) -> Manifest:
    """Crawl both sides and write the exports batch planning reads, plus ``manifest.json``.

    Read-only on Exchange. Resumes an unfinished crawl of the same request (same output directory, sides,
    includes and mailbox list) from the journal: the saved listing and finished steps are not read again.
    """
    started = _now()
    out_dir.mkdir(parents=True, exist_ok=True)
    fingerprint = request_fingerprint(str(out_dir.resolve()), list(sessions), includes, mailboxes or [], fmt)
    requests_before = sum(s.request_count for s in sessions.values())
    per_step = step_size or chunk_size * 4
    # The last run of this request, unless it completed: even one whose steps were all done (interrupted while
    # writing the files) resumes from its parts rather than reading everything again.
    prior = journal.latest_run(JOURNAL_KIND, fingerprint) if journal is not None else None
    if prior is not None and prior.status is RunStatus.COMPLETED:
        prior = None
    listing_path = out_dir / _LISTING
    run_id: str | None = None
    resumed = False
    saved = _load_steps(out_dir) if prior is not None and listing_path.exists() else None
    if journal is not None and prior is not None and saved is not None \
            and set(saved) == {r.key for r in journal.steps(prior.run_id)}:
        listing = Listing.from_json(json.loads(listing_path.read_text(encoding="utf-8")))
        run_id = journal.resume_run(prior.run_id).run_id
        records = journal.steps(run_id)
        steps = [saved[r.key] for r in records]
        done = {r.key for r in records if r.state is StepState.DONE}
        resumed = True
    else:
        listing = list_mailboxes(sessions, mailboxes, chunk_size=chunk_size, progress=progress)
        write_json_atomic(listing_path, listing.to_json())
        steps = plan_steps(listing.refs, includes, per_step)
        write_json_atomic(out_dir / _STEPS, {s.key: [s.stage, s.side, s.number, s.identities] for s in steps})
        done = set()
        if journal is not None:
            planned = [PlannedStep(s.key, _target(s), stage_pipeline(s.stage, s.side).render()) for s in steps]
            run_id = journal.start_run(JOURNAL_KIND, fingerprint, planned, argv=argv,
                                       profile=",".join(sessions))
    refs = {r.identity: r for r in listing.refs}
    results: dict[str, StepResult] = {}
    for step in steps:
        if step.key in done:
            part = read_part(out_dir, step.key)
            if part is not None:
                results[step.key] = StepResult.from_json(part)
                continue
            done.discard(step.key)  # the part file is gone: read it again
    totals: dict[str, int] = {}
    finished: dict[str, int] = {}
    for step in steps:
        totals[step.stage] = totals.get(step.stage, 0) + len(step.identities)
        if step.key in results:
            finished[step.stage] = finished.get(step.stage, 0) + len(step.identities)
    if progress:
        for stage, total in totals.items():
            progress(stage, finished.get(stage, 0), total)

    lock = threading.Lock()

    def tick_for(stage: str) -> Callable[[int], None]:
        def tick(n: int) -> None:
            with lock:
                finished[stage] = finished.get(stage, 0) + n
                done_now = finished[stage]
            if progress:
                progress(stage, done_now, totals[stage])
        return tick

    def one_step(step: CrawlStep) -> None:
        if journal is not None and run_id is not None:
            journal.mark_started(run_id, step.key)
        result = run_step(step, sessions[step.side], refs, chunk_size=chunk_size, tick=tick_for(step.stage))
        write_part(out_dir, step.key, result.to_json())
        results[step.key] = result
        if journal is not None and run_id is not None:
            journal.mark_done(run_id, step.key, f"{sum(len(v) for v in result.rows.values())} rows")
        if after_step is not None:
            after_step(step)

    def side_work(side: str, _session: PSSession) -> None:
        # Two steps in flight per side: the next stage starts while the last chunks of the previous one finish,
        # so the side's pools stay busy (the session still caps pipelines at its pool count).
        pending = [s for s in steps if s.side == side and s.key not in results]
        workers = ThreadPoolExecutor(max_workers=2, thread_name_prefix=f"hk-inv-{side}")
        try:
            for future in [workers.submit(one_step, s) for s in pending]:
                future.result()
        finally:
            workers.shutdown(wait=True, cancel_futures=True)  # an interruption stops the queued steps

    try:
        each_side(sessions, side_work)  # Ctrl-C cancels the sessions: running steps stop at their next Receive
    except BaseException as exc:
        # Finished steps keep their part files and stay done; the rest resume on the next run.
        if journal is not None and run_id is not None:
            if isinstance(exc, KeyboardInterrupt):
                journal.finish_run(run_id, RunStatus.INTERRUPTED)
            else:
                journal.finish_run(run_id, RunStatus.ABORTED, error=f"{type(exc).__name__}: {exc}")
        raise
    rows: dict[str, list[dict[str, str]]] = {e.value: [] for e in Export}
    for key, value in listing.rows.items():
        rows[key].extend(value)
    failures: list[Failure] = list(listing.failures)
    for step in steps:  # plan order, so files are deterministic whatever order steps finished in
        result = results[step.key]
        for key, value in result.rows.items():
            rows[key].extend(value)
        failures.extend(result.failures)
    wanted = {Export.MAILBOXES, Export.SIZES} | {Export(i) for i in includes}
    for export in Export:
        if export in wanted:
            write_export(out_dir, export, rows[export.value], fmt)
    if journal is not None and run_id is not None:
        journal.finish_run(run_id, RunStatus.COMPLETED)
    per_side: dict[str, int] = {}
    for ref in listing.refs:
        per_side[ref.side] = per_side.get(ref.side, 0) + 1
    manifest = Manifest(
        started_at=started,
        finished_at=_now(),
        sources=dict(sources or {side: side for side in sessions}),
        format=fmt,
        includes=tuple(sorted(includes)),
        counts={e.value: len(rows[e.value]) for e in Export if e in wanted},
        mailboxes=per_side,
        failures=tuple(failures),
        run_id=run_id,
        resumed=resumed,
        requests=sum(s.request_count for s in sessions.values()) - requests_before,
    )
    write_manifest(out_dir, manifest)
    return manifest


def manifest_json(manifest: Manifest) -> dict[str, object]:
    return dataclasses.asdict(manifest)
