"""How a run tells a person how far it got: the one ``Reporter`` protocol every capability reports through.

The runner and the capabilities' services call a ``Reporter``; they never draw anything. The CLI edge implements
it with one Rich ``Progress`` (``hybridkit._progress.RichReporter``, off when stderr is not a terminal); tests and
the demo use ``NullReporter`` or their own. A task is named by a short label (``"apply"``, ``"set hold"``,
``"sizes"``); several may run at once (one per stage or side), so every call names its task. Implementations are
called from worker threads (the chunked-items runner reports as each chunk ends) and must be thread-safe.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Protocol

__all__ = ["NullReporter", "Reporter", "counts_reporter"]


class Reporter(Protocol):
    """Progress of a run, task by task, and the lines worth keeping."""

    def start(self, task: str, total: int | None = None) -> None:
        """``task`` begins (or learns its size): ``total`` units of work, None when not known yet."""

    def advance(self, task: str, done: int = 1) -> None:
        """``done`` more units of ``task`` finished."""

    def note(self, text: str) -> None:
        """A line for the person (a step's outcome, a warning), kept above any progress bar. Plain text."""

    def finish(self, task: str) -> None:
        """``task`` ended, whether or not every unit finished."""


class NullReporter:
    """A ``Reporter`` that reports nothing (the default)."""

    def start(self, task: str, total: int | None = None) -> None:
        pass

    def advance(self, task: str, done: int = 1) -> None:
        pass

    def note(self, text: str) -> None:
        pass

    def finish(self, task: str) -> None:
        pass


def counts_reporter(reporter: Reporter) -> Callable[[str, int, int], None]:
    """A ``(task, done so far, total)`` callback feeding ``reporter``: for code that counts up itself.

    The first call for a task starts it; a new total restarts its size; ``done`` is turned into advances. A
    ``total`` of 0 means not known yet.
    """
    lock = threading.Lock()
    seen: dict[str, tuple[int, int]] = {}  # task -> (done so far, total)

    def report(task: str, done: int, total: int) -> None:
        with lock:
            before, known = seen.get(task, (0, -1))
            if total != known:
                reporter.start(task, total or None)
            seen[task] = (max(before, done), total)
        if done > before:
            reporter.advance(task, done - before)

    return report
