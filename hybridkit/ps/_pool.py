"""``PooledSession``: what every ``PSSession`` transport shares, whatever carries its PSRP messages.

A bounded set of runspace pools ("slots"), each opened lazily and driven by one thread at a time; the number stays
under the endpoint's shell limit (``Connection.max_shells``) and drops by one whenever the endpoint refuses another
shell while one of ours is open; ``Connect-ExchangeOnline`` first in each new pool when ``connection.online`` is
set; retries of transient faults on a fresh pool (``_retry.call_with_retries``); ``run_items`` in chunks, a bounded
number at once; ``cancel()``. A transport subclasses it with ``_new_slot``, ``_open_pool``, ``_discard`` and
``_invoke`` (``_pypsrp.PypsrpSession`` over WSMan, ``_outofproc.OutOfProcSession`` over a process's stdin/stdout).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from typing import Any

from hybridkit.errors import AuthError, CommandFailed, ThrottledError, TransportError
from hybridkit.ps._command import Command, Pipeline
from hybridkit.ps._connection import Connection, online_connect_command
from hybridkit.ps._errors import one_line
from hybridkit.ps._match import chunk_outcomes
from hybridkit.ps._result import ItemOutcome, PSResult
from hybridkit.ps._retry import DEFAULT_RETRY, RetryPolicy, call_with_retries

__all__ = ["PooledSession", "PooledSlot"]

log = logging.getLogger("hybridkit.ps")


class PooledSlot:
    """One runspace pool of a session (``pool`` is None until opened), used by one thread at a time."""

    def __init__(self, index: int) -> None:
        self.index = index
        self.pool: Any = None
        self.requests = 0
        self.last_used = 0.0  # time.monotonic() when its last pipeline finished


class PooledSession:
    """The transport-neutral part of a ``PSSession`` (see the module docstring)."""

    def __init__(
        self,
        connection: Connection,
        *,
        max_pools: int | None = None,
        retry: RetryPolicy = DEFAULT_RETRY,
        chunk_size: int | None = None,
    ) -> None:
        self._conn = connection
        self.max_pools = max(1, max_pools or connection.max_shells)
        self.retry = retry
        self.chunk_size = chunk_size or connection.chunk_size
        self._free: queue.LifoQueue[Any] = queue.LifoQueue()
        self._all_slots = [self._new_slot(i) for i in range(self.max_pools)]
        for slot in self._all_slots:
            self._free.put(slot)
        self._retired = 0
        self._cancelled = threading.Event()
        self._lock = threading.Lock()
        self._requests = 0
        self._pools_opened = 0

    @property
    def name(self) -> str:
        return self._conn.profile_name

    @property
    def connection(self) -> Connection:
        return self._conn

    @property
    def request_count(self) -> int:
        return self._requests

    @property
    def pools_opened(self) -> int:
        """How many runspace pools this session has opened (a retry after a transport failure opens one more)."""
        return self._pools_opened

    def cancel(self) -> None:
        """Stop every pipeline of this session at its next Receive and refuse new ones (the user interrupted).

        Threads running pipelines get ``KeyboardInterrupt``; the pipelines are stopped on the server (WSMan Signal)
        and their pools closed, so no shell is left behind. The session cannot run anything afterwards.
        """
        self._cancelled.set()

    def _check_cancelled(self, stop: threading.Event | None = None) -> None:
        if self._cancelled.is_set() or (stop is not None and stop.is_set()):
            raise KeyboardInterrupt("interrupted")

    def _sleep(self, seconds: float) -> None:
        """The retry wait, cut short by ``cancel()``."""
        if self._cancelled.wait(seconds):
            raise KeyboardInterrupt("interrupted")

    # -- pools ---------------------------------------------------------------------------------------------
    def _open_slot(self, slot: Any) -> None:
        self._open_pool(slot)
        self._connect_online(slot)

    def _connect_online(self, slot: Any) -> None:
        conn = self._conn
        if conn.online is not None:
            connect = online_connect_command(conn.online)
            try:
                result = self._invoke(slot, Pipeline.of(connect), None)
            except CommandFailed as exc:
                raise AuthError(f"Connect-ExchangeOnline failed: {one_line(exc.message)}") from exc
            if result.errors:
                raise AuthError(f"Connect-ExchangeOnline failed: {one_line(result.errors[0].message)}")


    @contextmanager
    def _slot(self) -> Iterator[Any]:
        slot = self._free.get()
        retire = False
        try:
            if slot.pool is not None and time.monotonic() - slot.last_used > self._idle_reuse_seconds():
                log.debug("runspace pool %d idle too long; opening a fresh one", slot.index)
                self._discard(slot)
            if slot.pool is None:
                try:
                    self._open_slot(slot)
                except ThrottledError as exc:
                    # The endpoint refused one more shell (other sessions of this user hold some): run with one
                    # pool fewer rather than keep knocking, as long as another pool of ours is open. A refusal that
                    # names a wait (a rate budget, not a count) only delays: the pool is tried again after it.
                    self._discard(slot)
                    retire = exc.retry_after is None and self._retire_if_others_open(slot)
                    raise
                except BaseException:
                    self._discard(slot)
                    raise
            yield slot
        except (TransportError, KeyboardInterrupt):
            # A failed pool is not reused; an interrupted one is closed now so the server drops its shell.
            self._discard(slot)
            raise
        finally:
            slot.last_used = time.monotonic()
            if not retire:
                self._free.put(slot)

    def _retire_if_others_open(self, slot: Any) -> bool:
        with self._lock:
            if not any(s.pool is not None for s in self._all_slots if s is not slot):
                return False
            self._retired += 1
        log.warning("the endpoint refused another shell; continuing with %d runspace pool(s)",
                    self.max_pools - self._retired)
        return True

    @property
    def pools_retired(self) -> int:
        """Pools given up because the endpoint refused more shells (the effective ceiling went down by this)."""
        return self._retired


    def open(self) -> None:
        """Open one runspace pool now (fails fast on a wrong endpoint or credentials)."""
        call_with_retries(lambda: self._touch(), self.retry, what="open")

    def _touch(self) -> None:
        with self._slot():
            pass


    # -- pipelines -----------------------------------------------------------------------------------------
    def _run_once(self, pipeline: Pipeline, input_items: Sequence[Any] | None,
                  stop: threading.Event | None = None) -> PSResult:
        self._check_cancelled(stop)
        with self._slot() as slot:
            self._check_cancelled(stop)
            log.debug(
                "pipeline %s (%d input items) on pool %d",
                " | ".join(c.cmdlet for c in pipeline.commands), len(input_items or ()), slot.index,
            )
            return self._invoke(slot, pipeline, input_items, stop)

    def run(self, command: Command | Pipeline, input_items: Sequence[Any] | None = None) -> PSResult:
        """Run one pipeline, retrying transient faults on a fresh pool. ``CommandFailed`` if it terminates."""
        return self._run(command, input_items)

    def _run(self, command: Command | Pipeline, input_items: Sequence[Any] | None,
             stop: threading.Event | None = None) -> PSResult:
        pipeline = command if isinstance(command, Pipeline) else Pipeline.of(command)
        what = " | ".join(c.cmdlet for c in pipeline.commands)
        return call_with_retries(lambda: self._run_once(pipeline, input_items, stop), self.retry, what=what,
                                 sleep=self._sleep)

    def run_items(
        self,
        command: Command | Pipeline,
        items: Sequence[Any],
        *,
        chunk_size: int | None = None,
        key: Callable[[Any], Any] | None = None,
        on_progress: Callable[[int], None] | None = None,
    ) -> list[ItemOutcome]:
        """Stream ``items`` through one pipeline per chunk, up to ``max_pools`` chunks at once (see PSSession).

        A chunk whose pipeline fails as a whole (``CommandFailed``) yields failed outcomes for its items with
        that error; transport and authentication failures that survive the retries are raised. When anything
        ends the call early (such a failure, Ctrl-C), the chunks not started never run and the running ones stop
        at their next Receive.
        """
        items = list(items)
        size = max(1, chunk_size or self.chunk_size)
        chunks = [items[i : i + size] for i in range(0, len(items), size)]
        results: list[list[ItemOutcome]] = [[] for _ in chunks]
        stop = threading.Event()

        def work(chunk: list[Any]) -> list[ItemOutcome]:
            return chunk_outcomes(chunk, lambda: self._run(command, chunk, stop), key)

        if len(chunks) <= 1 or self.max_pools == 1:
            for n, chunk in enumerate(chunks):
                results[n] = work(chunk)
                if on_progress:
                    on_progress(len(chunk))
        else:
            with ThreadPoolExecutor(max_workers=min(self.max_pools, len(chunks)), thread_name_prefix="hk-pool") as ex:
                futures = {ex.submit(work, chunk): n for n, chunk in enumerate(chunks)}
                try:
                    for future in as_completed(futures):
                        n = futures[future]
                        results[n] = future.result()
                        if on_progress:
                            on_progress(len(chunks[n]))
                except BaseException:
                    stop.set()
                    for f in futures:
                        f.cancel()
                    raise
        return [outcome for outcomes in results for outcome in outcomes]

    def close(self) -> None:
        """Close every runspace pool (each one frees a shell on the server)."""
        drained: list[Any] = []
        while True:
            try:
                drained.append(self._free.get_nowait())
            except queue.Empty:
                break
        for slot in drained:
            self._discard(slot)
            self._free.put(slot)

    def __enter__(self) -> PooledSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


    # -- what a transport provides ---------------------------------------------------------------------------
    def _new_slot(self, index: int) -> Any:
        return PooledSlot(index)

    def _idle_reuse_seconds(self) -> float:
        """A pool idle longer than this is replaced rather than reused (the server may have dropped it)."""
        return float("inf")

    def _open_pool(self, slot: Any) -> None:
        raise NotImplementedError

    def _discard(self, slot: Any) -> None:
        raise NotImplementedError

    def _invoke(self, slot: Any, pipeline: Pipeline, input_items: Sequence[Any] | None,
                stop: threading.Event | None = None) -> PSResult:
        raise NotImplementedError
