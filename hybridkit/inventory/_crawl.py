"""The crawl through ``hybridkit.runner``: the planned steps as one journaled, resumable run of reads.

Nothing is changed on Exchange, so there is no ``_apply`` here: the chunked-items runner (``Run.apply_items``)
sends each step's identities through the side's ``CrawlReader``, two steps in flight per side (the next stage
starts while the last chunks of the previous one finish, so the side's pools stay busy), and keeps each finished
step's rows and per-mailbox failures as its payload in the journal. A resumed crawl reads them back (the step is
``skipped``) and sends only the steps not done.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from hybridkit.inventory._discover import CrawlReader
from hybridkit.inventory._model import Export, Failure, Listing, Stage
from hybridkit.inventory._plan import CrawlStep, crawl_step, stage_pipeline, step_payload
from hybridkit.ps import ItemOutcome, PSSession
from hybridkit.runner import PriorRun, Run, Step, StepStatus
from hybridkit.sides import Side

__all__ = ["JOURNAL_KIND", "Crawled", "crawl", "crawl_steps", "payloads"]

JOURNAL_KIND = "inventory"
STEPS_PER_SIDE = 2


@dataclasses.dataclass(frozen=True)
class Crawled:
    """Every export's rows (listing first, then the steps in plan order) and every per-mailbox failure."""

    rows: dict[Export, list[dict[str, str]]]
    failures: tuple[Failure, ...]


def crawl_steps(steps: list[CrawlStep], listing: Listing) -> list[Step]:
    """The runner's steps: each stage's pipeline for its identities, with the payload a resumed crawl reads."""
    return [Step(key=s.key, target=s.target, command=stage_pipeline(s.stage, s.side), input_items=s.identities,
                 side=s.side, payload=step_payload(s, listing)) for s in steps]


def payloads(prior: PriorRun) -> dict[str, Any]:
    """An earlier run's step payloads by key, in plan order (what ``replan`` reads)."""
    return {key: record.payload for key, record in prior.steps.items()}


def crawl(run: Run, sessions: Mapping[Side, PSSession], listing: Listing, *, chunk_size: int) -> Crawled:
    """Send ``run``'s steps (done ones are read back from the journal); the rows of the whole crawl.

    Raises:
        TransportError, AuthError: a side stopped answering past the retries, or refused the credentials (the
            run is closed ``aborted``; finished steps are kept for the next run).
    """
    refs = {side: {e.ref.identity: e.ref for e in listing.entries if e.ref.side is side} for side in sessions}
    readers = {side: CrawlReader(side, session, refs[side]) for side, session in sessions.items()}

    def collect(step: Step, outcomes: list[ItemOutcome]) -> dict[str, Any]:
        """The payload a finished step keeps: its plan, its rows, and its mailboxes' failures."""
        stage, side = crawl_step(step.key, step.payload).stage, Side(step.side)
        rows = [row for o in outcomes if o.ok for row in o.output]
        failures = [_failure(stage, side, refs[side], o.item, o.message) for o in outcomes if not o.ok]
        return {**step.payload, "rows": rows, "failures": [dataclasses.asdict(f) for f in failures]}

    report = run.apply_items(readers, chunk_size=chunk_size, collect=collect, task="crawl", per_side=STEPS_PER_SIDE)
    if report.stopped_by is not None:
        raise report.stopped_by
    rows: dict[Export, list[dict[str, str]]] = {e: [] for e in Export}
    for entry in listing.entries:
        rows[Export.MAILBOXES].append(entry.row)
        if entry.delegates is not None:
            rows[Export.SENDONBEHALF].append(entry.delegates)
    failures: list[Failure] = list(listing.failures)
    for result in report.results:  # plan order, so files are deterministic whatever order steps finished in
        step = crawl_step(result.step.key, result.step.payload)
        if result.status is StepStatus.FAILED:  # the whole step was refused: each of its mailboxes failed
            failures.extend(_failure(step.stage, step.side, refs[step.side], i, result.error or "failed")
                            for i in step.identities)
            continue
        payload = result.payload or {}
        rows[step.stage.export].extend(payload.get("rows", []))
        failures.extend(Failure(**f) for f in payload.get("failures", []))
    return Crawled(rows, tuple(failures))


def _failure(stage: Stage, side: Side, refs: Mapping[str, Any], item: Any, message: str) -> Failure:
    ref = refs.get(str(item))
    who = ref.primary_smtp if ref is not None and ref.primary_smtp else str(item)
    return Failure(stage.value, side.value, who, message or "failed")

