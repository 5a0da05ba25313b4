"""The chunked-items runner behind ``Run.apply_items``: item pipelines (hold's Set-Mailbox, cutover's completion,
inventory's stages) as journaled steps, sides side by side, stopped within a second by Ctrl-C.

A step here is a chunk of items for one pipeline on one side. Per side, one thread takes the side's steps in
plan order (``per_side`` at once); each step streams its items through ``session.run_items`` (which spreads them
over the session's pools). The main thread only waits: Ctrl-C reaches it there, and it cancels every session
so the workers' pipelines stop at their next Receive instead of running every chunk still queued.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Hashable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from hybridkit.errors import AuthError, HybridkitError, TransportError
from hybridkit.journal import Journal, StepState
from hybridkit.ps import ItemOutcome, PSSession
from hybridkit.runner._report import Reporter
from hybridkit.runner._steps import Collect, Sessions, Step, StepResult, StepStatus, VerifyItems, session_for

__all__ = ["STOPPING", "ChunksOutcome", "cancel_sessions", "item_key", "run_chunks"]

STOPPING = (TransportError, AuthError)  # errors that stop a run: the next step would meet them too


@dataclasses.dataclass
class ChunksOutcome:
    """What ``run_chunks`` did: a result per step (plan order), the error that stopped it, items that failed."""

    results: list[StepResult]
    stopped_by: HybridkitError | None
    failed_items: int


def item_key(item: Any) -> str:
    """How an item is named in a payload: itself when text, its ``Identity`` when a mapping, else ``str``."""
    if isinstance(item, str):
        return item
    if isinstance(item, Mapping) and "Identity" in item:
        return str(item["Identity"])
    return str(item)


def default_collect(step: Step, outcomes: list[ItemOutcome]) -> dict[str, Any]:
    """The payload kept for a finished chunk: what was planned for it and Exchange's message per failed item."""
    return {"planned": step.payload, "failed": {item_key(o.item): o.message or "failed" for o in outcomes
                                                 if not o.ok}}


def cancel_sessions(sessions: Sessions) -> None:
    """Stop every pipeline of these sessions at its next Receive (the user pressed Ctrl-C)."""
    for session in (sessions.values() if isinstance(sessions, Mapping) else [sessions]):
        cancel = getattr(session, "cancel", None)  # test doubles may have none
        if callable(cancel):
            cancel()


def run_chunks(
    journal: Journal,
    run_id: str,
    steps: Sequence[Step],
    sessions: Sessions,
    *,
    reporter: Reporter,
    chunk_size: int,
    key: Callable[[Any], Any] | None,
    verify: VerifyItems | None,
    collect: Collect | None,
    task: str,
    per_side: int,
) -> ChunksOutcome:
    """Run ``steps`` (chunks of items) of journal run ``run_id``; see ``Run.apply_items``."""
    collect = collect or default_collect
    results: dict[str, StepResult] = {}
    lock = threading.Lock()
    stop = threading.Event()
    stopped: list[HybridkitError] = []
    failed = 0
    reporter.start(task, sum(len(s.input_items) for s in steps))
    by_side: dict[Hashable, list[tuple[Step, bool]]] = {}
    for step in steps:
        record = journal.step(run_id, step.key)
        if record.state is StepState.DONE:
            results[step.key] = StepResult(step, StepStatus.SKIPPED, payload=record.payload)
            reporter.advance(task, len(step.input_items))
        else:
            by_side.setdefault(step.side, []).append((step, record.attempts > 0))

    def one(step: Step, in_doubt: bool) -> None:
        if stop.is_set():
            return  # the run is stopping: not started, reported not_run
        try:
            send(step, in_doubt)
        except BaseException:
            stop.set()  # before this worker takes the side's next step
            raise

    def send(step: Step, in_doubt: bool) -> None:
        nonlocal failed
        session = session_for(sessions, step)
        items = list(step.input_items)
        if in_doubt and verify is not None:
            still = list(verify(session, step))
            reporter.advance(task, len(items) - len(still))
            if not still:
                payload = collect(step, [])
                journal.mark_done(run_id, step.key, "verified", payload=payload)
                results[step.key] = StepResult(step, StepStatus.VERIFIED, payload=payload)
                return
            step, items = dataclasses.replace(step, input_items=tuple(still)), still
        journal.mark_started(run_id, step.key, step.rendered())
        try:
            outcomes = session.run_items(step.command, items, chunk_size=chunk_size, key=key,
                                         on_progress=lambda n: reporter.advance(task, n))
        except STOPPING as exc:
            journal.mark_failed(run_id, step.key, type(exc).__name__, str(exc))
            journal.note_error(run_id, f"{type(exc).__name__}: {exc}")
            with lock:
                stopped.append(exc)
            stop.set()
            results[step.key] = StepResult(step, StepStatus.FAILED, type(exc).__name__, str(exc))
            return
        except HybridkitError as exc:  # the step as a whole was refused; the next one may pass
            journal.mark_failed(run_id, step.key, type(exc).__name__, str(exc))
            results[step.key] = StepResult(step, StepStatus.FAILED, type(exc).__name__, str(exc))
            return
        payload = collect(step, outcomes)
        bad = sum(1 for o in outcomes if not o.ok)
        journal.mark_done(run_id, step.key, f"{bad} of {len(outcomes)} failed" if bad else "ok", payload=payload)
        with lock:
            failed += bad
        results[step.key] = StepResult(step, StepStatus.DONE, items=outcomes, payload=payload)

    def side(work: list[tuple[Step, bool]], name: str) -> None:
        workers = ThreadPoolExecutor(max_workers=max(1, per_side), thread_name_prefix=f"hk-run-{name}")
        try:
            for future in [workers.submit(one, step, in_doubt) for step, in_doubt in work]:
                future.result()
        except BaseException:
            stop.set()
            raise
        finally:
            workers.shutdown(wait=True, cancel_futures=True)

    sides = ThreadPoolExecutor(max_workers=max(1, len(by_side)), thread_name_prefix="hk-run")
    futures: list[Future[None]] = [sides.submit(side, work, str(name)) for name, work in by_side.items()]
    try:
        for future in futures:
            future.result()
    except BaseException as exc:
        stop.set()
        if not isinstance(exc, Exception):  # Ctrl-C: stop now, not after every queued chunk
            cancel_sessions(sessions)
        raise
    finally:
        sides.shutdown(wait=True, cancel_futures=True)
        reporter.finish(task)
    ordered = [results.get(s.key) or StepResult(s, StepStatus.NOT_RUN) for s in steps]
    return ChunksOutcome(ordered, stopped[0] if stopped else None, failed)
